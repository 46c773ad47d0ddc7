//! API keys: every key's id (its index set, else SCAN `apikey:*`), the fields read for every key,
//! and the details read only for the keys that are shown. Rule: a key listed but gone is
//! skipped silently, a record of the wrong type with a warning.

use super::fetch::{cmd, Fetch, WRONG_API_KEY};
use super::keys::{api_key_id, KEY_DETAIL_FIELDS, KEY_FIELDS};
use super::records::{apply_details, has_limit, key_record, present_fields};
use crate::error::Result;
use crate::source::parse::Fields;
use crate::source::raw::{KeyRecord, Warnings};
use crate::source::redis_io;

impl Fetch {
    /// Every API key id: `apikey:idx:all`, or SCAN `apikey:*` with CRS's two-part rule.
    pub(super) async fn key_ids(&mut self, w: &mut Warnings) -> Result<Vec<String>> {
        Ok(match self.index_members("apikey:idx:all", w).await? {
            Some(ids) if !ids.is_empty() => ids,
            _ => self
                .conn
                .scan("apikey:*")
                .await?
                .into_iter()
                .filter_map(|k| api_key_id(&k).map(str::to_string))
                .collect(),
        })
    }

    /// The fields every key is read for (`KEY_FIELDS`), sorted by id; keys gone left out.
    pub(super) async fn key_records(
        &mut self,
        ids: &[String],
        w: &mut Warnings,
    ) -> Result<Vec<KeyRecord>> {
        let cmds = ids.iter().map(|id| {
            let mut c = cmd("HMGET", &format!("apikey:{id}"));
            for f in KEY_FIELDS {
                c.arg(f);
            }
            c
        });
        let mut keys = Vec::with_capacity(ids.len());
        self.conn
            .each(cmds, |i, v| {
                let id = &ids[i];
                if redis_io::is_error(&v) {
                    w.add(WRONG_API_KEY, || format!("apikey:{id}"));
                    return;
                }
                let vals = redis_io::optionals(&v);
                if vals.iter().all(Option::is_none) {
                    return; // listed in an index but gone (expired or hard-deleted)
                }
                let pairs = present_fields(&KEY_FIELDS, vals);
                let key = format!("apikey:{id}");
                keys.push(key_record(id, &Fields::new(&key, &pairs), w));
            })
            .await?;
        keys.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(keys)
    }

    /// Names, tags and weekly reset settings of the keys that are shown.
    pub(super) async fn key_details(
        &mut self,
        keys: &mut [KeyRecord],
        top: &[String],
        w: &mut Warnings,
    ) -> Result<()> {
        let shown: Vec<usize> = keys
            .iter()
            .enumerate()
            .filter(|(_, k)| has_limit(k) || top.contains(&k.id))
            .map(|(i, _)| i)
            .collect();
        let cmds = shown
            .iter()
            .map(|&i| {
                let mut c = cmd("HMGET", &format!("apikey:{}", keys[i].id));
                for f in KEY_DETAIL_FIELDS {
                    c.arg(f);
                }
                c
            })
            .collect();
        let replies = self.conn.batch(cmds).await?;
        for (&i, v) in shown.iter().zip(replies) {
            if redis_io::is_error(&v) {
                let id = &keys[i].id;
                w.add(WRONG_API_KEY, || format!("apikey:{id}"));
                continue;
            }
            let pairs = present_fields(&KEY_DETAIL_FIELDS, redis_io::optionals(&v));
            let key = format!("apikey:{}", keys[i].id);
            apply_details(&mut keys[i], &Fields::new(&key, &pairs), w);
        }
        Ok(())
    }
}

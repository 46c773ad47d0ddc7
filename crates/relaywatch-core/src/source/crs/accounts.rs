//! Accounts of every platform: listed from each platform's index set (one SCAN pass for all the
//! platforms without one), then read in one pipeline, as a hash or as Bedrock's JSON string.
//! Rule: a record of the wrong type or with unreadable JSON is skipped with a warning.

use redis::{Cmd, Value};

use super::fetch::{cmd, Fetch};
use super::keys::ACCOUNT_FIELDS;
use super::records::{hash_account, json_account, present_fields};
use crate::error::Result;
use crate::source::accounts::{Platform, Storage};
use crate::source::parse::Fields;
use crate::source::raw::{AccountRecord, Warnings};
use crate::source::redis_io;

impl Fetch {
    /// Every account of every platform, its platform set; gone ones left out.
    pub(super) async fn read_accounts(&mut self, w: &mut Warnings) -> Result<Vec<AccountRecord>> {
        let listed = self.account_ids(w).await?;
        let cmds = listed.iter().map(|(p, id)| account_cmd(*p, id)).collect();
        let replies = self.conn.batch(cmds).await?;
        let mut out = Vec::with_capacity(listed.len());
        for ((p, id), v) in listed.into_iter().zip(replies) {
            if let Some(rec) = account_record(p, id, &v, w) {
                out.push(AccountRecord {
                    platform: Some(p),
                    ..rec
                });
            }
        }
        Ok(out)
    }

    /// Every platform's account ids, from its index set, else from one SCAN pass shared by all
    /// the platforms without one.
    async fn account_ids(&mut self, w: &mut Warnings) -> Result<Vec<(Platform, String)>> {
        let indexes: Vec<String> = Platform::ALL.iter().map(|p| p.index_key()).collect();
        let members = self.index_members_many(&indexes, w).await?;
        // Platforms without an index set are found with one SCAN pass for all of them.
        let scanned = if members.iter().any(Option::is_none) {
            self.conn.scan("*account*").await?
        } else {
            Vec::new()
        };
        let mut listed: Vec<(Platform, String)> = Vec::new();
        for (p, ids) in Platform::ALL.into_iter().zip(members) {
            let ids = ids.unwrap_or_else(|| {
                scanned
                    .iter()
                    .filter_map(|k| p.id_from_key(k).map(str::to_string))
                    .collect()
            });
            listed.extend(ids.into_iter().map(|id| (p, id)));
        }
        Ok(listed)
    }
}

/// The read of one account: GET of its JSON string, or HMGET of the fields read.
fn account_cmd(p: Platform, id: &str) -> Cmd {
    let key = format!("{}{id}", p.key_prefix());
    match p.storage() {
        Storage::Json => cmd("GET", &key),
        Storage::Hash => {
            let mut c = cmd("HMGET", &key);
            for f in ACCOUNT_FIELDS {
                c.arg(f);
            }
            c
        }
    }
}

/// The account in a reply to `account_cmd`; None when it is gone, or (with a warning) of the
/// wrong type or unreadable.
fn account_record(p: Platform, id: String, v: &Value, w: &mut Warnings) -> Option<AccountRecord> {
    let key = format!("{}{id}", p.key_prefix());
    if redis_io::is_error(v) {
        w.add("account record(s) of the wrong type", || key.clone());
        return None;
    }
    match p.storage() {
        Storage::Json => {
            let json = redis_io::text(v)?;
            match json_account(&json) {
                Some(mut a) => {
                    a.id = id;
                    Some(a)
                }
                None => {
                    w.add("account record(s) with unreadable JSON", || key.clone());
                    None
                }
            }
        }
        Storage::Hash => {
            let vals = redis_io::optionals(v);
            if vals.iter().all(Option::is_none) {
                return None;
            }
            let pairs = present_fields(&ACCOUNT_FIELDS, vals);
            Some(hash_account(id, &Fields::new(&key, &pairs), w))
        }
    }
}

//! Cost strings (CRS's INCRBYFLOAT counters): each key's daily costs over the range, and the
//! today, total and weekly Opus costs of the keys with a limit, read with MGET in chunks. Rule:
//! MGET's nil for a key of another type is told apart from a missing key (EXISTS, then TYPE),
//! and such a key is skipped with a warning.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use redis::Value;

use super::fetch::{cmd, Fetch, WRONG_COST};
use super::periods::{legacy_opus_week, opus_period};
use super::records::{cost_value, has_limit};
use crate::error::Result;
use crate::source::raw::{KeyCosts, KeyRecord, Warnings};
use crate::source::redis_io;
use crate::tz::RelayTz;

/// Keys per MGET.
const MGET_CHUNK: usize = 1_000;

impl Fetch {
    /// Σ `usage:cost:daily:{id}:{D}` over the range and today's value, for the given keys.
    pub(super) async fn daily_costs(
        &mut self,
        keys: &[String],
        dates: &[String],
        w: &mut Warnings,
    ) -> Result<Vec<KeyCosts>> {
        let n = dates.len();
        let name = |j: usize| format!("usage:cost:daily:{}:{}", keys[j / n], dates[j % n]);
        let mut out = vec![KeyCosts::default(); keys.len()];
        self.mget_each(keys.len() * n, name, w, |j, val, w| {
            let c = cost_value(&name(j), &Some(val), w);
            out[j / n].range += c;
            if j % n == n - 1 {
                out[j / n].today = c;
            }
        })
        .await?;
        Ok(out)
    }

    /// MGET the `total` string keys named by `name`, in chunks, handing each present value to
    /// `f`. MGET answers nil for a key of another type, so each chunk also asks EXISTS; when
    /// more keys exist than values came back, TYPE names the wrong-typed ones, which are
    /// skipped with a warning. One extra round trip only for a chunk holding such a key.
    async fn mget_each<N, F>(
        &mut self,
        total: usize,
        name: N,
        w: &mut Warnings,
        mut f: F,
    ) -> Result<()>
    where
        N: Fn(usize) -> String,
        F: FnMut(usize, String, &mut Warnings),
    {
        let range = |c: usize| c * MGET_CHUNK..((c + 1) * MGET_CHUNK).min(total);
        let cmds = (0..total.div_ceil(MGET_CHUNK)).flat_map(|c| {
            let (mut get, mut exists) = (redis::cmd("MGET"), redis::cmd("EXISTS"));
            for j in range(c) {
                let key = name(j);
                get.arg(&key);
                exists.arg(key);
            }
            [get, exists]
        });
        let (mut present, mut suspects) = (0i64, Vec::new());
        self.conn
            .each(cmds, |i, v| {
                let c = i / 2;
                if i % 2 == 1 {
                    if matches!(v, Value::Int(n) if n > present) {
                        suspects.push(c);
                    }
                    return;
                }
                present = 0;
                for (o, val) in redis_io::optionals(&v).into_iter().enumerate() {
                    let j = c * MGET_CHUNK + o;
                    if let (true, Some(val)) = (j < total, val) {
                        present += 1;
                        f(j, val, w);
                    }
                }
            })
            .await?;
        for c in suspects {
            let names: Vec<String> = range(c).map(&name).collect();
            let types = self
                .conn
                .batch(names.iter().map(|n| cmd("TYPE", n)).collect())
                .await?;
            for (n, t) in names.iter().zip(types) {
                if !matches!(
                    redis_io::text(&t).as_deref(),
                    None | Some("string" | "none")
                ) {
                    w.add(WRONG_COST, || n.clone());
                }
            }
        }
        Ok(())
    }

    /// Total and weekly Opus cost of the keys that have a limit: `usage:cost:total:{id}` and
    /// `usage:opus:weekly:{id}:{period}` (the older `YYYY-Wxx` name on relays without indexes).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn limit_costs(
        &mut self,
        keys: &[KeyRecord],
        costs: &mut HashMap<String, KeyCosts>,
        today: &str,
        tz: RelayTz,
        now: DateTime<Utc>,
        w: &mut Warnings,
    ) -> Result<()> {
        let limited: Vec<&KeyRecord> = keys.iter().filter(|k| has_limit(k)).collect();
        let legacy_week = legacy_opus_week(now, tz);
        let mut names = Vec::with_capacity(limited.len() * 4);
        for k in &limited {
            names.push(format!("usage:cost:daily:{}:{today}", k.id));
            names.push(format!("usage:cost:total:{}", k.id));
            let period = opus_period(now, tz, k.weekly_reset_day, k.weekly_reset_hour);
            names.push(format!("usage:opus:weekly:{}:{period}", k.id));
            names.push(format!("usage:opus:weekly:{}:{legacy_week}", k.id));
        }
        let values = self.mget(&names, w).await?;
        for (i, k) in limited.iter().enumerate() {
            let j = 4 * i;
            let c = costs.entry(k.id.clone()).or_default();
            c.today = cost_value(&names[j], &values[j], w);
            c.total = cost_value(&names[j + 1], &values[j + 1], w);
            c.weekly_opus = if values[j + 2].is_some() {
                cost_value(&names[j + 2], &values[j + 2], w)
            } else {
                cost_value(&names[j + 3], &values[j + 3], w)
            };
        }
        Ok(())
    }

    /// GET many string keys with MGET in chunks (wrong-typed ones skipped with a warning).
    async fn mget(&mut self, names: &[String], w: &mut Warnings) -> Result<Vec<Option<String>>> {
        let mut values = vec![None; names.len()];
        self.mget_each(
            names.len(),
            |j| names[j].clone(),
            w,
            |j, v, _| values[j] = Some(v),
        )
        .await?;
        Ok(values)
    }
}

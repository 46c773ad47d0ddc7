//! The relay's per-minute metrics buckets (`system:metrics:minute:{m}`) over the realtime window.
//! Rule: a missing bucket counts as zero, one of the wrong type too, with a warning.

use chrono::{DateTime, Utc};

use super::fetch::{cmd, Fetch};
use crate::error::Result;
use crate::source::parse::Fields;
use crate::source::raw::Warnings;
use crate::source::redis_io;
use crate::tz::epoch_minute;

impl Fetch {
    /// (requests, totalTokens) of each minute of the window, newest first.
    pub(super) async fn minutes(
        &mut self,
        now: DateTime<Utc>,
        window: u32,
        w: &mut Warnings,
    ) -> Result<Vec<(u64, u64)>> {
        let m0 = epoch_minute(now);
        let keys: Vec<String> = (0..window as i64)
            .map(|i| format!("system:metrics:minute:{}", m0 - i))
            .collect();
        let replies = self
            .conn
            .batch(keys.iter().map(|k| cmd("HGETALL", k)).collect())
            .await?;
        Ok(keys
            .iter()
            .zip(replies)
            .map(|(k, v)| {
                if redis_io::is_error(&v) {
                    w.add("metrics minute bucket(s) of the wrong type", || k.clone());
                }
                let pairs = redis_io::pairs(&v);
                let f = Fields::new(k, &pairs);
                (
                    f.counter("requests", w).unwrap_or(0),
                    f.counter("totalTokens", w).unwrap_or(0),
                )
            })
            .collect())
    }
}

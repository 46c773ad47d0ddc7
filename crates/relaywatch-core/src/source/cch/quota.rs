//! The quota rule's input on Claude Code Hub: every limit of every key, user and provider that
//! is neither deleted nor disabled, with its use in CCH's window; rule: a fixed window's period
//! is named by where it starts (so a new day, week or month is a new period and a cost reset a
//! new one too), a rolling window (5 h, a rolling daily limit) keeps the period of its first
//! crossing, as the rule does for CRS.

use chrono::{DateTime, Utc};

use super::windows::Period;
use super::{db, snapshot};
use crate::config::Settings;
use crate::error::Result;
use crate::model::Measure;

/// Every live limit's measure at `now`: the limits of the keys, users and providers that are
/// enabled, with their use.
pub async fn read_measures(s: &Settings, now: DateTime<Utc>) -> Result<Vec<Measure>> {
    let hub = snapshot::open(s).await?;
    let ents: Vec<db::Limited> = db::limited(&hub.c)
        .await
        .map_err(snapshot::db_err)?
        .into_iter()
        .filter(|e| e.enabled)
        .collect();
    let uses = hub.limit_uses(&ents, now).await?;
    let tz = hub.tz;
    Ok(uses
        .into_iter()
        .map(|(i, l)| {
            let e = &ents[i];
            let rolling = l.period == Period::FiveHours.as_str()
                || (l.period == Period::Daily.as_str() && e.daily.rolling);
            let period = (!rolling).then(|| match l.window_start {
                Some(t) => format!(
                    "{} from {}",
                    l.period,
                    t.with_timezone(&tz).format("%Y-%m-%d %H:%M")
                ),
                None => l.period.clone(),
            });
            Measure {
                key_id: format!("{}:{}", l.scope, l.id),
                key_name: l.name,
                limit_id: format!("cch:{}", l.period),
                limit_name: l.period,
                limit_usd: l.limit_usd,
                cost: l.used_usd,
                period,
                rolling,
            }
        })
        .collect())
}

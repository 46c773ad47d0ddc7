//! Quota rule: each API key's rated cost against its limits — the relay's own (daily, total,
//! weekly Opus) and those set in relaywatch (5 h, daily, weekly, monthly, total, per key or tag).
//! Rule: one message per key, limit, level and period (80 % then 100 % is two; nothing repeats
//! within a period), a "back under" message when the period rolls over or the limit is raised,
//! and every key over a threshold reported — keys crossing together become one grouped alert per
//! level. `evaluate` is pure (the keys' costs are read by the source); `store::quota` keeps what
//! was announced and takes each item's claim atomically, so many instances send each once.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Datelike, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Alert, AlertPayload, RuleKind};
use crate::config::quota::{own_limit_for, QuotaLimitSetting, QuotaPeriod};
pub use crate::model::KeyCost;
use crate::render::message::AlertState;
use crate::render::messages::QuotaItem;
use crate::tz::RelayTz;

/// Which limit a key is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LimitKind {
    /// CRS `dailyCostLimit` over the relay's calendar day.
    RelayDaily,
    /// CRS `totalCostLimit` over the key's lifetime.
    RelayTotal,
    /// CRS `weeklyOpusCostLimit` over the key's weekly reset period.
    RelayWeeklyOpus,
    /// A `[[rules.quota.limits]]` entry.
    Own(QuotaPeriod),
}

impl LimitKind {
    /// Stable id in state keys.
    pub fn id(self) -> String {
        match self {
            LimitKind::RelayDaily => "relay:daily".into(),
            LimitKind::RelayTotal => "relay:total".into(),
            LimitKind::RelayWeeklyOpus => "relay:weekly_opus".into(),
            LimitKind::Own(p) => format!("own:{}", p.as_str()),
        }
    }

    /// The name messages show (`QuotaItem::limit`).
    pub fn name(self) -> &'static str {
        match self {
            LimitKind::RelayDaily => "daily",
            LimitKind::RelayTotal => "total",
            LimitKind::RelayWeeklyOpus => "weekly_opus",
            LimitKind::Own(p) => p.as_str(),
        }
    }

    fn rolling(self) -> bool {
        self == LimitKind::Own(QuotaPeriod::FiveHours)
    }
}

/// What has been announced for one (key, limit): the highest level in its period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaEntry {
    pub key_id: String,
    pub key_name: String,
    pub limit: String,
    pub period: String,
    pub level: u32,
    pub cost_usd: f64,
    pub limit_usd: f64,
    pub since: DateTime<Utc>,
}

/// Announced levels per `key_id|limit id`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuotaState {
    pub entries: BTreeMap<String, QuotaEntry>,
}

/// The period names of the relay's clock at `now`: day, week (Monday-based), month.
fn day_name(now: DateTime<Utc>, tz: RelayTz) -> String {
    tz.date(now)
}

fn week_name(now: DateTime<Utc>, tz: RelayTz) -> String {
    let day = tz.day(now);
    let monday = day - Duration::days(day.weekday().num_days_from_monday() as i64);
    format!(
        "{}/{}",
        monday.format("%Y-%m-%d"),
        (monday + Duration::days(6)).format("%Y-%m-%d")
    )
}

/// The label of a rolling 5 h episode: the relay-local hour it started in.
fn rolling_name(now: DateTime<Utc>, tz: RelayTz) -> String {
    tz.local(now).format("%Y-%m-%d %H:00").to_string()
}

/// The limit of `period` that `[[rules.quota.limits]]` sets for `k` (see [`own_limit_for`]).
fn own_limit(k: &KeyCost, limits: &[QuotaLimitSetting], period: QuotaPeriod) -> Option<f64> {
    own_limit_for(limits, &k.key_id, &k.key_name, &k.tags, period)
}

/// Every limit a key has now: (kind, amount, cost, period name; `None` for rolling).
fn key_limits(
    k: &KeyCost,
    limits: &[QuotaLimitSetting],
    now: DateTime<Utc>,
    tz: RelayTz,
) -> Vec<(LimitKind, f64, f64, Option<String>)> {
    let mut out = Vec::new();
    let day = day_name(now, tz);
    for (kind, limit, cost, period) in [
        (
            LimitKind::RelayDaily,
            k.relay_daily_limit_usd,
            k.daily_usd,
            day.clone(),
        ),
        (
            LimitKind::RelayTotal,
            k.relay_total_limit_usd,
            k.total_usd,
            "total".to_string(),
        ),
        (
            LimitKind::RelayWeeklyOpus,
            k.relay_weekly_opus_limit_usd,
            k.weekly_opus_usd,
            k.weekly_opus_period.clone(),
        ),
    ] {
        if limit > 0.0 {
            out.push((kind, limit, cost, Some(period)));
        }
    }
    for p in [
        QuotaPeriod::FiveHours,
        QuotaPeriod::Daily,
        QuotaPeriod::Weekly,
        QuotaPeriod::Monthly,
        QuotaPeriod::Total,
    ] {
        let Some(limit) = own_limit(k, limits, p) else {
            continue;
        };
        let (cost, period) = match p {
            QuotaPeriod::FiveHours => (k.five_hours_usd, None),
            QuotaPeriod::Daily => (k.daily_usd, Some(day.clone())),
            QuotaPeriod::Weekly => (k.weekly_usd, Some(week_name(now, tz))),
            QuotaPeriod::Monthly => (k.monthly_usd, Some(tz.month(now))),
            QuotaPeriod::Total => (k.total_usd, Some("total".to_string())),
        };
        out.push((LimitKind::Own(p), limit, cost, period));
    }
    out
}

/// The highest threshold `cost` has reached of `limit`, 0 when none.
pub fn level_reached(cost: f64, limit: f64, thresholds: &[u32]) -> u32 {
    if limit <= 0.0 {
        return 0;
    }
    thresholds
        .iter()
        .copied()
        .filter(|t| cost * 100.0 + 1e-9 >= limit * *t as f64)
        .max()
        .unwrap_or(0)
}

/// The claim that makes one item's announcement happen once across instances.
pub fn claim_id(item: &QuotaItem, state: AlertState) -> String {
    let s = match state {
        AlertState::Firing => "firing",
        AlertState::Resolved => "resolved",
    };
    format!(
        "{}|{}|{}|{}|{}|{s}",
        item.key_id, item.limit, item.limit_usd, item.period, item.threshold_pct
    )
}

/// FNV-1a, for short stable episode names.
fn fnv(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// One grouped alert of items at one level in one state; subject `<level>:<period>` (or
/// `<level>:mixed`), episode a hash of the items' claims, so every instance names it alike.
pub fn grouped_alert(
    level: u32,
    state: AlertState,
    mut items: Vec<QuotaItem>,
    first_seen: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Alert {
    items.sort_by(|a, b| {
        (b.cost_usd / b.limit_usd.max(f64::MIN_POSITIVE))
            .total_cmp(&(a.cost_usd / a.limit_usd.max(f64::MIN_POSITIVE)))
            .then(a.key_id.cmp(&b.key_id))
            .then(a.limit.cmp(&b.limit))
    });
    let period = match items.first() {
        Some(f) if items.iter().all(|i| i.period == f.period) => f.period.clone(),
        _ => "mixed".to_string(),
    };
    let claims: Vec<String> = items.iter().map(|i| claim_id(i, state)).collect();
    Alert {
        rule: RuleKind::Quota,
        subject: format!("{level}:{period}"),
        state,
        episode: fnv(&claims.join("\n")),
        first_seen,
        at: now,
        payload: AlertPayload::Quota { items },
    }
}

/// Compare every key's costs with its limits: the next state and the alerts to send (firing
/// grouped per level reached, "back under" grouped per level left). Keys absent from `inputs`
/// (deleted) are forgotten silently; a limit that is gone or raised resolves.
pub fn evaluate(
    inputs: &[KeyCost],
    limits: &[QuotaLimitSetting],
    thresholds: &[u32],
    prev: &QuotaState,
    now: DateTime<Utc>,
    tz: RelayTz,
) -> (QuotaState, Vec<Alert>) {
    let measures = key_measures(inputs, limits, now, tz);
    let present: HashSet<&str> = inputs.iter().map(|k| k.key_id.as_str()).collect();
    evaluate_present(&measures, &present, thresholds, prev, now, tz)
}

pub use crate::model::{Measure, QuotaInput};

/// Every limit of every key as a measure: the relay's own limits and `[[rules.quota.limits]]`.
fn key_measures(
    inputs: &[KeyCost],
    limits: &[QuotaLimitSetting],
    now: DateTime<Utc>,
    tz: RelayTz,
) -> Vec<Measure> {
    inputs
        .iter()
        .flat_map(|k| {
            key_limits(k, limits, now, tz).into_iter().map(
                move |(kind, limit_usd, cost, period)| Measure {
                    key_id: k.key_id.clone(),
                    key_name: k.key_name.clone(),
                    limit_id: kind.id(),
                    limit_name: kind.name().to_string(),
                    limit_usd,
                    cost,
                    period,
                    rolling: kind.rolling(),
                },
            )
        })
        .collect()
}

/// Every limit the rule compares at `now`, whatever shape the relay answered in.
pub fn measures(
    input: &QuotaInput,
    limits: &[QuotaLimitSetting],
    now: DateTime<Utc>,
    tz: RelayTz,
) -> Vec<Measure> {
    match input {
        QuotaInput::Keys(k) => key_measures(k, limits, now, tz),
        QuotaInput::Measures(m) => m.clone(),
    }
}

/// The rule over what the relay answered: [`evaluate`] for keys' costs, [`evaluate_measures`]
/// for measures.
pub fn evaluate_input(
    input: &QuotaInput,
    limits: &[QuotaLimitSetting],
    thresholds: &[u32],
    prev: &QuotaState,
    now: DateTime<Utc>,
    tz: RelayTz,
) -> (QuotaState, Vec<Alert>) {
    match input {
        QuotaInput::Keys(k) => evaluate(k, limits, thresholds, prev, now, tz),
        QuotaInput::Measures(m) => evaluate_measures(m, thresholds, prev, now, tz),
    }
}

/// [`evaluate`] over measures already read (see the module doc for the rule); a subject with
/// no measure left is forgotten silently.
pub fn evaluate_measures(
    measures: &[Measure],
    thresholds: &[u32],
    prev: &QuotaState,
    now: DateTime<Utc>,
    tz: RelayTz,
) -> (QuotaState, Vec<Alert>) {
    let present: HashSet<&str> = measures.iter().map(|m| m.key_id.as_str()).collect();
    evaluate_present(measures, &present, thresholds, prev, now, tz)
}

/// What one evaluation collects: the next state, and the items to send grouped per level.
#[derive(Default)]
struct Outcome {
    next: QuotaState,
    firing: BTreeMap<u32, Vec<QuotaItem>>,
    resolved: BTreeMap<u32, (Vec<QuotaItem>, DateTime<Utc>)>,
}

impl Outcome {
    fn fire(&mut self, level: u32, item: QuotaItem) {
        self.firing.entry(level).or_default().push(item);
    }

    fn resolve(&mut self, level: u32, item: QuotaItem, since: DateTime<Utc>) {
        let e = self.resolved.entry(level).or_insert((Vec::new(), since));
        e.1 = e.1.min(since);
        e.0.push(item);
    }

    /// One measure against what was announced for it before (`id` is `key_id|limit id`).
    fn step(
        &mut self,
        m: &Measure,
        id: String,
        before: Option<&QuotaEntry>,
        (period, level): (String, u32),
        now: DateTime<Utc>,
    ) {
        let item = |threshold_pct: u32| QuotaItem {
            key_id: m.key_id.clone(),
            key_name: m.key_name.clone(),
            limit: m.limit_name.clone(),
            period: period.clone(),
            cost_usd: m.cost,
            limit_usd: m.limit_usd,
            threshold_pct,
        };
        let entry = |level: u32, since: DateTime<Utc>| QuotaEntry {
            key_id: m.key_id.clone(),
            key_name: m.key_name.clone(),
            limit: m.limit_name.clone(),
            period: period.clone(),
            level,
            cost_usd: m.cost,
            limit_usd: m.limit_usd,
            since,
        };
        match before {
            Some(e) if e.period == period => {
                if level > e.level {
                    self.fire(level, item(level));
                    self.next.entries.insert(id, entry(level, e.since));
                } else if level < e.level {
                    self.resolve(e.level, item(e.level), e.since);
                    if level > 0 {
                        self.next.entries.insert(id, entry(level, e.since));
                    }
                } else {
                    self.next.entries.insert(id, entry(level, e.since));
                }
            }
            Some(e) if level == 0 => {
                // The period rolled over and the new one is below every threshold.
                self.resolve(e.level, item(e.level), e.since);
            }
            _ => {
                if level > 0 {
                    self.fire(level, item(level));
                    self.next.entries.insert(id, entry(level, now));
                }
            }
        }
    }

    /// The next state and the grouped alerts: firing from the highest level down, then "back
    /// under" likewise.
    fn finish(self, now: DateTime<Utc>) -> (QuotaState, Vec<Alert>) {
        let mut alerts: Vec<Alert> = self
            .firing
            .into_iter()
            .rev()
            .map(|(level, items)| grouped_alert(level, AlertState::Firing, items, now, now))
            .collect();
        alerts.extend(
            self.resolved
                .into_iter()
                .rev()
                .map(|(level, (items, since))| {
                    grouped_alert(level, AlertState::Resolved, items, since, now)
                }),
        );
        (self.next, alerts)
    }
}

/// The rule, with `present` the subjects still there: a limit gone from one of them is "back
/// under", a subject gone altogether is forgotten silently.
fn evaluate_present(
    measures: &[Measure],
    present: &HashSet<&str>,
    thresholds: &[u32],
    prev: &QuotaState,
    now: DateTime<Utc>,
    tz: RelayTz,
) -> (QuotaState, Vec<Alert>) {
    let mut out = Outcome::default();
    let mut seen: HashSet<String> = HashSet::new();
    for m in measures {
        let id = format!("{}|{}", m.key_id, m.limit_id);
        seen.insert(id.clone());
        let before = prev.entries.get(&id);
        let period = m.period.clone().unwrap_or_else(|| match before {
            Some(e) if m.rolling => e.period.clone(),
            _ => rolling_name(now, tz),
        });
        let level = level_reached(m.cost, m.limit_usd, thresholds);
        out.step(m, id, before, (period, level), now);
    }
    // A limit that no longer exists for a key still present: back under.
    for (id, e) in &prev.entries {
        if !seen.contains(id) && present.contains(e.key_id.as_str()) {
            let item = QuotaItem {
                key_id: e.key_id.clone(),
                key_name: e.key_name.clone(),
                limit: e.limit.clone(),
                period: e.period.clone(),
                cost_usd: e.cost_usd,
                limit_usd: e.limit_usd,
                threshold_pct: e.level,
            };
            out.resolve(e.level, item, e.since);
        }
    }
    out.finish(now)
}

/// Each item's claim in `alerts`, in order: a short stable name of its [`claim_id`] (one
/// announcement, taken once across instances by the store).
pub fn claims(alerts: &[Alert]) -> Vec<String> {
    alerts
        .iter()
        .flat_map(|a| match &a.payload {
            AlertPayload::Quota { items } => {
                items.iter().map(|i| fnv(&claim_id(i, a.state))).collect()
            }
            _ => Vec::new(),
        })
        .collect()
}

/// `alerts` keeping only the items whose claim this instance won (`won` in the order of
/// [`claims`]; a missing answer is a claim lost), regrouped; alerts left empty are dropped.
pub fn keep_won(alerts: Vec<Alert>, won: &[bool]) -> Vec<Alert> {
    let mut won = won.iter().copied();
    let mut out = Vec::new();
    for a in alerts {
        let AlertPayload::Quota { items } = a.payload else {
            continue;
        };
        let kept: Vec<QuotaItem> = items
            .into_iter()
            .filter(|_| won.next().unwrap_or(false))
            .collect();
        if kept.is_empty() {
            continue;
        }
        let level = kept.iter().map(|i| i.threshold_pct).max().unwrap_or(0);
        out.push(grouped_alert(level, a.state, kept, a.first_seen, a.at));
    }
    out
}

#[cfg(test)]
mod tests;

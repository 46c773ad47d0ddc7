//! Prometheus metrics: one process-wide registry of typed families (`prometheus-client`) and
//! the one-line recorders that the sender, the daemon's loops, the event consumer and the
//! source call. Rule: every label is bounded — a configured channel or schedule name (checked
//! for its config shape and capped in number), a fixed rule or outcome word — never a URL, a
//! key id, a subject or free text, and no value recorded here is ever a secret.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use std::fmt::Write;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::config::schedules::ScheduleKind;
use crate::delivery::outbox::{Transition, Verdict};
use crate::model::AlertState;
use crate::model::{Alert, RuleKind};

/// The OpenMetrics text format, served when the scraper asks for it.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The Prometheus text format 0.0.4, served otherwise.
pub const PROMETHEUS_TEXT: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Distinct channel or schedule names kept as label values; further ones count as `other`.
pub const MAX_NAMES: usize = 256;

/// How one delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The platform took it.
    Delivered,
    /// Worth retrying: back in the queue with backoff.
    Retry,
    /// Retried until the attempts ran out: dead-lettered.
    Dead,
    /// A permanent failure (4xx, platform refusal, unreadable item): dead-lettered at once.
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Delivered,
        Outcome::Retry,
        Outcome::Dead,
        Outcome::Failed,
    ];

    /// The outcome of an attempt from its verdict and the outbox transition it caused (pure).
    pub fn of(verdict: &Verdict, transition: Transition) -> Outcome {
        match (transition, verdict) {
            (Transition::Delivered, _) => Outcome::Delivered,
            (Transition::Retrying { .. }, _) => Outcome::Retry,
            (Transition::Dead, Verdict::Fail) => Outcome::Failed,
            (Transition::Dead, _) => Outcome::Dead,
        }
    }

    /// The `outcome` label's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Retry => "retry",
            Outcome::Dead => "dead",
            Outcome::Failed => "failed",
        }
    }
}

/// The rules, as the `rule` label says them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    ErrorRate,
    Breaker,
    Quota,
    Leaderboard,
    Report,
}

impl Rule {
    pub const ALL: [Rule; 5] = [
        Rule::ErrorRate,
        Rule::Breaker,
        Rule::Quota,
        Rule::Leaderboard,
        Rule::Report,
    ];

    /// The `rule` label's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::ErrorRate => "error_rate",
            Rule::Breaker => "breaker",
            Rule::Quota => "quota",
            Rule::Leaderboard => "leaderboard",
            Rule::Report => "report",
        }
    }
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, e: &mut LabelValueEncoder) -> std::fmt::Result {
        e.write_str(self.as_str())
    }
}

impl EncodeLabelValue for Rule {
    fn encode(&self, e: &mut LabelValueEncoder) -> std::fmt::Result {
        e.write_str(self.as_str())
    }
}

impl From<RuleKind> for Rule {
    fn from(k: RuleKind) -> Rule {
        match k {
            RuleKind::ErrorRate => Rule::ErrorRate,
            RuleKind::Breaker => Rule::Breaker,
            RuleKind::Quota => Rule::Quota,
        }
    }
}

impl From<ScheduleKind> for Rule {
    fn from(k: ScheduleKind) -> Rule {
        match k {
            ScheduleKind::Report => Rule::Report,
            ScheduleKind::Leaderboard => Rule::Leaderboard,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct DeliveryLabels {
    channel: String,
    outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ChannelLabel {
    channel: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RuleLabel {
    rule: Rule,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SourceLabel {
    source: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ScheduleLabel {
    schedule: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The registered families.
struct Metrics {
    registry: Registry,
    deliveries: Family<DeliveryLabels, Counter>,
    delivery_seconds: HistogramFamily<ChannelLabel>,
    evaluations: Family<RuleLabel, Counter>,
    firings: Family<RuleLabel, Counter>,
    events: Counter,
    unreadable: Counter,
    snapshot_seconds: HistogramFamily<SourceLabel>,
    schedule_fires: Family<ScheduleLabel, Counter>,
}

fn delivery_buckets() -> Histogram {
    // 10 ms … about 41 s: a webhook answers in tens of milliseconds to a few seconds.
    Histogram::new(exponential_buckets(0.01, 2.0, 13))
}

fn snapshot_buckets() -> Histogram {
    // 5 ms … about 41 s: a demo snapshot is milliseconds, a large CRS Redis seconds.
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("relaywatch");
    let m = Metrics {
        registry: Registry::default(),
        deliveries: Family::default(),
        delivery_seconds: Family::new_with_constructor(delivery_buckets),
        evaluations: Family::default(),
        firings: Family::default(),
        events: Counter::default(),
        unreadable: Counter::default(),
        snapshot_seconds: Family::new_with_constructor(snapshot_buckets),
        schedule_fires: Family::default(),
    };
    registry.register(
        "build",
        "The running relaywatch's version",
        Info::new([("version", env!("CARGO_PKG_VERSION"))]),
    );
    registry.register(
        "deliveries",
        "Delivery attempts through the outbox, by configured channel name and outcome (delivered, retry, dead, failed)",
        m.deliveries.clone(),
    );
    registry.register(
        "delivery_duration_seconds",
        "Time of each delivery attempt (all of a message's requests), by configured channel name",
        m.delivery_seconds.clone(),
    );
    registry.register(
        "rule_evaluations",
        "Evaluation passes of each rule (error_rate, breaker, quota; report and leaderboard: scheduled fires attempted)",
        m.evaluations.clone(),
    );
    registry.register(
        "rule_firings",
        "Alerts that went to firing, by rule; report and leaderboard: scheduled messages queued",
        m.firings.clone(),
    );
    registry.register(
        "events_consumed",
        "Log events read from the event stream and evaluated",
        m.events.clone(),
    );
    registry.register(
        "events_unreadable",
        "Event stream entries that could not be read (acked and skipped)",
        m.unreadable.clone(),
    );
    registry.register(
        "snapshot_duration_seconds",
        "Time to take a dashboard snapshot, by source (crs, demo)",
        m.snapshot_seconds.clone(),
    );
    registry.register(
        "schedule_fires",
        "Scheduled fires queued, by configured schedule name",
        m.schedule_fires.clone(),
    );
    // Every rule's series exists from the start, so `rate()` and absence alerts work at once.
    for rule in Rule::ALL {
        let _ = m.evaluations.get_or_create(&RuleLabel { rule });
        let _ = m.firings.get_or_create(&RuleLabel { rule });
    }
    Metrics { registry, ..m }
});

/// Facts read at scrape time: absent until something has told them.
#[derive(Debug, Default, Clone, Copy)]
struct Live {
    state_up: Option<bool>,
    source_up: Option<bool>,
    outbox_depth: Option<u64>,
    outbox_dead: Option<u64>,
    stream_lag: Option<f64>,
    /// When the last snapshot was taken, ms since the epoch.
    snapshot_at_ms: Option<u64>,
}

static LIVE: Mutex<Live> = Mutex::new(Live {
    state_up: None,
    source_up: None,
    outbox_depth: None,
    outbox_dead: None,
    stream_lag: None,
    snapshot_at_ms: None,
});

static NAMES: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Default::default);

fn live(f: impl FnOnce(&mut Live)) {
    f(&mut LIVE.lock().unwrap_or_else(|p| p.into_inner()));
}

/// `name` as a label value: a name of the config's shape (1–64 of `A-Z a-z 0-9 - _ .`) among
/// the first [`MAX_NAMES`] seen; anything else is `other`.
fn bounded(name: &str) -> String {
    let shaped = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !shaped {
        return "other".into();
    }
    let mut seen = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    if seen.contains(name) || (seen.len() < MAX_NAMES && seen.insert(name.to_string())) {
        name.to_string()
    } else {
        "other".into()
    }
}

/// One delivery attempt of an outbox item for `channel` (its configured name).
pub fn delivery(channel: &str, outcome: Outcome, took: Duration) {
    let channel = bounded(channel);
    let m = &*METRICS;
    m.delivery_seconds
        .get_or_create(&ChannelLabel {
            channel: channel.clone(),
        })
        .observe(took.as_secs_f64());
    m.deliveries
        .get_or_create(&DeliveryLabels { channel, outcome })
        .inc();
}

/// The configured channels: each one's delivery series exist from now on, at 0 until used, so
/// `increase()` sees a channel's first failure.
pub fn channels_configured<'a>(names: impl IntoIterator<Item = &'a str>) {
    for name in names {
        let channel = bounded(name);
        for outcome in Outcome::ALL {
            let labels = DeliveryLabels {
                channel: channel.clone(),
                outcome,
            };
            let _ = METRICS.deliveries.get_or_create(&labels);
        }
    }
}

/// The outbox as the daemon's watchdog just read it: items waiting or in flight, and dead letters.
pub fn outbox(depth: u64, dead: u64) {
    live(|l| {
        l.outbox_depth = Some(depth);
        l.outbox_dead = Some(dead);
    });
}

/// One evaluation pass of `rule`.
pub fn rule_evaluated(rule: impl Into<Rule>) {
    METRICS
        .evaluations
        .get_or_create(&RuleLabel { rule: rule.into() })
        .inc();
}

/// The transitions a rule pass produced: each one to firing counts for its rule.
pub fn alerts_found(alerts: &[Alert]) {
    for a in alerts.iter().filter(|a| a.state == AlertState::Firing) {
        METRICS
            .firings
            .get_or_create(&RuleLabel {
                rule: a.rule.into(),
            })
            .inc();
    }
}

/// A scheduled fire of `schedule` (its configured name) queued its `rule`'s message.
pub fn schedule_fired(schedule: &str, rule: Rule) {
    let m = &*METRICS;
    m.schedule_fires
        .get_or_create(&ScheduleLabel {
            schedule: bounded(schedule),
        })
        .inc();
    m.firings.get_or_create(&RuleLabel { rule }).inc();
}

/// A read of the event stream: events to evaluate and unreadable entries.
pub fn events_read(events: usize, unreadable: u64) {
    METRICS.events.inc_by(events as u64);
    METRICS.unreadable.inc_by(unreadable);
}

/// How far behind the event consumer is, from its last read of new entries (see
/// [`stream_lag_seconds`]).
pub fn stream_lag(seconds: f64) {
    live(|l| l.stream_lag = Some(seconds));
}

/// How old the newest entry of a read was when it was read: `now_ms` minus the time part of
/// its stream ID; 0 when the read found nothing new (caught up). Pure.
pub fn stream_lag_seconds(newest_id: Option<&str>, now_ms: u64) -> f64 {
    let Some(id) = newest_id else {
        return 0.0;
    };
    let at = id
        .split('-')
        .next()
        .and_then(|ms| ms.parse::<u64>().ok())
        .unwrap_or(now_ms);
    now_ms.saturating_sub(at) as f64 / 1000.0
}

/// A snapshot of `source` (`crs`, `demo`) finished at `at_ms` after `took`; `ok` when it
/// succeeded (a failed one counts in the duration, not in the age).
pub fn snapshot(source: &'static str, took: Duration, ok: bool, at_ms: u64) {
    METRICS
        .snapshot_seconds
        .get_or_create(&SourceLabel { source })
        .observe(took.as_secs_f64());
    if ok {
        live(|l| l.snapshot_at_ms = Some(at_ms));
    }
}

/// Whether the last read of the relay's Redis succeeded.
pub fn source_redis(up: bool) {
    live(|l| l.source_up = Some(up));
}

/// Whether relaywatch's own (state) Redis answered the last ping.
pub fn state_redis(up: bool) {
    live(|l| l.state_up = Some(up));
}

/// The scrape-time gauges as of `now_ms`, in a registry of their own.
fn live_registry(now_ms: u64) -> Registry {
    let l = *LIVE.lock().unwrap_or_else(|p| p.into_inner());
    let mut r = Registry::with_prefix("relaywatch");
    let up = |b: bool| ConstGauge::new(i64::from(b));
    if let Some(b) = l.state_up {
        r.register(
            "state_redis_up",
            "1 when relaywatch's own Redis (outbox, alert state) answered the last ping, else 0",
            up(b),
        );
    }
    if let Some(b) = l.source_up {
        r.register(
            "source_redis_up",
            "1 when the last read of the relay's Redis succeeded, else 0",
            up(b),
        );
    }
    if let Some(d) = l.outbox_depth {
        r.register(
            "outbox_depth",
            "Outbox items waiting or being sent",
            ConstGauge::new(d as i64),
        );
    }
    if let Some(d) = l.outbox_dead {
        r.register(
            "outbox_dead_letters",
            "Dead-lettered outbox items kept",
            ConstGauge::new(d as i64),
        );
    }
    if let Some(s) = l.stream_lag {
        r.register(
            "events_stream_lag_seconds",
            "Age of the newest event stream entry at its read; 0 when the consumer is caught up",
            ConstGauge::new(s),
        );
    }
    if let Some(at) = l.snapshot_at_ms {
        r.register(
            "snapshot_age_seconds",
            "Seconds since the last dashboard snapshot was taken",
            ConstGauge::new(now_ms.saturating_sub(at) as f64 / 1000.0),
        );
    }
    r
}

/// Every metric as text as of `now_ms`: OpenMetrics when `openmetrics`, else the Prometheus
/// text format 0.0.4. Returns the body and its content type.
pub fn render(now_ms: u64, openmetrics: bool) -> (String, &'static str) {
    use prometheus_client::encoding::{prometheus_text, text};
    let live = live_registry(now_ms);
    let mut out = String::new();
    // Writing into a String cannot fail.
    if openmetrics {
        let _ = text::encode_registry(&mut out, &METRICS.registry);
        let _ = text::encode_registry(&mut out, &live);
        let _ = text::encode_eof(&mut out);
        (out, OPENMETRICS)
    } else {
        let _ = prometheus_text::encode(&mut out, &METRICS.registry);
        let _ = prometheus_text::encode(&mut out, &live);
        (out, PROMETHEUS_TEXT)
    }
}

/// Whether an `Accept` header asks for OpenMetrics (as Prometheus does) (pure).
pub fn wants_openmetrics(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.contains("application/openmetrics-text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_the_verdict_and_the_transition() {
        let retry = Verdict::Retry { after: None };
        let again = Transition::Retrying { at_ms: 1 };
        assert_eq!(
            Outcome::of(&Verdict::Delivered, Transition::Delivered),
            Outcome::Delivered
        );
        assert_eq!(Outcome::of(&retry, again), Outcome::Retry);
        assert_eq!(Outcome::of(&retry, Transition::Dead), Outcome::Dead);
        assert_eq!(
            Outcome::of(&Verdict::Fail, Transition::Dead),
            Outcome::Failed
        );
    }

    #[test]
    fn labels_are_config_names_or_other() {
        assert_eq!(bounded("ops-hook"), "ops-hook");
        assert_eq!(bounded("https://hooks.example/T0/B0/xyz"), "other");
        assert_eq!(bounded(""), "other");
        assert_eq!(bounded(&"a".repeat(65)), "other");
        assert_eq!(bounded("key id with spaces"), "other");
    }

    #[test]
    fn stream_lag_is_the_newest_entry_age() {
        assert_eq!(stream_lag_seconds(None, 5_000), 0.0);
        assert_eq!(stream_lag_seconds(Some("3500-0"), 5_000), 1.5);
        assert_eq!(stream_lag_seconds(Some("9000-1"), 5_000), 0.0);
    }

    #[test]
    fn accept_headers_choose_the_format() {
        assert!(wants_openmetrics(Some(
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
        )));
        assert!(!wants_openmetrics(Some("text/plain")));
        assert!(!wants_openmetrics(None));
    }

    #[test]
    fn both_formats_carry_every_family() {
        rule_evaluated(Rule::Quota);
        delivery(
            "unit-test-hook",
            Outcome::Delivered,
            Duration::from_millis(30),
        );
        snapshot("demo", Duration::from_millis(4), true, 1_000);
        let (om, ty) = render(3_000, true);
        assert_eq!(ty, OPENMETRICS);
        assert!(om.ends_with("# EOF\n"), "{om}");
        assert!(om.contains("relaywatch_rule_evaluations_total{rule=\"quota\"}"));
        assert!(om.contains(
            "relaywatch_deliveries_total{channel=\"unit-test-hook\",outcome=\"delivered\"} 1"
        ));
        assert!(om.contains("relaywatch_build_info{version=\""), "{om}");
        let (text, ty) = render(3_000, false);
        assert_eq!(ty, PROMETHEUS_TEXT);
        assert!(!text.contains("# EOF"));
        assert!(
            text.contains(
                "relaywatch_delivery_duration_seconds_count{channel=\"unit-test-hook\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("\nrelaywatch_snapshot_age_seconds "),
            "{text}"
        );
    }
}

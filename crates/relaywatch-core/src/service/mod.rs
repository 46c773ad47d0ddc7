//! `Service`: the one facade (DESIGN's `Service`) the HTTP API of `relaywatch serve` and the desktop
//! shell's Tauri commands call. It holds the config file's path and validated `Settings`, the
//! secret store, and a cached Snapshot (refreshed on demand and on an interval; a failed refresh
//! keeps the old data and marks it stale). Rule: every method answers typed results or a
//! `ServiceError` that serialises, and no answer carries a secret value.

mod alerts;
pub mod config_check;
mod config_edit;
pub mod deliveries;
pub mod dry_runs;
pub mod error;
pub mod file;
pub mod ingest;
pub mod notices;
pub mod probe;
pub mod replay;
pub mod report;
pub mod schedules;
pub mod send_now;
pub mod silences;
pub mod vault;
pub mod views;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use error::{ServiceError, WireField};
pub use vault::Vault;
pub use views::*;

use crate::config::channels::{ChannelSettings, SecretRef};
use crate::config::{Lang, Settings, SourceKindSetting, ThemeSetting};
use crate::error::FieldError;
use crate::model::Snapshot;
use crate::render::charts::ChartKind;
use crate::secret_store::SecretStore;
use crate::secrets::Secret;
use crate::source::Relay;
use crate::store::alert_state::AlertStateStore;

/// The secret fields of a channel, as named in `ChannelInput.secrets`.
pub const SECRET_FIELDS: [&str; 4] = ["url", "secret", "bearer", "app_secret"];

/// Resolved alerts shown for this long.
const RESOLVED_SHOWN: chrono::Duration = chrono::Duration::hours(24);

#[derive(Default)]
struct Cache {
    snapshot: Option<Arc<Snapshot>>,
    taken_at: Option<DateTime<Utc>>,
    last_attempt: Option<DateTime<Utc>>,
    last_error: Option<String>,
    /// The snapshot as JSON, made once per snapshot (the dashboard asks every refresh).
    json: Option<Arc<str>>,
    /// Chart SVGs of this snapshot by `kind|lang|theme`; emptied with a new snapshot or settings.
    charts: HashMap<String, Arc<str>>,
}

impl Cache {
    /// Drops whatever was derived from the snapshot or the settings.
    fn forget_derived(&mut self) {
        self.json = None;
        self.charts.clear();
    }
}

/// The facade.
pub struct Service {
    path: PathBuf,
    settings: RwLock<Settings>,
    store: SecretStore,
    vault: Vault,
    cache: Mutex<Cache>,
    refreshing: tokio::sync::Mutex<()>,
    /// Serialises config writes (read, change, validate, write).
    writing: Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The slot of a secret field in a channel.
fn secret_slot<'a>(c: &'a mut ChannelSettings, field: &str) -> Option<&'a mut Option<SecretRef>> {
    match field {
        "url" => Some(&mut c.url),
        "secret" => Some(&mut c.secret),
        "bearer" => Some(&mut c.bearer),
        "app_secret" => Some(&mut c.app_secret),
        _ => None,
    }
}

/// Settings as stored: literal secrets never leave (they are refused by validation anyway).
fn without_literals(mut s: Settings) -> Settings {
    for c in &mut s.channels {
        for f in SECRET_FIELDS {
            if let Some(slot) = secret_slot(c, f) {
                if let Some(SecretRef::Plain(_)) = slot {
                    *slot = Some(SecretRef::Plain("***".into()));
                }
            }
        }
    }
    s
}

/// Status as of `now` (pure): stale when the last refresh failed or is older than two intervals.
fn status_of(
    cache_taken: Option<DateTime<Utc>>,
    last_attempt: Option<DateTime<Utc>>,
    last_error: Option<String>,
    interval_secs: u64,
    now: DateTime<Utc>,
) -> (String, bool, Option<String>) {
    let Some(taken) = cache_taken else {
        return ("offline".into(), false, last_error);
    };
    let late = now - taken > chrono::Duration::seconds(2 * interval_secs as i64);
    let failed_since = last_error.is_some() && last_attempt.is_some_and(|a| a >= taken);
    let stale = late || failed_since;
    let health = if stale { "stale" } else { "ok" };
    (
        health.into(),
        stale,
        if failed_since { last_error } else { None },
    )
}

/// Something derived from `snap`, if the cache still holds that very snapshot.
fn cached_for<T>(
    cache: &Mutex<Cache>,
    snap: &Arc<Snapshot>,
    pick: impl FnOnce(&Cache) -> Option<T>,
) -> Option<T> {
    let c = lock(cache);
    if c.snapshot.as_ref().is_some_and(|s| Arc::ptr_eq(s, snap)) {
        pick(&c)
    } else {
        None
    }
}

fn parse_lang(field: &str, l: Option<&str>, default: Lang) -> Result<Lang, ServiceError> {
    match l {
        None | Some("") => Ok(default),
        Some(l) => {
            Lang::parse(l).ok_or_else(|| ServiceError::input(field, l, "must be en or zh-CN"))
        }
    }
}

impl Service {
    /// Opens `path` (a missing file means all defaults; it is created on the first save).
    pub fn open(path: &Path, store: SecretStore, vault: Vault) -> Result<Service, ServiceError> {
        let settings = match std::fs::read_to_string(path) {
            Ok(text) => crate::config::load_from_str(&text, &path.display().to_string())?
                .validated(Some(path.display().to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Settings::default(),
            Err(e) => {
                return Err(ServiceError::Io(format!(
                    "cannot read the config {}: {e}",
                    path.display()
                )))
            }
        };
        Ok(Service {
            path: path.to_path_buf(),
            settings: RwLock::new(settings),
            store,
            vault,
            cache: Mutex::new(Cache::default()),
            refreshing: tokio::sync::Mutex::new(()),
            writing: Mutex::new(()),
        })
    }

    /// The current validated settings.
    pub fn settings(&self) -> Settings {
        self.settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The config file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The secret store (resolves references).
    pub fn secret_store(&self) -> &SecretStore {
        &self.store
    }

    /// Where new secrets go.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    // ---- snapshot ---------------------------------------------------------------------------

    /// Takes a new snapshot now. On failure the old data stays (marked stale) and the error is
    /// kept for `status()`; the status is returned either way.
    pub async fn refresh(&self) -> Status {
        let _one = self.refreshing.lock().await;
        let settings = self.settings();
        let now = Utc::now();
        let result = crate::daemon::jobs::snapshot(&settings, now).await;
        {
            let mut c = lock(&self.cache);
            c.last_attempt = Some(now);
            match result {
                Ok(s) => {
                    c.snapshot = Some(Arc::new(s));
                    c.taken_at = Some(now);
                    c.last_error = None;
                    c.forget_derived();
                }
                Err(e) => c.last_error = Some(crate::secrets::redact(&e.to_string())),
            }
        }
        self.status(Utc::now())
    }

    /// The cached snapshot; taken first when there is none yet.
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, ServiceError> {
        if let Some(s) = lock(&self.cache).snapshot.clone() {
            return Ok(s);
        }
        self.refresh().await;
        let c = lock(&self.cache);
        c.snapshot.clone().ok_or_else(|| {
            ServiceError::Source(
                c.last_error
                    .clone()
                    .unwrap_or_else(|| "no snapshot yet".into()),
            )
        })
    }

    /// The cached snapshot as JSON text, serialised once per snapshot.
    pub async fn snapshot_json(&self) -> Result<Arc<str>, ServiceError> {
        let snap = self.snapshot().await?;
        if let Some(j) = cached_for(&self.cache, &snap, |c| c.json.clone()) {
            return Ok(j);
        }
        let text: Arc<str> = serde_json::to_string(&*snap)
            .map_err(|e| ServiceError::Io(format!("cannot serialise the snapshot: {e}")))?
            .into();
        let mut c = lock(&self.cache);
        if c.snapshot.as_ref().is_some_and(|s| Arc::ptr_eq(s, &snap)) {
            c.json = Some(text.clone());
        }
        Ok(text)
    }

    /// Health, last refresh, stale flag, last error and the source with credentials masked.
    pub fn status(&self, now: DateTime<Utc>) -> Status {
        let s = self.settings();
        let c = lock(&self.cache);
        let (health, stale, last_error) = status_of(
            c.taken_at,
            c.last_attempt,
            c.last_error.clone(),
            s.serve.refresh_secs,
            now,
        );
        let relay = crate::source::open(&s);
        Status {
            health,
            source: SourceView {
                kind: relay.kind().as_str().into(),
                url: relay.location(),
            },
            last_refresh: c.taken_at,
            last_attempt: c.last_attempt,
            stale,
            last_error,
            refresh_interval_secs: s.serve.refresh_secs,
            config_path: self.path.display().to_string(),
            secrets_fallback: self.vault.fallback_dir().map(|d| d.display().to_string()),
        }
    }

    /// One chart of the dashboard as SVG (the same drawing the reports send as PNG). `kind`:
    /// `overview`, `models`, `trend`, `top-keys`.
    pub async fn chart_svg(
        &self,
        kind: &str,
        lang: Option<&str>,
        theme: Option<&str>,
    ) -> Result<String, ServiceError> {
        let kind = ChartKind::ALL
            .into_iter()
            .find(|k| k.file_stem() == kind)
            .ok_or_else(|| {
                ServiceError::input("kind", kind, "must be overview, models, trend or top-keys")
            })?;
        let mut r = self.settings().report;
        r.lang = parse_lang("lang", lang, r.lang)?;
        r.chart_theme = match theme {
            None | Some("") => r.chart_theme,
            Some("light") => ThemeSetting::Light,
            Some("dark") => ThemeSetting::Dark,
            Some(t) => return Err(ServiceError::input("theme", t, "must be light or dark")),
        };
        let snap = self.snapshot().await?;
        let key = format!("{}|{:?}|{:?}", kind.file_stem(), r.lang, r.chart_theme);
        if let Some(svg) = cached_for(&self.cache, &snap, |c| c.charts.get(&key).cloned()) {
            return Ok(svg.to_string());
        }
        let labels = crate::render::bundle::chart_labels(r.lang);
        let opts = crate::render::bundle::chart_options(&r);
        // Drawing takes milliseconds to tens of them: keep it off the async workers that answer
        // the dashboard's other requests.
        let drawn = snap.clone();
        let svg = tokio::task::spawn_blocking(move || {
            crate::render::charts::render_svg(kind, &drawn, &opts, &labels)
        })
        .await
        .map_err(|e| ServiceError::Source(format!("chart drawing stopped: {e}")))?
        .map_err(|e| ServiceError::Source(e.to_string()))?;
        let mut c = lock(&self.cache);
        if c.snapshot.as_ref().is_some_and(|s| Arc::ptr_eq(s, &snap)) {
            c.charts.insert(key, svg.as_str().into());
        }
        Ok(svg)
    }

    // ---- config -----------------------------------------------------------------------------

    /// Sends the test message to channel `name` through the real path (secrets, signing, SSRF
    /// guard) and returns each request's reply and the rule that judged it.
    pub async fn test_channel(
        &self,
        name: &str,
        lang: Option<&str>,
    ) -> Result<TestResult, ServiceError> {
        let s = self.settings();
        let sender = crate::delivery::channel_sender::ChannelSender::new(&s, name, &self.store)
            .map_err(|e| match e {
                crate::delivery::channel_sender::SenderError::NoSuchChannel(_) => no_channel(name),
                other => ServiceError::Send(crate::secrets::redact(&other.to_string())),
            })?;
        let lang = parse_lang("lang", lang, sender.settings.lang.unwrap_or(s.report.lang))?;
        let now = Utc::now();
        let msg = report::test_message(&s, name, Some(lang), now);
        let id = format!("test:{name}:{}", now.timestamp_millis());
        let sent = send_now::send_view(&sender.send(&msg, &id, now).await);
        Ok(TestResult {
            channel: name.to_string(),
            delivered: sent.delivered,
            attempts: sent.requests,
        })
    }

    // ---- deliveries and alerts --------------------------------------------------------------

    /// Recent attempts (newest first, at most `limit` per channel) and dead letters.
    pub async fn history(
        &self,
        channel: Option<&str>,
        limit: usize,
    ) -> Result<History, ServiceError> {
        let s = self.settings();
        if let Some(c) = channel {
            if !s.channels.iter().any(|x| x.name == c) {
                return Err(no_channel(c));
            }
        }
        deliveries::history(&s, channel, limit).await
    }

    /// "Retry now": re-queues dead-lettered item `id` for immediate delivery.
    pub async fn retry_dead(&self, id: u64) -> Result<(), ServiceError> {
        deliveries::retry_dead(
            &self.settings(),
            id,
            crate::delivery::outbox::system_now_ms(),
        )
        .await
    }

    /// The schedules that run, each with its reading and next three fires after `now`.
    pub fn schedules(&self, now: DateTime<Utc>) -> Vec<ScheduleView> {
        schedules::listed(&self.settings(), None, now, 3)
            .into_iter()
            .map(|sc| ScheduleView {
                next: sc.fires.iter().map(|f| f.at).collect(),
                name: sc.name,
                kind: sc.kind,
                tz: sc.tz,
                reading: sc.reading,
                enabled: sc.enabled,
                channels: sc.channels,
            })
            .collect()
    }

    /// A schedule read aloud with its next three fires (nothing is saved).
    pub fn preview_schedule(
        &self,
        cron: &str,
        tz: Option<&str>,
        lang: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Preview, ServiceError> {
        // The schedule and the zone are judged before the language.
        let lang = parse_lang("lang", lang, self.settings().report.lang);
        let fallback = self.settings().report.lang;
        let r = schedules::read_aloud(cron, tz, *lang.as_ref().unwrap_or(&fallback), now, 3)?;
        lang?;
        Ok(Preview {
            reading: r.reading,
            next: r.fires.iter().map(|f| f.at).collect(),
        })
    }

    /// `POST /ingest`: pushes the NDJSON LogEvents of `body` to the events stream.
    pub async fn ingest(&self, body: &str) -> Result<ingest::Ingested, ServiceError> {
        ingest::ingest(&self.settings(), body).await
    }

    // ---- source and rules -------------------------------------------------------------------

    /// "Test connection": key counts of `redis_url` (the configured source when `None`).
    pub async fn test_source(&self, redis_url: Option<&str>) -> Result<SourceProbe, ServiceError> {
        let s = self.settings();
        if s.source.effective_kind() == SourceKindSetting::Cch && redis_url.is_none() {
            return Ok(probe::probe_cch(&s).await);
        }
        let url = match redis_url.filter(|u| !u.is_empty()) {
            Some(u)
                if s.source
                    .redis_url
                    .as_deref()
                    .map(crate::source::mask_url)
                    .as_deref()
                    == Some(u) =>
            {
                s.source.redis_url.clone().unwrap_or_default()
            }
            Some(u) => u.to_string(),
            None => s.source.redis_url.clone().ok_or_else(|| {
                ServiceError::input(
                    "redis_url",
                    "(unset)",
                    "give a URL such as redis://127.0.0.1:6379/0",
                )
            })?,
        };
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("redis://")
            || lower.starts_with("rediss://")
            || lower.starts_with("unix://"))
        {
            return Err(ServiceError::input(
                "redis_url",
                crate::source::mask_url(&url),
                "must start with redis://, rediss:// or unix:// (e.g. redis://127.0.0.1:6379/0)",
            ));
        }
        Ok(probe::probe(&url, Duration::from_millis(s.source.connect_timeout_ms)).await)
    }
}

fn no_channel(name: &str) -> ServiceError {
    ServiceError::NotFound(format!(
        "no channel named {name:?} in the config; GET /api/config lists them"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn stale_after_a_failure_or_two_intervals() {
        let t = Utc.with_ymd_and_hms(2026, 11, 22, 7, 0, 0).unwrap();
        let m = chrono::Duration::minutes;
        assert_eq!(status_of(None, None, None, 60, t).0, "offline");
        assert_eq!(status_of(Some(t), Some(t), None, 60, t + m(1)).0, "ok");
        assert_eq!(status_of(Some(t), Some(t), None, 60, t + m(3)).0, "stale");
        let (h, stale, err) = status_of(Some(t), Some(t + m(1)), Some("down".into()), 60, t + m(1));
        assert_eq!(
            (h.as_str(), stale, err.as_deref()),
            ("stale", true, Some("down"))
        );
    }
}

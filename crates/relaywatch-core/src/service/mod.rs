//! `Service`: the one facade (DESIGN's `Service`) the HTTP API of `relaywatch serve` and the desktop
//! shell's Tauri commands call. It holds the config file's path and validated `Settings`, the
//! secret store, and a cached Snapshot (refreshed on demand and on an interval; a failed refresh
//! keeps the old data and marks it stale). Rule: every method answers typed results or a
//! `ServiceError` that serialises, and no answer carries a secret value.

pub mod deliveries;
pub mod error;
pub mod file;
pub mod ingest;
pub mod probe;
pub mod vault;
pub mod views;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};

pub use error::{ServiceError, WireField};
pub use vault::Vault;
pub use views::*;

use crate::channels::Outcome;
use crate::config::channels::{ChannelSettings, SecretRef};
use crate::config::{Lang, Settings, SourceKindSetting, ThemeSetting};
use crate::error::FieldError;
use crate::model::Snapshot;
use crate::render::charts::ChartKind;
use crate::rules::alert_state::{parse_rule, AlertStateStore};
use crate::secret_store::SecretStore;
use crate::secrets::Secret;

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
        let kind = s.source.effective_kind();
        Status {
            health,
            source: SourceView {
                kind: match kind {
                    SourceKindSetting::Crs => "crs".into(),
                    SourceKindSetting::Demo => "demo".into(),
                },
                url: s
                    .source
                    .redis_url
                    .as_deref()
                    .map(crate::source::mask_url)
                    .filter(|_| kind == SourceKindSetting::Crs),
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

    /// The settings with references (never values) and each channel secret's mask.
    pub fn config(&self) -> ConfigView {
        let s = self.settings();
        let mut secrets = BTreeMap::new();
        for c in &s.channels {
            let mut fields = BTreeMap::new();
            let mut c = c.clone();
            for f in SECRET_FIELDS {
                if let Some(Some(r)) = secret_slot(&mut c, f) {
                    fields.insert(f.to_string(), vault::mask_ref(&self.store, r));
                }
            }
            secrets.insert(c.name.clone(), fields);
        }
        let mut shown = without_literals(s);
        for url in [
            &mut shown.source.redis_url,
            &mut shown.state.redis_url,
            &mut shown.events.redis_url,
        ]
        .into_iter()
        .flatten()
        {
            *url = crate::source::mask_url(url);
        }
        for c in &mut shown.channels {
            if let Some(p) = &c.proxy {
                c.proxy = Some(crate::secrets::redact_url(p));
            }
        }
        ConfigView {
            settings: shown,
            secrets,
            path: self.path.display().to_string(),
            stored_in: None,
        }
    }

    /// Validates `new` again and writes it atomically (temp file + rename, 0600). A masked
    /// Redis URL or proxy sent back unchanged keeps the stored one. On any problem nothing is
    /// written and every field error is returned.
    pub fn save_config(&self, new: Settings) -> Result<ConfigView, ServiceError> {
        let _w = lock(&self.writing);
        let old = self.settings();
        let new = unmask(new, &old);
        self.write(new)?;
        Ok(self.config())
    }

    fn write(&self, new: Settings) -> Result<(), ServiceError> {
        let problems = new.problems();
        if !problems.is_empty() {
            return Err(ServiceError::InvalidConfig(problems));
        }
        let text = toml::to_string_pretty(&new)
            .map_err(|e| ServiceError::Io(format!("cannot render the config as TOML: {e}")))?;
        file::write_atomic(&self.path, text.as_bytes()).map_err(|e| {
            ServiceError::Io(format!(
                "cannot write the config {}: {e}; the old file is unchanged",
                self.path.display()
            ))
        })?;
        *self.settings.write().unwrap_or_else(|e| e.into_inner()) = new;
        lock(&self.cache).charts.clear();
        Ok(())
    }

    // ---- channels ---------------------------------------------------------------------------

    /// Adds a channel; the secrets typed in go to the keychain (else the 0600 secrets files)
    /// and only their references to the config.
    pub fn add_channel(&self, input: ChannelInput) -> Result<ConfigView, ServiceError> {
        let _w = lock(&self.writing);
        let mut s = self.settings();
        if s.channels.iter().any(|c| c.name == input.channel.name) {
            return Err(ServiceError::Conflict(format!(
                "a channel named {:?} exists already: choose another name, or edit that one",
                input.channel.name
            )));
        }
        s.channels.push(input.channel.clone());
        let index = s.channels.len() - 1;
        self.place_secrets(s, index, None, input)
    }

    /// Replaces channel `name`; a secret omitted from `input.secrets` keeps the stored one.
    pub fn update_channel(
        &self,
        name: &str,
        input: ChannelInput,
    ) -> Result<ConfigView, ServiceError> {
        let _w = lock(&self.writing);
        let mut s = self.settings();
        let index = s
            .channels
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| no_channel(name))?;
        if input.channel.name != name && s.channels.iter().any(|c| c.name == input.channel.name) {
            return Err(ServiceError::Conflict(format!(
                "a channel named {:?} exists already",
                input.channel.name
            )));
        }
        let old = s.channels[index].clone();
        let mut c = input.channel.clone();
        let mut old_c = old.clone();
        for f in SECRET_FIELDS {
            let kept = secret_slot(&mut old_c, f).and_then(|r| r.clone());
            if let Some(slot) = secret_slot(&mut c, f) {
                if slot.is_none() || matches!(slot, Some(SecretRef::Plain(_))) {
                    *slot = kept;
                }
            }
        }
        s.channels[index] = c;
        self.place_secrets(s, index, Some(old), input)
    }

    /// Removes channel `name` and forgets the secrets it had stored.
    pub fn remove_channel(&self, name: &str) -> Result<ConfigView, ServiceError> {
        let _w = lock(&self.writing);
        let mut s = self.settings();
        let index = s
            .channels
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| no_channel(name))?;
        let mut gone = s.channels.remove(index);
        self.write(s)?;
        for f in SECRET_FIELDS {
            if let Some(Some(r)) = secret_slot(&mut gone, f) {
                self.vault.forget(r);
            }
        }
        Ok(self.config())
    }

    /// Validates with placeholder references, then stores the typed secrets and writes.
    fn place_secrets(
        &self,
        mut s: Settings,
        index: usize,
        old: Option<ChannelSettings>,
        input: ChannelInput,
    ) -> Result<ConfigView, ServiceError> {
        let name = s.channels[index].name.clone();
        let mut typed: Vec<(&'static str, Secret)> = Vec::new();
        let mut bad = Vec::new();
        for (field, value) in &input.secrets {
            match SECRET_FIELDS.iter().find(|f| *f == field) {
                Some(f) if !value.trim().is_empty() => typed.push((f, Secret::new(value.trim()))),
                Some(_) => {}
                None => bad.push(FieldError {
                    field: format!("secrets.{field}"),
                    value: "(hidden)".into(),
                    fix: format!("secret fields are {}", SECRET_FIELDS.join(", ")),
                }),
            }
        }
        for (f, _) in &typed {
            let r = SecretRef::Keychain {
                keychain: vault::entry_name(&name, f),
            };
            if let Some(slot) = secret_slot(&mut s.channels[index], f) {
                *slot = Some(r);
            }
        }
        let mut problems = bad;
        problems.extend(s.problems());
        if !problems.is_empty() {
            return Err(ServiceError::InvalidConfig(problems));
        }
        let mut stored = Vec::new();
        for (f, value) in &typed {
            let r = self.vault.store(&vault::entry_name(&name, f), value)?;
            if let Some(slot) = secret_slot(&mut s.channels[index], f) {
                *slot = Some(r.clone());
            }
            stored.push(r);
        }
        if let Err(e) = self.write(s) {
            for r in &stored {
                self.vault.forget(r);
            }
            return Err(e);
        }
        if let Some(mut old) = old {
            if old.name != name {
                for f in SECRET_FIELDS {
                    if let Some(Some(r)) = secret_slot(&mut old, f) {
                        if !stored.contains(r) {
                            self.vault.forget(r);
                        }
                    }
                }
            }
        }
        let mut view = self.config();
        if !typed.is_empty() {
            view.stored_in = Some(self.vault.describe());
        }
        Ok(view)
    }

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
        let at = now.with_timezone(
            &FixedOffset::east_opt(s.source.timezone_offset_hours.clamp(-12, 14) * 3600)
                .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset")),
        );
        let msg = crate::render::messages::test_message(name, at, lang);
        let id = format!("test:{name}:{}", now.timestamp_millis());
        let sent = sender.send(&msg, &id, now).await;
        Ok(TestResult {
            channel: name.to_string(),
            delivered: sent.delivered(),
            attempts: sent
                .attempts
                .iter()
                .map(|a| AttemptView {
                    status: a.status,
                    reply: a.reply.clone(),
                    outcome: match a.outcome {
                        Outcome::Delivered { .. } => "delivered",
                        Outcome::Retry { .. } => "retry",
                        _ => "failed",
                    }
                    .into(),
                    rule: a.rule.clone(),
                    latency_ms: a.latency.as_millis() as u64,
                })
                .collect(),
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

    async fn alert_store(&self) -> Result<AlertStateStore, ServiceError> {
        let s = self.settings();
        let url = crate::store::state_redis_url(&s).ok_or_else(|| {
            ServiceError::State("alerts live in the state Redis, and none is configured: set [state] redis_url (or [source] redis_url)".into())
        })?;
        let conn = crate::source::redis_io::connect(
            url,
            Duration::from_millis(s.source.connect_timeout_ms),
        )
        .await
        .map_err(|e| ServiceError::State(e.to_string()))?;
        Ok(AlertStateStore::new(conn, s.state.prefix.clone()))
    }

    /// The error-rate windows as they stand at `now`: `global`, then each subject firing. Reads
    /// the shared window in the state Redis; adds nothing.
    async fn error_windows(
        &self,
        s: &Settings,
        now: DateTime<Utc>,
    ) -> Result<Vec<WindowView>, ServiceError> {
        use crate::rules::error_rate::{breached, ErrorRateRule};
        let url = crate::store::state_redis_url(s).ok_or_else(|| {
            ServiceError::State("the error-rate window lives in the state Redis, and none is configured: set [state] redis_url (or [source] redis_url)".into())
        })?;
        let state = |e: String| ServiceError::State(e);
        let mut conn = crate::source::redis_io::connect(
            url,
            Duration::from_millis(s.source.connect_timeout_ms),
        )
        .await
        .map_err(|e| state(e.to_string()))?
        .multiplexed();
        let cfg = s.rules.error_rate.clone();
        let firing: Vec<String> = redis::cmd("SMEMBERS")
            .arg(format!("{}alert:error_rate:firing", s.state.prefix))
            .query_async(&mut conn)
            .await
            .map_err(|e| state(e.to_string()))?;
        let mut subjects = vec!["global".to_string()];
        for f in firing {
            if !subjects.contains(&f) {
                subjects.push(f);
            }
        }
        let rule = ErrorRateRule::new(conn, cfg.clone(), &s.state.prefix);
        let mut out = Vec::with_capacity(subjects.len());
        for subject in subjects {
            let c = rule
                .window(&subject, now)
                .await
                .map_err(|e| state(e.to_string()))?;
            out.push(WindowView {
                subject,
                total: c.requests,
                errors: c.errors,
                window_seconds: cfg.window_seconds,
                breached: breached(&cfg, c),
            });
        }
        Ok(out)
    }

    /// Firing, silenced and recently resolved alerts, and the pause.
    pub async fn alerts(&self, now: DateTime<Utc>) -> Result<Alerts, ServiceError> {
        let mut st = self.alert_store().await?;
        let state = |e: crate::Error| ServiceError::State(e.to_string());
        let records = st.records().await.map_err(state)?;
        let silenced = st.silences(now).await.map_err(state)?;
        let paused_until = st.paused_until(now).await.map_err(state)?;
        let mut firing = Vec::new();
        let mut resolved = Vec::new();
        for r in records {
            match r.state {
                crate::render::message::AlertState::Firing => firing.push(r.alert),
                crate::render::message::AlertState::Resolved => {
                    if now - r.last_sent <= RESOLVED_SHOWN {
                        resolved.push(r.alert)
                    }
                }
            }
        }
        firing.sort_by_key(|a| std::cmp::Reverse(a.at));
        resolved.sort_by_key(|a| std::cmp::Reverse(a.at));
        Ok(Alerts {
            firing,
            silenced,
            resolved,
            paused_until,
        })
    }

    /// Silences alerts of `rule` (any when `None`) about `subject` (any when `None`) for
    /// `duration` (`30m`, `1h`, `2d`).
    pub async fn silence(
        &self,
        rule: Option<&str>,
        subject: Option<&str>,
        duration: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<crate::rules::alert_state::Silence, ServiceError> {
        let rule = match rule.filter(|r| !r.is_empty() && *r != "*") {
            None => None,
            Some(r) => Some(parse_rule(r).ok_or_else(|| {
                ServiceError::input(
                    "rule",
                    r,
                    "must be error_rate, breaker or quota (or empty for any)",
                )
            })?),
        };
        let d = crate::config::parse_duration(duration).ok_or_else(|| {
            ServiceError::input("duration", duration, crate::config::DURATION_HINT)
        })?;
        if rule.is_none() && subject.is_none_or(|s| s.is_empty()) {
            return Err(ServiceError::input(
                "subject",
                "(empty)",
                "give a rule or a subject (e.g. provider:3); to silence everything use pause",
            ));
        }
        let mut st = self.alert_store().await?;
        st.add_silence(
            rule,
            subject.filter(|s| !s.is_empty()).map(str::to_string),
            now + d,
            reason,
            now,
        )
        .await
        .map_err(|e| ServiceError::State(e.to_string()))
    }

    // ---- schedules --------------------------------------------------------------------------

    /// The schedules that run, each with its reading and next three fires after `now`.
    pub fn schedules(&self, now: DateTime<Utc>) -> Vec<ScheduleView> {
        let s = self.settings();
        let lang = s.report.lang;
        crate::config::schedules::effective_schedules(&s, crate::schedule::system_tz())
            .into_iter()
            .map(|sc| ScheduleView {
                reading: crate::schedule::describe(&sc.spec, sc.lang.unwrap_or(lang)),
                next: crate::schedule::next_n(&sc.spec, sc.tz, now, 3),
                name: sc.name,
                kind: sc.kind.as_str().into(),
                tz: sc.tz.name().into(),
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
        let spec = crate::schedule::Spec::parse(cron)
            .map_err(|e| ServiceError::input("cron", cron, e.0))?;
        let tz = match tz.filter(|t| !t.is_empty()) {
            None => crate::schedule::system_tz(),
            Some(t) => crate::schedule::parse_tz(t).map_err(|e| ServiceError::input("tz", t, e))?,
        };
        let lang = parse_lang("lang", lang, self.settings().report.lang)?;
        Ok(Preview {
            reading: crate::schedule::describe(&spec, lang),
            next: crate::schedule::next_n(&spec, tz, now, 3),
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

    /// Evaluates `rule` on current data and returns what it would report; sends and stores
    /// nothing. `quota`: keys over a threshold now (from a clean state).
    pub async fn dry_run(&self, rule: &str, now: DateTime<Utc>) -> Result<DryRun, ServiceError> {
        let s = self.settings();
        match rule {
            "quota" => {
                let url = s.source.redis_url.clone().ok_or_else(|| {
                    ServiceError::input(
                        "source.redis_url",
                        "(unset)",
                        "quota reads the relay's Redis: set [source] redis_url",
                    )
                })?;
                let tz = crate::tz::RelayTz::from_config(s.source.timezone_offset_hours);
                let q = s.rules.quota.clone();
                let mut conn = crate::source::redis_io::connect(
                    &url,
                    Duration::from_millis(s.source.connect_timeout_ms),
                )
                .await?;
                let inputs =
                    crate::source::crs::quota::read_key_costs(&mut conn, &q, now, tz).await?;
                let (_, alerts) = crate::rules::quota::evaluate(
                    &inputs,
                    &q.limits,
                    &q.thresholds,
                    &Default::default(),
                    now,
                    tz,
                );
                Ok(DryRun {
                    rule: rule.into(),
                    alerts,
                    evaluated: inputs.len(),
                    windows: Vec::new(),
                })
            }
            "error_rate" => {
                let windows = self.error_windows(&s, now).await?;
                Ok(DryRun {
                    rule: rule.into(),
                    alerts: Vec::new(),
                    evaluated: windows.len(),
                    windows,
                })
            }
            other => Err(ServiceError::input(
                "rule",
                other,
                "a dry run is available for quota and error_rate (breaker follows live events)",
            )),
        }
    }
}

fn no_channel(name: &str) -> ServiceError {
    ServiceError::NotFound(format!(
        "no channel named {name:?} in the config; GET /api/config lists them"
    ))
}

/// `new` with masked values sent back unchanged replaced by the stored ones.
fn unmask(mut new: Settings, old: &Settings) -> Settings {
    let pairs = [
        (&mut new.source.redis_url, &old.source.redis_url),
        (&mut new.state.redis_url, &old.state.redis_url),
        (&mut new.events.redis_url, &old.events.redis_url),
    ];
    for (n, o) in pairs {
        if let (Some(nv), Some(ov)) = (n.as_ref(), o.as_ref()) {
            if *nv == crate::source::mask_url(ov) {
                *n = Some(ov.clone());
            }
        }
    }
    for c in &mut new.channels {
        if let Some(oc) = old.channels.iter().find(|o| o.name == c.name) {
            if let (Some(np), Some(op)) = (&c.proxy, &oc.proxy) {
                if *np == crate::secrets::redact_url(op) {
                    c.proxy = Some(op.clone());
                }
            }
            for f in SECRET_FIELDS {
                let mut oc = oc.clone();
                let kept = secret_slot(&mut oc, f).and_then(|r| r.clone());
                if let Some(slot) = secret_slot(c, f) {
                    if matches!(slot, Some(SecretRef::Plain(v)) if v == "***" || v.starts_with("••••"))
                    {
                        *slot = kept;
                    }
                }
            }
        }
    }
    new
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

    #[test]
    fn masked_urls_sent_back_keep_the_stored_ones() {
        let mut old = Settings::default();
        old.source.redis_url = Some("redis://:hunter2@127.0.0.1:6379/0".into());
        let mut new = old.clone();
        new.source.redis_url = Some(crate::source::mask_url("redis://:hunter2@127.0.0.1:6379/0"));
        assert_eq!(unmask(new, &old).source.redis_url, old.source.redis_url);
    }
}

//! The engine behind the tray, with no GUI in it: the settings, the daemon (run exactly as
//! `relaywatch run` runs it, with a StatusBoard, when a state Redis is configured; stopped on
//! Quit), the latest snapshot for the menu (the built-in demo data until a source is
//! configured), the alerts the daemon reports, pause/resume, and "Send report now".

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use relaywatch_core::config::{self, ProcessEnv, Settings, SourceKindSetting};
use relaywatch_core::daemon::{self, DaemonOptions, StatusBoard};
use relaywatch_core::model::{Alert, AlertState};
use relaywatch_core::secret_store::SecretStore;
use relaywatch_core::service::notices::{self, Message};
use relaywatch_core::service::report;
use relaywatch_core::service::silences::Switches;
use tokio::sync::{broadcast, watch, Notify};

use crate::keychain::DesktopKeychain;
use crate::tray_state::{Firing, TrayFacts};

/// A backend call that failed; the text names what to fix and carries no secret.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

fn fail(e: impl std::fmt::Display) -> BackendError {
    BackendError(relaywatch_core::secrets::redact(&e.to_string()))
}

/// The tray's engine.
pub struct Backend {
    pub settings: Settings,
    pub config_path: Option<PathBuf>,
    /// Why the config file was not used (the app then runs on demo data and says so).
    pub config_error: Option<String>,
    /// The daemon's board, when the daemon runs.
    pub board: Option<StatusBoard>,
    /// Every alert transition the daemon produces (and `--demo-alert`).
    pub alerts: broadcast::Sender<Alert>,
    /// Wakes the refresher at once ("Refresh now").
    pub refresh_now: Notify,
    facts: Mutex<TrayFacts>,
    shutdown: watch::Sender<bool>,
    /// Set once the daemon has returned.
    done: watch::Sender<bool>,
}

impl Backend {
    /// Loads `config` (or the default config file); a bad file is reported, not fatal.
    pub fn load(config: Option<&Path>) -> Arc<Backend> {
        let (settings, config_path, config_error) = match config::load(config, &ProcessEnv) {
            Ok(l) => (l.settings, l.path, None),
            Err(e) => (
                Settings::default(),
                config.map(Path::to_path_buf),
                Some(fail(e).0),
            ),
        };
        Backend::new(settings, config_path, config_error)
    }

    pub fn new(
        settings: Settings,
        config_path: Option<PathBuf>,
        config_error: Option<String>,
    ) -> Arc<Backend> {
        let (alerts, _) = broadcast::channel(256);
        let (shutdown, _) = watch::channel(false);
        let board = daemon::state_redis_url(&settings)
            .map(|_| StatusBoard::new(&daemon::default_instance(), Utc::now()));
        let facts = TrayFacts {
            demo: settings.source.effective_kind() == SourceKindSetting::Demo,
            poll_seconds: settings.desktop.poll_seconds,
            last_error: config_error.clone(),
            ..Default::default()
        };
        Arc::new(Backend {
            settings,
            config_path,
            config_error,
            board,
            alerts,
            refresh_now: Notify::new(),
            facts: Mutex::new(facts),
            shutdown,
            done: watch::channel(false).0,
        })
    }

    fn with_facts<R>(&self, f: impl FnOnce(&mut TrayFacts) -> R) -> R {
        let mut g = self.facts.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }

    /// Told when the engine's health changes in a way the tray shows (`None`: no engine).
    pub fn board_changes(&self) -> Option<watch::Receiver<u64>> {
        self.board.as_ref().map(|b| b.changes())
    }

    /// Whether the engine (daemon) runs: a state Redis is configured.
    pub fn engine_runs(&self) -> bool {
        self.board.is_some()
    }

    /// The daemon, to spawn on the app's runtime, when a state Redis is configured: it runs
    /// until [`Backend::stop_engine`].
    pub fn engine_task(
        self: &Arc<Self>,
    ) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
        let Some(board) = self.board.clone() else {
            tracing::info!(
                "no state Redis configured: the engine is off, the tray shows data only"
            );
            return None;
        };
        let options = DaemonOptions {
            alert_observer: Some(self.alerts.clone()),
            ..DaemonOptions::default()
        };
        let secrets = SecretStore::default().with_keychain(Box::new(DesktopKeychain::default()));
        let settings = self.settings.clone();
        let mut stop = self.shutdown.subscribe();
        let done = self.done.clone();
        Some(async move {
            let shutdown = async move {
                while !*stop.borrow() {
                    if stop.changed().await.is_err() {
                        return;
                    }
                }
            };
            if let Err(e) = daemon::run(settings, secrets, board, options, shutdown).await {
                tracing::error!("the engine could not start: {e}");
            }
            done.send_replace(true);
        })
    }

    /// Stops the daemon and waits up to `limit` for it (deliveries in flight finish or release
    /// their claims).
    pub async fn stop_engine(&self, limit: Duration) {
        self.shutdown.send_replace(true);
        if !self.engine_runs() {
            return;
        }
        let mut done = self.done.subscribe();
        let finished = async {
            while !*done.borrow() {
                if done.changed().await.is_err() {
                    return;
                }
            }
        };
        if tokio::time::timeout(limit, finished).await.is_err() {
            tracing::warn!("the engine did not stop within {} s", limit.as_secs());
        }
    }

    /// Reads a new snapshot (and the pause in force) now; keeps the old data on failure.
    pub async fn refresh(&self, now: DateTime<Utc>) {
        match report::snapshot_off_thread(&self.settings, now).await {
            Ok(s) => self.with_facts(|f| {
                f.snapshot = Some((s, now));
                f.last_error = self.config_error.clone();
            }),
            Err(e) => {
                let why = fail(e).0;
                tracing::warn!("refresh failed: {why}");
                self.with_facts(|f| f.last_error = Some(why));
            }
        }
        if self.engine_runs() {
            if let Ok(mut switches) = Switches::connect(&self.settings).await {
                if let Ok(p) = switches.paused_until(now).await {
                    self.with_facts(|f| f.paused_until = p);
                }
            }
        }
    }

    /// The facts the tray is drawn from, with the engine's health.
    pub fn facts(&self) -> TrayFacts {
        let mut f = self.with_facts(|f| f.clone());
        f.health = self.board.as_ref().map(|b| b.health());
        f
    }

    /// Whether alerts are paused at `now`.
    pub fn paused(&self, now: DateTime<Utc>) -> bool {
        self.with_facts(|f| f.paused_until.is_some_and(|t| t > now))
    }

    /// Records an alert the daemon reported (firing ones are listed in the menu until they
    /// resolve) and returns its message in the report language.
    pub fn heard(&self, alert: &Alert) -> Message {
        let msg = notices::alert_message(&self.settings, alert, self.settings.report.lang);
        let id = format!("{}:{}", alert.rule.as_str(), alert.subject);
        self.with_facts(|f| {
            f.firing.retain(|x| x.id != id);
            if alert.state == AlertState::Firing {
                f.firing.push(Firing {
                    id,
                    level: msg.level,
                    title: msg.title.clone(),
                    since: alert.first_seen,
                });
            }
        });
        msg
    }

    /// Pauses alerts until `until` (`None`: resume). Shared through the state Redis when there
    /// is one (every copy of relaywatch holds its messages), local to this app otherwise.
    pub async fn pause(&self, until: Option<DateTime<Utc>>) -> Result<(), BackendError> {
        self.with_facts(|f| f.paused_until = until);
        if !self.engine_runs() {
            return Ok(());
        }
        let mut switches = Switches::connect(&self.settings).await.map_err(fail)?;
        match until {
            Some(t) => switches.pause(t).await.map_err(fail),
            None => switches.resume().await.map_err(fail),
        }
    }

    /// The channels a report is sent to (`[report] channels`, else every enabled channel).
    pub fn report_channels(&self) -> Vec<String> {
        self.settings.report_channels()
    }

    /// Queues today's report for `channel` now (the daemon's sender delivers it).
    pub async fn send_report(&self, channel: &str, now: DateTime<Utc>) -> Result<(), BackendError> {
        report::queue_report(&self.settings, channel, now)
            .await
            .map_err(fail)?;
        Ok(())
    }
}

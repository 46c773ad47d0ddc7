//! `relaywatch run`: the daemon's process shell. Loads and validates the config, serves
//! `/health`, runs the engine's daemon, and handles signals: SIGINT/SIGTERM stop it gracefully
//! (claims finished or released), SIGHUP or a change of the config file reload it — a new
//! config that fails validation, or that the daemon cannot run on (no state Redis: an empty
//! file), is refused, said so in the log and in `/health`, and the old one keeps running.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use chrono::Utc;
use relaywatch_core::config::{self, LoadedConfig, Settings};
use relaywatch_core::daemon::{self, DaemonOptions, StatusBoard};
use relaywatch_core::secret_store::SecretStore;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, oneshot, watch};

use crate::cli::RunArgs;

fn load(path: Option<&Path>) -> Result<LoadedConfig, relaywatch_core::Error> {
    config::load(path, &config::env::ProcessEnv)
}

/// Why the running config is being replaced.
#[derive(Debug, Clone, Copy)]
enum Reload {
    Hangup,
    FileChanged,
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Sends `FileChanged` when the config file's modification time changes (polled every 2 s, so
/// editors that replace the file by rename are seen too).
fn watch_file(path: PathBuf, tx: mpsc::Sender<Reload>) {
    tokio::spawn(async move {
        let mut last = mtime(&path);
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let now = mtime(&path);
            if now != last {
                last = now;
                if tx.send(Reload::FileChanged).await.is_err() {
                    return;
                }
            }
        }
    });
}

pub async fn run(a: RunArgs) -> Result<i32> {
    let explicit = a.config.clone();
    let loaded = load(explicit.as_deref())?;
    let mut settings = loaded.settings;
    let config_path = loaded.path;
    let options = DaemonOptions::default();
    let board = StatusBoard::new(&options.instance, Utc::now());

    let (term_tx, term_rx) = watch::channel(false);
    let bind = a
        .health_bind
        .clone()
        .unwrap_or_else(|| settings.health.bind.clone());
    if !bind.is_empty() {
        let addr = bind.parse().with_context(|| {
            format!("`{bind}` is not an address and port such as 127.0.0.1:8080")
        })?;
        let mut rx = term_rx.clone();
        let (local, _task) = crate::health_cmd::serve(addr, board.clone(), async move {
            while !*rx.borrow() {
                if rx.changed().await.is_err() {
                    return;
                }
            }
        })
        .await?;
        crate::say!(
            "relaywatch {}: health on http://{local}/health",
            options.instance
        );
    }

    let (reload_tx, mut reload_rx) = mpsc::channel::<Reload>(4);
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sighup = signal(SignalKind::hangup())?;
    if let Some(p) = &config_path {
        watch_file(p.clone(), reload_tx.clone());
    }
    let hup_tx = reload_tx.clone();
    tokio::spawn(async move {
        while sighup.recv().await.is_some() {
            if hup_tx.send(Reload::Hangup).await.is_err() {
                return;
            }
        }
    });

    loop {
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let mut engine = tokio::spawn(start(
            settings.clone(),
            board.clone(),
            options.clone(),
            stop_rx,
        ));
        let next = loop {
            tokio::select! {
                _ = sigterm.recv() => break None,
                _ = sigint.recv() => break None,
                r = &mut engine => {
                    let _ = term_tx.send(true);
                    return match r {
                        Ok(Ok(())) => Ok(0),
                        Ok(Err(e)) => Err(e),
                        Err(e) => Err(anyhow::anyhow!("the daemon stopped abnormally: {e}")),
                    };
                }
                Some(why) = reload_rx.recv() => {
                    let path = explicit.as_deref().or(config_path.as_deref());
                    match reload(path, &settings) {
                        Ok(None) => board.reload_error(None),
                        Ok(Some(new)) => {
                            tracing::warn!("reloading the configuration ({why:?})");
                            board.reload_error(None);
                            break Some(new);
                        }
                        Err(msg) => {
                            tracing::error!("the new configuration was refused; the running one stays: {msg}");
                            board.reload_error(Some(msg));
                        }
                    }
                }
            }
        };
        let _ = stop_tx.send(());
        match engine.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("{e:#}"),
            Err(e) => tracing::error!("the daemon stopped abnormally: {e}"),
        }
        match next {
            Some(s) => settings = s,
            None => {
                let _ = term_tx.send(true);
                crate::say!("relaywatch {}: stopped", options.instance);
                return Ok(0);
            }
        }
    }
}

/// The config at `path` read again: `Ok(None)` when it is what runs, `Ok(Some)` when it should
/// replace it, `Err(why)` (redacted) when it must be refused: invalid, or valid but not enough
/// for the daemon to run (no state Redis — an empty file is the usual case).
fn reload(path: Option<&Path>, running: &Settings) -> Result<Option<Settings>, String> {
    let new = load(path).map_err(|e| relaywatch_core::secrets::redact(&e.to_string()))?;
    if new.settings == *running {
        return Ok(None);
    }
    if let Err(e) = daemon::can_run(&new.settings) {
        let file = new.path.as_deref().or(path);
        let empty = file
            .and_then(|p| std::fs::read_to_string(p).ok())
            .is_some_and(|t| t.trim().is_empty());
        let shown = file.map(|p| p.display().to_string()).unwrap_or_default();
        return Err(refusal(&shown, empty, &e.to_string()));
    }
    Ok(Some(new.settings))
}

/// The words `/health` and the log give for a config that validates but cannot run (pure).
fn refusal(file: &str, empty: bool, why: &str) -> String {
    let what = if empty {
        "is empty (a save caught half-way, or a truncated file?)"
    } else {
        "cannot run the daemon"
    };
    relaywatch_core::secrets::redact(&format!(
        "{file} {what}: {why}; the running configuration stays"
    ))
}

/// Runs the engine's daemon on one validated config until `stop` fires.
async fn start(
    settings: Settings,
    board: StatusBoard,
    options: DaemonOptions,
    stop: oneshot::Receiver<()>,
) -> Result<()> {
    let secrets = SecretStore::for_this_machine();
    daemon::run(settings, secrets, board, options, async move {
        let _ = stop.await;
    })
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_file_and_the_fix() {
        let why = daemon::can_run(&Settings::default())
            .unwrap_err()
            .to_string();
        let empty = refusal("/etc/relaywatch.toml", true, &why);
        assert!(
            empty.starts_with("/etc/relaywatch.toml is empty"),
            "{empty}"
        );
        assert!(empty.contains("[state] redis_url"), "{empty}");
        assert!(
            empty.ends_with("the running configuration stays"),
            "{empty}"
        );
        let other = refusal("/etc/relaywatch.toml", false, &why);
        assert!(other.contains("cannot run the daemon"), "{other}");
    }
}

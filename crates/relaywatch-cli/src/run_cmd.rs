//! `relaywatch run`: the daemon's process shell. Loads and validates the config, serves
//! `/health`, runs the engine's daemon, and handles signals: SIGINT/SIGTERM stop it gracefully
//! (claims finished or released), SIGHUP or a change of the config file (an OS file
//! notification, never a timer) reload it — a new
//! config that fails validation, or that the daemon cannot run on (no state Redis: an empty
//! file), is refused, said so in the log and in `/health`, and the old one keeps running.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use chrono::Utc;
use relaywatch_core::config::{self, LoadedConfig, Settings};
use relaywatch_core::daemon::{self, DaemonOptions, StatusBoard};
use relaywatch_core::secret_store::SecretStore;
use tokio::signal::unix::{signal, Signal, SignalKind};
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

/// How long the config file must stay quiet after a change before it is read: an editor's save
/// (truncate, write, rename) is one reload, not three.
const SETTLE: Duration = Duration::from_millis(250);

/// Whether an OS file event concerns the config file (pure): a change under one of its `names`
/// (its own, and its target's when it is a symlink) — written, created, renamed over, removed.
/// Reads and opens are not changes (the reload itself opens the file).
fn concerns(ev: &notify::Event, names: &[OsString]) -> bool {
    use notify::event::{AccessKind, AccessMode, EventKind};
    let change = match ev.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    };
    change
        && ev
            .paths
            .iter()
            .any(|p| p.file_name().is_some_and(|n| names.iter().any(|x| x == n)))
}

/// The folders to watch and the file names that matter there: the config path's, and its
/// target's when it is a symlink (a symlinked file edited where it lives).
fn watch_points(path: &Path) -> (Vec<PathBuf>, Vec<OsString>) {
    let mut dirs = Vec::new();
    let mut names = Vec::new();
    let real = std::fs::canonicalize(path).ok();
    for p in std::iter::once(path).chain(real.as_deref()) {
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if let Some(n) = p.file_name() {
            if !names.iter().any(|x: &OsString| x == n) {
                names.push(n.to_os_string());
            }
        }
        let same = dirs
            .iter()
            .any(|d: &PathBuf| std::fs::canonicalize(d).ok() == std::fs::canonicalize(&dir).ok());
        if !same {
            dirs.push(dir);
        }
    }
    (dirs, names)
}

/// Sends `FileChanged` when the config file changes, told by the OS (inotify on Linux): the
/// file's folder is watched, since editors replace files by rename, and events for other names
/// are ignored; a burst is folded into one after `SETTLE`. The watcher lives as long as the
/// returned handle. Where the OS cannot watch (no inotify left, say), falls back to looking at
/// the file's modification time every 2 s.
fn watch_file(path: PathBuf, tx: mpsc::Sender<Reload>) -> Option<notify::RecommendedWatcher> {
    let (raw_tx, mut raw_rx) = mpsc::unbounded_channel::<()>();
    let (dirs, names) = watch_points(&path);
    let watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        if ev.is_ok_and(|ev| concerns(&ev, &names)) {
            let _ = raw_tx.send(());
        }
    })
    .and_then(|mut w| {
        use notify::Watcher;
        for d in &dirs {
            w.watch(d, notify::RecursiveMode::NonRecursive)?;
        }
        Ok(w)
    });
    let watcher = match watcher {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(
                "cannot watch {} for changes ({e}); looking at it every 2 s instead",
                path.display()
            );
            poll_file(path, tx);
            return None;
        }
    };
    tokio::spawn(async move {
        while raw_rx.recv().await.is_some() {
            // Wait until the file has been quiet for SETTLE.
            while let Ok(Some(())) = tokio::time::timeout(SETTLE, raw_rx.recv()).await {}
            if tx.send(Reload::FileChanged).await.is_err() {
                return;
            }
        }
    });
    Some(watcher)
}

/// The fallback: the config file's modification time, looked at every 2 s.
fn poll_file(path: PathBuf, tx: mpsc::Sender<Reload>) {
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
    serve_health(&bind, &board, term_rx, &options.instance).await?;

    let (reload_tx, mut reload_rx) = mpsc::channel::<Reload>(4);
    let mut stops = Stops {
        term: signal(SignalKind::terminate())?,
        int: signal(SignalKind::interrupt())?,
    };
    let _watcher = listen_for_reloads(config_path.as_deref(), reload_tx)?;
    let path = explicit.or(config_path);
    loop {
        let turn = one_turn(
            &settings,
            &board,
            &options,
            &mut stops,
            &mut reload_rx,
            path.as_deref(),
        )
        .await;
        match turn {
            Turn::Replace(new) => settings = *new,
            Turn::Stop => {
                let _ = term_tx.send(true);
                crate::say!("relaywatch {}: stopped", options.instance);
                return Ok(0);
            }
            Turn::Finished(r) => {
                let _ = term_tx.send(true);
                return r;
            }
        }
    }
}

/// Serves `/health` on `bind` (nothing when it is empty) until `term` turns true.
async fn serve_health(
    bind: &str,
    board: &StatusBoard,
    term: watch::Receiver<bool>,
    instance: &str,
) -> Result<()> {
    if bind.is_empty() {
        return Ok(());
    }
    let addr = bind
        .parse()
        .with_context(|| format!("`{bind}` is not an address and port such as 127.0.0.1:8080"))?;
    let mut rx = term;
    let (local, _task) = crate::health_cmd::serve(addr, board.clone(), async move {
        while !*rx.borrow() {
            if rx.changed().await.is_err() {
                return;
            }
        }
    })
    .await?;
    crate::say!("relaywatch {instance}: health on http://{local}/health");
    Ok(())
}

/// Sends a `Reload` on SIGHUP and when the config file at `path` changes; the file watcher
/// lives as long as the returned handle.
fn listen_for_reloads(
    path: Option<&Path>,
    tx: mpsc::Sender<Reload>,
) -> Result<Option<notify::RecommendedWatcher>> {
    let mut sighup = signal(SignalKind::hangup())?;
    let watcher = path.and_then(|p| watch_file(p.to_path_buf(), tx.clone()));
    tokio::spawn(async move {
        while sighup.recv().await.is_some() {
            if tx.send(Reload::Hangup).await.is_err() {
                return;
            }
        }
    });
    Ok(watcher)
}

/// SIGTERM and SIGINT: stop gracefully.
struct Stops {
    term: Signal,
    int: Signal,
}

/// How one run of the engine on one config ended.
enum Turn {
    /// Asked to stop.
    Stop,
    /// A new config replaces the running one.
    Replace(Box<Settings>),
    /// The engine returned by itself: the process ends with this.
    Finished(Result<i32>),
}

/// Runs the engine on `settings` until a stop signal, a new config to run, or its own end.
async fn one_turn(
    settings: &Settings,
    board: &StatusBoard,
    options: &DaemonOptions,
    stops: &mut Stops,
    reloads: &mut mpsc::Receiver<Reload>,
    path: Option<&Path>,
) -> Turn {
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let mut engine = tokio::spawn(start(
        settings.clone(),
        board.clone(),
        options.clone(),
        stop_rx,
    ));
    let next = loop {
        tokio::select! {
            _ = stops.term.recv() => break None,
            _ = stops.int.recv() => break None,
            r = &mut engine => {
                return Turn::Finished(match r {
                    Ok(Ok(())) => Ok(0),
                    Ok(Err(e)) => Err(e),
                    Err(e) => Err(anyhow::anyhow!("the daemon stopped abnormally: {e}")),
                });
            }
            Some(why) = reloads.recv() => {
                if let Some(new) = consider(path, settings, board, why) {
                    break Some(new);
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
        Some(s) => Turn::Replace(Box::new(s)),
        None => Turn::Stop,
    }
}

/// Reads the config again after `why`: the new settings when they should replace the running
/// ones; a refusal goes to the log and `/health`.
fn consider(
    path: Option<&Path>,
    running: &Settings,
    board: &StatusBoard,
    why: Reload,
) -> Option<Settings> {
    match reload(path, running) {
        Ok(None) => {
            board.reload_error(None);
            None
        }
        Ok(Some(new)) => {
            tracing::warn!("reloading the configuration ({why:?})");
            board.reload_error(None);
            Some(new)
        }
        Err(msg) => {
            tracing::error!("the new configuration was refused; the running one stays: {msg}");
            board.reload_error(Some(msg));
            None
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
    use notify::event::{AccessKind, AccessMode, CreateKind, EventKind, ModifyKind, RenameMode};

    fn event(kind: EventKind, path: &str) -> notify::Event {
        notify::Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn only_changes_to_the_config_file_count() {
        let names = vec![OsString::from("relaywatch.toml")];
        let file = "/etc/relaywatch/relaywatch.toml";
        let written = EventKind::Access(AccessKind::Close(AccessMode::Write));
        let renamed = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        let data = EventKind::Modify(ModifyKind::Data(notify::event::DataChange::Any));
        for kind in [written, renamed, data, EventKind::Create(CreateKind::File)] {
            assert!(concerns(&event(kind, file), &names), "{kind:?}");
        }
        // The reload's own read is no change; nor is another file of the folder.
        let opened = EventKind::Access(AccessKind::Open(AccessMode::Any));
        let read = EventKind::Access(AccessKind::Close(AccessMode::Read));
        assert!(!concerns(&event(opened, file), &names));
        assert!(!concerns(&event(read, file), &names));
        assert!(!concerns(&event(data, "/etc/relaywatch/env"), &names));
        // An editor's swap file renamed over the config: the event names the config.
        let swap =
            event(renamed, "/etc/relaywatch/.relaywatch.toml.swp").add_path(PathBuf::from(file));
        assert!(concerns(&swap, &names));
    }

    #[test]
    fn a_symlinked_config_is_watched_where_its_target_lives() {
        let root = std::env::temp_dir().join(format!("rw-watch-{}", std::process::id()));
        let real = root.join("real");
        std::fs::create_dir_all(&real).unwrap();
        std::fs::write(real.join("actual.toml"), "").unwrap();
        let link = root.join("relaywatch.toml");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(real.join("actual.toml"), &link).unwrap();
        let (dirs, names) = watch_points(&link);
        assert_eq!(dirs.len(), 2, "{dirs:?}");
        assert_eq!(
            names,
            vec![
                OsString::from("relaywatch.toml"),
                OsString::from("actual.toml")
            ]
        );
        let (dirs, names) = watch_points(&real.join("actual.toml"));
        assert_eq!((dirs.len(), names.len()), (1, 1));
        let _ = std::fs::remove_dir_all(&root);
    }

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

//! The Tauri shell: one instance per user, the tray icon and menu (redrawn from the backend's
//! facts every few seconds), dashboard/settings windows created on open and destroyed on close
//! (WebKit runs only while one is seen; the app stays in the tray), native notifications for
//! alerts and failed deliveries, autostart, and a clean Quit that stops the engine first.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::Serialize;
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, RunEvent, Wry};
use tauri_plugin_autostart::ManagerExt;

use relaywatch_core::config::Lang;

use crate::args::{Args, WindowKind};
use crate::backend::Backend;
use crate::labels;
use crate::menu::{build_menu, menu_shape, MenuParts};
use crate::notify::{self, Heard};
use crate::pause::PauseChoice;
use crate::tray_state::{self, TrayState};

const TRAY_ID: &str = "relaywatch";

/// What the shell shares between its callbacks.
pub struct Shell {
    pub backend: Arc<Backend>,
    /// The facade the windows' commands call (`None` when it could not open; `app_error` says why).
    pub app: Option<Arc<relaywatch_core::service::Service>>,
    pub app_error: Option<String>,
    /// The tray's language, from the desktop's locale.
    pub lang: Lang,
    status_file: Option<PathBuf>,
    started: Instant,
    ready_ms: AtomicU64,
    notes_shown: AtomicU64,
    last_note: Mutex<Option<String>>,
    last_state: Mutex<Option<TrayState>>,
    /// The tray menu's changing items (edited in place while the menu's shape holds).
    menu: Mutex<Option<MenuParts>>,
    /// The failed delivery last announced (its time), so each is announced once.
    last_failure: Mutex<Option<chrono::DateTime<Utc>>>,
}

impl Shell {
    /// With the facade the commands call (or why it could not open).
    pub fn with_app(
        mut self: Arc<Self>,
        app: Result<relaywatch_core::service::Service, String>,
    ) -> Arc<Self> {
        if let Some(s) = Arc::get_mut(&mut self) {
            match app {
                Ok(a) => s.app = Some(Arc::new(a)),
                Err(e) => s.app_error = Some(e),
            }
        }
        self
    }

    /// The shell over `backend`, started at `started`, keeping `status_file` if given.
    pub fn new(
        backend: Arc<Backend>,
        status_file: Option<PathBuf>,
        started: Instant,
    ) -> Arc<Shell> {
        Arc::new(Shell {
            backend,
            app: None,
            app_error: None,
            lang: labels::from_locale(|k| std::env::var(k).ok()),
            status_file,
            started,
            ready_ms: AtomicU64::new(0),
            notes_shown: AtomicU64::new(0),
            last_note: Mutex::new(None),
            last_state: Mutex::new(None),
            menu: Mutex::new(None),
            last_failure: Mutex::new(None),
        })
    }
}

/// The JSON the app keeps in `--status-file` for scripts and tests.
#[derive(Serialize)]
struct StatusDoc<'a> {
    ready: bool,
    pid: u32,
    state: &'static str,
    status: &'a str,
    demo: bool,
    engine: bool,
    windows: Vec<String>,
    /// When the data on show was read (RFC 3339), if ever.
    refreshed_at: Option<String>,
    /// Alerts are paused until then (RFC 3339).
    paused_until: Option<String>,
    ready_ms: u64,
    notifications_shown: u64,
    last_notification: Option<String>,
}

fn write_status(app: &AppHandle, shell: &Shell) {
    let Some(path) = &shell.status_file else {
        return;
    };
    let now = Utc::now();
    let facts = shell.backend.facts();
    let st = tray_state::state(&facts, now);
    let text = tray_state::menu_text(&facts, now, shell.lang);
    let mut windows: Vec<String> = app.webview_windows().keys().cloned().collect();
    windows.sort();
    let doc = StatusDoc {
        ready: true,
        pid: std::process::id(),
        state: st.as_str(),
        status: &text.status,
        demo: facts.demo,
        engine: shell.backend.engine_runs(),
        windows,
        refreshed_at: facts.snapshot.as_ref().map(|(_, at)| at.to_rfc3339()),
        paused_until: facts
            .paused_until
            .filter(|t| *t > now)
            .map(|t| t.to_rfc3339()),
        ready_ms: shell.ready_ms.load(Ordering::Relaxed),
        notifications_shown: shell.notes_shown.load(Ordering::Relaxed),
        last_notification: shell
            .last_note
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone(),
    };
    let tmp = path.with_extension("tmp");
    if let Ok(json) = serde_json::to_vec_pretty(&doc) {
        if std::fs::write(&tmp, json).is_ok() {
            let _ = std::fs::rename(&tmp, path);
        }
    }
}

/// Opens (or focuses) a window; it is created now and destroyed when closed.
pub fn open_window(app: &AppHandle, kind: WindowKind) {
    if let Some(w) = app.get_webview_window(kind.label()) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
        return;
    }
    let (w, h) = kind.size();
    // The pages follow the desktop's language, as the tray does, until one is chosen in them
    // (WebKitGTK's navigator.language does not follow the locale).
    let lang = app
        .try_state::<Arc<Shell>>()
        .map_or(Lang::En, |shell| shell.lang);
    let code = serde_json::to_string(&lang).unwrap_or_else(|_| "\"en\"".into());
    let built = tauri::WebviewWindowBuilder::new(
        app,
        kind.label(),
        tauri::WebviewUrl::App(kind.page().into()),
    )
    .initialization_script(format!("window.__RELAYWATCH_LANG__ = {code};"))
    .title(kind.title())
    .inner_size(w, h)
    .min_inner_size(640.0, 480.0)
    .build();
    match built {
        Ok(_) => {
            tracing::info!("opened the {} window", kind.label());
            if let Some(shell) = app.try_state::<Arc<Shell>>() {
                write_status(app, &shell);
            }
        }
        Err(e) => tracing::error!("cannot open the {} window: {e}", kind.label()),
    }
}

/// Redraws the tray icon, tooltip and menu, and rewrites the status file. Never call it on the
/// main thread: it holds locks while the main thread carries out its GUI calls.
fn redraw(app: &AppHandle, shell: &Shell) {
    let now = Utc::now();
    let facts = shell.backend.facts();
    let st = tray_state::state(&facts, now);
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        let mut last = shell.last_state.lock().unwrap_or_else(|p| p.into_inner());
        if *last != Some(st) {
            if let Ok(img) = tauri::image::Image::from_bytes(st.icon_png()) {
                let _ = tray.set_icon(Some(img));
            }
            *last = Some(st);
        }
        drop(last);
        let text = tray_state::menu_text(&facts, now, shell.lang);
        let _ = tray.set_tooltip(Some(&text.tooltip));
        let mut kept = shell.menu.lock().unwrap_or_else(|p| p.into_inner());
        match kept.as_mut() {
            Some(parts) if parts.shape == menu_shape(shell, &text) => {
                let autostart_on = app.autolaunch().is_enabled().unwrap_or(false);
                parts.update(&text, shell.backend.paused(now), autostart_on);
            }
            _ => match build_menu(app, shell) {
                Ok((menu, parts)) => {
                    let _ = tray.set_menu(Some(menu));
                    *kept = Some(parts);
                }
                Err(e) => tracing::warn!("cannot rebuild the tray menu: {e}"),
            },
        }
    }
    // A delivery that finally failed: announce it once.
    if let Some(d) = facts.health.as_ref().and_then(|h| h.last_delivery.clone()) {
        let mut seen = shell.last_failure.lock().unwrap_or_else(|p| p.into_inner());
        if !d.delivered && *seen != Some(d.at) {
            *seen = Some(d.at);
            drop(seen);
            let local = Utc::now().with_timezone(&chrono::Local);
            if shell.backend.settings.desktop.notifies_failure(&local) {
                show(shell, &notify::delivery_failed(&d, shell.lang));
            }
        }
    }
    write_status(app, shell);
}

fn show(shell: &Shell, note: &notify::Note) {
    match notify::show(note) {
        Ok(()) => {
            shell.notes_shown.fetch_add(1, Ordering::Relaxed);
            *shell.last_note.lock().unwrap_or_else(|p| p.into_inner()) = Some(note.summary.clone());
            tracing::info!("notification shown: {}", note.summary);
        }
        Err(e) => {
            tracing::warn!("cannot show a notification ({e}); is a notification server running?")
        }
    }
}

fn on_menu(app: &AppHandle, id: &str) {
    let shell = app.state::<Arc<Shell>>().inner().clone();
    match id {
        "open:dashboard" => open_window(app, WindowKind::Dashboard),
        "open:settings" => open_window(app, WindowKind::Settings),
        "refresh" => shell.backend.refresh_now.notify_one(),
        "quit" => quit(app),
        "autostart" => {
            let al = app.autolaunch();
            let r = if al.is_enabled().unwrap_or(false) {
                al.disable()
            } else {
                al.enable()
            };
            if let Err(e) = r {
                tracing::warn!("cannot change Start at login: {e}");
            }
            // Off the main thread: a redraw holds the menu's lock while the main thread applies
            // its edits, so redrawing here (the main thread) could wait on itself.
            let app = app.clone();
            tauri::async_runtime::spawn(async move { redraw(&app, &shell) });
        }
        other => {
            if let Some(choice) = PauseChoice::from_id(other) {
                let until = choice.until(Utc::now(), &chrono::Local);
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    if let Err(e) = shell.backend.pause(until).await {
                        tracing::warn!("{e}");
                    }
                    redraw(&app, &shell);
                });
            } else if let Some(channel) = other.strip_prefix("report:") {
                let channel = channel.to_string();
                tauri::async_runtime::spawn(async move {
                    match shell.backend.send_report(&channel, Utc::now()).await {
                        Ok(()) => tracing::info!("report queued for {channel}"),
                        Err(e) => {
                            tracing::warn!("report for {channel} not sent: {e}");
                            show(
                                &shell,
                                &notify::Note {
                                    summary: labels::REPORT_NOT_SENT.fill(shell.lang, &[&channel]),
                                    body: e.to_string(),
                                    urgency: notify::Urgency::Normal,
                                },
                            );
                        }
                    }
                });
            }
        }
    }
}

/// Stops the engine, then exits with status 0.
pub fn quit(app: &AppHandle) {
    let shell = app.state::<Arc<Shell>>().inner().clone();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        shell.backend.stop_engine(Duration::from_secs(35)).await;
        tracing::info!("quitting");
        app.exit(0);
    });
}

/// A request handed over by a second launch.
fn on_second_launch(app: &AppHandle, argv: Vec<String>) {
    let args = match crate::args::parse(argv.get(1..).unwrap_or_default()) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!("second launch: {e}");
            Args::default()
        }
    };
    if args.quit {
        quit(app);
        return;
    }
    if args.demo_alert {
        let shell = app.state::<Arc<Shell>>().inner().clone();
        for a in crate::sample::alerts(Utc::now()) {
            let _ = shell.backend.alerts.send(a);
        }
        return;
    }
    open_window(app, args.open.unwrap_or(WindowKind::Dashboard));
}

/// Collects alerts heard within a moment of each other into one grouped notification.
async fn notifier(app: AppHandle, shell: Arc<Shell>) {
    let mut rx = shell.backend.alerts.subscribe();
    loop {
        let first = match rx.recv().await {
            Ok(a) => a,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!("{n} alerts were not mirrored (too many at once)");
                continue;
            }
            Err(_) => return,
        };
        let mut batch = vec![first];
        tokio::time::sleep(Duration::from_millis(800)).await;
        while let Ok(a) = rx.try_recv() {
            batch.push(a);
        }
        let local = Utc::now().with_timezone(&chrono::Local);
        let desktop = &shell.backend.settings.desktop;
        let paused = shell.backend.paused(Utc::now());
        let heard: Vec<Heard> = batch
            .iter()
            .map(|a| Heard::from_message(&shell.backend.heard(a)))
            .filter(|h| !paused && desktop.notifies(h.level, &local))
            .collect();
        if let Some(note) = notify::group(&heard, shell.lang) {
            show(&shell, &note);
        }
        redraw(&app, &shell);
    }
}

/// Refreshes the data every `[desktop] poll_seconds` (or at once on "Refresh now"), and redraws
/// in between only when something the tray shows changes: the engine's health (Redis up or
/// down, a delivery finished, a refused reload). Alerts and pauses redraw where they happen.
/// Nothing else wakes the app while it sits in the tray.
async fn refresher(app: AppHandle, shell: Arc<Shell>) {
    let every = Duration::from_secs(shell.backend.settings.desktop.poll_seconds.max(1));
    let mut board = shell.backend.board_changes();
    loop {
        shell.backend.refresh(Utc::now()).await;
        redraw(&app, &shell);
        let next = tokio::time::Instant::now() + every;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(next) => break,
                _ = shell.backend.refresh_now.notified() => break,
                changed = board_changed(&mut board) => {
                    if changed {
                        redraw(&app, &shell);
                    } else {
                        board = None;
                    }
                }
            }
        }
    }
}

/// The next change of the engine's health (`true`), `false` once the engine is gone; never
/// resolves without an engine.
async fn board_changed(board: &mut Option<tokio::sync::watch::Receiver<u64>>) -> bool {
    match board {
        Some(rx) => rx.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}

/// Opens the facade on `--config`, `$RELAYWATCH_CONFIG` or the default config path.
fn open_app(args: &Args) -> Result<relaywatch_core::service::Service, String> {
    use relaywatch_core::config::{default_config_path, EnvSource, ProcessEnv};
    use relaywatch_core::secret_store::SecretStore;
    use relaywatch_core::service::{Service, Vault};
    let path = args
        .config
        .clone()
        .or_else(|| ProcessEnv.var("RELAYWATCH_CONFIG").map(PathBuf::from))
        .or_else(|| default_config_path(&ProcessEnv))
        .ok_or_else(|| "no config path: start with --config FILE".to_string())?;
    let store =
        SecretStore::default().with_keychain(Box::new(crate::keychain::DesktopKeychain::default()));
    Service::open(&path, store, Vault::detect(&path)).map_err(|e| e.to_string())
}

/// Start at login, starting the app as it was started now: with the same `--config` (absolute),
/// so a login brings back this configuration and not the default one. The entry is
/// `relaywatch.desktop` (named here: the product name is the package's, `relaywatch-desktop`).
fn autostart_plugin(config: Option<&std::path::Path>) -> tauri::plugin::TauriPlugin<Wry> {
    let mut builder = tauri_plugin_autostart::Builder::new().app_name("relaywatch");
    if let Some(path) = config.and_then(|p| std::path::absolute(p).ok()) {
        builder = builder.args(["--config".to_string(), path.display().to_string()]);
    }
    builder.build()
}

/// Runs the app until Quit; returns the exit status.
pub fn run(args: Args) -> i32 {
    let started = Instant::now();
    let backend = Backend::load(args.config.as_deref());
    if let Some(e) = &backend.config_error {
        tracing::error!("{e}; showing demo data until the config is fixed");
    }
    let shell = Shell::new(backend, args.status_file.clone(), started).with_app(open_app(&args));
    let open_at_start = args.open;
    let setup_shell = shell.clone();
    let built = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            on_second_launch(app, argv);
        }))
        .plugin(autostart_plugin(args.config.as_deref()))
        .manage(shell.clone())
        .invoke_handler(crate::commands::handler())
        .setup(move |app| {
            let shell = setup_shell;
            let handle = app.handle().clone();
            let icon = tauri::image::Image::from_bytes(TrayState::Offline.icon_png())?;
            let (menu, parts) = build_menu(&handle, &shell)?;
            *shell.menu.lock().unwrap_or_else(|p| p.into_inner()) = Some(parts);
            TrayIconBuilder::with_id(TRAY_ID)
                .icon(icon)
                .tooltip("relaywatch: starting…")
                .menu(&menu)
                .show_menu_on_left_click(true)
                .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
                .build(app)?;
            if let Some(engine) = shell.backend.engine_task() {
                tauri::async_runtime::spawn(engine);
            }
            let ms = shell.started.elapsed().as_millis() as u64;
            shell.ready_ms.store(ms, Ordering::Relaxed);
            eprintln!("relaywatch-desktop: tray ready in {ms} ms");
            write_status(&handle, &shell);
            tauri::async_runtime::spawn(refresher(handle.clone(), shell.clone()));
            tauri::async_runtime::spawn(notifier(handle.clone(), shell.clone()));
            if let Some(kind) = open_at_start {
                open_window(&handle, kind);
            }
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match built {
        Ok(a) => a,
        Err(e) => {
            eprintln!("relaywatch-desktop: cannot start: {e}");
            return 1;
        }
    };
    let status_shell = shell.clone();
    app.run(move |handle, event| match event {
        // The last window closed: stay in the tray (an explicit exit carries a code).
        RunEvent::ExitRequested {
            code: None, api, ..
        } => api.prevent_exit(),
        RunEvent::WindowEvent {
            event: tauri::WindowEvent::Destroyed,
            ..
        } => write_status(handle, &status_shell),
        RunEvent::Exit => {
            if let Some(p) = &status_shell.status_file {
                let _ = std::fs::remove_file(p);
            }
        }
        _ => {}
    });
    0
}

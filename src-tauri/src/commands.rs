//! The app's IPC commands: thin wrappers over `relaywatch_core::service::Service` with the names and
//! JSON of `ui/API.md` (what `ui/js/api.js` invokes), plus `desktop_status`, the tray's view.
//! Errors are the facade's `ServiceError` JSON (`{kind, message, fields}`), never a secret.

use std::sync::Arc;

use chrono::Utc;
use relaywatch_core::config::Settings;
use relaywatch_core::service::{views::ChannelInput, Service, ServiceError};
use serde::Serialize;
use serde_json::{json, Value};

use crate::app::Shell;
use crate::tray_state::{self, MenuText};

type Res = Result<Value, ServiceError>;

fn to_json<T: Serialize>(v: T) -> Res {
    serde_json::to_value(v).map_err(|e| ServiceError::Io(e.to_string()))
}

fn app(shell: &Shell) -> Result<Arc<Service>, ServiceError> {
    shell.app.clone().ok_or_else(|| {
        ServiceError::Io(
            shell
                .app_error
                .clone()
                .unwrap_or_else(|| "no config path: start with --config FILE".into()),
        )
    })
}

type S<'a> = tauri::State<'a, Arc<Shell>>;

/// What the tray shows now.
#[derive(Debug, Serialize)]
pub struct DesktopStatus {
    pub state: &'static str,
    pub demo: bool,
    pub engine: bool,
    pub menu: MenuText,
}

#[tauri::command]
pub fn desktop_status(shell: S<'_>) -> DesktopStatus {
    let now = Utc::now();
    let facts = shell.backend.facts();
    DesktopStatus {
        state: tray_state::state(&facts, now).as_str(),
        demo: facts.demo,
        engine: shell.backend.engine_runs(),
        menu: tray_state::menu_text(&facts, now, shell.lang),
    }
}

#[tauri::command]
pub fn status(shell: S<'_>) -> Res {
    to_json(app(&shell)?.status(Utc::now()))
}

/// The snapshot as the JSON text made once per snapshot (as `GET /api/snapshot` sends it).
#[tauri::command]
pub async fn snapshot(shell: S<'_>) -> Result<tauri::ipc::Response, ServiceError> {
    let json = app(&shell)?.snapshot_json().await?;
    Ok(tauri::ipc::Response::new(json.to_string()))
}

#[tauri::command]
pub async fn refresh(shell: S<'_>) -> Res {
    to_json(app(&shell)?.refresh().await)
}

#[tauri::command]
pub async fn chart_svg(
    shell: S<'_>,
    kind: String,
    lang: Option<String>,
    theme: Option<String>,
) -> Result<String, ServiceError> {
    app(&shell)?
        .chart_svg(&kind, lang.as_deref(), theme.as_deref())
        .await
}

#[tauri::command]
pub fn get_config(shell: S<'_>) -> Res {
    to_json(app(&shell)?.config())
}

#[tauri::command]
pub fn save_config(shell: S<'_>, settings: Settings) -> Res {
    to_json(app(&shell)?.save_config(settings)?)
}

#[tauri::command]
pub fn add_channel(shell: S<'_>, channel: Value, secrets: Option<Value>) -> Res {
    let input = channel_input(channel, secrets)?;
    to_json(app(&shell)?.add_channel(input)?)
}

#[tauri::command]
pub fn update_channel(shell: S<'_>, name: String, channel: Value, secrets: Option<Value>) -> Res {
    let input = channel_input(channel, secrets)?;
    to_json(app(&shell)?.update_channel(&name, input)?)
}

fn channel_input(channel: Value, secrets: Option<Value>) -> Result<ChannelInput, ServiceError> {
    let body = json!({ "channel": channel, "secrets": secrets.unwrap_or_else(|| json!({})) });
    serde_json::from_value(body).map_err(|e| ServiceError::input("channel", "…", e.to_string()))
}

#[tauri::command]
pub fn remove_channel(shell: S<'_>, name: String) -> Res {
    to_json(app(&shell)?.remove_channel(&name)?)
}

#[tauri::command]
pub async fn test_channel(shell: S<'_>, name: String, lang: Option<String>) -> Res {
    to_json(app(&shell)?.test_channel(&name, lang.as_deref()).await?)
}

#[tauri::command]
pub async fn history(shell: S<'_>, channel: Option<String>, limit: Option<usize>) -> Res {
    let limit = limit.unwrap_or(20);
    to_json(app(&shell)?.history(channel.as_deref(), limit).await?)
}

#[tauri::command]
pub async fn retry_dead(shell: S<'_>, id: u64) -> Res {
    app(&shell)?.retry_dead(id).await?;
    Ok(json!({ "id": id, "requeued": true }))
}

#[tauri::command]
pub async fn alerts(shell: S<'_>) -> Res {
    to_json(app(&shell)?.alerts(Utc::now()).await?)
}

#[tauri::command]
pub async fn silence(
    shell: S<'_>,
    rule: Option<String>,
    subject: Option<String>,
    duration: String,
    reason: Option<String>,
) -> Res {
    let a = app(&shell)?;
    let s = a
        .silence(
            rule.as_deref(),
            subject.as_deref(),
            &duration,
            reason.as_deref().unwrap_or(""),
            Utc::now(),
        )
        .await?;
    to_json(s)
}

#[tauri::command]
pub fn schedules(shell: S<'_>) -> Res {
    to_json(app(&shell)?.schedules(Utc::now()))
}

#[tauri::command]
pub fn preview_schedule(
    shell: S<'_>,
    cron: String,
    tz: Option<String>,
    lang: Option<String>,
) -> Res {
    to_json(app(&shell)?.preview_schedule(&cron, tz.as_deref(), lang.as_deref(), Utc::now())?)
}

#[tauri::command]
pub async fn test_source(shell: S<'_>, redis_url: Option<String>) -> Res {
    to_json(app(&shell)?.test_source(redis_url.as_deref()).await?)
}

#[tauri::command]
pub async fn dry_run(shell: S<'_>, rule: String) -> Res {
    to_json(app(&shell)?.dry_run(&rule, Utc::now()).await?)
}

#[tauri::command]
pub async fn replay(shell: S<'_>, rule: String, from: Option<String>, to: Option<String>) -> Res {
    let (from, to) = (from.as_deref(), to.as_deref());
    to_json(
        app(&shell)?
            .replay_span(&rule, from, to, Utc::now())
            .await?,
    )
}

/// Every command the windows may invoke.
pub fn handler() -> impl Fn(tauri::ipc::Invoke<tauri::Wry>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        desktop_status,
        status,
        snapshot,
        refresh,
        chart_svg,
        get_config,
        save_config,
        add_channel,
        update_channel,
        remove_channel,
        test_channel,
        history,
        retry_dead,
        alerts,
        silence,
        schedules,
        preview_schedule,
        test_source,
        dry_run,
        replay
    ]
}

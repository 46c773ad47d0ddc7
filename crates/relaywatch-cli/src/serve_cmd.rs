//! `relaywatch serve`: the HTTP API over the `Service` facade (routes in `ui/API.md`) and the static
//! web UI: the copy of `ui/` compiled into the binary, or a folder given with `--ui` /
//! `RELAYWATCH_UI`. Rules: every `/api` route and `POST /ingest` answer only a `Host` that is
//! loopback, the bind address or a name in `[serve] hosts` (no DNS rebinding), then need the
//! bearer token (compared in constant time); `/health`, `/metrics` and the UI's files are open
//! and reveal nothing secret; no file outside the UI (folder or embedded copy) is served, through
//! `..` or a symlink.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::serve::IncomingStream;
use axum::{Json, Router};
use chrono::Utc;
use clap::Args;
use relaywatch_core::config::channels::SecretRef;
use relaywatch_core::config::serve::host_allowed;
use relaywatch_core::config::{self, Settings};
use relaywatch_core::secrets::Secret;
use relaywatch_core::service::{ChannelInput, Service, ServiceError, Vault};
use serde_json::{json, Value};

/// The keychain entry (or secrets file) of the generated token.
pub const TOKEN_ENTRY: &str = "relaywatch-serve-token";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Config file (default: $RELAYWATCH_CONFIG, else ~/.config/relaywatch/relaywatch.toml);
    /// created when missing.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Listen here instead of [serve] bind (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Serve the web UI from this folder instead of the copy built into the binary (also
    /// $RELAYWATCH_UI); for working on the UI without rebuilding.
    #[arg(long, value_name = "DIR", env = "RELAYWATCH_UI")]
    pub ui: Option<PathBuf>,
    /// Also run the daemon (schedules, rules, outbox) in this process.
    #[arg(long)]
    pub with_daemon: bool,
}

struct Served {
    app: Service,
    token: Secret,
    /// Where the UI's files come from.
    ui: UiSource,
    /// The address listened on, and `[serve] hosts`, for the Host check.
    bind: SocketAddr,
    hosts: Vec<String>,
}

/// The local address a connection arrived on (the Host check needs it when bound to 0.0.0.0).
#[derive(Debug, Clone, Copy)]
struct Arrival(Option<SocketAddr>);

impl Connected<IncomingStream<'_, tokio::net::TcpListener>> for Arrival {
    fn connect_info(s: IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        Arrival(s.io().local_addr().ok())
    }
}

type Shared = Arc<Served>;

/// An `ServiceError` as an HTTP answer: its status and `{ "error": {kind, message, fields} }`.
struct ApiError(ServiceError);

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code =
            StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_value(&self.0).unwrap_or(Value::Null);
        (code, Json(body)).into_response()
    }
}

type ApiResult = std::result::Result<Response, ApiError>;

fn ok(v: impl serde::Serialize) -> ApiResult {
    Ok(Json(serde_json::to_value(v).unwrap_or(Value::Null)).into_response())
}

/// Equal bytes, in time that depends only on the lengths.
pub fn same_token(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorized(why: &str) -> Response {
    let body = json!({ "error": {
        "kind": "unauthorized",
        "message": format!("{why}: send `Authorization: Bearer <token>`; the token is in the URL `relaywatch serve` printed (after #token=), or in [serve] token of the config"),
        "fields": [],
    }});
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(body),
    )
        .into_response()
}

async fn require_token(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        None => unauthorized("missing bearer token"),
        Some(t) if same_token(t.as_bytes(), s.token.expose().as_bytes()) => next.run(req).await,
        Some(_) => unauthorized("wrong bearer token"),
    }
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> std::result::Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError(ServiceError::input(
            "body",
            format!("line {} column {}", e.line(), e.column()),
            format!(
                "not the expected JSON ({}); see ui/API.md",
                relaywatch_core::secrets::redact(&e.to_string())
            ),
        ))
    })
}

// ---- handlers -----------------------------------------------------------------------------

async fn health() -> Response {
    Json(json!({ "ok": true, "version": env!("CARGO_PKG_VERSION") })).into_response()
}

async fn status(State(s): State<Shared>) -> ApiResult {
    ok(s.app.status(Utc::now()))
}

async fn refresh(State(s): State<Shared>) -> ApiResult {
    ok(s.app.refresh().await)
}

async fn snapshot(State(s): State<Shared>) -> ApiResult {
    let body = s.app.snapshot_json().await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response())
}

#[derive(serde::Deserialize)]
struct ChartQuery {
    lang: Option<String>,
    theme: Option<String>,
}

async fn chart(
    State(s): State<Shared>,
    UrlPath(file): UrlPath<String>,
    Query(q): Query<ChartQuery>,
) -> ApiResult {
    let kind = file.strip_suffix(".svg").unwrap_or(&file);
    let svg = s
        .app
        .chart_svg(kind, q.lang.as_deref(), q.theme.as_deref())
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response())
}

async fn get_config(State(s): State<Shared>) -> ApiResult {
    ok(s.app.config())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigBody {
    settings: Settings,
}

async fn put_config(State(s): State<Shared>, body: Bytes) -> ApiResult {
    let b: ConfigBody = parse_body(&body)?;
    ok(s.app.save_config(b.settings)?)
}

async fn add_channel(State(s): State<Shared>, body: Bytes) -> ApiResult {
    let input: ChannelInput = parse_body(&body)?;
    let view = s.app.add_channel(input)?;
    let mut r = ok(view)?;
    *r.status_mut() = StatusCode::CREATED;
    Ok(r)
}

async fn update_channel(
    State(s): State<Shared>,
    UrlPath(name): UrlPath<String>,
    body: Bytes,
) -> ApiResult {
    let input: ChannelInput = parse_body(&body)?;
    ok(s.app.update_channel(&name, input)?)
}

async fn remove_channel(State(s): State<Shared>, UrlPath(name): UrlPath<String>) -> ApiResult {
    ok(s.app.remove_channel(&name)?)
}

#[derive(serde::Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

async fn test_channel(
    State(s): State<Shared>,
    UrlPath(name): UrlPath<String>,
    Query(q): Query<LangQuery>,
) -> ApiResult {
    ok(s.app.test_channel(&name, q.lang.as_deref()).await?)
}

#[derive(serde::Deserialize)]
struct HistoryQuery {
    channel: Option<String>,
    limit: Option<usize>,
}

async fn history(State(s): State<Shared>, Query(q): Query<HistoryQuery>) -> ApiResult {
    let limit = q.limit.unwrap_or(20).clamp(1, 100);
    ok(s.app.history(q.channel.as_deref(), limit).await?)
}

async fn retry_dead(State(s): State<Shared>, UrlPath(id): UrlPath<String>) -> ApiResult {
    let n: u64 = id.parse().map_err(|_| {
        ApiError(ServiceError::input(
            "id",
            id.clone(),
            "must be the number of a dead-lettered item",
        ))
    })?;
    s.app.retry_dead(n).await?;
    ok(json!({ "id": n, "requeued": true }))
}

async fn alerts(State(s): State<Shared>) -> ApiResult {
    ok(s.app.alerts(Utc::now()).await?)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SilenceBody {
    rule: Option<String>,
    subject: Option<String>,
    duration: String,
    #[serde(default)]
    reason: String,
}

async fn silence(State(s): State<Shared>, body: Bytes) -> ApiResult {
    let b: SilenceBody = parse_body(&body)?;
    let made = s
        .app
        .silence(
            b.rule.as_deref(),
            b.subject.as_deref(),
            &b.duration,
            &b.reason,
            Utc::now(),
        )
        .await?;
    let mut r = ok(made)?;
    *r.status_mut() = StatusCode::CREATED;
    Ok(r)
}

async fn schedules(State(s): State<Shared>) -> ApiResult {
    ok(json!({ "schedules": s.app.schedules(Utc::now()) }))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewBody {
    cron: String,
    tz: Option<String>,
    lang: Option<String>,
}

async fn preview(State(s): State<Shared>, body: Bytes) -> ApiResult {
    let b: PreviewBody = parse_body(&body)?;
    ok(s.app
        .preview_schedule(&b.cron, b.tz.as_deref(), b.lang.as_deref(), Utc::now())?)
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SourceBody {
    redis_url: Option<String>,
}

async fn test_source(State(s): State<Shared>, body: Bytes) -> ApiResult {
    let b: SourceBody = if body.is_empty() {
        SourceBody::default()
    } else {
        parse_body(&body)?
    };
    ok(s.app.test_source(b.redis_url.as_deref()).await?)
}

/// `?window=&top=&at=` of the leaderboard dry run.
#[derive(Debug, Default, serde::Deserialize)]
struct BoardQuery {
    window: Option<String>,
    top: Option<u32>,
    at: Option<String>,
}

async fn dry_run(
    State(s): State<Shared>,
    UrlPath(rule): UrlPath<String>,
    Query(q): Query<BoardQuery>,
) -> ApiResult {
    use relaywatch_core::model::LeaderboardWindow;
    use relaywatch_core::service::ServiceError;
    let at = match q.at.as_deref() {
        None | Some("") => Utc::now(),
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| ServiceError::input("at", t, "an RFC 3339 time"))?,
    };
    if rule != "leaderboard" {
        return ok(s.app.dry_run(&rule, at).await?);
    }
    let window = match q.window.as_deref().unwrap_or("calendar_day") {
        "calendar_day" => LeaderboardWindow::CalendarDay,
        "rolling_24h" => LeaderboardWindow::Rolling24h,
        w => return Err(ServiceError::input("window", w, "calendar_day or rolling_24h").into()),
    };
    let top = q.top.unwrap_or(5);
    if !(1..=20).contains(&top) {
        return Err(ServiceError::input("top", top.to_string(), "between 1 and 20").into());
    }
    ok(s.app.leaderboard_dry_run(window, top, at).await?)
}

/// `?from=&to=` of a replay: RFC 3339 or a duration ago; default the last 24 h.
#[derive(Debug, Default, serde::Deserialize)]
struct ReplaySpan {
    from: Option<String>,
    to: Option<String>,
}

async fn replay(
    State(s): State<Shared>,
    UrlPath(rule): UrlPath<String>,
    Query(span): Query<ReplaySpan>,
) -> ApiResult {
    let (from, to) = (span.from.as_deref(), span.to.as_deref());
    ok(s.app.replay_span(&rule, from, to, Utc::now()).await?)
}

async fn ingest(State(s): State<Shared>, body: Bytes) -> ApiResult {
    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError(ServiceError::input(
            "body",
            "(binary)",
            "send NDJSON: one UTF-8 JSON LogEvent per line",
        ))
    })?;
    ok(s.app.ingest(text).await?)
}

// ---- static UI ----------------------------------------------------------------------------

/// The web UI as it was in `ui/` when this binary was built (in every profile: the workspace
/// enables rust-embed's `debug-embed`), so an installed binary serves it from anywhere.
#[derive(rust_embed::Embed)]
#[folder = "../../ui/"]
struct EmbeddedUi;

/// Where the UI's files come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum UiSource {
    /// The copy compiled into the binary.
    Embedded,
    /// A folder (`--ui`, `RELAYWATCH_UI`), canonical (symlinks resolved), so files can be checked
    /// to stay inside.
    Folder(PathBuf),
}

fn content_type(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        "md" => "text/markdown; charset=utf-8",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// The file under `root` that `url_path` names; `None` for anything that climbs out.
pub fn ui_file(root: &Path, url_path: &str) -> Option<PathBuf> {
    let rel = url_path.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let p = Path::new(rel);
    if p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(root.join(p))
}

/// The file `url_path` names, with every symlink resolved, when it is still inside `root`
/// (canonical); `None` for anything missing or outside (`..`, or a link that points out).
pub async fn ui_file_inside(root: &Path, url_path: &str) -> Option<PathBuf> {
    let path = ui_file(root, url_path)?;
    let real = tokio::fs::canonicalize(&path).await.ok()?;
    real.starts_with(root).then_some(real)
}

/// The embedded file `url_path` names (same path rules as a folder: no `..`, `/` is
/// `index.html`), with its name for the content type.
fn embedded_file(url_path: &str) -> Option<(PathBuf, Bytes)> {
    let rel = ui_file(Path::new(""), url_path)?;
    let file = EmbeddedUi::get(rel.to_str()?)?;
    let bytes = match file.data {
        std::borrow::Cow::Borrowed(b) => Bytes::from_static(b),
        std::borrow::Cow::Owned(v) => Bytes::from(v),
    };
    Some((rel, bytes))
}

/// The file `url_path` names, from wherever the UI comes from.
async fn ui_bytes(ui: &UiSource, url_path: &str) -> Option<(PathBuf, Bytes)> {
    match ui {
        UiSource::Embedded => embedded_file(url_path),
        UiSource::Folder(root) => {
            let path = ui_file_inside(root, url_path).await?;
            let bytes = tokio::fs::read(&path).await.ok()?;
            Some((path, Bytes::from(bytes)))
        }
    }
}

async fn static_file(State(s): State<Shared>, req: Request) -> Response {
    match ui_bytes(&s.ui, req.uri().path()).await {
        Some((path, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type(&path)),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `--ui DIR` (clap also reads `$RELAYWATCH_UI` for `serve`; `run --serve` reads it here), else
/// the embedded copy. A folder that cannot be opened is an error naming the option and the fix.
fn find_ui(explicit: Option<PathBuf>) -> Result<UiSource> {
    let Some(dir) = explicit.or_else(|| {
        std::env::var_os("RELAYWATCH_UI")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    }) else {
        return Ok(UiSource::Embedded);
    };
    let Some(real) = std::fs::canonicalize(&dir).ok().filter(|p| p.is_dir()) else {
        return Err(relaywatch_core::Error::Config {
            source_name: Some("the command line".into()),
            errors: vec![relaywatch_core::error::FieldError {
                field: "--ui (or RELAYWATCH_UI)".into(),
                value: format!("`{}`", dir.display()),
                fix: "not a folder: give the web UI folder (the one with index.html), or leave \
                      both unset to serve the UI built into relaywatch"
                    .into(),
            }],
        }
        .into());
    };
    if !real.join("index.html").is_file() {
        eprintln!(
            "relaywatch: the web UI folder {} has no index.html",
            real.display()
        );
    }
    Ok(UiSource::Folder(real))
}

// ---- token --------------------------------------------------------------------------------

/// 32 random bytes from the OS, as hex.
fn new_token() -> Result<String> {
    use std::io::Read;
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .context("cannot read /dev/urandom for the serve token")?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// The configured token, or a new one stored like other secrets and referenced from the config.
fn token(app: &Service) -> Result<Secret> {
    let s = app.settings();
    if let Some(r) = &s.serve.token {
        return app.secret_store().resolve(r).map_err(|e| {
            anyhow::anyhow!("[serve] token: {e}; fix the reference, or remove the line to have a new token created")
        });
    }
    let value = Secret::new(new_token()?);
    let r: SecretRef = app.vault().store(TOKEN_ENTRY, &value)?;
    let mut new = s.clone();
    new.serve.token = Some(r);
    app.save_config(new)
        .context("cannot record the new [serve] token reference in the config")?;
    crate::say!(
        "relaywatch: created the serve token, stored in {}",
        app.vault().describe()
    );
    Ok(value)
}

// ---- the command --------------------------------------------------------------------------

fn config_path(explicit: Option<PathBuf>) -> Result<PathBuf> {
    use relaywatch_core::config::EnvSource;
    let env = config::env::ProcessEnv;
    explicit
        .or_else(|| env.var("RELAYWATCH_CONFIG").map(PathBuf::from))
        .or_else(|| config::default_config_path(&env))
        .context("no config path: give --config FILE")
}

/// The router over `served` (tests call it through the real process).
fn router(served: Shared) -> Router {
    let api = Router::new()
        .route("/status", get(status))
        .route("/refresh", post(refresh))
        .route("/snapshot", get(snapshot))
        .route("/charts/{file}", get(chart))
        .route("/config", get(get_config).put(put_config))
        .route("/channels", post(add_channel))
        .route(
            "/channels/{name}",
            put(update_channel).delete(remove_channel),
        )
        .route("/channels/{name}/test", post(test_channel))
        .route("/history", get(history))
        .route("/dead/{id}/retry", post(retry_dead))
        .route("/alerts", get(alerts))
        .route("/silences", post(silence))
        .route("/schedules", get(schedules))
        .route("/schedules/preview", post(preview))
        .route("/source/test", post(test_source))
        .route("/rules/{rule}/dry-run", post(dry_run))
        .route("/rules/{rule}/replay", post(replay))
        .fallback(|| async {
            ApiError(ServiceError::NotFound(
                "no such API route; see ui/API.md".into(),
            ))
            .into_response()
        });
    let ingest_route = Router::new().route("/ingest", post(ingest));
    Router::new()
        .nest("/api", api)
        .merge(ingest_route)
        .layer(middleware::from_fn_with_state(served.clone(), gate))
        .route("/health", get(health))
        .route("/metrics", get(crate::health_cmd::metrics))
        .fallback(static_file)
        .with_state(served)
}

/// The gate on `/api/*` and `/ingest`: the Host check, then the token; everything else passes.
async fn gate(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let p = req.uri().path();
    if !(p.starts_with("/api/") || p == "/api" || p == "/ingest") {
        return next.run(req).await;
    }
    let local = req
        .extensions()
        .get::<ConnectInfo<Arrival>>()
        .and_then(|c| c.0 .0);
    let host = req
        .headers()
        .get(header::HOST)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    // An absolute-form request line names a host too: both must pass.
    let authority = req.uri().authority().map(|a| a.as_str());
    let given: Vec<&str> = host.into_iter().chain(authority).collect();
    let ok = !given.is_empty()
        && given
            .iter()
            .all(|h| host_allowed(Some(h), Some(s.bind), local, &s.hosts));
    if !ok {
        return wrong_host(given.first().copied());
    }
    require_token(State(s), req, next).await
}

/// 403 for a Host that `/api` and `/ingest` do not answer to, saying how to allow it.
fn wrong_host(host: Option<&str>) -> Response {
    let shown: String = host.unwrap_or("(none)").chars().take(100).collect();
    let body = json!({ "error": {
        "kind": "forbidden_host",
        "message": format!("Host {shown:?} is not served: /api and /ingest answer only to localhost, a loopback address, the address relaywatch serve is bound to, or a name listed in [serve] hosts; to reach it under this name, add the name to [serve] hosts and restart"),
        "fields": [],
    }});
    (StatusCode::FORBIDDEN, Json(body)).into_response()
}

pub async fn run(a: ServeArgs) -> Result<i32> {
    let ui = find_ui(a.ui.clone())?;
    let path = config_path(a.config.clone())?;
    let vault = Vault::detect(&path);
    let app = Service::open(
        &path,
        relaywatch_core::secret_store::SecretStore::for_this_machine(),
        vault,
    )?;
    let token = token(&app)?;
    let bind = a.bind.clone().unwrap_or_else(|| app.settings().serve.bind);
    let addr: SocketAddr = bind
        .parse()
        .with_context(|| format!("`{bind}` is not an address and port such as 127.0.0.1:8080"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (set [serve] bind, or --bind)"))?;
    let local = listener.local_addr()?;
    let hosts = app.settings().serve.hosts;
    let served = Arc::new(Served {
        app,
        token,
        ui,
        bind: local,
        hosts,
    });

    let refresher = served.clone();
    tokio::spawn(async move {
        loop {
            let st = refresher.app.refresh().await;
            let every = st.refresh_interval_secs.max(5);
            tokio::time::sleep(Duration::from_secs(every)).await;
        }
    });

    let shown_host = if local.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else if local.is_ipv6() {
        format!("[{}]", local.ip())
    } else {
        local.ip().to_string()
    };
    println!(
        "relaywatch serve: open http://{shown_host}:{}/#token={}",
        local.port(),
        served.token.expose()
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();

    let daemon = if a.with_daemon {
        let args = crate::cli::RunArgs {
            config: Some(path.clone()),
            health_bind: Some(String::new()),
            serve: false,
            bind: None,
            ui: None,
        };
        Some(tokio::spawn(crate::run_cmd::run(args)))
    } else {
        None
    };

    let shutdown = async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    let server = axum::serve(
        listener,
        router(served).into_make_service_with_connect_info::<Arrival>(),
    )
    .with_graceful_shutdown(shutdown);
    if let Some(d) = daemon {
        // A daemon that cannot run (no state Redis yet, say) is reported; the UI keeps serving
        // so that the source can be configured from it.
        tokio::spawn(async move {
            match d.await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    crate::say!(warn: "relaywatch: the daemon stopped: {e:#}; the web UI keeps serving")
                }
                Err(e) => crate::say!(warn: "relaywatch: the daemon stopped abnormally: {e}"),
            }
        });
    }
    server.await.context("the HTTP server stopped")?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token(b"abc", b"abc"));
        assert!(!same_token(b"abc", b"abd"));
        assert!(!same_token(b"abc", b"abcd"));
    }

    #[test]
    fn ui_paths_never_climb_out() {
        let root = Path::new("/srv/ui");
        assert_eq!(ui_file(root, "/"), Some(root.join("index.html")));
        assert_eq!(ui_file(root, "/js/api.js"), Some(root.join("js/api.js")));
        assert_eq!(ui_file(root, "/../etc/passwd"), None);
        assert_eq!(ui_file(root, "/js/../../x"), None);
    }

    #[test]
    fn the_embedded_ui_is_the_ui_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui");
        for (url, file) in [
            ("/", "index.html"),
            ("/index.html", "index.html"),
            ("/settings.html", "settings.html"),
            ("/js/api.js", "js/api.js"),
            ("/css/app.css", "css/app.css"),
            ("/favicon.png", "favicon.png"),
        ] {
            let (name, bytes) = embedded_file(url).unwrap_or_else(|| panic!("{url} not embedded"));
            assert_eq!(name, Path::new(file));
            assert_eq!(
                &bytes[..],
                &std::fs::read(dir.join(file)).unwrap()[..],
                "{url}"
            );
        }
        // Compiled in (a static borrow), not read from the source tree at run time.
        let index = EmbeddedUi::get("index.html").unwrap();
        assert!(matches!(index.data, std::borrow::Cow::Borrowed(_)));
        assert_eq!(
            content_type(&embedded_file("/js/api.js").unwrap().0),
            "text/javascript; charset=utf-8"
        );
        for url in [
            "/../Cargo.toml",
            "/js/../../Cargo.toml",
            "/js",
            "/nope.js",
            "/js/",
        ] {
            assert!(embedded_file(url).is_none(), "{url}");
        }
    }
}

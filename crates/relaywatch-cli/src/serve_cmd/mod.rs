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

mod api;
mod ui;

use api::*;
use ui::*;

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
    let listener = listen(&bind).await?;
    let local = listener.local_addr()?;
    let hosts = app.settings().serve.hosts;
    let served = Arc::new(Served {
        app,
        token,
        ui,
        bind: local,
        hosts,
    });
    keep_refreshing(served.clone());
    print_url(local, &served.token);
    if a.with_daemon {
        run_daemon_beside(path);
    }
    let server = axum::serve(
        listener,
        router(served).into_make_service_with_connect_info::<Arrival>(),
    )
    .with_graceful_shutdown(stop_signal());
    server.await.context("the HTTP server stopped")?;
    Ok(0)
}

/// Listens on `bind`.
async fn listen(bind: &str) -> Result<tokio::net::TcpListener> {
    let addr: SocketAddr = bind
        .parse()
        .with_context(|| format!("`{bind}` is not an address and port such as 127.0.0.1:8080"))?;
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (set [serve] bind, or --bind)"))
}

/// Refreshes the service's snapshot on its interval (at least every 5 s apart), for ever.
fn keep_refreshing(served: Arc<Served>) {
    tokio::spawn(async move {
        loop {
            let st = served.app.refresh().await;
            let every = st.refresh_interval_secs.max(5);
            tokio::time::sleep(Duration::from_secs(every)).await;
        }
    });
}

/// Prints the URL to open, with the token, as the first line of stdout.
fn print_url(local: SocketAddr, token: &Secret) {
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
        token.expose()
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();
}

/// Runs the daemon in this process on the config at `path` (`serve --with-daemon`). A daemon
/// that cannot run (no state Redis yet, say) is reported; the UI keeps serving so that the
/// source can be configured from it.
fn run_daemon_beside(path: PathBuf) {
    let args = crate::cli::RunArgs {
        config: Some(path),
        health_bind: Some(String::new()),
        serve: false,
        bind: None,
        ui: None,
    };
    let d = tokio::spawn(crate::run_cmd::run(args));
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

/// SIGTERM or Ctrl-C.
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(t) => t,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
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

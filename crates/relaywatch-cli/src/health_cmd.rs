//! `/health` and `/metrics` on the daemon's loopback port (axum; open, nothing secret in them) and
//! `relaywatch health`, which asks a running daemon and exits 0 when it is ok or standing by,
//! 1 otherwise, as the seed reporter's health check does.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use relaywatch_core::daemon::StatusBoard;
use relaywatch_core::model::Health;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn health(State(board): State<StatusBoard>) -> (StatusCode, Json<Health>) {
    let h = board.health();
    let code = if h.status == "degraded" {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (code, Json(h))
}

/// `GET /metrics`: every metric in the Prometheus text format, or OpenMetrics when the scraper
/// asks for it (as Prometheus does).
pub async fn metrics(headers: HeaderMap) -> Response {
    use relaywatch_core::metrics::{render, wants_openmetrics};
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp_millis().max(0) as u64;
    let (body, content_type) = render(now, wants_openmetrics(accept));
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// Binds `addr` and serves `/health` and `/metrics` until `shutdown` resolves. Binding errors come back at
/// once, so a port in use is reported before the daemon starts.
pub async fn serve(
    addr: SocketAddr,
    board: StatusBoard,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} for /health (set [health] bind, or --health-bind)")
    })?;
    let local = listener.local_addr()?;
    let app = Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(board);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!("/health server: {e}");
        }
    });
    Ok((local, task))
}

/// `relaywatch health`: GET `http://ADDR/health` with a 5 s limit.
pub async fn check(addr: &str) -> Result<i32> {
    let target: SocketAddr = addr
        .parse()
        .with_context(|| format!("`{addr}` is not an address and port such as 127.0.0.1:8080"))?;
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(target).await?;
        s.write_all(
            format!("GET /health HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    let reply = match tokio::time::timeout(Duration::from_secs(5), exchange).await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            println!("relaywatch at {target} is not answering: {e}");
            return Ok(1);
        }
        Err(_) => {
            println!("relaywatch at {target} did not answer within 5 s");
            return Ok(1);
        }
    };
    let text = String::from_utf8_lossy(&reply);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        bail!("{target} answered something that is not HTTP");
    };
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    let h: Health = serde_json::from_str(body.trim())
        .with_context(|| format!("{target}/health did not return relaywatch's health JSON"))?;
    println!("{}", serde_json::to_string_pretty(&h)?);
    Ok(if h.status == "degraded" { 1 } else { 0 })
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(
            super::dechunk("3\r\n{\"a\r\n2\r\n\"}\r\n0\r\n\r\n"),
            "{\"a\"}"
        );
    }
}

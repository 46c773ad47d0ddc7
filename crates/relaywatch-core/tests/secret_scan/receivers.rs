//! Loopback receivers that answer as a failing platform does (echoes, error bodies, Express pages, a Feishu API, silence), and a closed port.

use super::*;

/// How a loopback receiver answers.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Mode {
    /// The request line, headers and body echoed back with this status.
    Echo(u16),
    /// HTTP 200 with every platform's error fields, each holding the echo.
    ErrorBody,
    /// Express's 404 page: `Cannot POST /path?query`.
    Express,
    /// Feishu's open API: a tenant token for the token request, an echo (400) for the rest.
    FeishuApi,
    /// Reads the request and never answers.
    Silent,
}

/// A loopback receiver; a TLS handshake gets a plain-HTTP 400 at once.
pub(crate) async fn receiver(mode: Mode, tenant_token: &str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let tenant = tenant_token.to_string();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let tenant = tenant.clone();
            tokio::spawn(async move {
                let request = read_request(&mut sock).await;
                let (status, body) = answer(mode, &request, &tenant);
                if matches!(mode, Mode::Silent) && !request.starts_with('\u{16}') {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return;
                }
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nX-Echo-Auth: {}\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    header_echo(&request),
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    port
}

/// The request's head and (up to 256 KiB of) body as text; a TLS ClientHello as read.
pub(crate) async fn read_request(sock: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = match tokio::time::timeout(Duration::from_secs(2), sock.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => break,
        };
        buf.extend_from_slice(&chunk[..n]);
        if buf.first() == Some(&0x16) {
            break;
        }
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len.min(256 << 10) {
                break;
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// The first `authorization` header sent, echoed in a response header.
pub(crate) fn header_echo(request: &str) -> String {
    request
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("authorization:")
                .then(|| l[14..].trim().to_string())
        })
        .unwrap_or_default()
}

pub(crate) fn answer(mode: Mode, request: &str, tenant: &str) -> (u16, String) {
    let text: String = request.chars().take(4000).collect();
    let target = request.split_whitespace().nth(1).unwrap_or("").to_string();
    let echo = serde_json::json!({
        "error": format!("Cannot POST {target}"),
        "request": text,
        "url_encoded": url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>(),
    });
    match mode {
        Mode::Echo(status) => (status, echo.to_string()),
        Mode::Silent => (500, echo.to_string()),
        Mode::Express => (
            404,
            format!("<!DOCTYPE html><pre>Cannot POST {target}</pre>\n{text}"),
        ),
        Mode::ErrorBody => {
            let e = echo.to_string();
            let body = serde_json::json!({
                "errcode": 300001, "errmsg": e, "code": 19001, "msg": e,
                "ok": false, "error_code": 400, "description": e, "message": e,
            });
            (200, body.to_string())
        }
        Mode::FeishuApi if target.contains("tenant_access_token") => (
            200,
            serde_json::json!({"code": 0, "msg": "ok", "tenant_access_token": tenant, "expire": 7200})
                .to_string(),
        ),
        Mode::FeishuApi => (400, echo.to_string()),
    }
}

/// A loopback port nobody listens on.
pub(crate) async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

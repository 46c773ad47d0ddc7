//! The guarded HTTP client against real HTTP servers on loopback (the only address these tests
//! ever connect to): every loopback spelling is refused without `[network] allow` and reached
//! with it, redirects come back unfollowed, slow servers time out, names are resolved once and
//! checked, and no error carries the URL's token.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use relaywatch_core::channels::{Body, Part, Request};
use relaywatch_core::delivery::net::{
    HttpClient, NetError, NetPolicy, Rule, StaticLookup, SystemLookup,
};
use relaywatch_core::secrets::{assert_no_secret_in, Secret};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "FAKE-tok-3c2b1a0f9e8d";

/// One received request: its head (request line and headers) and body.
#[derive(Debug, Clone)]
struct Seen {
    head: String,
    body: Vec<u8>,
}

/// A tiny HTTP/1.1 server: `/ok` answers 200 JSON, `/redirect` 302 to `/ok`, `/slow` answers
/// after 5 s; anything else 200 too. Records every request.
struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    async fn start(bind: &str) -> std::io::Result<Server> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            // Bounded: a test sends a handful of requests; the task is aborted on drop.
            for _ in 0..64 {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let _ = serve(stream, addr, log).await;
                });
            }
        });
        Ok(Server { addr, seen, task })
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn hits(&self, path: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| {
                s.head
                    .lines()
                    .next()
                    .is_some_and(|l| l.split(' ').nth(1).is_some_and(|p| p.contains(path)))
            })
            .count()
    }
}

async fn serve(
    mut stream: TcpStream,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Seen>>>,
) -> std::io::Result<()> {
    // One request per connection is enough here; answer with `Connection: close`.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[head_end..].to_vec();
    let path = head
        .lines()
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("/")
        .to_string();
    log.lock().unwrap().push(Seen {
        head: head.clone(),
        body,
    });
    let reply = if path.contains("/redirect") {
        format!(
            "HTTP/1.1 302 Found\r\nLocation: http://{addr}/ok\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n"
        )
    } else {
        if path.contains("/slow") {
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        let json = r#"{"ok":true,"errcode":0}"#;
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{json}",
            json.len()
        )
    };
    stream.write_all(reply.as_bytes()).await?;
    stream.shutdown().await
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn policy(allow: &[&str], timeout_ms: u64) -> NetPolicy {
    let allow: Vec<String> = allow.iter().map(|s| s.to_string()).collect();
    NetPolicy::from_settings(&allow, true, timeout_ms).expect("valid policy")
}

const LOOPBACK_ALLOW: &[&str] = &["127.0.0.0/8", "::1/128", "localhost"];

fn json_request(url: String) -> Request {
    Request {
        url: Secret::new(url),
        headers: vec![("X-Test".into(), "1".into())],
        body: Body::Json {
            value: serde_json::json!({"msgtype": "text", "text": {"content": "hi"}}),
        },
    }
}

/// A client whose lookups come from a fixed table (plus the system resolver for `localhost`).
fn client(policy: NetPolicy, lookup: Option<Arc<StaticLookup>>) -> HttpClient {
    match lookup {
        Some(l) => HttpClient::with_lookup(policy, None, l).unwrap(),
        None => HttpClient::new(policy, None).unwrap(),
    }
}

async fn ipv6_server() -> Option<Server> {
    match Server::start("[::1]:0").await {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("skipping [::1]: cannot bind it here ({e})");
            None
        }
    }
}

/// Every loopback spelling, with the server it should reach and whether to resolve through the
/// injected table (`hooks.test` → 127.0.0.1) or the system (`localhost`).
fn loopback_urls(v4: u16, v6: Option<u16>) -> Vec<String> {
    let mut urls = vec![
        format!("http://127.0.0.1:{v4}/ok/hook/{TOKEN}"),
        format!("http://localhost:{v4}/ok/hook/{TOKEN}"),
        format!("http://2130706433:{v4}/ok?key={TOKEN}"),
        format!("http://0x7f.1:{v4}/ok?access_token={TOKEN}"),
        format!("http://0177.0.0.1:{v4}/ok/hook/{TOKEN}"),
        format!("http://127.1:{v4}/ok/hook/{TOKEN}"),
        format!("http://hooks.test:{v4}/ok/hook/{TOKEN}"),
    ];
    if let Some(p) = v6 {
        urls.push(format!("http://[::1]:{p}/ok/hook/{TOKEN}"));
        // The IPv4-mapped form reaches the IPv4 server through the dual-stack socket.
        urls.push(format!("http://[::ffff:127.0.0.1]:{v4}/ok/hook/{TOKEN}"));
    }
    urls
}

/// `hooks.test` resolves to 127.0.0.1 through the table; `localhost` through the system.
struct Mixed {
    table: StaticLookup,
}

impl relaywatch_core::delivery::net::Lookup for Mixed {
    fn lookup(&self, host: &str) -> relaywatch_core::delivery::net::LookupFuture {
        if host == "localhost" {
            SystemLookup.lookup(host)
        } else {
            self.table.lookup(host)
        }
    }
}

fn mixed() -> Arc<Mixed> {
    Arc::new(Mixed {
        table: StaticLookup::new([("hooks.test", vec![IpAddr::V4(Ipv4Addr::LOCALHOST)])]),
    })
}

#[tokio::test]
async fn loopback_forms_are_refused_without_the_allowlist() {
    let v4 = Server::start("127.0.0.1:0").await.unwrap();
    let v6 = ipv6_server().await;
    let c = HttpClient::with_lookup(policy(&[], 2_000), None, mixed()).unwrap();
    for url in loopback_urls(v4.port(), v6.as_ref().map(Server::port)) {
        let err = c.send(&json_request(url.clone())).await.unwrap_err();
        match &err {
            NetError::Refused(r) => assert_eq!(r.rule(), Rule::Loopback, "{url}: {err}"),
            other => panic!("{url}: not refused: {other}"),
        }
        assert_no_secret_in(&err.to_string(), TOKEN);
        assert_no_secret_in(&format!("{err:?}"), TOKEN);
    }
    assert!(v4.seen().is_empty(), "a refused request reached the server");
    if let Some(v6) = v6 {
        assert!(v6.seen().is_empty(), "a refused request reached the server");
    }
}

#[tokio::test]
async fn loopback_forms_are_reached_with_the_allowlist() {
    let v4 = Server::start("127.0.0.1:0").await.unwrap();
    let v6 = ipv6_server().await;
    let c = HttpClient::with_lookup(policy(LOOPBACK_ALLOW, 5_000), None, mixed()).unwrap();
    let urls = loopback_urls(v4.port(), v6.as_ref().map(Server::port));
    for url in &urls {
        let resp = c
            .send(&json_request(url.clone()))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", relaywatch_core::secrets::redact_url(url)));
        assert_eq!(resp.status, 200, "{url}");
        assert_eq!(resp.body, br#"{"ok":true,"errcode":0}"#);
        assert!(resp
            .headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == "application/json"));
        assert!(resp.latency < Duration::from_secs(5));
    }
    let seen = v4.seen();
    let v6_seen = v6.as_ref().map(|s| s.seen().len()).unwrap_or(0);
    assert_eq!(seen.len() + v6_seen, urls.len());
    let first = &seen[0];
    assert!(first.head.starts_with("POST /ok"), "{}", first.head);
    assert!(first
        .head
        .to_ascii_lowercase()
        .contains("content-type: application/json"));
    assert!(first.head.contains("X-Test: 1") || first.head.contains("x-test: 1"));
    let body: serde_json::Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(body["text"]["content"], "hi");
}

#[tokio::test]
async fn a_name_is_resolved_once_and_every_address_checked() {
    let v4 = Server::start("127.0.0.1:0").await.unwrap();
    let lookup = Arc::new(StaticLookup::new([
        ("hooks.test", vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]),
        // Rebinding-style answers: a loopback address next to a private or metadata one. They
        // are refused at resolution, so nothing is ever connected to.
        (
            "mixed.test",
            vec![IpAddr::V4(Ipv4Addr::LOCALHOST), "10.0.0.1".parse().unwrap()],
        ),
        ("meta.test", vec!["169.254.169.254".parse().unwrap()]),
    ]));
    let c = client(policy(&["127.0.0.0/8"], 5_000), Some(Arc::clone(&lookup)));
    let resp = c
        .send(&json_request(format!("http://hooks.test:{}/ok", v4.port())))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(
        lookup.calls(),
        1,
        "one lookup, and the connection used its answer"
    );

    let err = c
        .send(&json_request(format!(
            "http://mixed.test:{}/ok/hook/{TOKEN}",
            v4.port()
        )))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NetError::Refused(r) if r.rule() == Rule::Private),
        "{err}"
    );
    assert!(
        err.to_string().contains("resolved from mixed.test"),
        "{err}"
    );
    assert_no_secret_in(&err.to_string(), TOKEN);

    let err = c
        .send(&json_request(format!("http://meta.test:{}/ok", v4.port())))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NetError::Refused(r) if r.rule() == Rule::Metadata),
        "{err}"
    );

    let err = c
        .send(&json_request(format!(
            "http://unknown.test:{}/ok/hook/{TOKEN}",
            v4.port()
        )))
        .await
        .unwrap_err();
    assert!(matches!(err, NetError::Connect { .. }), "{err}");
    assert_no_secret_in(&err.to_string(), TOKEN);
    assert_eq!(v4.seen().len(), 1, "only the allowed request arrived");
}

#[tokio::test]
async fn redirects_come_back_unfollowed() {
    let v4 = Server::start("127.0.0.1:0").await.unwrap();
    let c = client(policy(LOOPBACK_ALLOW, 5_000), None);
    let resp = c
        .send(&json_request(format!(
            "http://127.0.0.1:{}/redirect",
            v4.port()
        )))
        .await
        .unwrap();
    assert_eq!(resp.status, 302);
    assert!(resp
        .headers
        .iter()
        .any(|(k, v)| k == "location" && v.ends_with("/ok")));
    assert_eq!(v4.hits("/redirect"), 1);
    assert_eq!(v4.hits("/ok"), 0, "the redirect was followed");
}

#[tokio::test]
async fn a_slow_server_times_out_within_the_timeout() {
    let v4 = Server::start("127.0.0.1:0").await.unwrap();
    let c = client(policy(LOOPBACK_ALLOW, 300), None);
    let started = Instant::now();
    let err = c
        .send(&json_request(format!(
            "http://127.0.0.1:{}/slow/hook/{TOKEN}",
            v4.port()
        )))
        .await
        .unwrap_err();
    let took = started.elapsed();
    match &err {
        NetError::Timeout { after, .. } => assert_eq!(*after, Duration::from_millis(300)),
        other => panic!("not a timeout: {other}"),
    }
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(err.to_string().contains("timed out after 300 ms"), "{err}");
    assert_no_secret_in(&err.to_string(), TOKEN);
    assert_no_secret_in(&format!("{err:?}"), TOKEN);
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error_without_the_token() {
    // Bind, note the port, close: nothing listens there now.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = client(policy(LOOPBACK_ALLOW, 2_000), None);
    for url in [
        format!("http://127.0.0.1:{port}/hook/{TOKEN}"),
        format!("http://127.0.0.1:{port}/cgi-bin/webhook/send?key={TOKEN}"),
    ] {
        let err = c.send(&json_request(url)).await.unwrap_err();
        assert!(matches!(err, NetError::Connect { .. }), "{err}");
        assert_no_secret_in(&err.to_string(), TOKEN);
        assert_no_secret_in(&format!("{err:?}"), TOKEN);
    }
}

#[tokio::test]
async fn multipart_bodies_arrive_as_form_data() {
    let v4 = Server::start("127.0.0.1:0").await.unwrap();
    let c = client(policy(LOOPBACK_ALLOW, 5_000), None);
    let req = Request {
        url: Secret::new(format!("http://127.0.0.1:{}/upload", v4.port())),
        headers: vec![],
        body: Body::Multipart {
            parts: vec![
                Part {
                    name: "chat_id".into(),
                    filename: None,
                    content_type: "text/plain".into(),
                    bytes: b"42".to_vec(),
                },
                Part {
                    name: "photo".into(),
                    filename: Some("overview.png".into()),
                    content_type: "image/png".into(),
                    bytes: vec![0x89, b'P', b'N', b'G', 0, 1, 2],
                },
            ],
        },
    };
    assert_eq!(c.send(&req).await.unwrap().status, 200);
    let seen = v4.seen();
    assert!(seen[0]
        .head
        .to_ascii_lowercase()
        .contains("content-type: multipart/form-data; boundary="));
    let body = String::from_utf8_lossy(&seen[0].body);
    assert!(body.contains(r#"name="chat_id""#), "{body}");
    assert!(body.contains(r#"filename="overview.png""#), "{body}");
    assert!(body.contains("Content-Type: image/png") || body.contains("content-type: image/png"));
}

#[tokio::test]
async fn a_proxy_on_loopback_needs_the_allowlist() {
    let proxy = Server::start("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://user:{TOKEN}@127.0.0.1:{}", proxy.port());
    let err = HttpClient::new(policy(&[], 2_000), Some(&proxy_url)).unwrap_err();
    assert!(
        matches!(&err, NetError::Refused(r) if r.rule() == Rule::Loopback),
        "{err}"
    );
    assert_no_secret_in(&err.to_string(), TOKEN);

    // Allowed, the request goes to the proxy (our loopback server answers for it). The target
    // name is in the reserved `.example` domain and is never resolved or contacted.
    let c = HttpClient::new(policy(&["127.0.0.0/8"], 5_000), Some(&proxy_url)).unwrap();
    let resp = c
        .send(&json_request("http://hooks.example/ok".into()))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    let seen = proxy.seen();
    assert!(
        seen[0]
            .head
            .starts_with("POST http://hooks.example/ok HTTP/1.1"),
        "{}",
        seen[0].head
    );
    // Through a proxy, names that mean this machine are refused up front.
    let err = c
        .send(&json_request(format!("http://localhost:1/hook/{TOKEN}")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NetError::Refused(r) if r.rule() == Rule::Loopback),
        "{err}"
    );
    assert_eq!(proxy.seen().len(), 1);

    // A proxy given by name is resolved through the guard too.
    let lookup = Arc::new(StaticLookup::new([(
        "proxy.test",
        vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
    )]));
    let by_name = format!("http://proxy.test:{}", proxy.port());
    let c = HttpClient::with_lookup(policy(&[], 2_000), Some(&by_name), lookup.clone()).unwrap();
    let err = c
        .send(&json_request("http://hooks.example/ok".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NetError::Refused(r) if r.rule() == Rule::Loopback),
        "{err}"
    );
    assert_eq!(proxy.seen().len(), 1, "the refused proxy was connected to");
    let c = HttpClient::with_lookup(
        policy(&["proxy.test"], 2_000),
        Some(&by_name),
        lookup.clone(),
    )
    .unwrap();
    let resp = c
        .send(&json_request("http://hooks.example/ok".into()))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(proxy.seen().len(), 2);
}

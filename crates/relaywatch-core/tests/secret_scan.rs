//! The secret scan: channels of every type carry recognisable random secrets in every URL form
//! (Zapier and Teams paths, `?apikey=`, `?auth=`, `;token=`, `#fragment`, a bare path segment,
//! a generic webhook's secret path, signing secrets, bearers, Feishu app secrets and tenant
//! tokens, Telegram bot tokens) and go down every failure path: receivers that echo the request
//! back (400, 500, 200 with an error body, Express `Cannot POST`), a closed port, TLS against a
//! plain-HTTP port, a name that does not resolve, a receiver that never answers, URL secrets
//! that are not URLs, TOML errors on a line holding a secret. Every returned text, history
//! record, API answer, log line and every key and value in the state Redis is scanned for every
//! secret, plain, percent-encoded and base64; nothing may be found. Rule: loopback only.

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use relaywatch_core::config::channels::{ChannelSettings, ChannelType, NetworkSettings, SecretRef};
use relaywatch_core::config::{Lang, Settings};
use relaywatch_core::delivery::drain::{enqueue_and_drain, outbox_config, Deliverer, DrainOptions};
use relaywatch_core::delivery::envelope::Envelope;
use relaywatch_core::delivery::net::{HttpClient, NetPolicy, StaticLookup};
use relaywatch_core::delivery::outbox::Outbox;
use relaywatch_core::render::message::Message;
use relaywatch_core::render::samples;
use relaywatch_core::secret_store::SecretStore;
use relaywatch_core::service::ChannelSender;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

// ---- secrets and the scanner -------------------------------------------------------------------

/// A recognisable random secret: `tag` and 20 random hex digits.
fn token(tag: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    let a = h.finish();
    h.write_u64(a);
    format!("{tag}{a:016x}{:04x}", h.finish() & 0xffff)
}

/// Every value that must never be shown: each random token and each whole secret value.
#[derive(Default, Clone)]
struct Secrets(Arc<Mutex<Vec<String>>>);

impl Secrets {
    fn add(&self, v: impl Into<String>) -> String {
        let v = v.into();
        self.0.lock().unwrap().push(v.clone());
        v
    }

    fn token(&self, tag: &str) -> String {
        self.add(token(tag))
    }

    /// The forms of every secret, computed here (not by the code under test).
    fn forms(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for v in self.0.lock().unwrap().iter() {
            let pct: String = v
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            let forms = [
                ("plain", v.clone()),
                ("percent-encoded", pct.clone()),
                ("percent-encoded, lower hex", pct.to_lowercase()),
                ("base64", STANDARD.encode(v)),
                ("base64 unpadded", STANDARD_NO_PAD.encode(v)),
                ("base64url", URL_SAFE.encode(v)),
                ("base64url unpadded", URL_SAFE_NO_PAD.encode(v)),
            ];
            for (name, f) in forms {
                out.push((format!("{name} form of a secret starting {:.6}", v), f));
            }
        }
        out
    }

    /// Panics when any form of any secret is in `text`.
    fn scan(&self, place: &str, text: &str) {
        assert!(!text.is_empty() || place.contains("may be empty"));
        for (what, f) in self.forms() {
            if let Some(i) = text.find(&f) {
                let from = text[..i].char_indices().rev().nth(60).map_or(0, |(j, _)| j);
                panic!("{what} leaked into {place}, after: {:?}", &text[from..i]);
            }
        }
    }
}

/// Log lines, captured from the first test on.
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf: Arc<Mutex<Vec<u8>>> = Arc::default();
        let writer = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "relaywatch_core=trace,warn",
            ))
            .with_writer(move || Capture(writer.clone()))
            .with_ansi(false)
            .try_init();
        buf
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// ---- receivers ---------------------------------------------------------------------------------

/// How a loopback receiver answers.
#[derive(Clone, Copy, Debug)]
enum Mode {
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
async fn receiver(mode: Mode, tenant_token: &str) -> u16 {
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
async fn read_request(sock: &mut tokio::net::TcpStream) -> String {
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
fn header_echo(request: &str) -> String {
    request
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("authorization:")
                .then(|| l[14..].trim().to_string())
        })
        .unwrap_or_default()
}

fn answer(mode: Mode, request: &str, tenant: &str) -> (u16, String) {
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
async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

// ---- channels ----------------------------------------------------------------------------------

fn bare(name: &str, kind: ChannelType) -> ChannelSettings {
    ChannelSettings {
        name: name.into(),
        kind,
        url: None,
        secret: None,
        lang: None,
        format: None,
        keyword: None,
        mentions: vec![],
        proxy: None,
        enabled: true,
        chat_id: None,
        api_base: None,
        app_id: None,
        app_secret: None,
        bearer: None,
        path: None,
    }
}

/// The channels of one failure path, all pointed at `base` (`scheme://host:port`); their
/// secrets go to `env` (and a few to files under `dir`).
struct Fleet {
    channels: Vec<ChannelSettings>,
    env: HashMap<String, String>,
}

impl Fleet {
    /// `name`'s `field` resolves to `value`: from a file for every third secret, else from env.
    fn put(&mut self, dir: &std::path::Path, name: &str, field: &str, value: String) -> SecretRef {
        let var = format!(
            "{}_{}",
            name.to_uppercase().replace('-', "_"),
            field.to_uppercase()
        );
        if self.env.len() % 3 == 2 {
            let f = dir.join(&var);
            std::fs::write(&f, format!("{value}\n")).unwrap();
            self.env.insert(var, String::new());
            return SecretRef::File {
                file: f.display().to_string(),
            };
        }
        self.env.insert(var.clone(), value);
        SecretRef::Env { env: var }
    }
}

/// One channel of every type and every URL form, at `base`, with fresh secrets.
/// Every platform's webhook URL form and the generic forms (Zapier, Teams, `?apikey=`,
/// `?auth=`, `;token=`, `#fragment`, a bare segment), at `base`, each token from `t`.
fn url_forms(base: &str, t: &dyn Fn(&str) -> String) -> Vec<(&'static str, ChannelType, String)> {
    vec![
        (
            "slack",
            ChannelType::Slack,
            format!("{base}/services/T{}/B{}/{}", t("t"), t("b"), t("sl")),
        ),
        (
            "discord",
            ChannelType::Discord,
            format!("{base}/api/webhooks/{}/{}", t("9"), t("dc")),
        ),
        (
            "dingtalk",
            ChannelType::Dingtalk,
            format!("{base}/robot/send?access_token={}", t("dt")),
        ),
        (
            "wecom",
            ChannelType::Wecom,
            format!("{base}/cgi-bin/webhook/send?key={}", t("wc")),
        ),
        (
            "feishu",
            ChannelType::Feishu,
            format!("{base}/open-apis/bot/v2/hook/{}", t("fs")),
        ),
        (
            "lark",
            ChannelType::Lark,
            format!("{base}/open-apis/bot/v2/hook/{}", t("lk")),
        ),
        (
            "zapier",
            ChannelType::Generic,
            format!("{base}/hooks/catch/{}/{}/", t("1"), t("zp")),
        ),
        (
            "teams",
            ChannelType::Generic,
            format!(
                "{base}/webhookb2/{}@{}/IncomingWebhook/{}/{}",
                t("g1"),
                t("g2"),
                t("tm"),
                t("g3")
            ),
        ),
        (
            "apikey",
            ChannelType::Generic,
            format!("{base}/notify?apikey={}", t("ak")),
        ),
        (
            "auth",
            ChannelType::Generic,
            format!("{base}/notify?auth={}&v=1", t("au")),
        ),
        (
            "semicolon",
            ChannelType::Generic,
            format!("{base}/notify;token={}", t("sc")),
        ),
        (
            "fragment",
            ChannelType::Generic,
            format!("{base}/notify#{}", t("fr")),
        ),
        ("bare", ChannelType::Generic, format!("{base}/{}", t("br"))),
    ]
}

fn fleet(tag: &str, base: &str, sec: &Secrets, dir: &std::path::Path) -> Fleet {
    let mut f = Fleet {
        channels: Vec::new(),
        env: HashMap::new(),
    };
    let t = |name: &str| sec.token(&format!("{tag}{name}"));
    let add = |f: &mut Fleet, name: &str, kind: ChannelType, url: String| {
        let mut c = bare(&format!("{tag}-{name}"), kind);
        c.url = Some(f.put(dir, &c.name.clone(), "url", sec.add(url)));
        f.channels.push(c);
    };
    for (name, kind, url) in url_forms(base, &t) {
        add(&mut f, name, kind, url);
    }
    for i in 0..f.channels.len() {
        let name = f.channels[i].name.clone();
        match f.channels[i].kind {
            ChannelType::Dingtalk => {
                let s = f.put(dir, &name, "secret", sec.add(format!("SEC{}", t("ds"))));
                f.channels[i].secret = Some(s);
            }
            ChannelType::Feishu | ChannelType::Lark => {
                let s = f.put(dir, &name, "secret", t("fk"));
                let a = f.put(dir, &name, "app_secret", t("as"));
                let ch = &mut f.channels[i];
                ch.secret = Some(s);
                ch.app_secret = Some(a);
                ch.app_id = Some("cli_scan".into());
                ch.api_base = Some(base.to_string());
            }
            _ => {}
        }
    }
    let mut g = bare(&format!("{tag}-generic"), ChannelType::Generic);
    g.url = Some(f.put(
        dir,
        &g.name,
        "url",
        sec.add(format!("{base}/hooks/{}/deliver", t("gp"))),
    ));
    g.secret = Some(f.put(
        dir,
        &g.name,
        "secret",
        sec.add(format!("whsec_{}", STANDARD.encode(t("ws")))),
    ));
    g.bearer = Some(f.put(dir, &g.name, "bearer", t("be")));
    f.channels.push(g);
    let mut tg = bare(&format!("{tag}-telegram"), ChannelType::Telegram);
    tg.url = Some(f.put(
        dir,
        &tg.name,
        "url",
        sec.add(format!(
            "{}:{}",
            7_000_000_000u64 + (tag.len() as u64),
            t("AAH")
        )),
    ));
    tg.api_base = Some(base.to_string());
    tg.chat_id = Some("-100200300".into());
    f.channels.push(tg);
    f
}

fn settings(channels: Vec<ChannelSettings>, redis: &str) -> Settings {
    let mut s = Settings {
        channels,
        network: NetworkSettings {
            allow: vec!["127.0.0.0/8".into()],
            timeout_ms: 700,
            allow_http: true,
        },
        ..Default::default()
    };
    s.state.redis_url = Some(redis.to_string());
    s.delivery.backoff_ms = 100;
    s.delivery.backoff_cap_ms = 200;
    s.delivery.attempts = 2;
    s
}

fn store(env: HashMap<String, String>) -> SecretStore {
    SecretStore::default().with_env(move |k| env.get(k).cloned())
}

fn report() -> Message {
    samples::all(Lang::En).remove(0).1
}

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("rw-scan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

// ---- the state Redis ---------------------------------------------------------------------------

fn value_text(v: &redis::Value, out: &mut String) {
    match v {
        redis::Value::BulkString(b) => out.push_str(&String::from_utf8_lossy(b)),
        redis::Value::SimpleString(s) => out.push_str(s),
        redis::Value::Array(items) | redis::Value::Set(items) => {
            for i in items {
                value_text(i, out);
                out.push('\n');
            }
        }
        redis::Value::Map(pairs) => {
            for (k, v) in pairs {
                value_text(k, out);
                out.push('=');
                value_text(v, out);
                out.push('\n');
            }
        }
        other => out.push_str(&format!("{other:?}")),
    }
}

/// Every key of the DB and its value, whatever its type.
async fn dump_redis(url: &str) -> String {
    let client = redis::Client::open(url).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let mut keys: Vec<String> = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, page): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut con)
            .await
            .unwrap();
        keys.extend(page);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    assert!(!keys.is_empty(), "the state Redis is empty");
    let mut out = String::new();
    for k in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&k)
            .query_async(&mut con)
            .await
            .unwrap();
        let mut cmd = match kind.as_str() {
            "string" => redis::cmd("GET"),
            "list" => redis::cmd("LRANGE"),
            "hash" => redis::cmd("HGETALL"),
            "set" => redis::cmd("SMEMBERS"),
            "zset" => redis::cmd("ZRANGE"),
            "stream" => redis::cmd("XRANGE"),
            other => panic!("key {k} of type {other}"),
        };
        cmd.arg(&k);
        match kind.as_str() {
            "list" | "zset" => {
                cmd.arg(0).arg(-1);
            }
            "stream" => {
                cmd.arg("-").arg("+");
            }
            _ => {}
        }
        if kind == "zset" {
            cmd.arg("WITHSCORES");
        }
        let v: redis::Value = cmd.query_async(&mut con).await.unwrap();
        out.push_str(&k);
        out.push('\n');
        value_text(&v, &mut out);
        out.push('\n');
    }
    out
}

// ---- the tests ---------------------------------------------------------------------------------

/// The failure paths: echoing receivers, TLS on a plain port, a closed port, a silent receiver;
/// each as (tag, base URL).
async fn failure_paths(tenant: &str) -> Vec<(String, String)> {
    let mut paths: Vec<(String, String)> = Vec::new();
    for (tag, mode) in [
        ("e400", Mode::Echo(400)),
        ("e500", Mode::Echo(500)),
        ("e200", Mode::ErrorBody),
        ("exp", Mode::Express),
        ("fsapi", Mode::FeishuApi),
    ] {
        let port = receiver(mode, tenant).await;
        paths.push((tag.into(), format!("http://127.0.0.1:{port}")));
    }
    let plain = receiver(Mode::Echo(400), tenant).await;
    paths.push(("tls".into(), format!("https://127.0.0.1:{plain}")));
    let closed = closed_port().await;
    paths.push(("closed".into(), format!("http://127.0.0.1:{closed}")));
    let silent = receiver(Mode::Silent, tenant).await;
    paths.push(("slow".into(), format!("http://127.0.0.1:{silent}")));
    paths
}

/// Channels with bad values: URL secrets that are not URLs (env and file), a Telegram token
/// that is a file of several lines, a file channel whose folder is a file.
fn bad_channels(all: &mut Fleet, sec: &Secrets, dir: &std::path::Path) -> Vec<ChannelSettings> {
    let mut bad_env = bare("bad-env", ChannelType::Generic);
    bad_env.url = Some(all.put(dir, "bad-env", "url", sec.token("693a")));
    std::fs::write(dir.join("not-a-url"), sec.token("file")).unwrap();
    let mut bad_file = bare("bad-file", ChannelType::Slack);
    bad_file.url = Some(SecretRef::File {
        file: dir.join("not-a-url").display().to_string(),
    });
    let passwd = format!("root:x:0:0:{}:/root:/bin/sh\n", sec.token("gecos"));
    std::fs::write(dir.join("passwd"), &passwd).unwrap();
    let mut bad_tg = bare("bad-tg", ChannelType::Telegram);
    bad_tg.url = Some(SecretRef::File {
        file: dir.join("passwd").display().to_string(),
    });
    bad_tg.chat_id = Some("-1".into());
    std::fs::write(dir.join("occupied"), "x").unwrap();
    let mut file = bare("files", ChannelType::File);
    file.path = Some(dir.join("occupied").display().to_string());
    vec![bad_env, bad_file, bad_tg, file]
}

/// Sends `msg` to every channel once, as `relaywatch test` and `/api/channels/X/test` do;
/// every attempt (replies, reasons, rules) and error as text.
async fn direct_sends(s: &Settings, store: &SecretStore, msg: &Message) -> String {
    let mut direct = String::new();
    for c in &s.channels {
        match ChannelSender::new(s, &c.name, store) {
            Ok(sender) => {
                let sent = sender
                    .send(msg, &format!("scan:{}", c.name), chrono::Utc::now())
                    .await;
                // A 200 with an error body is accepted by the platforms that judge by status.
                assert!(
                    !sent.delivered() || c.name.starts_with("e200-"),
                    "{} was delivered",
                    c.name
                );
                direct.push_str(&format!("{sent:?}\n"));
            }
            Err(e) => {
                assert!(c.name.starts_with("bad-"), "{}: {e}", c.name);
                let text = e.to_string();
                assert!(text.contains("is not a"), "{text}");
                direct.push_str(&format!("{text}\n{e:?}\n"));
            }
        }
    }
    direct
}

/// Sends to hosts that do not resolve, through a client whose resolver is a table without them
/// (no DNS query leaves the machine).
async fn unresolvable_sends(sec: &Secrets, dir: &std::path::Path, msg: &Message) -> String {
    let host = format!("https://no-such-host-{}.invalid", token("h"));
    let nx = fleet("nx", &host, sec, dir);
    let s = settings(nx.channels.clone(), "redis://127.0.0.1:1/0");
    let mut text = String::new();
    for c in &nx.channels {
        let policy = NetPolicy::from_settings(&s.network.allow, true, 700).unwrap();
        let lookup: Arc<StaticLookup> =
            Arc::new(StaticLookup::new(std::iter::empty::<(&str, Vec<IpAddr>)>()));
        let client = HttpClient::with_lookup(policy, None, lookup).unwrap();
        let sender = ChannelSender::new(&s, &c.name, &store(nx.env.clone()))
            .unwrap()
            .with_client(client);
        let sent = sender.send(msg, "scan:nx", chrono::Utc::now()).await;
        assert!(!sent.delivered());
        text.push_str(&format!("{sent:?}\n"));
    }
    assert!(text.contains(".invalid"), "errors name the host: {text}");
    text
}

/// Queues `msg` for every channel and drains the outbox in this process; the drained items
/// (history records and sends) as text.
async fn through_outbox(s: &Settings, store: SecretStore, msg: &Message, redis: &str) -> String {
    let outbox = Outbox::connect(redis, Duration::from_secs(5), outbox_config(s))
        .await
        .unwrap();
    let items = s
        .channels
        .iter()
        .map(|c| Envelope::new(&c.name, msg).item(format!("scan:{}", c.name)))
        .collect();
    let deliverer = Arc::new(Deliverer::new(s.clone(), store).keeping_sends());
    let opts = DrainOptions {
        wait: Duration::from_secs(60),
        ..DrainOptions::default()
    };
    let drained = enqueue_and_drain(&outbox, deliverer, items, opts)
        .await
        .unwrap();
    assert_eq!(drained.len(), s.channels.len());
    format!("{drained:?}")
}

/// Each failure path through `ChannelSender::send` (the `test` command and the API's test send)
/// and through the outbox (`Deliverer`: history, `last_error`, dead letters, `/api/history`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_leaves_any_failure_path_of_any_channel() {
    let logs = logs();
    let sec = Secrets::default();
    let dir = scratch("send");
    let tenant = sec.token("t-tenant");
    let redis = relaywatch_testkit::fresh_db();
    let mut all = Fleet {
        channels: Vec::new(),
        env: HashMap::new(),
    };
    for (tag, base) in failure_paths(&tenant).await {
        let f = fleet(&tag, &base, &sec, &dir);
        all.channels.extend(f.channels);
        all.env.extend(f.env);
    }
    let bad = bad_channels(&mut all, &sec, &dir);
    all.channels.extend(bad);
    let s = settings(all.channels.clone(), &redis);
    assert!(s.problems().is_empty(), "{:?}", s.problems());
    let msg = report();

    let direct = direct_sends(&s, &store(all.env.clone()), &msg).await;
    sec.scan("the direct sends' replies, reasons and errors", &direct);
    for needle in [
        "connection refused",
        "timed out",
        "channel closed-",
        "cannot post",
    ] {
        assert!(
            direct.to_lowercase().contains(needle),
            "no {needle:?} in the sends: the failure paths did not run"
        );
    }
    let nx = unresolvable_sends(&sec, &dir, &msg).await;
    sec.scan("the sends to unresolvable hosts", &nx);

    let drained = through_outbox(&s, store(all.env.clone()), &msg, &redis).await;
    sec.scan("the drained items (history records and sends)", &drained);
    let history = relaywatch_core::app::deliveries::history(&s, None, 100)
        .await
        .unwrap();
    let answer = serde_json::to_string(&history).unwrap();
    assert!(answer.contains("not a URL"), "{answer}");
    sec.scan("the /api/history answer", &answer);
    sec.scan("the state Redis", &dump_redis(&redis).await);
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    sec.scan("the log (may be empty)", &logged);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Config loading: a TOML error on a line holding a secret, a value of the wrong type, and a
/// URL secret that is not a URL as `check-config` reports it.
#[test]
fn no_secret_leaves_a_config_error() {
    let sec = Secrets::default();
    let dir = scratch("config");
    let hook = sec.add(format!(
        "https://hooks.slack.com/services/T0/B0/{}",
        token("cf")
    ));
    let texts = [
        format!("[[channels]]\nname = \"hook\"\ntype = \"slack\"\nurll = \"{hook}\"\n"),
        format!("[[channels]]\nname = \"hook\"\ntype = \"slack\"\nurl = \"{hook}\n"),
        format!("[report]\ntrend_days = \"{hook}\"\n"),
        format!("[report]\n{hook}\n"),
        format!("[[channels]]\nname = \"hook\"\ntype = \"{hook}\"\n"),
        format!("[state]\nredis_url = \"{hook}\"\n"),
    ];
    let mut out = String::new();
    for (i, text) in texts.iter().enumerate() {
        let e = relaywatch_core::config::load_from_str(text, "relaywatch.toml")
            .and_then(|s| s.validated(None));
        let f = dir.join(format!("c{i}.toml"));
        std::fs::write(&f, text).unwrap();
        let no_env = |_: &str| None::<String>;
        let loaded = relaywatch_core::config::load(Some(&f), &no_env);
        let (Err(a), Err(b)) = (e, loaded) else {
            panic!("config {i} loaded");
        };
        out.push_str(&format!("{a}\n{a:?}\n{b}\n{b:?}\n"));
    }
    sec.scan("the config errors", &out);
    assert!(out.contains("urll"), "{out}");

    let not_url = sec.token("693a");
    let mut c = bare("hook", ChannelType::Generic);
    c.url = Some(SecretRef::Env {
        env: "HOOK_URL".into(),
    });
    let s = Settings {
        channels: vec![c],
        ..Default::default()
    };
    let value = not_url.clone();
    let st = SecretStore::default().with_env(move |k| (k == "HOOK_URL").then(|| value.clone()));
    let e = ChannelSender::new(&s, "hook", &st).err().expect("refused");
    let text = e.to_string();
    assert!(
        text.contains("the value of `channels.hook.url` (from env HOOK_URL) is not a URL"),
        "{text}"
    );
    sec.scan("the not-a-URL error", &format!("{text}\n{e:?}"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The Redis URLs' passwords: a relay Redis and a state Redis that refuse the connection, as
/// the dashboard's status and `/api/history` report it.
#[tokio::test]
async fn no_redis_password_leaves_a_connection_error() {
    let sec = Secrets::default();
    let dir = scratch("redis");
    let pw = sec.token("Pw");
    let port = closed_port().await;
    let toml = format!(
        "[source]\nkind = \"crs\"\nredis_url = \"redis://:{pw}@127.0.0.1:{port}/0\"\nconnect_timeout_ms = 500\n\
         [state]\nredis_url = \"redis://relay:{pw}@127.0.0.1:{port}/1\"\n"
    );
    let path = dir.join("relaywatch.toml");
    std::fs::write(&path, &toml).unwrap();
    let app = relaywatch_core::app::App::open(
        &path,
        SecretStore::default(),
        relaywatch_core::app::Vault::Files(dir.join("secrets")),
    )
    .unwrap();
    let status = serde_json::to_string(&app.refresh().await).unwrap();
    assert!(status.contains("cannot connect to Redis"), "{status}");
    sec.scan("the status after a failed refresh", &status);
    let s = app.settings();
    let e = relaywatch_core::app::deliveries::history(&s, None, 10)
        .await
        .expect_err("the state Redis refuses");
    assert!(e.to_string().contains("cannot connect"), "{e}");
    sec.scan("the /api/history error", &format!("{e}\n{e:?}"));
    sec.scan("the masked config", &s.to_masked_toml());
    let _ = std::fs::remove_dir_all(&dir);
}

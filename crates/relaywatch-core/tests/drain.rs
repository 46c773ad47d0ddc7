//! Messages through the durable outbox end to end: envelopes queued in a real redis-server,
//! drained by a sender in this process with `Deliverer` (secrets resolved at send time) to
//! loopback receivers that answer as the platforms do; history records every attempt and never
//! a secret. Also: Feishu tenant tokens are fetched once and reused.

#[path = "common/receiver.rs"]
mod receiver;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use receiver::{Receiver, Reply};
use relaywatch_core::config::channels::{ChannelSettings, ChannelType, NetworkSettings, SecretRef};
use relaywatch_core::config::{Lang, Settings};
use relaywatch_core::delivery::channel_sender::ChannelSender;
use relaywatch_core::delivery::drain::{
    enqueue_and_drain, outbox_config, Deliverer, DrainOptions, Fate,
};
use relaywatch_core::delivery::envelope::Envelope;
use relaywatch_core::delivery::history::AttemptResult;
use relaywatch_core::delivery::outbox::{system_now_ms, Outbox};
use relaywatch_core::render::message::Message;
use relaywatch_core::secret_store::SecretStore;
use relaywatch_core::secrets::assert_no_secret_in;
use relaywatch_testkit::samples;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const TOKEN: &str = "fake-drain-token-7e1d";
const SIGNING: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn channel(name: &str, kind: ChannelType, env: &str) -> ChannelSettings {
    ChannelSettings {
        url: Some(SecretRef::Env { env: env.into() }),
        ..ChannelSettings::new(name, kind)
    }
}

fn settings(channels: Vec<ChannelSettings>, redis: &str) -> Settings {
    let mut s = Settings {
        channels,
        network: NetworkSettings {
            allow: vec!["127.0.0.0/8".into()],
            timeout_ms: 2_000,
            allow_http: true,
        },
        ..Default::default()
    };
    s.state.redis_url = Some(redis.to_string());
    s.delivery.backoff_ms = 100;
    s.delivery.attempts = 3;
    s
}

fn store(env: HashMap<&'static str, String>) -> SecretStore {
    SecretStore::default().with_env(move |k| env.get(k).cloned())
}

fn report() -> Message {
    let (_, m) = samples::all(Lang::En).remove(0);
    assert_eq!(m.charts.len(), 4);
    m
}

async fn open(s: &Settings) -> Outbox {
    Outbox::connect(
        s.state.redis_url.as_deref().unwrap(),
        Duration::from_secs(5),
        outbox_config(s),
    )
    .await
    .unwrap()
}

/// Every history list and queued payload in the DB, as text.
async fn everything_in_redis(url: &str) -> String {
    let client = redis::Client::open(url).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut con)
        .await
        .unwrap();
    let mut out = String::new();
    for k in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&k)
            .query_async(&mut con)
            .await
            .unwrap();
        let text: Vec<String> = match kind.as_str() {
            "list" => redis::cmd("LRANGE")
                .arg(&k)
                .arg(0)
                .arg(-1)
                .query_async(&mut con)
                .await
                .unwrap(),
            "hash" => {
                let m: HashMap<String, Vec<u8>> = redis::cmd("HGETALL")
                    .arg(&k)
                    .query_async(&mut con)
                    .await
                    .unwrap();
                m.into_iter()
                    .map(|(f, v)| format!("{f}={}", String::from_utf8_lossy(&v)))
                    .collect()
            }
            _ => vec![],
        };
        out.push_str(&k);
        out.push('\n');
        out.push_str(&text.join("\n"));
        out.push('\n');
    }
    out
}

/// Settings with a WeCom channel and a signed generic hook (`ops-hook`) aimed at the two
/// receivers, and the environment holding their URLs and the signing secret.
fn wecom_and_signed_hook(
    url: &str,
    wecom: &Receiver,
    generic: &Receiver,
) -> (Settings, HashMap<&'static str, String>) {
    let mut hook = channel("ops-hook", ChannelType::Generic, "GENERIC_URL");
    hook.secret = Some(SecretRef::Env {
        env: "GENERIC_SECRET".into(),
    });
    let s = settings(
        vec![channel("team-wecom", ChannelType::Wecom, "WECOM_URL"), hook],
        url,
    );
    let env = HashMap::from([
        (
            "WECOM_URL",
            format!(
                "http://127.0.0.1:{}/cgi-bin/webhook/send?key={TOKEN}",
                wecom.port()
            ),
        ),
        (
            "GENERIC_URL",
            format!("http://127.0.0.1:{}/hook/{TOKEN}", generic.port()),
        ),
        ("GENERIC_SECRET", SIGNING.to_string()),
    ]);
    (s, env)
}

#[tokio::test]
async fn a_report_goes_through_the_outbox_and_every_attempt_is_in_history() {
    let url = relaywatch_testkit::fresh_db();
    let wecom = Receiver::start(vec![Reply::json(200, r#"{"errcode":0,"errmsg":"ok"}"#)]).await;
    let generic = Receiver::start(vec![Reply::new(503, "busy"), Reply::json(200, "{}")]).await;
    let (s, env) = wecom_and_signed_hook(&url, &wecom, &generic);
    let outbox = open(&s).await;
    let msg = report();
    let items = ["team-wecom", "ops-hook"]
        .iter()
        .map(|ch| Envelope::new(ch, &msg).item(format!("report:once:T:{ch}")))
        .collect();
    let deliverer = Arc::new(Deliverer::new(s.clone(), store(env)).keeping_sends());
    let drained = enqueue_and_drain(&outbox, deliverer, items, DrainOptions::default())
        .await
        .unwrap();
    assert_eq!(drained.len(), 2);
    let (w, g) = (&drained[0], &drained[1]);
    assert_eq!(
        (w.channel.as_str(), w.fate),
        ("team-wecom", Fate::Delivered)
    );
    assert_eq!(w.records.len(), 1);
    assert_eq!(w.records[0].result, AttemptResult::Delivered);
    assert_eq!(w.records[0].code, Some(0));
    assert_eq!(w.records[0].kind, "report");
    assert_eq!(w.sends.len(), 1);
    assert_eq!(w.sends[0].attempts.len(), 5, "markdown and four images");
    assert_eq!(wecom.count(), 5);

    assert_eq!(g.fate, Fate::Delivered);
    let results: Vec<_> = g.records.iter().map(|r| (r.attempt, r.result)).collect();
    assert_eq!(
        results,
        [(1, AttemptResult::Retry), (2, AttemptResult::Delivered)]
    );
    assert_eq!(g.records[0].status, Some(503));
    assert!(g.records[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("temporary failure"));
    assert_eq!(g.sends.len(), 2);
    assert_eq!(generic.count(), 2);
    let doc: serde_json::Value = serde_json::from_slice(&generic.seen()[1].body).unwrap();
    assert_eq!(doc["kind"], "report");

    // The same key again is a no-op: nothing is sent twice.
    let again = Envelope::new("team-wecom", &msg).item("report:once:T:team-wecom");
    let deliverer = Arc::new(Deliverer::new(s.clone(), SecretStore::default()));
    let d = enqueue_and_drain(&outbox, deliverer, vec![again], DrainOptions::default())
        .await
        .unwrap();
    assert!(d[0].duplicate);
    assert_eq!(wecom.count(), 5);

    let all = everything_in_redis(&url).await;
    assert!(all.contains("history:ops-hook:failed"), "{all}");
    assert_no_secret_in(&all, TOKEN);
    assert_no_secret_in(&all, SIGNING);
    assert_no_secret_in(&format!("{drained:?}"), TOKEN);
}

#[tokio::test]
async fn a_permanent_failure_is_dead_and_its_queued_payload_holds_no_secret() {
    let url = relaywatch_testkit::fresh_db();
    let rx = Receiver::start(vec![Reply::json(
        200,
        r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#,
    )])
    .await;
    let s = settings(
        vec![channel("team-wecom", ChannelType::Wecom, "WECOM_URL")],
        &url,
    );
    let env = HashMap::from([(
        "WECOM_URL",
        format!(
            "http://127.0.0.1:{}/cgi-bin/webhook/send?key={TOKEN}",
            rx.port()
        ),
    )]);
    let outbox = open(&s).await;
    let item = Envelope::new("team-wecom", &report()).item("k1");
    let d = enqueue_and_drain(
        &outbox,
        Arc::new(Deliverer::new(s.clone(), store(env))),
        vec![item],
        DrainOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(d[0].fate, Fate::Dead);
    assert_eq!(d[0].records.len(), 1);
    assert_eq!(d[0].records[0].code, Some(93000));
    assert!(d[0].records[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("permanent failure (platform code 93000)"));
    assert_eq!(rx.count(), 1, "not retried");
    let dead = outbox.dead().await.unwrap();
    assert_eq!(dead.len(), 1);
    // The dead item keeps its envelope for inspection: the message, never the URL.
    let all = everything_in_redis(&url).await;
    assert!(all.contains("payload="), "{all}");
    assert_no_secret_in(&all, TOKEN);
}

#[tokio::test]
async fn a_pause_longer_than_the_wait_leaves_the_item_queued() {
    let url = relaywatch_testkit::fresh_db();
    let rx = Receiver::start(vec![Reply::json(
        200,
        r#"{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}"#,
    )])
    .await;
    let s = settings(
        vec![channel("ding", ChannelType::Dingtalk, "DING_URL")],
        &url,
    );
    let env = HashMap::from([(
        "DING_URL",
        format!(
            "http://127.0.0.1:{}/robot/send?access_token={TOKEN}",
            rx.port()
        ),
    )]);
    let outbox = open(&s).await;
    let before = system_now_ms();
    let opts = DrainOptions {
        wait: Duration::from_secs(30),
        ..Default::default()
    };
    let d = enqueue_and_drain(
        &outbox,
        Arc::new(Deliverer::new(s.clone(), store(env))),
        vec![Envelope::new("ding", &report()).item("k-ding")],
        opts,
    )
    .await
    .unwrap();
    match d[0].fate {
        Fate::Queued { next_at_ms } => assert!(next_at_ms >= before + 600_000, "{next_at_ms}"),
        other => panic!("expected queued, got {other:?}"),
    }
    assert_eq!(d[0].records[0].result, AttemptResult::Retry);
    assert_eq!(rx.count(), 1);
}

#[tokio::test]
async fn a_payload_for_another_channel_or_no_envelope_fails_for_good() {
    let url = relaywatch_testkit::fresh_db();
    let s = settings(
        vec![channel("team-wecom", ChannelType::Wecom, "WECOM_URL")],
        &url,
    );
    let outbox = open(&s).await;
    let mut wrong = Envelope::new("other", &report()).item("k-wrong");
    wrong.channel = "team-wecom".into();
    let mut garbage = Envelope::new("team-wecom", &report()).item("k-garbage");
    garbage.payload = b"{\"version\":1}".to_vec();
    let env = HashMap::from([("WECOM_URL", "http://127.0.0.1:9/x".to_string())]);
    let d = enqueue_and_drain(
        &outbox,
        Arc::new(Deliverer::new(s.clone(), store(env))),
        vec![wrong, garbage],
        DrainOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(d[0].fate, Fate::Dead);
    assert!(d[0].records[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("envelope is for \"other\""));
    assert_eq!(d[1].fate, Fate::Dead);
    assert!(d[1].records[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("not a relaywatch envelope"));
}

/// A stand-in for Feishu's open API and bot hook on 127.0.0.1, answering by path and counting
/// requests per path.
struct FeishuStandIn {
    port: u16,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl FeishuStandIn {
    async fn start(expire_s: u64) -> FeishuStandIn {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let seen = hits.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut r = BufReader::new(sock);
                    let mut line = String::new();
                    r.read_line(&mut line).await.unwrap();
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let mut len = 0usize;
                    loop {
                        let mut h = String::new();
                        r.read_line(&mut h).await.unwrap();
                        if h.trim_end().is_empty() {
                            break;
                        }
                        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; len];
                    r.read_exact(&mut body).await.unwrap();
                    let n = {
                        let mut seen = seen.lock().unwrap();
                        let n = seen.entry(path.clone()).or_insert(0);
                        *n += 1;
                        *n
                    };
                    let reply = if path.ends_with("/tenant_access_token/internal") {
                        format!(
                            r#"{{"code":0,"msg":"ok","tenant_access_token":"t-fake-{n}","expire":{expire_s}}}"#
                        )
                    } else if path.ends_with("/im/v1/images") {
                        format!(r#"{{"code":0,"data":{{"image_key":"img_v2_{n}"}}}}"#)
                    } else {
                        r#"{"code":0,"msg":"success"}"#.to_string()
                    };
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        reply.len()
                    );
                    let sock = r.get_mut();
                    sock.write_all(head.as_bytes()).await.unwrap();
                    sock.write_all(reply.as_bytes()).await.unwrap();
                    let _ = sock.shutdown().await;
                });
            }
        });
        FeishuStandIn { port, hits }
    }

    fn hits(&self, suffix: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p.ends_with(suffix))
            .map(|(_, n)| n)
            .sum()
    }
}

fn feishu_sender(port: u16, app_id: &str) -> ChannelSender {
    let mut c = channel("feishu", ChannelType::Feishu, "FEISHU_URL");
    c.api_base = Some(format!("http://127.0.0.1:{port}"));
    c.app_id = Some(app_id.into());
    c.app_secret = Some(SecretRef::Env {
        env: "APP_SECRET".into(),
    });
    let s = settings(vec![c], "redis://127.0.0.1:1/0");
    let env = HashMap::from([
        (
            "FEISHU_URL",
            format!("http://127.0.0.1:{port}/open-apis/bot/v2/hook/{TOKEN}"),
        ),
        ("APP_SECRET", "fake-app-secret-9".to_string()),
    ]);
    ChannelSender::new(&s, "feishu", &store(env)).unwrap()
}

#[tokio::test]
async fn two_feishu_reports_fetch_one_tenant_token() {
    let api = FeishuStandIn::start(7200).await;
    let msg = report();
    // Two senders, as two deliveries would build: the token is shared per (base, app id).
    for i in 0..2 {
        let sent = feishu_sender(api.port, "cli_cached")
            .send(&msg, &format!("m{i}"), chrono::Utc::now())
            .await;
        assert!(sent.delivered(), "{sent:?}");
    }
    assert_eq!(api.hits("/tenant_access_token/internal"), 1);
    assert_eq!(api.hits("/im/v1/images"), 8);
    assert_eq!(api.hits(&format!("/hook/{TOKEN}")), 2);
}

#[tokio::test]
async fn a_tenant_token_about_to_expire_is_not_reused() {
    // Feishu says the token lives 200 s: less than the 5-minute margin, so never reused.
    let api = FeishuStandIn::start(200).await;
    let msg = report();
    for i in 0..2 {
        let sent = feishu_sender(api.port, "cli_short")
            .send(&msg, &format!("m{i}"), chrono::Utc::now())
            .await;
        assert!(sent.delivered(), "{sent:?}");
    }
    assert_eq!(api.hits("/tenant_access_token/internal"), 2);
}

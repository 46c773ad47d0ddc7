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
use relaywatch_core::delivery::channel_sender::ChannelSender;
use relaywatch_core::delivery::drain::{enqueue_and_drain, outbox_config, Deliverer, DrainOptions};
use relaywatch_core::delivery::envelope::Envelope;
use relaywatch_core::delivery::net::{HttpClient, NetPolicy, StaticLookup};
use relaywatch_core::delivery::outbox::Outbox;
use relaywatch_core::render::message::Message;
use relaywatch_core::secret_store::SecretStore;
use relaywatch_testkit::samples;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

mod fleet;
mod receivers;
mod scanner;
mod state;

use fleet::*;
use receivers::*;
use scanner::*;
use state::*;

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
    let history = relaywatch_core::service::deliveries::history(&s, None, 100)
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
    let app = relaywatch_core::service::Service::open(
        &path,
        SecretStore::default(),
        relaywatch_core::service::Vault::Files(dir.join("secrets")),
    )
    .unwrap();
    let status = serde_json::to_string(&app.refresh().await).unwrap();
    assert!(status.contains("cannot connect to Redis"), "{status}");
    sec.scan("the status after a failed refresh", &status);
    let s = app.settings();
    let e = relaywatch_core::service::deliveries::history(&s, None, 10)
        .await
        .expect_err("the state Redis refuses");
    assert!(e.to_string().contains("cannot connect"), "{e}");
    sec.scan("the /api/history error", &format!("{e}\n{e:?}"));
    sec.scan("the masked config", &s.to_masked_toml());
    let _ = std::fs::remove_dir_all(&dir);
}

//! A channel's `proxy` against real proxies on 127.0.0.1: a tiny SOCKS5 server (written here)
//! relays a delivery to a loopback receiver, with `socks5://` (the name is resolved and checked
//! here) and `socks5h://` (the proxy resolves it); a target the guard refuses is never asked of
//! the proxy; an HTTP proxy is asked to CONNECT for https targets. Rule: every socket these
//! tests open is on loopback, and the proxy only ever connects to 127.0.0.1.

#[path = "common/receiver.rs"]
mod receiver;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use receiver::{Receiver, Reply};
use relaywatch_core::channels::{Body, Request};
use relaywatch_core::config::channels::{ChannelSettings, ChannelType, NetworkSettings, SecretRef};
use relaywatch_core::config::{Lang, Settings};
use relaywatch_core::delivery::net::{HttpClient, NetError, NetPolicy, Rule, StaticLookup};
use relaywatch_core::render::messages;
use relaywatch_core::secret_store::SecretStore;
use relaywatch_core::secrets::{assert_no_secret_in, Secret};
use relaywatch_testkit::samples;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "fake-proxy-token-51aa";

/// What the SOCKS5 proxy was asked to connect to: `127.0.0.1:8080` or `hooks.test:8080`.
type Asked = Arc<Mutex<Vec<String>>>;

/// A minimal SOCKS5 server (no auth, CONNECT only). Domain names are "resolved" to 127.0.0.1,
/// and any other address is refused: the proxy never leaves this machine.
async fn socks5_proxy() -> (u16, Asked) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let asked: Asked = Arc::default();
    let log = asked.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let _ = socks5_session(sock, log).await;
            });
        }
    });
    (port, asked)
}

async fn socks5_session(mut sock: TcpStream, log: Asked) -> std::io::Result<()> {
    let mut head = [0u8; 2];
    sock.read_exact(&mut head).await?;
    assert_eq!(head[0], 5, "SOCKS version");
    let mut methods = vec![0u8; head[1] as usize];
    sock.read_exact(&mut methods).await?;
    assert!(methods.contains(&0), "no-auth offered: {methods:?}");
    sock.write_all(&[5, 0]).await?;
    let mut req = [0u8; 4];
    sock.read_exact(&mut req).await?;
    assert_eq!(&req[..3], &[5, 1, 0], "a CONNECT request");
    let host = match req[3] {
        1 => {
            let mut a = [0u8; 4];
            sock.read_exact(&mut a).await?;
            Ipv4Addr::from(a).to_string()
        }
        3 => {
            let mut n = [0u8; 1];
            sock.read_exact(&mut n).await?;
            let mut name = vec![0u8; n[0] as usize];
            sock.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).into_owned()
        }
        other => panic!("address type {other} not expected here"),
    };
    let mut p = [0u8; 2];
    sock.read_exact(&mut p).await?;
    let port = u16::from_be_bytes(p);
    log.lock().unwrap().push(format!("{host}:{port}"));
    let ip = match host.parse::<Ipv4Addr>() {
        Ok(ip) => ip,
        Err(_) => Ipv4Addr::LOCALHOST,
    };
    if !ip.is_loopback() {
        // Refused by rule (0x02): these tests never leave loopback.
        sock.write_all(&[5, 2, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
        return Ok(());
    }
    let mut upstream = TcpStream::connect(SocketAddr::new(IpAddr::V4(ip), port)).await?;
    sock.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).await?;
    tokio::io::copy_bidirectional(&mut sock, &mut upstream).await?;
    Ok(())
}

fn generic_channel(proxy: String) -> Settings {
    Settings {
        channels: vec![ChannelSettings {
            url: Some(SecretRef::Env { env: "URL".into() }),
            proxy: Some(proxy),
            ..ChannelSettings::new("hook", ChannelType::Generic)
        }],
        network: NetworkSettings {
            allow: vec!["127.0.0.0/8".into()],
            timeout_ms: 3_000,
            allow_http: true,
        },
        ..Default::default()
    }
}

async fn send_through(
    proxy: String,
    url: String,
) -> relaywatch_core::delivery::channel_sender::Sent {
    let s = generic_channel(proxy);
    let store = SecretStore::default().with_env(move |k| (k == "URL").then(|| url.clone()));
    let sender =
        relaywatch_core::delivery::channel_sender::ChannelSender::new(&s, "hook", &store).unwrap();
    let msg = messages::test_message("hook", samples::sample_time(), Lang::En);
    sender.send(&msg, "test:1:hook", chrono::Utc::now()).await
}

#[tokio::test]
async fn a_delivery_goes_through_a_socks5_proxy() {
    let rx = Receiver::start(vec![Reply::json(200, "{}")]).await;
    let (proxy_port, asked) = socks5_proxy().await;
    let sent = send_through(
        format!("socks5://127.0.0.1:{proxy_port}"),
        format!("http://127.0.0.1:{}/hook/{TOKEN}", rx.port()),
    )
    .await;
    assert!(sent.delivered(), "{sent:?}");
    assert_eq!(
        *asked.lock().unwrap(),
        [format!("127.0.0.1:{}", rx.port())],
        "the proxy was asked to CONNECT to the receiver"
    );
    let seen = rx.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, format!("/hook/{TOKEN}"));
    let doc: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(doc["kind"], "test");
    assert_no_secret_in(&format!("{sent:?}"), TOKEN);
}

#[tokio::test]
async fn socks5h_hands_the_name_to_the_proxy() {
    let rx = Receiver::start(vec![Reply::json(200, "{}")]).await;
    let (proxy_port, asked) = socks5_proxy().await;
    // `hooks.test` is never resolved here: the proxy gets the name (and maps it to loopback).
    let sent = send_through(
        format!("socks5h://127.0.0.1:{proxy_port}"),
        format!("http://hooks.test:{}/hook/{TOKEN}", rx.port()),
    )
    .await;
    assert!(sent.delivered(), "{sent:?}");
    assert_eq!(
        *asked.lock().unwrap(),
        [format!("hooks.test:{}", rx.port())]
    );
    assert_eq!(rx.count(), 1);
}

fn json_request(url: String) -> Request {
    Request {
        url: Secret::new(url),
        headers: vec![],
        body: Body::Json {
            value: serde_json::json!({"text": "hi"}),
        },
    }
}

#[tokio::test]
async fn with_socks5_a_refused_target_is_never_asked_of_the_proxy() {
    let (proxy_port, asked) = socks5_proxy().await;
    let lookup = Arc::new(StaticLookup::new([(
        "private.test",
        vec![IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))],
    )]));
    let policy = NetPolicy::from_settings(&["127.0.0.0/8".into()], true, 3_000).unwrap();
    let client = HttpClient::with_lookup(
        policy,
        Some(&format!("socks5://127.0.0.1:{proxy_port}")),
        lookup.clone(),
    )
    .unwrap();
    let err = client
        .send(&json_request(format!(
            "http://private.test:8080/hook/{TOKEN}"
        )))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NetError::Refused(r) if r.rule() == Rule::Private),
        "{err}"
    );
    assert_eq!(lookup.calls(), 1, "resolved here, through the guard");
    assert!(
        asked.lock().unwrap().is_empty(),
        "the proxy was never asked"
    );
    assert_no_secret_in(&err.to_string(), TOKEN);

    // A literal refused address is refused before anything is resolved or connected.
    let err = client
        .send(&json_request(format!(
            "http://192.168.1.10:8080/hook/{TOKEN}"
        )))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NetError::Refused(r) if r.rule() == Rule::Private),
        "{err}"
    );
    assert!(asked.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_http_proxy_is_asked_to_connect_for_https_targets() {
    // The proxy records the CONNECT line, answers 200, then hangs up: the TLS handshake that
    // would follow fails, which is all this loopback test can show without a certificate.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Asked = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let mut r = BufReader::new(sock);
            let mut line = String::new();
            let _ = r.read_line(&mut line).await;
            log.lock().unwrap().push(line.trim_end().to_string());
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).await.unwrap_or(0) == 0 || h.trim_end().is_empty() {
                    break;
                }
            }
            let _ = r
                .get_mut()
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await;
            let _ = r.get_mut().shutdown().await;
        }
    });
    let policy = NetPolicy::from_settings(&["127.0.0.0/8".into()], false, 3_000).unwrap();
    let client = HttpClient::new(policy, Some(&format!("http://127.0.0.1:{port}"))).unwrap();
    let err = client
        .send(&json_request(format!("https://hooks.example/hook/{TOKEN}")))
        .await
        .unwrap_err();
    assert_eq!(
        seen.lock().unwrap().first().map(String::as_str),
        Some("CONNECT hooks.example:443 HTTP/1.1")
    );
    assert_no_secret_in(&err.to_string(), TOKEN);
}

#[tokio::test]
async fn guard_refusals_are_permanent_failures_naming_the_rule() {
    // A proxy named `localhost` is refused when the channel's sender is built.
    let s = generic_channel("socks5://localhost:1080".into());
    let store = SecretStore::default().with_env(|k| (k == "URL").then(|| "http://x.test/".into()));
    let Err(err) =
        relaywatch_core::delivery::channel_sender::ChannelSender::new(&s, "hook", &store)
    else {
        panic!("a proxy named localhost was accepted");
    };
    assert!(
        err.to_string()
            .contains("refused by the SSRF guard: rule loopback: "),
        "{err}"
    );
    // Refused targets behind an allowed proxy: a permanent failure, never retried, never sent.
    let (proxy_port, asked) = socks5_proxy().await;
    for (url, rule) in [
        (format!("http://10.0.0.1:8080/hook/{TOKEN}"), "private"),
        (format!("http://127.0.0.1:6379/hook/{TOKEN}"), "port:cache"),
        (
            format!("http://127.0.0.1:2375/hook/{TOKEN}"),
            "port:container-api",
        ),
        (format!("http://168.63.129.16/hook/{TOKEN}"), "metadata"),
    ] {
        let sent = send_through(format!("socks5://127.0.0.1:{proxy_port}"), url.clone()).await;
        let last = sent.attempts.last().expect("one attempt");
        assert!(
            matches!(
                last.outcome,
                relaywatch_core::channels::Outcome::Fail { .. }
            ),
            "{url}: {:?}",
            last.outcome
        );
        assert!(
            last.reply
                .contains(&format!("refused by the SSRF guard: rule {rule}: ")),
            "{url}: {}",
            last.reply
        );
        assert_no_secret_in(&format!("{sent:?}"), TOKEN);
    }
    assert!(asked.lock().unwrap().is_empty(), "the proxy was asked");
}

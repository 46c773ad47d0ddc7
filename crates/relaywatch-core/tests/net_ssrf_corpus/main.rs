//! A corpus of ~300 hostile webhook URLs, each refused before anything connects and under a
//! named rule (`refused by the SSRF guard: rule <name>: …`), and a table of good URLs that pass.
//! Rows: every numeric IPv4 spelling, IPv4-mapped, NAT64, 6to4, Teredo, IDN and homoglyph
//! hosts, userinfo tricks, trailing dots, every cloud metadata address (also under an
//! allow-everything policy), every refused port on a public-looking host, and DNS answers that
//! change between lookups. Rule: nothing here connects anywhere but 127.0.0.1, and no name is
//! resolved by real DNS: names go through injected lookups, and the client-level sends only
//! ever meet loopback answers or refusals made before a connection.

mod corpus;
#[path = "../common/receiver.rs"]
mod receiver;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use corpus::{GOOD, HOSTILE, RESOLVED};
use receiver::{Receiver, Reply};
use relaywatch_core::channels::{Body, Request};
use relaywatch_core::delivery::net::{
    check_proxy, check_resolved, check_url, HttpClient, Lookup, LookupFuture, NetError, NetPolicy,
    PortFamily, StaticLookup, DEFAULT_TIMEOUT_MS, REFUSED_PORTS,
};
use relaywatch_core::secrets::Secret;

fn policy(allow: &[&str], allow_http: bool) -> NetPolicy {
    let allow: Vec<String> = allow.iter().map(|s| s.to_string()).collect();
    NetPolicy::from_settings(&allow, allow_http, DEFAULT_TIMEOUT_MS).expect("valid policy")
}

/// Every row is refused by `check_url`, under its rule, and says so: the text starts with
/// `refused by the SSRF guard: rule <name>: `.
fn refused_under(p: &NetPolicy, url: &str, want: &str) -> Result<(), String> {
    match check_url(p, url) {
        Ok(t) => Err(format!("{url}: passed as {:?} port {}", t.host, t.port)),
        Err(r) => {
            let text = r.to_string();
            let head = format!("refused by the SSRF guard: rule {want}: ");
            if r.rule_name() != want {
                return Err(format!(
                    "{url}: rule {} ({text}), want {want}",
                    r.rule_name()
                ));
            }
            if !text.starts_with(&head) {
                return Err(format!("{url}: {text:?} does not start with {head:?}"));
            }
            Ok(())
        }
    }
}

#[test]
fn every_hostile_url_is_refused_under_its_named_rule() {
    let p = policy(&[], true);
    let wrong: Vec<String> = HOSTILE
        .iter()
        .filter_map(|(url, want)| refused_under(&p, url, want).err())
        .collect();
    assert!(wrong.is_empty(), "wrong refusals:\n{}", wrong.join("\n"));
}

#[test]
fn every_refused_port_is_refused_on_a_public_looking_host() {
    let p = policy(&["hooks.example.com", "93.184.216.34"], false);
    let mut wrong = Vec::new();
    for (port, family, service) in REFUSED_PORTS {
        for host in ["hooks.example.com", "93.184.216.34", "[2606:4700::1111]"] {
            let url = format!("https://{host}:{port}/hook");
            let want = family.name();
            if let Err(e) = refused_under(&p, &url, want) {
                wrong.push(e);
            } else if *port != 0
                && !check_url(&p, &url)
                    .unwrap_err()
                    .to_string()
                    .contains(service)
            {
                wrong.push(format!("{url}: the message lacks the service {service}"));
            }
        }
    }
    assert!(wrong.is_empty(), "wrong refusals:\n{}", wrong.join("\n"));
    assert!(
        HOSTILE.len() + REFUSED_PORTS.len() >= 300,
        "the corpus keeps at least 300 rows"
    );
}

#[test]
fn metadata_stays_refused_under_an_allow_everything_policy() {
    let all = policy(
        &[
            "0.0.0.0/0",
            "::/0",
            "169.254.169.254",
            "168.63.129.16:80",
            "metadata.google.internal",
            "fd00:ec2::254",
        ],
        true,
    );
    let mut wrong = Vec::new();
    for (url, want) in HOSTILE.iter().filter(|(_, r)| *r == "metadata") {
        if let Err(e) = refused_under(&all, url, want) {
            wrong.push(e);
        }
    }
    assert!(wrong.is_empty(), "metadata opened:\n{}", wrong.join("\n"));
    // The same policy opens what it says it opens.
    for url in [
        "http://10.0.0.1/",
        "http://[::1]:8080/",
        "http://[fd00::1]/",
        "http://169.254.1.1/",
    ] {
        assert!(check_url(&all, url).is_ok(), "{url}");
    }
    // …but not a refused port, unless named with its host.
    assert_eq!(
        check_url(&all, "http://10.0.0.1:5432/")
            .unwrap_err()
            .rule_name(),
        "port:database"
    );
}

fn addrs(list: &[&str]) -> Vec<SocketAddr> {
    list.iter()
        .map(|a| SocketAddr::new(a.parse().unwrap(), 0))
        .collect()
}

#[test]
fn names_are_judged_by_every_address_they_resolve_to() {
    let p = policy(&[], true);
    let mut wrong = Vec::new();
    for (name, list, want) in RESOLVED {
        match check_resolved(&p, name, &addrs(list)) {
            Ok(()) => wrong.push(format!("{name}: {list:?} passed")),
            Err(r) if r.rule_name() != *want => {
                wrong.push(format!("{name}: {} ({r}), want {want}", r.rule_name()))
            }
            Err(r) if !r.to_string().contains(&format!("rule {want}: ")) => {
                wrong.push(format!("{name}: {r} names no rule"))
            }
            Err(_) => {}
        }
    }
    assert!(wrong.is_empty(), "wrong refusals:\n{}", wrong.join("\n"));
}

/// A resolver whose answers change with each lookup of a name (DNS rebinding), then repeat
/// the last one.
struct Rebinding {
    answers: Vec<Vec<IpAddr>>,
    calls: AtomicUsize,
}

impl Lookup for Rebinding {
    fn lookup(&self, _host: &str) -> LookupFuture {
        let i = self.calls.fetch_add(1, Ordering::SeqCst);
        let answer = self.answers[i.min(self.answers.len() - 1)].clone();
        Box::pin(async move { Ok(answer) })
    }
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
async fn dns_answers_that_change_are_checked_each_time() {
    let rx = Receiver::start(vec![Reply::json(200, "{}")]).await;
    let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let lookup = Arc::new(Rebinding {
        answers: vec![
            vec![lo],
            vec!["10.0.0.1".parse().unwrap()],
            vec![lo, "192.168.1.1".parse().unwrap()],
            vec!["169.254.169.254".parse().unwrap()],
            vec!["::ffff:168.63.129.16".parse().unwrap()],
            vec![],
        ],
        calls: AtomicUsize::new(0),
    });
    let url = format!("http://rebind.test:{}/hook/x", rx.port());
    let p = policy(&["127.0.0.1"], true);
    let mut rules = Vec::new();
    for _ in 0..6 {
        // A fresh client each time, so no pooled connection skips the lookup.
        let c = HttpClient::with_lookup(p.clone(), None, lookup.clone()).unwrap();
        match c.send(&json_request(url.clone())).await {
            Ok(resp) => rules.push(format!("sent {}", resp.status)),
            Err(NetError::Refused(r)) => {
                assert!(
                    r.to_string().contains(&format!("rule {}: ", r.rule_name())),
                    "{r}"
                );
                rules.push(r.rule_name().to_string())
            }
            Err(e) => rules.push(format!("other: {e}")),
        }
    }
    assert_eq!(
        rules,
        [
            "sent 200",
            "private",
            "private",
            "metadata",
            "metadata",
            "no-address"
        ]
    );
    assert_eq!(
        rx.count(),
        1,
        "only the first, loopback, answer was connected to"
    );
}

#[tokio::test]
async fn the_client_refuses_every_hostile_url_before_connecting() {
    // Every row fails inside `send` with the guard's refusal: none reaches a socket. A
    // loopback receiver stands in for anything a broken guard might reach by name.
    let rx = Receiver::start(vec![Reply::json(200, "{}")]).await;
    let names = StaticLookup::new([
        ("localhost", vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]),
        ("api.localhost", vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]),
    ]);
    let c = HttpClient::with_lookup(policy(&[], true), None, Arc::new(names)).unwrap();
    let mut wrong = Vec::new();
    for (url, want) in HOSTILE {
        match c.send(&json_request(url.to_string())).await {
            Err(NetError::Refused(r)) if r.rule_name() == *want => {}
            Err(e) => wrong.push(format!("{url}: {e}")),
            Ok(resp) => wrong.push(format!("{url}: sent, status {}", resp.status)),
        }
    }
    assert!(
        wrong.is_empty(),
        "not refused in send:\n{}",
        wrong.join("\n")
    );
    assert_eq!(rx.count(), 0);
}

/// What the proxy test's listener saw: nothing, if the guard refused the proxy.
type Seen = Arc<Mutex<usize>>;

#[tokio::test]
async fn a_proxy_refused_by_the_guard_fails_permanently_naming_the_rule() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let count = seen.clone();
    tokio::spawn(async move {
        while let Ok((_sock, _)) = listener.accept().await {
            *count.lock().unwrap() += 1;
        }
    });
    let lookup = Arc::new(StaticLookup::new([
        ("proxy.test", vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]),
        // Only ever handed to the proxy, which is refused first: never connected to.
        (
            "hooks.example",
            vec![IpAddr::V4(Ipv4Addr::new(93, 184, 216, 34))],
        ),
    ]));
    for scheme in ["socks5", "socks5h", "http"] {
        let proxy = format!("{scheme}://proxy.test:{port}");
        let c = HttpClient::with_lookup(policy(&[], true), Some(&proxy), lookup.clone()).unwrap();
        let err = c
            .send(&json_request("http://hooks.example/hook/x".into()))
            .await
            .unwrap_err();
        let NetError::Refused(r) = &err else {
            panic!("{scheme}: not a refusal: {err}");
        };
        assert_eq!(r.rule_name(), "loopback", "{scheme}: {err}");
        let text = err.to_string();
        assert!(
            text.starts_with("refused by the SSRF guard: rule loopback: the channel's proxy"),
            "{scheme}: {text}"
        );
    }
    assert_eq!(*seen.lock().unwrap(), 0, "a refused proxy was connected to");
    // By name meaning this machine, or on a refused port: refused when the client is built.
    let p = policy(&[], true);
    for (proxy, want) in [
        ("socks5://localhost:1080", "loopback"),
        ("socks5h://LOCALHOST.:1080", "loopback"),
        ("http://proxy.localhost:3128", "loopback"),
        ("socks5://metadata.google.internal:1080", "metadata"),
        ("http://168.63.129.16:3128", "metadata"),
        ("socks5://93.184.216.34:6379", "port:cache"),
        ("http://proxy.example:25", "port:mail"),
        ("ftp://93.184.216.34:21", "proxy"),
    ] {
        let r = check_proxy(&p, proxy).unwrap_err();
        assert_eq!(r.rule_name(), want, "{proxy}: {r}");
        let err = HttpClient::new(p.clone(), Some(proxy)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("refused by the SSRF guard: rule {want}: ")),
            "{proxy}: {err}"
        );
    }
}

#[test]
fn good_urls_pass_the_pure_check() {
    let p = policy(&[], false);
    let wrong: Vec<String> = GOOD
        .iter()
        .filter_map(|url| check_url(&p, url).err().map(|e| format!("{url}: {e}")))
        .collect();
    assert!(wrong.is_empty(), "good URLs refused:\n{}", wrong.join("\n"));
    assert!(check_resolved(
        &p,
        "hooks.example.com",
        &addrs(&["93.184.216.34", "2606:4700::1111"])
    )
    .is_ok());
}

#[test]
fn a_port_opens_only_with_its_host() {
    let p = policy(
        &["10.0.0.5:6379", "hooks.internal:2525", "[fd00::5]:5432"],
        true,
    );
    for url in [
        "http://10.0.0.5:6379/",
        "http://hooks.internal:2525/",
        "http://[fd00::5]:5432/",
    ] {
        assert!(check_url(&p, url).is_ok(), "{url}");
    }
    for (url, want) in [
        ("http://10.0.0.6:6379/", "private"),
        ("http://93.184.216.34:6379/", "port:cache"),
        ("http://hooks.internal:25/", "port:mail"),
        ("http://other.internal:2525/", "port:mail"),
        ("http://[fd00::6]:5432/", "unique-local"),
        ("http://[fd00::5]:6379/", "port:cache"),
    ] {
        assert_eq!(check_url(&p, url).unwrap_err().rule_name(), want, "{url}");
    }
    // An entry with a port opens its host as a bare entry would, on ports that are not refused.
    assert!(check_url(&p, "http://[fd00::5]:8080/").is_ok());
    let e = check_url(&p, "http://10.0.0.5:5432/").unwrap_err();
    assert_eq!(e.rule(), relaywatch_core::delivery::net::Rule::Port);
    assert_eq!(e.port_family(), Some(PortFamily::Database));
}

/// The port numbers the README lists after `` `port:<family>` ``, ranges (`2375–2377`) expanded.
fn readme_ports(readme: &str, family: &str) -> Vec<u16> {
    let tag = format!("`{family}`");
    let start = readme
        .find(&tag)
        .unwrap_or_else(|| panic!("README does not list {family}"))
        + tag.len();
    let rest = &readme[start..];
    let end = rest.find(['`', ';']).unwrap_or(rest.len());
    let mut ports = Vec::new();
    for item in rest[..end].split([',', ':']).map(str::trim) {
        let item = item.trim_end_matches('.');
        let item = item.split_whitespace().last().unwrap_or("");
        match item.split_once('–') {
            Some((a, b)) => {
                let (a, b): (u16, u16) = (a.parse().unwrap(), b.parse().unwrap());
                ports.extend(a..=b);
            }
            None => ports.extend(item.parse::<u16>().ok()),
        }
    }
    ports
}

#[test]
fn the_readme_lists_exactly_the_refused_ports() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    for family in PortFamily::ALL {
        let want: Vec<u16> = family.ports().map(|(p, _)| p).collect();
        assert_eq!(
            readme_ports(&readme, family.name()),
            want,
            "README's {family} list"
        );
    }
}

//! A corpus of ~300 hostile webhook URLs, each refused before anything connects and under a
//! named rule (`refused by the SSRF guard: rule <name>: …`), and a table of good URLs that pass.
//! Rows: every numeric IPv4 spelling, IPv4-mapped, NAT64, 6to4, Teredo, IDN and homoglyph
//! hosts, userinfo tricks, trailing dots, every cloud metadata address (also under an
//! allow-everything policy), every refused port on a public-looking host, and DNS answers that
//! change between lookups. Rule: nothing here connects anywhere but 127.0.0.1, and no name is
//! resolved by real DNS: names go through injected lookups, and the client-level sends only
//! ever meet loopback answers or refusals made before a connection.

#[path = "common/receiver.rs"]
mod receiver;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

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

/// (URL, rule name). Checked with `allow_http = true` and an empty allow list.
const HOSTILE: &[(&str, &str)] = &[
    // loopback, every numeric spelling
    ("https://127.0.0.1/", "loopback"),
    ("https://127.0.0.2/", "loopback"),
    ("https://127.1/", "loopback"),
    ("https://127.0.1/", "loopback"),
    ("https://127.000.000.001/", "loopback"),
    ("https://2130706433/", "loopback"),
    ("https://0x7f000001/", "loopback"),
    ("https://0X7F000001/", "loopback"),
    ("https://0x7f.1/", "loopback"),
    ("https://0x7f.0.0.1/", "loopback"),
    ("https://0x7f.0x0.0x0.0x1/", "loopback"),
    ("https://0177.0.0.1/", "loopback"),
    ("https://0177.1/", "loopback"),
    ("https://017700000001/", "loopback"),
    ("https://00000177.0.0.1/", "loopback"),
    ("https://127.0.0.1./", "loopback"),
    ("https://127.1./", "loopback"),
    ("https://127.255.255.254/", "loopback"),
    ("https://0x7f.0xff.0xff.0xfe/", "loopback"),
    ("https://127.0.0.1:8080/", "loopback"),
    ("https://127.0.0.1:443/", "loopback"),
    ("https://[::1]/", "loopback"),
    ("https://[0:0:0:0:0:0:0:1]/", "loopback"),
    ("https://[0000::0001]/", "loopback"),
    ("https://[::1]:8443/", "loopback"),
    ("https://localhost/", "loopback"),
    ("https://LOCALHOST./", "loopback"),
    ("https://localhost:8080/", "loopback"),
    ("https://api.localhost/", "loopback"),
    ("https://a.b.localhost./", "loopback"),
    // IDN and homoglyph hosts: IDNA maps them before the guard looks
    ("https://\u{ff11}\u{ff12}\u{ff17}.0.0.1/", "loopback"),
    (
        "https://\u{ff11}\u{ff12}\u{ff17}\u{ff0e}\u{ff10}\u{ff0e}\u{ff10}\u{ff0e}\u{ff11}/",
        "loopback",
    ),
    ("https://127\u{3002}0\u{3002}0\u{3002}1/", "loopback"),
    (
        "https://\u{24db}\u{24de}\u{24d2}\u{24d0}\u{24db}\u{24d7}\u{24de}\u{24e2}\u{24e3}/",
        "loopback",
    ),
    (
        "https://\u{ff4c}\u{ff4f}\u{ff43}\u{ff41}\u{ff4c}\u{ff48}\u{ff4f}\u{ff53}\u{ff54}/",
        "loopback",
    ),
    ("https://\u{ff11}\u{ff10}.0.0.1/", "private"),
    (
        "https://\u{ff4d}\u{ff45}\u{ff54}\u{ff41}\u{ff44}\u{ff41}\u{ff54}\u{ff41}.google.internal/",
        "metadata",
    ),
    ("https://metadata.google.internal\u{3002}/", "metadata"),
    // userinfo, fragment and backslash tricks: the host is what counts
    ("https://hooks.slack.com@127.0.0.1/", "loopback"),
    ("https://hooks.slack.com:443@127.0.0.1/", "loopback"),
    ("https://user:pass@10.0.0.1/", "private"),
    ("https://hooks.slack.com@[::1]/", "loopback"),
    ("https://a@b@127.0.0.1/", "loopback"),
    ("https://127.0.0.1#@hooks.slack.com/", "loopback"),
    ("https://127.0.0.1?@hooks.slack.com/", "loopback"),
    ("https://127.0.0.1\\@hooks.slack.com/", "loopback"),
    ("https://169.254.169.254\\@hooks.slack.com/", "metadata"),
    ("https://hooks.slack.com%40127.0.0.1/", "invalid-url"),
    (
        "https://allowed.example@169.254.169.254/latest/meta-data/",
        "metadata",
    ),
    ("https://evil.example@0x7f.1:8080/", "loopback"),
    // private
    ("https://10.0.0.1/", "private"),
    ("https://10.255.255.255/", "private"),
    ("https://10.1/", "private"),
    ("https://012.0.0.1/", "private"),
    ("https://0xa000001/", "private"),
    ("https://167772161/", "private"),
    ("https://172.16.0.1/", "private"),
    ("https://172.31.255.254/", "private"),
    ("https://0xac.0x10.0.1/", "private"),
    ("https://192.168.0.1/", "private"),
    ("https://192.168.1.1:8443/x", "private"),
    ("https://192.168.257/", "private"),
    ("https://3232235777/", "private"),
    ("https://0300.0250.1.1/", "private"),
    ("https://0xc0a80101/", "private"),
    // link-local, CGNAT, this network, broadcast, multicast
    ("https://169.254.1.1/", "link-local"),
    ("https://169.254.255.255/", "link-local"),
    ("https://[fe80::1]/", "link-local"),
    ("https://[febf::1]/", "link-local"),
    ("https://100.64.0.1/", "cgnat"),
    ("https://100.127.255.254/", "cgnat"),
    ("https://0.0.0.0/", "unspecified"),
    ("https://0/", "unspecified"),
    ("https://0x0/", "unspecified"),
    ("https://0.1.2.3/", "unspecified"),
    ("https://[::]/", "unspecified"),
    ("https://255.255.255.255/", "broadcast"),
    ("https://4294967295/", "broadcast"),
    ("https://0xffffffff/", "broadcast"),
    ("https://224.0.0.1/", "multicast"),
    ("https://239.255.255.250/", "multicast"),
    ("https://[ff02::1]/", "multicast"),
    ("https://[ff05::2]/", "multicast"),
    // benchmarking, unique-local, site-local, documentation, reserved
    ("https://198.18.0.1/", "benchmarking"),
    ("https://198.19.255.1/", "benchmarking"),
    ("https://[2001:2::1]/", "benchmarking"),
    ("https://[fc00::1]/", "unique-local"),
    ("https://[fd00::1]/", "unique-local"),
    ("https://[fd12:3456:789a::1]/", "unique-local"),
    ("https://[fec0::1]/", "site-local"),
    ("https://192.0.2.10/", "documentation"),
    ("https://198.51.100.7/", "documentation"),
    ("https://203.0.113.9/", "documentation"),
    ("https://[2001:db8::1]/", "documentation"),
    ("https://[3fff::1]/", "documentation"),
    ("https://240.0.0.1/", "reserved"),
    ("https://254.1.2.3/", "reserved"),
    ("https://192.0.0.8/", "reserved"),
    ("https://192.88.99.1/", "reserved"),
    ("https://[100::1]/", "reserved"),
    // IPv4-mapped, -compatible, -translated forms
    ("https://[::ffff:127.0.0.1]/", "loopback"),
    ("https://[::ffff:7f00:1]/", "loopback"),
    ("https://[0:0:0:0:0:ffff:127.0.0.1]/", "loopback"),
    ("https://[::FFFF:7F00:0001]/", "loopback"),
    ("https://[::127.0.0.1]/", "loopback"),
    ("https://[::7f00:1]/", "loopback"),
    ("https://[::ffff:0:127.0.0.1]/", "loopback"),
    ("https://[::ffff:10.0.0.1]/", "private"),
    ("https://[::ffff:a00:1]/", "private"),
    ("https://[::ffff:192.168.0.1]/", "private"),
    ("https://[::ffff:172.16.0.1]/", "private"),
    ("https://[::ffff:169.254.10.10]/", "link-local"),
    ("https://[::ffff:100.64.0.1]/", "cgnat"),
    ("https://[::ffff:0.0.0.0]/", "unspecified"),
    ("https://[::ffff:224.0.0.1]/", "multicast"),
    ("https://[::10.0.0.1]/", "private"),
    // NAT64 (64:ff9b::/96 carries the address; 64:ff9b:1::/48 is local-use)
    ("https://[64:ff9b::7f00:1]/", "loopback"),
    ("https://[64:ff9b::127.0.0.1]/", "loopback"),
    ("https://[64:ff9b::a00:1]/", "private"),
    ("https://[64:ff9b::10.1.2.3]/", "private"),
    ("https://[64:ff9b::c0a8:101]/", "private"),
    ("https://[64:ff9b::ac10:1]/", "private"),
    ("https://[64:ff9b::a9fe:101]/", "link-local"),
    ("https://[64:ff9b::6440:1]/", "cgnat"),
    ("https://[64:ff9b:1::7f00:1]/", "reserved"),
    ("https://[64:ff9b:1:ffff::1]/", "reserved"),
    // 6to4 (2002:AABB:CCDD::/48 carries AA.BB.CC.DD)
    ("https://[2002:7f00:1::1]/", "loopback"),
    ("https://[2002:7f00:1::]/", "loopback"),
    ("https://[2002:a00:1::1]/", "private"),
    ("https://[2002:c0a8:101::1]/", "private"),
    ("https://[2002:ac10:1::1]/", "private"),
    ("https://[2002:a9fe:101::1]/", "link-local"),
    ("https://[2002:6440:1::1]/", "cgnat"),
    ("https://[2002::1]/", "unspecified"),
    // Teredo (2001::/32)
    ("https://[2001::1]/", "reserved"),
    (
        "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
        "reserved",
    ),
    ("https://[2001:0:7f00:1::1]/", "reserved"),
    ("https://[2001:0:a00:1:0:0:f5ff:fffe]/", "reserved"),
    // cloud metadata, by address, in every form
    ("https://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://169.254.169.254/", "metadata"),
    ("https://169.254.169.254:80/", "metadata"),
    ("https://2852039166/", "metadata"),
    ("https://0xa9fea9fe/", "metadata"),
    ("https://0xa9.0xfe.0xa9.0xfe/", "metadata"),
    ("https://0251.0376.0251.0376/", "metadata"),
    ("https://169.254.43518/", "metadata"),
    ("https://169.16689662/", "metadata"),
    ("https://169.254.169.254./", "metadata"),
    ("https://[::ffff:169.254.169.254]/", "metadata"),
    ("https://[::ffff:a9fe:a9fe]/", "metadata"),
    ("https://[::169.254.169.254]/", "metadata"),
    ("https://[::ffff:0:169.254.169.254]/", "metadata"),
    ("https://[64:ff9b::a9fe:a9fe]/", "metadata"),
    ("https://[64:ff9b:1::a9fe:a9fe]/", "metadata"),
    ("https://[2002:a9fe:a9fe::1]/", "metadata"),
    ("https://[2001:0:a9fe:a9fe::1]/", "metadata"),
    ("https://[fd00:ec2::254]/", "metadata"),
    ("https://[fd00:ec2::254]:80/latest/api/token", "metadata"),
    ("https://[fd00:ec2::23]/", "metadata"),
    ("https://[fd20:ce::254]/", "metadata"),
    ("https://169.254.169.253/", "metadata"),
    ("https://169.254.169.123/", "metadata"),
    ("https://169.254.170.2/v2/credentials", "metadata"),
    ("https://169.254.170.23/v1/credentials", "metadata"),
    ("https://169.254.0.23/", "metadata"),
    ("https://169.254.42.42/", "metadata"),
    ("https://[fd00:42::42]/", "metadata"),
    ("https://100.100.100.200/latest/meta-data", "metadata"),
    ("https://1684301000/", "metadata"),
    ("https://[::ffff:100.100.100.200]/", "metadata"),
    ("https://168.63.129.16/machine?comp=goalstate", "metadata"),
    ("https://168.63.129.16:32526/", "metadata"),
    ("https://2822734096/", "metadata"),
    ("https://0xa83f8110/", "metadata"),
    ("https://[::ffff:168.63.129.16]/", "metadata"),
    ("https://[64:ff9b::a83f:8110]/", "metadata"),
    ("https://[2002:a83f:8110::]/", "metadata"),
    (
        "https://[2001:0:4136:e378:8000:63bf:57c0:7eef]/",
        "metadata",
    ),
    ("https://192.0.0.192/", "metadata"),
    ("https://[::ffff:192.0.0.192]/", "metadata"),
    // cloud metadata, by name
    (
        "https://metadata.google.internal/computeMetadata/v1/",
        "metadata",
    ),
    ("https://METADATA.GOOGLE.INTERNAL./", "metadata"),
    ("https://metadata.goog/", "metadata"),
    ("https://metadata/", "metadata"),
    ("https://metadata./", "metadata"),
    ("https://instance-data/latest/", "metadata"),
    ("https://instance-data.ec2.internal/", "metadata"),
    (
        "https://metadata.tencentyun.com/latest/meta-data/",
        "metadata",
    ),
    ("https://metadata.platformequinix.com/metadata", "metadata"),
    ("https://metadata.packet.net/metadata", "metadata"),
    ("https://user@metadata.google.internal/", "metadata"),
    // the ports of the issue, on a public address
    ("https://93.184.216.34:587/", "port:mail"),
    ("https://93.184.216.34:465/", "port:mail"),
    ("https://93.184.216.34:143/", "port:mail"),
    ("https://93.184.216.34:110/", "port:mail"),
    ("https://93.184.216.34:1433/", "port:database"),
    ("https://93.184.216.34:1521/", "port:database"),
    ("https://93.184.216.34:9042/", "port:database"),
    ("https://93.184.216.34:5984/", "port:database"),
    ("https://93.184.216.34:2375/", "port:container-api"),
    ("https://93.184.216.34:2379/", "port:cluster-control"),
    ("https://93.184.216.34:10250/", "port:cluster-control"),
    ("https://[2606:4700::1111]:6379/", "port:cache"),
    ("https://[::ffff:93.184.216.34]:5432/", "port:database"),
    ("https://hooks.example.com:0/", "port:zero"),
    ("https://hooks.example.com:00025/", "port:mail"),
    // schemes
    ("ftp://93.184.216.34/file", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("file://127.0.0.1/etc/passwd", "scheme"),
    ("gopher://93.184.216.34:70/_x", "scheme"),
    ("dict://93.184.216.34:11211/stat", "scheme"),
    ("ldap://93.184.216.34/", "scheme"),
    ("sftp://93.184.216.34/", "scheme"),
    ("tftp://93.184.216.34/x", "scheme"),
    ("ws://93.184.216.34/", "scheme"),
    ("wss://93.184.216.34/", "scheme"),
    ("jar:http://93.184.216.34!/", "scheme"),
    ("netdoc:///etc/passwd", "scheme"),
    ("data:text/plain,hi", "scheme"),
    ("javascript:alert(1)", "scheme"),
    ("redis://93.184.216.34:6379/", "scheme"),
    // not URLs, or hosts no parser accepts
    ("https://1.2.3.4.5/", "invalid-url"),
    ("https://256.0.0.1/", "invalid-url"),
    ("https://127.0.0.1.1/", "invalid-url"),
    ("https://0x100000000/", "invalid-url"),
    ("https://08.0.0.1/", "invalid-url"),
    ("https://", "invalid-url"),
    ("https://:8080/", "invalid-url"),
    ("//127.0.0.1/", "invalid-url"),
    ("not a url", "invalid-url"),
    ("https://[::1/", "invalid-url"),
    ("https://[::ffff:127.0.0.1.1]/", "invalid-url"),
    ("https://127.0.0.1:65536/", "invalid-url"),
    ("https://exa mple.com/", "invalid-url"),
];

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

/// (name, addresses it resolves to, rule). Checked as resolution results: nothing resolves.
const RESOLVED: &[(&str, &[&str], &str)] = &[
    ("127.0.0.1.nip.io", &["127.0.0.1"], "loopback"),
    ("localtest.me", &["127.0.0.1"], "loopback"),
    ("lvh.me", &["127.0.0.1", "::1"], "loopback"),
    ("v6.example", &["::1"], "loopback"),
    ("mapped.example", &["::ffff:127.0.0.1"], "loopback"),
    ("nat64.example", &["64:ff9b::a00:1"], "private"),
    ("sixtofour.example", &["2002:c0a8:101::1"], "private"),
    ("lan.example", &["192.168.1.20"], "private"),
    ("mixed.example", &["93.184.216.34", "10.0.0.7"], "private"),
    (
        "mixed6.example",
        &["2606:4700::1111", "fd00::7"],
        "unique-local",
    ),
    ("cgnat.example", &["100.64.1.1"], "cgnat"),
    ("zero.example", &["0.0.0.0"], "unspecified"),
    ("169.254.169.254.nip.io", &["169.254.169.254"], "metadata"),
    ("wire.example", &["168.63.129.16"], "metadata"),
    ("ali.example", &["100.100.100.200"], "metadata"),
    ("ecs.example", &["169.254.170.2"], "metadata"),
    ("imds6.example", &["fd00:ec2::254"], "metadata"),
    ("oracle.example", &["192.0.0.192"], "metadata"),
    ("teredo.example", &["2001:0:a9fe:a9fe::1"], "metadata"),
    ("metadata.google.internal", &["93.184.216.34"], "metadata"),
    ("empty.example", &[], "no-address"),
    // homoglyph names are other names (punycode): judged by where they resolve
    ("xn--hoks-slack-0ic.com", &["10.9.9.9"], "private"),
];

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

/// URLs a webhook may use: they pass the pure check (names are judged after resolution).
const GOOD: &[&str] = &[
    "https://hooks.slack.com/services/T000/B000/XXXX",
    "https://discord.com/api/webhooks/1/abc",
    "https://oapi.dingtalk.com/robot/send?access_token=x",
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x",
    "https://open.feishu.cn/open-apis/bot/v2/hook/x",
    "https://open.larksuite.com/open-apis/bot/v2/hook/x",
    "https://api.telegram.org/bot123:abc/sendMessage",
    "https://hooks.example.com/",
    "https://hooks.example.com:8443/x",
    "https://hooks.example.com:8080/x",
    "https://hooks.example.com:9443/x",
    "https://hooks.example.com:3000/x",
    "https://hooks.example.com:5000/x",
    "https://hooks.example.com:18080/x",
    "https://93.184.216.34/hook",
    "https://93.184.216.34:443/hook",
    "https://8.8.8.8/",
    "https://172.32.0.1/",
    "https://100.128.0.1/",
    "https://169.255.0.1/",
    "https://[2606:4700::1111]/",
    "https://[::ffff:93.184.216.34]/",
    "https://[2002:5db8:d822::1]/",
    "https://[64:ff9b::5db8:d822]/",
    "https://xn--bcher-kva.example/",
    "https://b\u{fc}cher.example/",
    "https://metadata.google.internal.evil.example/",
    "https://127.0.0.1.nip.io/",
];

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

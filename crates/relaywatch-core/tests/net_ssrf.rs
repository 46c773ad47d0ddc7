//! The SSRF guard as pure classification: a table of URLs that must be refused, each with the
//! rule it is refused under, and the allow rules that open doors. Nothing here resolves a name
//! or opens a connection; resolution results are injected.

use std::net::SocketAddr;

use relaywatch_core::delivery::net::{
    check_addr, check_proxy, check_resolved, check_url, HostKind, NetPolicy, Rule,
    DEFAULT_TIMEOUT_MS,
};
use relaywatch_core::secrets::assert_no_secret_in;

fn policy(allow: &[&str], allow_http: bool) -> NetPolicy {
    let allow: Vec<String> = allow.iter().map(|s| s.to_string()).collect();
    NetPolicy::from_settings(&allow, allow_http, DEFAULT_TIMEOUT_MS).expect("valid policy")
}

/// (URL, rule). Checked with allow_http = true so each address rule is reached; the plain-http
/// rows are checked separately with it off.
const REFUSED: &[(&str, Rule)] = &[
    // private
    ("https://10.0.0.1/hook", Rule::Private),
    ("https://10.255.255.255/", Rule::Private),
    ("https://172.16.0.1/", Rule::Private),
    ("https://172.31.255.254/", Rule::Private),
    ("https://192.168.1.1/", Rule::Private),
    ("https://192.168.0.1:8443/x", Rule::Private),
    ("https://012.0.0.1/", Rule::Private),
    ("https://0xa000001/", Rule::Private),
    ("https://167772161/", Rule::Private),
    // loopback, every spelling
    ("https://127.0.0.1/", Rule::Loopback),
    ("https://127.1/", Rule::Loopback),
    ("https://127.0.1/", Rule::Loopback),
    ("https://2130706433/", Rule::Loopback),
    ("https://0x7f.1/", Rule::Loopback),
    ("https://0x7f000001/", Rule::Loopback),
    ("https://0177.0.0.1/", Rule::Loopback),
    ("https://127.0.0.1./", Rule::Loopback),
    ("https://127.255.255.254/", Rule::Loopback),
    ("https://[::1]/", Rule::Loopback),
    ("https://[0:0:0:0:0:0:0:1]/", Rule::Loopback),
    ("https://[::ffff:127.0.0.1]/", Rule::Loopback),
    ("https://[::ffff:7f00:1]/", Rule::Loopback),
    ("https://[::127.0.0.1]/", Rule::Loopback),
    ("https://[::ffff:0:127.0.0.1]/", Rule::Loopback),
    ("https://[64:ff9b::7f00:1]/", Rule::Loopback),
    ("https://[64:ff9b::127.0.0.1]/", Rule::Loopback),
    ("https://[2002:7f00:1::1]/", Rule::Loopback),
    ("https://\u{ff11}\u{ff12}\u{ff17}.0.0.1/", Rule::Loopback),
    // userinfo does not change the host
    ("https://evil@127.0.0.1/", Rule::Loopback),
    ("https://hooks.example.com@127.0.0.1/", Rule::Loopback),
    ("https://user:pass@10.0.0.1/", Rule::Private),
    // link-local
    ("https://169.254.1.1/", Rule::LinkLocal),
    ("https://[fe80::1]/", Rule::LinkLocal),
    ("https://[febf::1]/", Rule::LinkLocal),
    ("https://[::ffff:169.254.10.10]/", Rule::LinkLocal),
    // carrier-grade NAT
    ("https://100.64.0.1/", Rule::Cgnat),
    ("https://100.127.255.254/", Rule::Cgnat),
    // this network / unspecified
    ("https://0.0.0.0/", Rule::Unspecified),
    ("https://0/", Rule::Unspecified),
    ("https://0.1.2.3/", Rule::Unspecified),
    ("https://[::]/", Rule::Unspecified),
    // broadcast, multicast
    ("https://255.255.255.255/", Rule::Broadcast),
    ("https://4294967295/", Rule::Broadcast),
    ("https://224.0.0.1/", Rule::Multicast),
    ("https://239.255.255.250/", Rule::Multicast),
    ("https://[ff02::1]/", Rule::Multicast),
    ("https://[ff05::2]/", Rule::Multicast),
    // benchmarking
    ("https://198.18.0.1/", Rule::Benchmarking),
    ("https://198.19.255.1/", Rule::Benchmarking),
    // unique-local, site-local
    ("https://[fc00::1]/", Rule::UniqueLocal),
    ("https://[fd00::1]/", Rule::UniqueLocal),
    ("https://[fd12:3456:789a::1]/", Rule::UniqueLocal),
    ("https://[fec0::1]/", Rule::SiteLocal),
    // reserved, documentation
    ("https://240.0.0.1/", Rule::Reserved),
    ("https://192.0.0.8/", Rule::Reserved),
    ("https://[2001::1]/", Rule::Reserved),
    ("https://192.0.2.10/", Rule::Documentation),
    ("https://[2001:db8::1]/", Rule::Documentation),
    // IPv4-mapped / NAT64 forms of private ranges
    ("https://[::ffff:10.0.0.1]/", Rule::Private),
    ("https://[::ffff:192.168.0.1]/", Rule::Private),
    ("https://[64:ff9b::a00:1]/", Rule::Private),
    ("https://[64:ff9b::c0a8:101]/", Rule::Private),
    ("https://[::ffff:100.64.0.1]/", Rule::Cgnat),
    // cloud metadata, by address and by name
    ("https://169.254.169.254/latest/meta-data/", Rule::Metadata),
    ("http://169.254.169.254/", Rule::Metadata),
    ("https://2852039166/", Rule::Metadata),
    ("https://[::ffff:169.254.169.254]/", Rule::Metadata),
    ("https://[fd00:ec2::254]/", Rule::Metadata),
    ("https://169.254.170.2/v2/credentials", Rule::Metadata),
    ("https://100.100.100.200/latest/meta-data", Rule::Metadata),
    (
        "https://metadata.google.internal/computeMetadata/v1/",
        Rule::Metadata,
    ),
    ("https://METADATA.google.internal./", Rule::Metadata),
    ("https://metadata/", Rule::Metadata),
    ("https://instance-data/latest/", Rule::Metadata),
    // schemes
    ("ftp://93.184.216.34/file", Rule::Scheme),
    ("file:///etc/passwd", Rule::Scheme),
    ("gopher://93.184.216.34:70/_x", Rule::Scheme),
    ("ws://93.184.216.34/", Rule::Scheme),
    ("dict://93.184.216.34:11211/stat", Rule::Scheme),
    ("javascript:alert(1)", Rule::Scheme),
    // service ports on a public address
    ("https://93.184.216.34:22/", Rule::Port),
    ("https://93.184.216.34:23/", Rule::Port),
    ("https://93.184.216.34:25/", Rule::Port),
    ("https://93.184.216.34:3306/", Rule::Port),
    ("https://93.184.216.34:5432/", Rule::Port),
    ("https://93.184.216.34:6379/", Rule::Port),
    ("https://93.184.216.34:9200/", Rule::Port),
    ("https://93.184.216.34:11211/", Rule::Port),
    ("https://93.184.216.34:27017/", Rule::Port),
    ("https://hooks.example.com:6379/", Rule::Port),
    ("https://93.184.216.34:0/", Rule::Port),
    // not URLs
    ("https://1.2.3.4.5/", Rule::InvalidUrl),
    ("https://256.0.0.1/", Rule::InvalidUrl),
    ("https://", Rule::InvalidUrl),
    ("https://:8080/", Rule::InvalidUrl),
    ("//127.0.0.1/", Rule::InvalidUrl),
    ("not a url", Rule::InvalidUrl),
    ("https://[::1/", Rule::InvalidUrl),
];

#[test]
fn every_url_in_the_table_is_refused_under_its_rule() {
    assert!(REFUSED.len() >= 45, "the table keeps at least 45 rows");
    let p = policy(&[], true);
    let mut wrong = Vec::new();
    for (url, want) in REFUSED {
        match check_url(&p, url) {
            Ok(t) => wrong.push(format!("{url}: passed as {:?}", t.host)),
            Err(r) => {
                let text = r.to_string();
                if r.rule() != *want {
                    wrong.push(format!("{url}: {:?} ({text}), want {want:?}", r.rule()));
                }
                let head = format!("refused by the SSRF guard: rule {}: ", r.rule_name());
                if !text.starts_with(&head) {
                    wrong.push(format!("{url}: text {text:?} does not start with {head:?}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "wrong refusals:\n{}", wrong.join("\n"));
}

#[test]
fn each_refusal_names_its_rule_in_words() {
    let p = policy(&[], false);
    let cases = [
        ("https://10.0.0.1/", "is private (10.0.0.0/8)"),
        ("https://172.20.0.1/", "is private (172.16.0.0/12)"),
        ("https://127.1/", "127.0.0.1 is loopback (127.0.0.0/8)"),
        ("https://[::1]/", "::1 is loopback (::1/128)"),
        ("https://[64:ff9b::7f00:1]/", "NAT64 64:ff9b::/96"),
        ("https://[::127.0.0.1]/", "IPv4-compatible ::/96"),
        ("https://169.254.1.1/", "is link-local (169.254.0.0/16)"),
        (
            "https://100.64.0.1/",
            "is carrier-grade NAT (100.64.0.0/10)",
        ),
        ("https://0.0.0.0/", "0.0.0.0/8"),
        ("https://255.255.255.255/", "is broadcast"),
        ("https://224.0.0.1/", "is multicast (224.0.0.0/4)"),
        ("https://198.18.0.1/", "is benchmarking (198.18.0.0/15)"),
        ("https://[fd00::1]/", "is unique-local (fc00::/7)"),
        ("https://[fec0::1]/", "is site-local (fec0::/10)"),
        ("https://169.254.169.254/", "cloud metadata"),
        ("https://metadata.google.internal/", "cloud metadata"),
        ("http://93.184.216.34/", "allow_http = true"),
        ("ftp://93.184.216.34/", "scheme ftp://"),
        ("https://93.184.216.34:6379/", "port 6379 (redis)"),
    ];
    for (url, want) in cases {
        let text = check_url(&p, url).unwrap_err().to_string();
        assert!(text.contains(want), "{url}: {text:?} lacks {want:?}");
    }
    let text = check_url(&p, "https://10.0.0.1/").unwrap_err().to_string();
    assert!(text.contains("add it to [network] allow"), "{text}");
}

#[test]
fn plain_http_is_refused_unless_enabled() {
    let off = policy(&[], false);
    for url in [
        "http://93.184.216.34/hook",
        "http://hooks.example.com/",
        "http://127.0.0.1/",
    ] {
        assert_eq!(
            check_url(&off, url).unwrap_err().rule(),
            Rule::PlainHttp,
            "{url}"
        );
    }
    let on = policy(&[], true);
    assert!(check_url(&on, "http://93.184.216.34/hook").is_ok());
}

#[test]
fn public_destinations_pass_classification() {
    let p = policy(&[], false);
    for (url, port) in [
        ("https://93.184.216.34/hook", 443),
        ("https://93.184.216.34:8443/hook", 8443),
        ("https://[2606:4700::1111]/", 443),
        ("https://8.8.8.8/", 443),
        ("https://172.32.0.1/", 443),
        ("https://100.128.0.1/", 443),
        ("https://[::ffff:93.184.216.34]/", 443),
        ("https://[2002:5db8:d822::1]/", 443),
    ] {
        let t = check_url(&p, url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(matches!(t.host, HostKind::Ip(_)), "{url}");
        assert_eq!(t.port, port, "{url}");
    }
    // Names pass the URL check; their addresses are checked after resolution.
    let t = check_url(&p, "https://hooks.slack.com/services/T/B/x").unwrap();
    assert_eq!(t.host, HostKind::Name("hooks.slack.com".into()));
    let t = check_url(&p, "https://127.0.0.1.nip.io/").unwrap();
    assert_eq!(t.host, HostKind::Name("127.0.0.1.nip.io".into()));
    assert!(!t.host_allowed);
}

fn addrs(list: &[&str]) -> Vec<SocketAddr> {
    list.iter()
        .map(|a| SocketAddr::new(a.parse().unwrap(), 0))
        .collect()
}

#[test]
fn resolved_addresses_are_checked_all_of_them() {
    let p = policy(&[], false);
    // A name that resolves to loopback (nip.io style) is refused after resolution.
    let e = check_resolved(&p, "127.0.0.1.nip.io", &addrs(&["127.0.0.1"])).unwrap_err();
    assert_eq!(e.rule(), Rule::Loopback);
    assert!(
        e.to_string().contains("resolved from 127.0.0.1.nip.io"),
        "{e}"
    );
    // One bad address among good ones refuses the whole host.
    let e = check_resolved(
        &p,
        "rebind.example",
        &addrs(&["93.184.216.34", "10.0.0.7", "8.8.8.8"]),
    )
    .unwrap_err();
    assert_eq!(e.rule(), Rule::Private);
    let e = check_resolved(
        &p,
        "x.example",
        &addrs(&["93.184.216.34", "::ffff:127.0.0.1"]),
    )
    .unwrap_err();
    assert_eq!(e.rule(), Rule::Loopback);
    let e = check_resolved(&p, "meta.example", &addrs(&["169.254.169.254"])).unwrap_err();
    assert_eq!(e.rule(), Rule::Metadata);
    let e = check_resolved(&p, "empty.example", &[]).unwrap_err();
    assert_eq!(e.rule(), Rule::NoAddress);
    assert!(check_resolved(
        &p,
        "ok.example",
        &addrs(&["93.184.216.34", "2606:4700::1111"])
    )
    .is_ok());
}

#[test]
fn allow_rules_open_doors_and_only_their_own() {
    let a = |s: &str| -> SocketAddr { s.parse().unwrap() };
    let lo = policy(&["127.0.0.0/8"], true);
    assert!(check_url(&lo, "http://127.0.0.1:8080/").is_ok());
    assert!(check_url(&lo, "http://2130706433:8080/").is_ok());
    assert!(check_url(&lo, "http://0x7f.1:8080/").is_ok());
    assert!(check_url(&lo, "http://[::ffff:127.0.0.1]:8080/").is_ok());
    assert!(check_addr(&lo, false, a("127.0.0.2:8080")).is_ok());
    // The v4 rule does not open ::1, nor other ranges.
    assert_eq!(
        check_url(&lo, "http://[::1]:8080/").unwrap_err().rule(),
        Rule::Loopback
    );
    assert_eq!(
        check_url(&lo, "http://10.0.0.1/").unwrap_err().rule(),
        Rule::Private
    );
    // Ports and metadata stay shut whatever is allowed.
    assert_eq!(
        check_url(&lo, "http://127.0.0.1:6379/").unwrap_err().rule(),
        Rule::Port
    );
    let all = policy(&["0.0.0.0/0", "::/0"], true);
    assert_eq!(
        check_url(&all, "http://169.254.169.254/")
            .unwrap_err()
            .rule(),
        Rule::Metadata
    );
    assert!(check_url(&all, "http://10.0.0.1/").is_ok());

    // A host rule opens the name and every address it resolves to.
    let host = policy(&["localhost"], true);
    let t = check_url(&host, "http://localhost:8080/").unwrap();
    assert!(t.host_allowed);
    assert!(check_resolved(&host, "localhost", &addrs(&["127.0.0.1", "::1"])).is_ok());
    // …but not other names, nor the address typed directly.
    assert!(!check_url(&host, "http://hooks.lan/").unwrap().host_allowed);
    assert_eq!(
        check_resolved(&host, "hooks.lan", &addrs(&["192.168.1.5"]))
            .unwrap_err()
            .rule(),
        Rule::Private
    );
    assert_eq!(
        check_url(&host, "http://127.0.0.1/").unwrap_err().rule(),
        Rule::Loopback
    );

    // A non-matching CIDR still refuses.
    let lan = policy(&["192.168.1.0/24"], true);
    assert!(check_url(&lan, "http://192.168.1.20/").is_ok());
    assert_eq!(
        check_url(&lan, "http://192.168.2.20/").unwrap_err().rule(),
        Rule::Private
    );
    assert_eq!(
        check_url(&lan, "http://127.0.0.1/").unwrap_err().rule(),
        Rule::Loopback
    );
}

#[test]
fn proxies_are_checked_like_targets() {
    let p = policy(&[], false);
    assert_eq!(
        check_proxy(&p, "http://127.0.0.1:3128").unwrap_err().rule(),
        Rule::Loopback
    );
    assert_eq!(
        check_proxy(&p, "socks5://10.0.0.2:1080")
            .unwrap_err()
            .rule(),
        Rule::Private
    );
    assert_eq!(
        check_proxy(&p, "socks5://2130706433:1080")
            .unwrap_err()
            .rule(),
        Rule::Loopback
    );
    assert_eq!(
        check_proxy(&p, "ftp://93.184.216.34:21")
            .unwrap_err()
            .rule(),
        Rule::Proxy
    );
    assert!(check_proxy(&p, "http://93.184.216.34:3128").is_ok());
    let lo = policy(&["127.0.0.0/8"], false);
    assert!(check_proxy(&lo, "socks5://127.0.0.1:1080").is_ok());
    assert!(check_proxy(&lo, "socks5h://user:pw@127.0.0.1:1080").is_ok());
}

#[test]
fn refusals_never_carry_the_token() {
    let p = policy(&[], false);
    let token = "tok-9f8e7d6c5b4a";
    for url in [
        format!("https://10.0.0.1/hook/{token}"),
        format!("https://127.0.0.1/cgi-bin/webhook/send?key={token}"),
        format!("http://93.184.216.34/robot/send?access_token={token}"),
        format!("ftp://93.184.216.34/services/T1/B2/{token}"),
        format!("https://93.184.216.34:6379/api/webhooks/1/{token}"),
        format!("https://user:{token}@169.254.169.254/"),
        format!("https://[::1/hook/{token}"),
    ] {
        let text = check_url(&p, &url).unwrap_err().to_string();
        assert_no_secret_in(&text, token);
    }
    let text = check_proxy(&p, &format!("http://user:{token}@10.0.0.1:3128"))
        .unwrap_err()
        .to_string();
    assert_no_secret_in(&text, token);
}

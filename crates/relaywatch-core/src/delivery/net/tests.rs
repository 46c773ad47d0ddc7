//! Tests of the SSRF guard's checks and of the `[network]` policy.

use std::time::Duration;

use super::*;

fn policy(allow: &[&str]) -> NetPolicy {
    let allow: Vec<String> = allow.iter().map(|s| s.to_string()).collect();
    NetPolicy::from_settings(&allow, false, DEFAULT_TIMEOUT_MS).unwrap()
}

#[test]
fn allow_rules_parse() {
    let p = policy(&[
        "10.0.0.0/8",
        "192.168.1.20",
        "[::1]",
        "Hooks.LAN.",
        "0x7f.1",
        "10.0.0.5:6379",
        "[fd00::5]:5432",
        "hooks.internal:2525",
        "[::1]",
    ]);
    assert_eq!(
        p.allow().iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        [
            "10.0.0.0/8",
            "192.168.1.20/32",
            "::1/128",
            "hooks.lan",
            "127.0.0.1/32",
            "10.0.0.5:6379",
            "[fd00::5]:5432",
            "hooks.internal:2525",
            "::1/128",
        ]
    );
    for bad in [
        "",
        "https://x/",
        "10.0.0.0/33",
        "*.lan",
        "1.2.3.4.5",
        "nope/8",
        "10.0.0.0/8:6379",
        "hooks.lan:0",
        "hooks.lan:70000",
        "hooks.lan:",
        "[fd00::5]6379",
        "[fd00::5",
    ] {
        let err = AllowRule::parse(bad).unwrap_err().to_string();
        assert!(err.contains("network.allow"), "{bad}: {err}");
    }
    assert!(NetPolicy::from_settings(&[], false, 0).is_err());
    assert_eq!(NetPolicy::default().timeout(), Duration::from_secs(10));
}

#[test]
fn refusal_text_names_the_rule_and_the_door() {
    let e = check_url(&NetPolicy::default(), "https://10.0.0.1/hook/tok").unwrap_err();
    assert_eq!(
        e.to_string(),
        "refused by the SSRF guard: rule private: 10.0.0.1 is private (10.0.0.0/8); add it to \
         [network] allow to reach a LAN target"
    );
    let e = check_url(&NetPolicy::default(), "https://[::ffff:10.0.0.1]/").unwrap_err();
    assert_eq!(
        e.to_string(),
        "refused by the SSRF guard: rule private: ::ffff:10.0.0.1 is private (10.0.0.0/8, as \
         10.0.0.1 carried in IPv4-mapped ::ffff:0:0/96); add it to [network] allow to reach a \
         LAN target"
    );
    let e = check_url(&NetPolicy::default(), "https://db.example:5432/x").unwrap_err();
    assert_eq!(e.rule(), Rule::Port);
    assert_eq!(e.port_family(), Some(PortFamily::Database));
    assert_eq!(e.rule_name(), "port:database");
    assert_eq!(
        e.to_string(),
        "refused by the SSRF guard: rule port:database: https://db.example:5432/x: port 5432 \
         (postgresql) is a database port, never a webhook's; to reach it anyway name the host \
         and this port in [network] allow (\"host:5432\")"
    );
}

#[test]
fn allowed_host_accepts_any_address_but_metadata() {
    let p = policy(&["hooks.lan"]);
    let a = |s: &str| -> SocketAddr { s.parse().unwrap() };
    assert!(check_resolved(&p, "hooks.lan", &[a("10.1.1.1:0")]).is_ok());
    assert!(check_resolved(&p, "HOOKS.lan.", &[a("10.1.1.1:0")]).is_ok());
    let e = check_resolved(&p, "hooks.lan", &[a("169.254.169.254:0")]).unwrap_err();
    assert_eq!(e.rule(), Rule::Metadata);
    let e = check_resolved(&p, "other.lan", &[a("10.1.1.1:0")]).unwrap_err();
    assert_eq!(e.rule(), Rule::Private);
    assert!(e.to_string().contains("resolved from other.lan"), "{e}");
}

#[test]
fn only_an_entry_naming_the_port_opens_it() {
    let a = |s: &str| -> SocketAddr { s.parse().unwrap() };
    let p = policy(&[
        "10.0.0.0/8",
        "10.0.0.5:6379",
        "hooks.internal:2525",
        "cache.lan",
    ]);
    assert!(check_url(&p, "https://10.0.0.5:6379/").is_ok());
    assert!(check_url(&p, "https://[::ffff:10.0.0.5]:6379/").is_ok());
    assert!(check_url(&p, "https://hooks.internal:2525/").is_ok());
    assert!(check_url(&p, "https://HOOKS.internal.:2525/").is_ok());
    for (url, family) in [
        ("https://10.0.0.6:6379/", PortFamily::Cache),
        ("https://10.0.0.5:6380/", PortFamily::Cache),
        ("https://10.0.0.5:5432/", PortFamily::Database),
        ("https://hooks.internal:25/", PortFamily::Mail),
        ("https://other.internal:2525/", PortFamily::Mail),
        ("https://cache.lan:6379/", PortFamily::Cache),
    ] {
        assert_eq!(
            check_url(&p, url).unwrap_err().port_family(),
            Some(family),
            "{url}"
        );
    }
    assert!(check_addr(&p, false, a("10.0.0.5:6379")).is_ok());
    assert_eq!(
        check_addr(&p, false, a("10.0.0.7:6379"))
            .unwrap_err()
            .rule_name(),
        "port:cache"
    );
    // The port entry opens the name's addresses as a bare host entry does.
    assert!(check_resolved(&p, "hooks.internal", &[a("192.168.3.3:0")]).is_ok());
    // Metadata stays shut on every port.
    let all = policy(&[
        "0.0.0.0/0",
        "::/0",
        "169.254.169.254:80",
        "168.63.129.16:32526",
    ]);
    for url in [
        "https://169.254.169.254:80/",
        "https://168.63.129.16:32526/",
        "https://168.63.129.16/",
    ] {
        assert_eq!(
            check_url(&all, url).unwrap_err().rule(),
            Rule::Metadata,
            "{url}"
        );
    }
}

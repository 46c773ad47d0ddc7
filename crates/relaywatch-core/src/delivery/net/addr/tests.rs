//! Tests of the address ranges, host parsing and embedded IPv4 forms.

use super::*;

fn v4(s: &str) -> Ipv4Addr {
    match parse_host(s).unwrap() {
        HostKind::Ip(IpAddr::V4(a)) => a,
        other => panic!("{s}: {other:?}"),
    }
}

#[test]
fn numeric_forms_are_addresses() {
    let lo = Ipv4Addr::new(127, 0, 0, 1);
    for s in [
        "127.0.0.1",
        "127.1",
        "127.0.1",
        "2130706433",
        "0x7f000001",
        "0x7f.1",
        "0X7F.0.0.1",
        "0177.0.0.1",
        "0177.1",
        "017700000001",
        "127.0.0.1.",
        "0x7f.0x0.0x0.0x1",
    ] {
        assert_eq!(v4(s), lo, "{s}");
    }
    assert_eq!(v4("0"), Ipv4Addr::UNSPECIFIED);
    assert_eq!(v4("0x"), Ipv4Addr::UNSPECIFIED);
    assert_eq!(v4("10.1"), Ipv4Addr::new(10, 0, 0, 1));
    assert_eq!(v4("192.168.257"), Ipv4Addr::new(192, 168, 1, 1));
    assert_eq!(v4("4294967295"), Ipv4Addr::BROADCAST);
}

#[test]
fn bad_numeric_hosts_are_invalid_not_names() {
    for s in [
        "1.2.3.4.5",
        "256.1.1.1",
        "4294967296",
        "1.2.3.256",
        "1..2",
        "0x1g.1",
        "08.0.0.1",
        "example.123",
    ] {
        assert!(parse_host(s).is_err(), "{s}: {:?}", parse_host(s));
    }
}

#[test]
fn names_stay_names() {
    for (s, want) in [
        ("Example.COM.", "example.com"),
        ("localhost", "localhost"),
        ("127.0.0.1.nip.io", "127.0.0.1.nip.io"),
        ("0x7f.example", "0x7f.example"),
        ("1e3", "1e3"),
    ] {
        assert_eq!(parse_host(s).unwrap(), HostKind::Name(want.into()), "{s}");
    }
}

#[test]
fn ipv6_literals() {
    assert_eq!(
        parse_host("[::1]").unwrap(),
        HostKind::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST))
    );
    assert_eq!(
        parse_host("::1").unwrap(),
        HostKind::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST))
    );
    assert!(parse_host("[::1").is_err());
    assert!(parse_host("[zz::1]").is_err());
}

#[test]
fn cidr_parse_and_contains() {
    let c = Cidr::parse("10.1.2.3/8").unwrap();
    assert_eq!(c.to_string(), "10.0.0.0/8");
    assert!(c.contains("10.255.0.1".parse().unwrap()));
    assert!(!c.contains("11.0.0.1".parse().unwrap()));
    assert!(!c.contains("::ffff:10.0.0.1".parse().unwrap()));
    let c = Cidr::parse("[::1]").unwrap();
    assert_eq!(c.to_string(), "::1/128");
    assert!(Cidr::parse("10.0.0.0/33").is_err());
    assert!(Cidr::parse("fc00::/129").is_err());
    assert!(Cidr::parse("nope/8").is_err());
    assert!(Cidr::parse("0.0.0.0/0")
        .unwrap()
        .contains("8.8.8.8".parse().unwrap()));
}

#[test]
fn embedded_forms_unwrap() {
    let e = |s: &str| embedded_v4(s.parse().unwrap());
    let lo = Ipv4Addr::new(127, 0, 0, 1);
    assert_eq!(e("::ffff:127.0.0.1"), Some((lo, Embedding::Mapped)));
    assert_eq!(e("::127.0.0.1"), Some((lo, Embedding::Compatible)));
    assert_eq!(e("::ffff:0:127.0.0.1"), Some((lo, Embedding::Translated)));
    assert_eq!(e("64:ff9b::7f00:1"), Some((lo, Embedding::Nat64)));
    assert_eq!(e("2002:7f00:1::"), Some((lo, Embedding::SixToFour)));
    assert_eq!(e("::1"), None);
    assert_eq!(e("::"), None);
    assert_eq!(e("2606:4700::1111"), None);
}

#[test]
fn classification() {
    let rule = |s: &str| classify(s.parse().unwrap()).map(|(r, _)| r.rule);
    assert_eq!(rule("8.8.8.8"), None);
    assert_eq!(rule("2606:4700::1111"), None);
    assert_eq!(rule("2002:5db8:d822::1"), None);
    assert_eq!(rule("172.15.255.255"), None);
    assert_eq!(rule("172.32.0.1"), None);
    assert_eq!(rule("100.63.255.255"), None);
    assert_eq!(rule("100.128.0.0"), None);
    assert_eq!(rule("172.31.255.255"), Some(Rule::Private));
    assert_eq!(rule("100.127.255.255"), Some(Rule::Cgnat));
    assert_eq!(rule("255.255.255.255"), Some(Rule::Broadcast));
    assert_eq!(rule("250.0.0.1"), Some(Rule::Reserved));
    assert_eq!(rule("ff02::1"), Some(Rule::Multicast));
    assert_eq!(rule("::"), Some(Rule::Unspecified));
    assert_eq!(rule("::ffff:192.168.1.1"), Some(Rule::Private));
    assert_eq!(rule("::ffff:8.8.8.8"), None);
    assert_eq!(rule("2001:2::1"), Some(Rule::Benchmarking));
    assert_eq!(rule("2001:db8::1"), Some(Rule::Documentation));
    assert_eq!(rule("2001:0:1::1"), Some(Rule::Reserved));
}

#[test]
fn metadata() {
    assert!(is_metadata_addr("169.254.169.254".parse().unwrap()));
    assert!(is_metadata_addr("::ffff:169.254.169.254".parse().unwrap()));
    assert!(is_metadata_addr("fd00:ec2::254".parse().unwrap()));
    assert!(!is_metadata_addr("169.254.1.1".parse().unwrap()));
    assert!(is_metadata_name("metadata.google.internal"));
    assert!(!is_metadata_name("example.com"));
    for s in [
        "168.63.129.16",
        "169.254.169.253",
        "169.254.170.23",
        "::ffff:168.63.129.16",
        "64:ff9b::a83f:8110",
        "2002:a83f:8110::1",
        "64:ff9b:1::a9fe:a9fe",
        "fd20:ce::254",
        // Teredo: server 169.254.169.254, then client 168.63.129.16 inverted.
        "2001:0:a9fe:a9fe::1",
        "2001:0:4136:e378:8000:63bf:57c0:7eef",
    ] {
        assert!(is_metadata_addr(s.parse().unwrap()), "{s}");
    }
    for s in [
        "169.254.1.1",
        "168.63.129.17",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    ] {
        assert!(!is_metadata_addr(s.parse().unwrap()), "{s}");
    }
}

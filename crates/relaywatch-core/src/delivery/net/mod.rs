//! The SSRF guard every outbound webhook goes through: the `[network]` policy, the pure checks
//! of a URL and of resolved addresses, and (in `client`) the HTTP client that connects only to
//! the addresses it checked. Rule: a refusal always names its rule, and no URL reaches an error
//! unredacted.
//!
//! What is refused, unless `[network] allow` lists the address (CIDR) or the host name: loopback,
//! private, link-local, CGNAT, 0.0.0.0/8, broadcast, multicast, benchmarking, unique-local,
//! site-local, documentation and reserved ranges, and the IPv4-mapped, -compatible,
//! -translated, NAT64 and 6to4 forms of all of them. Refused always, whatever `allow` says: cloud
//! metadata names and addresses, the ports of databases, mail and shells, schemes other than
//! https (http only with `allow_http`). Redirects are never followed (see `client`).

pub mod addr;
pub mod client;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use url::Url;

use crate::secrets::redact_url;

pub use addr::{parse_host, Cidr, Embedding, HostKind, InvalidHost, Range, Rule};
pub use client::{HttpClient, HttpResponse, Lookup, LookupFuture, StaticLookup, SystemLookup};

/// `[network] timeout_ms` when unset.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

/// The longest `[network] timeout_ms` accepted (10 minutes).
pub const MAX_TIMEOUT_MS: u64 = 600_000;

/// Ports that belong to services a webhook must never reach, with the service's name.
pub const REFUSED_PORTS: [(u16, &str); 9] = [
    (22, "ssh"),
    (23, "telnet"),
    (25, "smtp"),
    (3306, "mysql"),
    (5432, "postgresql"),
    (6379, "redis"),
    (9200, "elasticsearch"),
    (11211, "memcached"),
    (27017, "mongodb"),
];

/// One `[network] allow` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowRule {
    /// An address range (a bare address is its own /32 or /128).
    Cidr(Cidr),
    /// A host name, lower-case, no trailing dot; matched exactly against the URL's host.
    Host(String),
}

impl AllowRule {
    /// `10.0.0.0/8`, `192.168.1.20`, `::1/128`, `[fd00::1]`, `hooks.lan`, `localhost`.
    pub fn parse(value: &str) -> Result<AllowRule, NetError> {
        let bad = |reason: String| NetError::AllowRule {
            value: value.to_string(),
            reason,
        };
        let v = value.trim();
        if v.is_empty() {
            return Err(bad(
                "empty entry; give a CIDR (10.0.0.0/8) or a host name".into()
            ));
        }
        if v.contains("://") {
            return Err(bad(
                "give a CIDR (10.0.0.0/8) or a host name (hooks.lan), not a URL".into(),
            ));
        }
        if v.contains('/') {
            return Cidr::parse(v)
                .map(AllowRule::Cidr)
                .map_err(|e| bad(e.reason));
        }
        if v.contains('*') {
            return Err(bad(
                "wildcards are not supported; list each host name, or use a CIDR".into(),
            ));
        }
        match parse_host(v) {
            Ok(HostKind::Ip(ip)) => Ok(AllowRule::Cidr(
                Cidr::new(ip, if ip.is_ipv4() { 32 } else { 128 }).expect("full prefix"),
            )),
            Ok(HostKind::Name(name)) => {
                // The URL parser's own normalisation (IDNA, case), so rule and URL compare alike.
                match url::Host::parse(&name) {
                    Ok(url::Host::Domain(d)) => Ok(AllowRule::Host(d)),
                    Ok(_) => Err(bad("not a host name".into())),
                    Err(e) => Err(bad(format!("not a host name: {e}"))),
                }
            }
            Err(e) => Err(bad(e.reason.to_string())),
        }
    }
}

impl fmt::Display for AllowRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowRule::Cidr(c) => write!(f, "{c}"),
            AllowRule::Host(h) => f.write_str(h),
        }
    }
}

/// The `[network]` settings, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetPolicy {
    allow: Vec<AllowRule>,
    allow_http: bool,
    timeout: Duration,
}

impl Default for NetPolicy {
    /// Nothing allowed, https only, 10 s.
    fn default() -> Self {
        NetPolicy {
            allow: Vec::new(),
            allow_http: false,
            timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
        }
    }
}

impl NetPolicy {
    /// Build from `[network] allow`, `allow_http` and `timeout_ms` (1..=600000). Every bad
    /// entry is refused with its value and the fix; the first one is returned.
    pub fn from_settings(
        allow: &[String],
        allow_http: bool,
        timeout_ms: u64,
    ) -> Result<NetPolicy, NetError> {
        if timeout_ms == 0 || timeout_ms > MAX_TIMEOUT_MS {
            return Err(NetError::TimeoutSetting { value: timeout_ms });
        }
        let allow = allow
            .iter()
            .map(|a| AllowRule::parse(a))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NetPolicy {
            allow,
            allow_http,
            timeout: Duration::from_millis(timeout_ms),
        })
    }

    pub fn allow(&self) -> &[AllowRule] {
        &self.allow
    }

    pub fn allow_http(&self) -> bool {
        self.allow_http
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether a host rule names `host` (compared lower-case, without a trailing dot).
    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        self.allow
            .iter()
            .any(|r| matches!(r, AllowRule::Host(h) if *h == host))
    }

    /// Whether a CIDR rule holds `ip`, or the IPv4 address `ip` carries.
    pub fn addr_allowed(&self, ip: IpAddr) -> bool {
        let inner = match ip {
            IpAddr::V6(a) => addr::embedded_v4(a).map(|(v4, _)| IpAddr::V4(v4)),
            IpAddr::V4(_) => None,
        };
        self.allow.iter().any(|r| match r {
            AllowRule::Cidr(c) => c.contains(ip) || inner.is_some_and(|i| c.contains(i)),
            AllowRule::Host(_) => false,
        })
    }
}

/// A URL that passed `check_url`: parsed once, and this parse is what is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: Url,
    pub host: HostKind,
    pub port: u16,
    /// A host rule names the host: every address it resolves to is accepted (metadata
    /// excepted).
    pub host_allowed: bool,
}

/// Why a destination was refused. `Display` names the rule and the way to open it where there
/// is one; URLs in it are redacted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("refused: {url} is not a valid URL: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error(
        "refused: {url}: scheme {scheme}:// is not allowed; webhooks use https:// (http:// only \
         with [network] allow_http = true)"
    )]
    Scheme { url: String, scheme: String },
    #[error("refused: {url} is plain http; set [network] allow_http = true to allow it")]
    PlainHttp { url: String },
    #[error("refused: {target}: port {port} ({service}) is never a webhook port")]
    Port {
        target: String,
        port: u16,
        service: &'static str,
    },
    #[error("refused: {host} is a cloud metadata endpoint; [network] allow never opens it")]
    Metadata { host: String },
    #[error(
        "refused: {addr}{} is {} ({}{}); add it to [network] allow to reach a LAN target",
        from_note(.host), .range.rule, .range.cidr, via_note(.via)
    )]
    Address {
        /// The name it was resolved from, when it was.
        host: Option<String>,
        addr: IpAddr,
        range: Range,
        via: Option<(Ipv4Addr, Embedding)>,
    },
    #[error(
        "refused: {host} names this machine (loopback) and is not resolved here when a proxy is \
         used; add it to [network] allow"
    )]
    LocalName { host: String },
    #[error("refused: {host} resolved to no address")]
    NoAddress { host: String },
    #[error("refused: proxy {proxy}: {reason}")]
    Proxy { proxy: String, reason: String },
}

fn from_note(host: &Option<String>) -> String {
    host.as_ref()
        .map(|h| format!(" (resolved from {h})"))
        .unwrap_or_default()
}

fn via_note(via: &Option<(Ipv4Addr, Embedding)>) -> String {
    via.map(|(v4, how)| format!(", as {v4} carried in {how}"))
        .unwrap_or_default()
}

impl Refusal {
    /// The rule this refusal was made under.
    pub fn rule(&self) -> Rule {
        match self {
            Refusal::InvalidUrl { .. } => Rule::InvalidUrl,
            Refusal::Scheme { .. } => Rule::Scheme,
            Refusal::PlainHttp { .. } => Rule::PlainHttp,
            Refusal::Port { .. } => Rule::Port,
            Refusal::Metadata { .. } => Rule::Metadata,
            Refusal::Address { range, .. } => range.rule,
            Refusal::LocalName { .. } => Rule::Loopback,
            Refusal::NoAddress { .. } => Rule::NoAddress,
            Refusal::Proxy { .. } => Rule::Proxy,
        }
    }
}

/// Errors of the network layer. None carries a URL unredacted.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("{url_redacted} timed out after {} ms", .after.as_millis())]
    Timeout {
        url_redacted: String,
        after: Duration,
    },
    #[error("cannot reach {url_redacted}: {reason}")]
    Connect {
        url_redacted: String,
        reason: String,
    },
    #[error("{url_redacted} is not a valid URL: {reason}")]
    InvalidUrl {
        url_redacted: String,
        reason: String,
    },
    #[error("cannot build the request to {url_redacted}: {reason}")]
    InvalidRequest {
        url_redacted: String,
        reason: String,
    },
    #[error("`network.allow` entry {value:?}: {reason}")]
    AllowRule { value: String, reason: String },
    #[error("`network.timeout_ms` = {value}: give 1..={MAX_TIMEOUT_MS} milliseconds")]
    TimeoutSetting { value: u64 },
    #[error("proxy {proxy_redacted}: {reason}")]
    Proxy {
        proxy_redacted: String,
        reason: String,
    },
    #[error("cannot build the HTTP client: {reason}")]
    Client { reason: String },
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// The service behind a refused port.
pub fn refused_port(port: u16) -> Option<&'static str> {
    REFUSED_PORTS
        .iter()
        .find(|(p, _)| *p == port)
        .map(|(_, s)| *s)
}

/// Check a webhook URL before anything is resolved or sent: it parses, its scheme is https (or
/// http with `allow_http`), its host is no metadata name, an address host is in no refused range
/// (unless allowed), and its port is no service port. Numeric hosts in any form are addresses.
pub fn check_url(policy: &NetPolicy, url: &str) -> Result<Target, Refusal> {
    let shown = || redact_url(url);
    let parsed = Url::parse(url).map_err(|e| Refusal::InvalidUrl {
        url: shown(),
        reason: e.to_string(),
    })?;
    match parsed.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        "http" => return Err(Refusal::PlainHttp { url: shown() }),
        other => {
            return Err(Refusal::Scheme {
                url: shown(),
                scheme: other.to_string(),
            })
        }
    }
    let host = match parsed.host() {
        None => {
            return Err(Refusal::InvalidUrl {
                url: shown(),
                reason: "no host".into(),
            })
        }
        Some(url::Host::Ipv4(a)) => HostKind::Ip(IpAddr::V4(a)),
        Some(url::Host::Ipv6(a)) => HostKind::Ip(IpAddr::V6(a)),
        Some(url::Host::Domain(d)) => parse_host(d).map_err(|e| Refusal::InvalidUrl {
            url: shown(),
            reason: e.to_string(),
        })?,
    };
    let port = parsed
        .port_or_known_default()
        .ok_or_else(|| Refusal::InvalidUrl {
            url: shown(),
            reason: "no port".into(),
        })?;
    let host_allowed = match &host {
        HostKind::Ip(ip) => {
            check_ip(policy, None, false, *ip)?;
            false
        }
        HostKind::Name(name) => {
            if addr::is_metadata_name(name) {
                return Err(Refusal::Metadata { host: name.clone() });
            }
            policy.host_allowed(name)
        }
    };
    check_port(port, shown)?;
    Ok(Target {
        url: parsed,
        host,
        port,
        host_allowed,
    })
}

fn check_port(port: u16, shown: impl FnOnce() -> String) -> Result<(), Refusal> {
    match refused_port(port) {
        Some(service) => Err(Refusal::Port {
            target: shown(),
            port,
            service,
        }),
        None if port == 0 => Err(Refusal::Port {
            target: shown(),
            port,
            service: "no service",
        }),
        None => Ok(()),
    }
}

/// Check one address a request would connect to. `host_allowed`: a host rule named the host it
/// came from. Port 0 means "no port known here" and skips the port check.
pub fn check_addr(policy: &NetPolicy, host_allowed: bool, addr: SocketAddr) -> Result<(), Refusal> {
    if addr.port() != 0 {
        check_port(addr.port(), || addr.to_string())?;
    }
    check_ip(policy, None, host_allowed, addr.ip())
}

/// Check every address `host` resolved to: any refused address refuses the whole host (a name
/// that resolves to a public and a private address is refused), and so does none.
pub fn check_resolved(policy: &NetPolicy, host: &str, addrs: &[SocketAddr]) -> Result<(), Refusal> {
    if addrs.is_empty() {
        return Err(Refusal::NoAddress {
            host: host.to_string(),
        });
    }
    let host_allowed = policy.host_allowed(host);
    for a in addrs {
        if a.port() != 0 {
            check_port(a.port(), || a.to_string())?;
        }
        check_ip(policy, Some(host), host_allowed, a.ip())?;
    }
    Ok(())
}

/// Check a proxy URL: `http://`, `socks5://` or `socks5h://`, and its host passes the same
/// rules as a target (a proxy on this machine or the LAN needs `[network] allow`).
pub fn check_proxy(policy: &NetPolicy, proxy: &str) -> Result<Url, Refusal> {
    let shown = || redact_url(proxy);
    let refuse = |reason: String| Refusal::Proxy {
        proxy: shown(),
        reason,
    };
    let parsed = Url::parse(proxy).map_err(|e| refuse(format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "socks5" | "socks5h") {
        return Err(refuse(format!(
            "scheme {}:// is not supported; use http:// or socks5://",
            parsed.scheme()
        )));
    }
    let host = match parsed.host() {
        None => return Err(refuse("no host".into())),
        Some(url::Host::Ipv4(a)) => HostKind::Ip(IpAddr::V4(a)),
        Some(url::Host::Ipv6(a)) => HostKind::Ip(IpAddr::V6(a)),
        // Not a special scheme for socks5: numeric forms are not normalised by the URL parser.
        Some(url::Host::Domain(d)) => parse_host(d).map_err(|e| refuse(e.to_string()))?,
    };
    let port = parsed
        .port_or_known_default()
        .or_else(|| parsed.scheme().starts_with("socks5").then_some(1080))
        .ok_or_else(|| refuse("no port".into()))?;
    match &host {
        HostKind::Ip(ip) => check_ip(policy, None, false, *ip)?,
        HostKind::Name(name) if addr::is_metadata_name(name) => {
            return Err(Refusal::Metadata { host: name.clone() })
        }
        HostKind::Name(_) => {}
    }
    check_port(port, shown)?;
    Ok(parsed)
}

/// The address rules: metadata always refused; then an allowed host or address passes; then
/// the refused ranges.
fn check_ip(
    policy: &NetPolicy,
    host: Option<&str>,
    host_allowed: bool,
    ip: IpAddr,
) -> Result<(), Refusal> {
    if addr::is_metadata_addr(ip) {
        return Err(Refusal::Metadata {
            host: match host {
                Some(h) => format!("{ip} (resolved from {h})"),
                None => ip.to_string(),
            },
        });
    }
    if host_allowed || policy.addr_allowed(ip) {
        return Ok(());
    }
    match addr::classify(ip) {
        Some((range, how)) => Err(Refusal::Address {
            host: host.map(str::to_string),
            addr: ip,
            range,
            via: how.map(|h| {
                let IpAddr::V6(a) = ip else {
                    unreachable!("only IPv6 carries IPv4")
                };
                (addr::embedded_v4(a).expect("classified as embedded").0, h)
            }),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
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
        ]);
        assert_eq!(
            p.allow().iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            [
                "10.0.0.0/8",
                "192.168.1.20/32",
                "::1/128",
                "hooks.lan",
                "127.0.0.1/32"
            ]
        );
        for bad in [
            "",
            "https://x/",
            "10.0.0.0/33",
            "*.lan",
            "1.2.3.4.5",
            "nope/8",
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
            "refused: 10.0.0.1 is private (10.0.0.0/8); add it to [network] allow to reach a LAN \
             target"
        );
        let e = check_url(&NetPolicy::default(), "https://[::ffff:10.0.0.1]/").unwrap_err();
        assert_eq!(
            e.to_string(),
            "refused: ::ffff:10.0.0.1 is private (10.0.0.0/8, as 10.0.0.1 carried in IPv4-mapped \
             ::ffff:0:0/96); add it to [network] allow to reach a LAN target"
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
}

//! The SSRF guard every outbound webhook goes through: the `[network]` policy, the pure checks
//! of a URL and of resolved addresses, and (in `client`) the HTTP client that connects only to
//! the addresses it checked. Rule: a refusal always names its rule
//! (`refused by the SSRF guard: rule port:database: …`), is permanent, and no URL reaches an
//! error unredacted.
//!
//! What is refused, unless `[network] allow` lists the address (CIDR) or the host name: loopback,
//! private, link-local, CGNAT, 0.0.0.0/8, broadcast, multicast, benchmarking, unique-local,
//! site-local, documentation and reserved ranges, and the IPv4-mapped, -compatible,
//! -translated, NAT64 and 6to4 forms of all of them. The ports of `ports::REFUSED_PORTS` (mail,
//! shells, file sharing, databases, caches, queues, container and cluster control planes, the
//! Fetch standard's bad ports) are refused unless an allow entry names the host *and* the port
//! (`"10.0.0.5:6379"`, `"hooks.internal:2525"`, `"[fd00::5]:5432"`). Refused always, whatever
//! `allow` says: cloud metadata names and addresses (every embedded form too), schemes other
//! than https (http only with `allow_http`). Redirects are never followed (see `client`).

pub mod addr;
pub mod client;
pub mod ports;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use url::Url;

use crate::secrets::redact_url;

pub use addr::{parse_host, Cidr, Embedding, HostKind, InvalidHost, Range, Rule};
pub use client::{HttpClient, HttpResponse, Lookup, LookupFuture, StaticLookup, SystemLookup};
pub use ports::{refused_port, PortFamily, REFUSED_PORTS};

/// `[network] timeout_ms` when unset.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

/// The longest `[network] timeout_ms` accepted (10 minutes).
pub const MAX_TIMEOUT_MS: u64 = 600_000;

/// One `[network] allow` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowRule {
    /// An address range (a bare address is its own /32 or /128).
    Cidr(Cidr),
    /// A host name, lower-case, no trailing dot; matched exactly against the URL's host.
    Host(String),
    /// One address and one port (`10.0.0.5:6379`): opens the address as `Cidr` does, and the
    /// port on it even when the port is refused.
    AddrPort(IpAddr, u16),
    /// One host name and one port (`hooks.internal:2525`): opens the name as `Host` does, and
    /// the port on it even when the port is refused.
    HostPort(String, u16),
}

impl AllowRule {
    /// `10.0.0.0/8`, `192.168.1.20`, `::1/128`, `[fd00::1]`, `hooks.lan`, `localhost`, and with
    /// a port: `10.0.0.5:6379`, `[fd00::5]:5432`, `hooks.lan:2525`.
    pub fn parse(value: &str) -> Result<AllowRule, NetError> {
        let bad = |reason: String| NetError::AllowRule {
            value: value.to_string(),
            reason,
        };
        let v = value.trim();
        if v.is_empty() {
            return Err(bad(
                "empty entry; give a CIDR (10.0.0.0/8), a host name (hooks.lan) or a host and \
                 port (10.0.0.5:6379)"
                    .into(),
            ));
        }
        if v.contains("://") {
            return Err(bad(
                "give a CIDR (10.0.0.0/8), a host name (hooks.lan) or a host and port \
                 (hooks.lan:2525), not a URL"
                    .into(),
            ));
        }
        if v.contains('/') {
            if v.rsplit_once('/').is_some_and(|(_, p)| p.contains(':')) {
                return Err(bad(
                    "a port goes with one host or address (10.0.0.5:6379), not with a range".into(),
                ));
            }
            return Cidr::parse(v)
                .map(AllowRule::Cidr)
                .map_err(|e| bad(e.reason));
        }
        if v.contains('*') {
            return Err(bad(
                "wildcards are not supported; list each host name, or use a CIDR".into(),
            ));
        }
        let (host, port) = split_port(v).map_err(bad)?;
        let rule = Self::parse_host_part(host).map_err(bad)?;
        Ok(match (rule, port) {
            (rule, None) => rule,
            (AllowRule::Cidr(c), Some(p)) => AllowRule::AddrPort(c.addr(), p),
            (AllowRule::Host(h), Some(p)) => AllowRule::HostPort(h, p),
            (other, Some(_)) => other,
        })
    }

    /// A bare address (its own /32 or /128) or a host name.
    fn parse_host_part(v: &str) -> Result<AllowRule, String> {
        match parse_host(v) {
            Ok(HostKind::Ip(ip)) => Ok(AllowRule::Cidr(
                Cidr::new(ip, if ip.is_ipv4() { 32 } else { 128 }).expect("full prefix"),
            )),
            Ok(HostKind::Name(name)) => {
                // The URL parser's own normalisation (IDNA, case), so rule and URL compare alike.
                match url::Host::parse(&name) {
                    Ok(url::Host::Domain(d)) => Ok(AllowRule::Host(d)),
                    Ok(_) => Err("not a host name".into()),
                    Err(e) => Err(format!("not a host name: {e}")),
                }
            }
            Err(e) => Err(e.reason.to_string()),
        }
    }
}

/// `host:port` or `[v6]:port` into host and port; a bare IPv6 address (two or more colons, no
/// brackets) has no port.
fn split_port(v: &str) -> Result<(&str, Option<u16>), String> {
    let port = |p: &str| -> Result<u16, String> {
        p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| {
            format!("port {p:?} is not 1..=65535; write host:port, e.g. hooks.lan:2525")
        })
    };
    if let Some(rest) = v.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((inner, "")) => Ok((inner, None)),
            Some((inner, tail)) => match tail.strip_prefix(':') {
                Some(p) => Ok((inner, Some(port(p)?))),
                None => Err("after ] comes :port or nothing, e.g. [fd00::5]:5432".into()),
            },
            None => Err("unclosed [".into()),
        };
    }
    match v.matches(':').count() {
        0 => Ok((v, None)),
        1 => {
            let (h, p) = v.split_once(':').expect("one colon");
            Ok((h, Some(port(p)?)))
        }
        _ => Ok((v, None)),
    }
}

impl fmt::Display for AllowRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowRule::Cidr(c) => write!(f, "{c}"),
            AllowRule::Host(h) => f.write_str(h),
            AllowRule::AddrPort(IpAddr::V6(a), p) => write!(f, "[{a}]:{p}"),
            AllowRule::AddrPort(a, p) => write!(f, "{a}:{p}"),
            AllowRule::HostPort(h, p) => write!(f, "{h}:{p}"),
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

    /// Whether a host rule (with or without a port) names `host` (compared lower-case, without
    /// a trailing dot).
    pub fn host_allowed(&self, host: &str) -> bool {
        let host = normal_name(host);
        self.allow.iter().any(|r| match r {
            AllowRule::Host(h) | AllowRule::HostPort(h, _) => *h == host,
            _ => false,
        })
    }

    /// Whether a CIDR or address rule (with or without a port) holds `ip`, or the IPv4
    /// address `ip` carries.
    pub fn addr_allowed(&self, ip: IpAddr) -> bool {
        self.allow.iter().any(|r| match r {
            AllowRule::Cidr(c) => ip_matches(ip, |a| c.contains(a)),
            AllowRule::AddrPort(a, _) => ip_matches(ip, |b| b == *a),
            AllowRule::Host(_) | AllowRule::HostPort(..) => false,
        })
    }

    /// Whether an entry names this refused `port` together with the host it is reached by:
    /// the URL's name (`name`) or the address (`ip`).
    pub fn port_allowed(&self, name: Option<&str>, ip: Option<IpAddr>, port: u16) -> bool {
        let name = name.map(normal_name);
        self.allow.iter().any(|r| match r {
            AllowRule::HostPort(h, p) => *p == port && name.as_deref() == Some(h.as_str()),
            AllowRule::AddrPort(a, p) => {
                *p == port && ip.is_some_and(|ip| ip_matches(ip, |b| b == *a))
            }
            AllowRule::Cidr(_) | AllowRule::Host(_) => false,
        })
    }
}

fn normal_name(host: &str) -> String {
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

/// `test` on `ip`, or on the IPv4 address `ip` carries.
fn ip_matches(ip: IpAddr, test: impl Fn(IpAddr) -> bool) -> bool {
    let inner = match ip {
        IpAddr::V6(a) => addr::embedded_v4(a).map(|(v4, _)| IpAddr::V4(v4)),
        IpAddr::V4(_) => None,
    };
    test(ip) || inner.is_some_and(test)
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

/// Why a destination was refused. `Display` is `refused by the SSRF guard: rule <name>: <why>`
/// and says how to open the door where there is one; URLs in it are redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    InvalidUrl {
        url: String,
        reason: String,
    },
    Scheme {
        url: String,
        scheme: String,
    },
    PlainHttp {
        url: String,
    },
    Port {
        target: String,
        port: u16,
        family: PortFamily,
        service: &'static str,
    },
    Metadata {
        host: String,
    },
    Address {
        /// The name it was resolved from, when it was.
        host: Option<String>,
        addr: IpAddr,
        range: Range,
        via: Option<(Ipv4Addr, Embedding)>,
    },
    LocalName {
        host: String,
    },
    NoAddress {
        host: String,
    },
    Proxy {
        proxy: String,
        reason: String,
    },
    /// The channel's proxy itself was refused (its name resolved to a refused address); the
    /// rule is the inner refusal's.
    ProxyAddress {
        proxy: String,
        inner: Box<Refusal>,
    },
}

impl std::error::Error for Refusal {}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused by the SSRF guard: rule {}: ", self.rule_name())?;
        self.explain(f)
    }
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
            Refusal::ProxyAddress { inner, .. } => inner.rule(),
        }
    }

    /// The rule's full name, as the message carries it: the rule's name, or for a port its
    /// family (`port:mail`, `port:database`, …).
    pub fn rule_name(&self) -> &'static str {
        match self {
            Refusal::Port { family, .. } => family.name(),
            Refusal::ProxyAddress { inner, .. } => inner.rule_name(),
            other => other.rule().name(),
        }
    }

    /// The family of a refused port.
    pub fn port_family(&self) -> Option<PortFamily> {
        match self {
            Refusal::Port { family, .. } => Some(*family),
            Refusal::ProxyAddress { inner, .. } => inner.port_family(),
            _ => None,
        }
    }

    /// The text after `rule <name>: `.
    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::InvalidUrl { url, reason } => write!(f, "{url} is not a valid URL: {reason}"),
            Refusal::Scheme { url, scheme } => write!(
                f,
                "{url}: scheme {scheme}:// is not allowed; webhooks use https:// (http:// only \
                 with [network] allow_http = true)"
            ),
            Refusal::PlainHttp { url } => write!(
                f,
                "{url} is plain http; set [network] allow_http = true to allow it"
            ),
            Refusal::Port {
                target,
                port,
                family,
                service,
            } => write!(
                f,
                "{target}: port {port} ({service}) is {}, never a webhook's; to reach it anyway \
                 name the host and this port in [network] allow (\"host:{port}\")",
                family.words()
            ),
            Refusal::Metadata { host } => write!(
                f,
                "{host} is a cloud metadata endpoint; [network] allow never opens it"
            ),
            Refusal::Address {
                host,
                addr,
                range,
                via,
            } => write!(
                f,
                "{addr}{} is {} ({}{}); add it to [network] allow to reach a LAN target",
                from_note(host),
                range.rule.as_str(),
                range.cidr,
                via_note(via)
            ),
            Refusal::LocalName { host } => write!(
                f,
                "{host} names this machine (loopback) and is refused without a lookup; add it \
                 to [network] allow"
            ),
            Refusal::NoAddress { host } => write!(f, "{host} resolved to no address"),
            Refusal::Proxy { proxy, reason } => write!(f, "proxy {proxy}: {reason}"),
            Refusal::ProxyAddress { proxy, inner } => {
                write!(f, "the channel's proxy {proxy}: ")?;
                inner.explain(f)
            }
        }
    }
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
            let allowed = policy.host_allowed(name);
            if addr::is_localhost_name(name) && !allowed {
                return Err(Refusal::LocalName { host: name.clone() });
            }
            allowed
        }
    };
    let (name, ip) = match &host {
        HostKind::Ip(ip) => (None, Some(*ip)),
        HostKind::Name(n) => (Some(n.as_str()), None),
    };
    check_port(policy, name, ip, port, shown)?;
    Ok(Target {
        url: parsed,
        host,
        port,
        host_allowed,
    })
}

/// A refused port passes only when an allow entry names it with this host (`name`, the URL's
/// host name) or address (`ip`).
fn check_port(
    policy: &NetPolicy,
    name: Option<&str>,
    ip: Option<IpAddr>,
    port: u16,
    shown: impl FnOnce() -> String,
) -> Result<(), Refusal> {
    match refused_port(port) {
        Some(_) if port != 0 && policy.port_allowed(name, ip, port) => Ok(()),
        Some((family, service)) => Err(Refusal::Port {
            target: shown(),
            port,
            family,
            service,
        }),
        None => Ok(()),
    }
}

/// Check one address a request would connect to. `host_allowed`: a host rule named the host it
/// came from. Port 0 means "no port known here" and skips the port check.
pub fn check_addr(policy: &NetPolicy, host_allowed: bool, addr: SocketAddr) -> Result<(), Refusal> {
    if addr.port() != 0 {
        check_port(policy, None, Some(addr.ip()), addr.port(), || {
            addr.to_string()
        })?;
    }
    check_ip(policy, None, host_allowed, addr.ip())
}

/// Check every address `host` resolved to: any refused address refuses the whole host (a name
/// that resolves to a public and a private address is refused), and so does none. Metadata
/// names are refused before their addresses are looked at.
pub fn check_resolved(policy: &NetPolicy, host: &str, addrs: &[SocketAddr]) -> Result<(), Refusal> {
    if addr::is_metadata_name(&normal_name(host)) {
        return Err(Refusal::Metadata {
            host: host.to_string(),
        });
    }
    if addrs.is_empty() {
        return Err(Refusal::NoAddress {
            host: host.to_string(),
        });
    }
    let host_allowed = policy.host_allowed(host);
    for a in addrs {
        if a.port() != 0 {
            check_port(policy, Some(host), Some(a.ip()), a.port(), || a.to_string())?;
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
        HostKind::Ip(ip) => {
            check_ip(policy, None, false, *ip)?;
            check_port(policy, None, Some(*ip), port, shown)?;
        }
        HostKind::Name(name) if addr::is_metadata_name(name) => {
            return Err(Refusal::Metadata { host: name.clone() })
        }
        HostKind::Name(name) => {
            if addr::is_localhost_name(name) && !policy.host_allowed(name) {
                return Err(Refusal::LocalName { host: name.clone() });
            }
            check_port(policy, Some(name), None, port, shown)?;
        }
    }
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
}

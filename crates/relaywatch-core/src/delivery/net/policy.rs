//! The `[network]` policy: the allow entries (CIDR, host, host and port), `http` and the
//! timeout, validated once; rule: an entry is matched as written (names lower-case, without a
//! trailing dot; an address also through the IPv4 address it carries), and a bad entry is
//! refused with its value and the fix.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use super::addr::{self, parse_host, Cidr, HostKind};
use super::NetError;

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

pub(super) fn normal_name(host: &str) -> String {
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

//! The SSRF guard every outbound webhook goes through: the `[network]` policy (in `policy`), the
//! pure checks of a URL and of resolved addresses (here; refusals and errors in `refusal`), and
//! (in `client`) the HTTP client that connects only to
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
pub mod policy;
pub mod ports;
pub mod refusal;

use std::net::{IpAddr, SocketAddr};

use url::Url;

use crate::secrets::redact_url;
use policy::normal_name;

pub use addr::{parse_host, Cidr, Embedding, HostKind, InvalidHost, Range, Rule};
pub use client::{HttpClient, HttpResponse, Lookup, LookupFuture, StaticLookup, SystemLookup};
pub use policy::{AllowRule, NetPolicy, DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS};
pub use ports::{refused_port, PortFamily, REFUSED_PORTS};
pub use refusal::{NetError, Refusal};

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
        "http" if policy.allow_http() => {}
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
mod tests;

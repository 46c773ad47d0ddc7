//! Why the SSRF guard refused a destination ([`Refusal`]) and the network layer's errors
//! ([`NetError`]); rule: a refusal names its rule and how to open the door where there is one,
//! and no URL in either is unredacted.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::addr::{Embedding, Range, Rule};
use super::policy::MAX_TIMEOUT_MS;
use super::ports::PortFamily;

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

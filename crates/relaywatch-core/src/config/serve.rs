//! `[serve]`: where `relaywatch serve` listens, the bearer token every `/api` route needs (a
//! secret reference, created on first run when absent), the extra host names `/api` and
//! `/ingest` answer to, and how often the cached snapshot is refreshed. Rule: the token is a
//! reference, never a value in the file; [`host_allowed`] is the one Host rule (pure).

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::channels::SecretRef;
use crate::error::FieldError;

/// Allowed refresh interval of the served snapshot, in seconds.
pub const REFRESH_SECS: (u64, u64) = (5, 3_600);

/// `[serve]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeSettings {
    /// Address and port, e.g. `127.0.0.1:8080`.
    pub bind: String,
    /// The bearer token: `{ keychain = "relaywatch-serve-token" }`, `{ env = … }` or `{ file = … }`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<SecretRef>,
    /// Seconds between snapshot refreshes.
    pub refresh_secs: u64,
    /// Host names (or addresses) besides loopback and the bind address under which `/api` and
    /// `/ingest` answer, e.g. the name a reverse proxy forwards. Any other `Host` is refused,
    /// so a DNS-rebinding page cannot reach the API even with a leaked token.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

impl Default for ServeSettings {
    fn default() -> Self {
        ServeSettings {
            bind: "127.0.0.1:8080".into(),
            token: None,
            refresh_secs: 60,
            hosts: Vec::new(),
        }
    }
}

impl ServeSettings {
    /// Every invalid value with its field and fix.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        if self.bind.parse::<std::net::SocketAddr>().is_err() {
            e.push(FieldError {
                field: "serve.bind".into(),
                value: format!("{:?}", self.bind),
                fix: "must be an address and port such as 127.0.0.1:8080".into(),
            });
        }
        if let Some(SecretRef::Plain(_)) = &self.token {
            e.push(FieldError {
                field: "serve.token".into(),
                value: "a literal value".into(),
                fix: "reference the token: { keychain = \"relaywatch-serve-token\" }, { env = \"VAR\" } or { file = \"/path\" }; remove the line to have one created".into(),
            });
        }
        let (lo, hi) = REFRESH_SECS;
        if self.refresh_secs < lo || self.refresh_secs > hi {
            e.push(FieldError {
                field: "serve.refresh_secs".into(),
                value: self.refresh_secs.to_string(),
                fix: format!("must be between {lo} and {hi}"),
            });
        }
        for (i, h) in self.hosts.iter().enumerate() {
            if host_entry(h).is_none() {
                e.push(FieldError {
                    field: format!("serve.hosts[{i}]"),
                    value: format!("{h:?}"),
                    fix: "give a host name such as relaywatch.example.lan or an address such as 192.168.1.5, without a scheme, port or path".into(),
                });
            }
        }
        e
    }
}

/// A `[serve] hosts` entry in the form it is compared in (lower case, no trailing dot, IPv6
/// without brackets), or `None` when it is not a bare host name or address.
fn host_entry(h: &str) -> Option<String> {
    let h = h.trim();
    if let Ok(ip) = h
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Some(ip.to_string());
    }
    let name = h.strip_suffix('.').unwrap_or(h).to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (!name.is_empty() && name.len() <= 253 && name.split('.').all(label_ok)).then_some(name)
}

/// The host part of a `Host` header (or URL authority): lower case, without port, trailing dot
/// or IPv6 brackets; `None` when malformed.
fn host_of(header: &str) -> Option<String> {
    let h = header.trim();
    if let Some(rest) = h.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(port_ok)) {
            return None;
        }
        return ip
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .map(|ip| ip.to_string());
    }
    let name = match h.rsplit_once(':') {
        Some((name, port)) if port_ok(port) => name,
        Some(_) => return None,
        None => h,
    };
    host_entry(name)
}

fn port_ok(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
}

/// Whether a request whose `Host` is `header` may reach `/api` and `/ingest` (pure): the host is
/// `localhost`, a loopback address, the address the server is bound to (`bind`), the address
/// the connection arrived on (`local`, which matters when bound to 0.0.0.0), or one of
/// `[serve] hosts`. The port is not compared. A page on another name (DNS rebinding) is refused.
pub fn host_allowed(
    header: Option<&str>,
    bind: Option<SocketAddr>,
    local: Option<SocketAddr>,
    hosts: &[String],
) -> bool {
    let Some(host) = header.and_then(host_of) else {
        return false;
    };
    if host == "localhost" {
        return true;
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        if ip.is_unspecified() {
            return false;
        }
        let same = |a: Option<SocketAddr>| a.is_some_and(|a| a.ip() == ip);
        if ip.is_loopback() || same(bind) || same(local) {
            return true;
        }
    }
    hosts
        .iter()
        .filter_map(|h| host_entry(h))
        .any(|h| h == host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert!(ServeSettings::default().problems().is_empty());
        let s = ServeSettings {
            bind: "everywhere".into(),
            token: Some(SecretRef::Plain("abc".into())),
            refresh_secs: 1,
            hosts: vec![
                "relaywatch.lan".into(),
                "https://relaywatch.lan".into(),
                "relaywatch.lan:8080".into(),
                "".into(),
            ],
        };
        let p = s.problems();
        let fields: Vec<&str> = p.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "serve.bind",
                "serve.token",
                "serve.refresh_secs",
                "serve.hosts[1]",
                "serve.hosts[2]",
                "serve.hosts[3]"
            ]
        );
        assert!(!format!("{p:?}").contains("abc"));
    }

    fn allowed(header: &str) -> bool {
        let bind = "192.168.1.5:8080".parse().ok();
        let hosts = vec![
            "Relaywatch.Example.LAN.".to_string(),
            "[fd00::5]".to_string(),
        ];
        host_allowed(Some(header), bind, None, &hosts)
    }

    #[test]
    fn loopback_the_bind_address_and_listed_names_are_allowed() {
        for h in [
            "localhost",
            "LOCALHOST:8080",
            "localhost.",
            "127.0.0.1",
            "127.0.0.1:8080",
            "127.1.2.3:1",
            "[::1]",
            "[::1]:8080",
            "192.168.1.5:8080",
            "192.168.1.5",
            "relaywatch.example.lan",
            "relaywatch.example.lan:443",
            "RELAYWATCH.example.lan.",
            "[fd00::5]:8080",
        ] {
            assert!(allowed(h), "{h}");
        }
    }

    #[test]
    fn other_names_and_malformed_hosts_are_refused() {
        for h in [
            "attacker.example",
            "attacker.example:8080",
            "localhost.attacker.example",
            "127.0.0.1.nip.io",
            "relaywatch.example.lan.attacker.example",
            "192.168.1.6:8080",
            "[::2]",
            "::1",
            "",
            " ",
            "127.0.0.1:",
            "127.0.0.1:http",
            "[::1",
            "[::1]x",
            "user@127.0.0.1",
            "127.0.0.1/path",
        ] {
            assert!(!allowed(h), "{h:?}");
        }
        assert!(!host_allowed(None, None, None, &[]));
    }

    #[test]
    fn the_arrival_address_counts_when_bound_to_every_interface() {
        let bind = "0.0.0.0:8080".parse().ok();
        let local = "10.1.2.3:8080".parse().ok();
        assert!(host_allowed(Some("10.1.2.3:8080"), bind, local, &[]));
        assert!(!host_allowed(Some("10.1.2.4:8080"), bind, local, &[]));
        assert!(!host_allowed(Some("0.0.0.0:8080"), bind, local, &[]));
        assert!(!host_allowed(Some("relay.lan"), bind, local, &[]));
    }
}

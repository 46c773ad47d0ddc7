//! `[serve]`: where `relaywatch serve` listens, the bearer token every `/api` route needs (a
//! secret reference, created on first run when absent) and how often the cached snapshot is
//! refreshed. Rule: the token is a reference, never a value in the file.

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
}

impl Default for ServeSettings {
    fn default() -> Self {
        ServeSettings {
            bind: "127.0.0.1:8080".into(),
            token: None,
            refresh_secs: 60,
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
        e
    }
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
        };
        let p = s.problems();
        let fields: Vec<&str> = p.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["serve.bind", "serve.token", "serve.refresh_secs"]);
        assert!(!format!("{p:?}").contains("abc"));
    }
}

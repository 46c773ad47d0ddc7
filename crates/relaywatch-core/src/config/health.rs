//! `[health]`: where the daemon serves its open `/health` endpoint. Loopback by default, as the
//! seed reporter; the document it serves carries nothing secret.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthSettings {
    /// `host:port` to listen on; `""` turns the endpoint off.
    pub bind: String,
}

impl Default for HealthSettings {
    fn default() -> Self {
        HealthSettings {
            bind: "127.0.0.1:8080".into(),
        }
    }
}

impl HealthSettings {
    pub fn problems(&self) -> Vec<FieldError> {
        if self.bind.is_empty() || self.bind.parse::<std::net::SocketAddr>().is_ok() {
            return Vec::new();
        }
        vec![FieldError {
            field: "health.bind".into(),
            value: self.bind.clone(),
            fix: "must be an address and port such as 127.0.0.1:8080 (or \"\" to turn /health off)"
                .into(),
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_must_be_an_address_and_port() {
        assert!(HealthSettings::default().problems().is_empty());
        let bad = HealthSettings {
            bind: "localhost".into(),
        };
        let p = bad.problems();
        assert_eq!(p[0].field, "health.bind");
        assert!(p[0].fix.contains("127.0.0.1:8080"));
    }
}

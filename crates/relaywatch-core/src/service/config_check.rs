//! What `check-config` reports beyond validation: whether each secret reference of each channel
//! can be read here (and a webhook URL is one the channel accepts), whether the events table's
//! database URL can be read, and whether `[network]` makes a policy. Rule: answers name the
//! reference and never hold its value; every error is redacted.

use crate::config::Settings;
use crate::delivery::channel_sender::check_url_value;
use crate::secret_store::SecretStore;
use crate::secrets::redact;

/// One secret reference of one channel, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretCheck {
    pub channel: String,
    /// `url`, `secret`, `app_secret` or `bearer`.
    pub field: &'static str,
    /// Where it is read from (`keychain "…"`, `env $…`) when readable; else why not (redacted).
    pub readable: Result<String, String>,
}

/// Every secret reference of every channel, in file order.
pub fn channel_secrets(s: &Settings, store: &SecretStore) -> Vec<SecretCheck> {
    let mut out = Vec::new();
    for c in &s.channels {
        for (field, r) in [
            ("url", &c.url),
            ("secret", &c.secret),
            ("app_secret", &c.app_secret),
            ("bearer", &c.bearer),
        ] {
            let Some(r) = r else { continue };
            let checked = store.resolve(r).map_err(|e| e.to_string()).and_then(|v| {
                if field != "url" {
                    return Ok(());
                }
                check_url_value(c, &v, r).map_err(|e| e.to_string())
            });
            out.push(SecretCheck {
                channel: c.name.clone(),
                field,
                readable: checked.map(|()| r.describe()).map_err(|e| redact(&e)),
            });
        }
    }
    out
}

/// The events table's database URL: `Some(Ok((relay, table, reference)))` when readable,
/// `Some(Err(why))` when not, `None` when no table is tailed.
pub fn events_database(
    s: &Settings,
    store: &SecretStore,
) -> Option<Result<(String, String, String), String>> {
    let (name, table, what) = super::replay::events_table(s)?;
    Some(match super::replay::database_url(s, store) {
        Ok(_) => Ok((name, table, what)),
        Err(e) => Err(redact(&e.to_string())),
    })
}

/// Why `[network]` makes no policy, if it does not.
pub fn network_problem(s: &Settings) -> Option<String> {
    crate::delivery::net::NetPolicy::from_settings(
        &s.network.allow,
        s.network.allow_http,
        s.network.timeout_ms,
    )
    .err()
    .map(|e| e.to_string())
}

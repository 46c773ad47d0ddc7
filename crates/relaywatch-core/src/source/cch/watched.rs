//! Claude Code Hub's breaker hashes as the breaker watch sees them: each open or half-open
//! breaker as an [`ExternalState`] by subject (`cch:provider:<id>`, `cch:endpoint:<id>`), and
//! the providers' names from its database. Rule: pure but the names' read, which is best
//! effort (a failed read leaves the subjects as they are).

use std::collections::BTreeMap;

use super::{CchBreaker, CchState};
use crate::model::ExternalState;

/// CCH breakers that are open or half-open, by subject (`cch:provider:<id>`,
/// `cch:endpoint:<id>`); half-open still counts as open until CCH closes it.
pub fn cch_states(breakers: &[CchBreaker]) -> BTreeMap<String, ExternalState> {
    breakers
        .iter()
        .filter(|b| b.state != CchState::Closed)
        .map(|b| {
            (
                format!("cch:{}:{}", b.scope.as_str(), b.id),
                ExternalState {
                    condition: "open".into(),
                    failures: b.failure_count,
                    expected_recovery: b.open_until,
                    detail: (b.state == CchState::HalfOpen).then(|| "half-open".to_string()),
                },
            )
        })
        .collect()
}

/// CCH providers' names as people know them, by subject: `name (#id)`.
pub fn provider_names(providers: &[(String, String)]) -> BTreeMap<String, String> {
    providers
        .iter()
        .map(|(id, name)| (format!("cch:provider:{id}"), format!("{name} (#{id})")))
        .collect()
}

/// The providers' names by subject, read from the hub's database (best effort: empty when the
/// read fails, and the failure logged without secrets).
pub async fn read_provider_names(s: &crate::config::Settings) -> BTreeMap<String, String> {
    let read = async {
        let c = super::snapshot::connect(s).await?;
        super::db::provider_list(&c)
            .await
            .map_err(super::snapshot::db_err)
    };
    match read.await {
        Ok(list) => provider_names(&list),
        Err(e) => {
            tracing::debug!("provider names: {}", crate::secrets::redact(&e.to_string()));
            Default::default()
        }
    }
}

//! Claude Code Hub as a [`Relay`]: the snapshot and the limits from its PostgreSQL, the
//! leaderboard by user over CCH's own windows, and its breaker hashes from its Redis. Rule:
//! read-only; every answer opens its own connections (kept closed days live in `closed`).

use chrono::{DateTime, Utc};

use super::{db, leaderboard, quota, read_breakers, snapshot, watched};
use crate::config::channels::SecretRef;
use crate::config::Settings;
use crate::error::Result;
use crate::model::{
    BoardInput, LeaderboardWindow, QuotaInput, Snapshot, SourceKind, WatchSet, Watched,
};
use crate::pricing::Pricing;
use crate::source::raw::Warnings;
use crate::source::relay::Relay;
use crate::source::{redis_io, ReadRequest};

/// A Claude Code Hub relay, as `[source]` describes it.
pub struct Cch<'a> {
    s: &'a Settings,
}

impl<'a> Cch<'a> {
    pub fn new(s: &'a Settings) -> Cch<'a> {
        Cch { s }
    }
}

impl Relay for Cch<'_> {
    fn kind(&self) -> SourceKind {
        SourceKind::Cch
    }

    fn reads_store(&self) -> bool {
        true
    }

    /// The database's URL with its password masked, or where its reference points.
    fn location(&self) -> Option<String> {
        match &self.s.source.database_url {
            Some(SecretRef::Plain(u)) => Some(crate::secrets::mask_url(u)),
            Some(r) => Some(r.describe()),
            None => None,
        }
    }

    async fn snapshot(&self, _pricing: &Pricing, req: ReadRequest) -> Result<Snapshot> {
        snapshot::read(self.s, &req).await
    }

    async fn quota(&self, now: DateTime<Utc>) -> Result<QuotaInput> {
        Ok(QuotaInput::Measures(
            quota::read_measures(self.s, now).await?,
        ))
    }

    async fn leaderboard(
        &self,
        window: LeaderboardWindow,
        now: DateTime<Utc>,
    ) -> Result<BoardInput> {
        let c = snapshot::connect(self.s).await?;
        let tz = snapshot::zone_of(self.s, &snapshot::system_settings(&c).await);
        let (from, to, label) = leaderboard::window(tz, window, now);
        let periods = db::user_periods(&c, from, to)
            .await
            .map_err(snapshot::db_err)?;
        Ok(BoardInput {
            from,
            to,
            label,
            periods,
        })
    }

    /// The breaker hashes in CCH's Redis (`[source] redis_url`; none when unset), named from
    /// its providers.
    async fn watched(&self, what: WatchSet, _now: DateTime<Utc>) -> Result<Vec<Watched>> {
        let Some(url) = self.s.source.redis_url.as_deref().filter(|_| what.cch) else {
            return Ok(Vec::new());
        };
        let timeout = std::time::Duration::from_millis(self.s.source.connect_timeout_ms);
        let mut conn = redis_io::connect(url, timeout).await?;
        let breakers = read_breakers(&mut conn, &mut Warnings::default()).await?;
        Ok(vec![Watched {
            group: "cch",
            states: watched::cch_states(&breakers),
            names: watched::read_provider_names(self.s).await,
        }])
    }
}

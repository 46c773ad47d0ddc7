//! Claude Relay Service as a [`Relay`]: the snapshot, each limited key's costs, each key's
//! usage over the leaderboard's window and its accounts' states, all from CRS's Redis (and,
//! when `watch_cch` is on, Claude Code Hub's breaker hashes in the same Redis). Rule:
//! read-only; every answer opens its own connection.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{leaderboard, quota, watched, CrsReader};
use crate::config::Settings;
use crate::error::Result;
use crate::model::{
    BoardInput, LeaderboardWindow, QuotaInput, Snapshot, SourceKind, WatchSet, Watched,
};
use crate::pricing::Pricing;
use crate::source::aggregate::{aggregate, Scope};
use crate::source::raw::Warnings;
use crate::source::redis_io::{self, Conn};
use crate::source::relay::{unset, Relay};
use crate::source::{cch, ReadRequest};
use crate::tz::RelayTz;

/// A CRS relay, as `[source]` describes it.
pub struct Crs<'a> {
    s: &'a Settings,
}

impl<'a> Crs<'a> {
    pub fn new(s: &'a Settings) -> Crs<'a> {
        Crs { s }
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.s.source.connect_timeout_ms)
    }

    fn tz(&self) -> RelayTz {
        RelayTz::from_config(self.s.source.timezone_offset_hours)
    }

    /// A connection to the relay's Redis; an error naming the setting when none is set.
    async fn conn(&self) -> Result<Conn> {
        let url = self.s.source.redis_url.as_deref().ok_or_else(|| {
            unset(
                "source.redis_url",
                "CRS keeps its data in Redis: set [source] redis_url",
            )
        })?;
        redis_io::connect(url, self.timeout()).await
    }
}

impl Relay for Crs<'_> {
    fn kind(&self) -> SourceKind {
        SourceKind::Crs
    }

    fn reads_store(&self) -> bool {
        self.s.source.redis_url.is_some()
    }

    fn location(&self) -> Option<String> {
        self.s
            .source
            .redis_url
            .as_deref()
            .map(crate::secrets::mask_url)
    }

    async fn snapshot(&self, pricing: &Pricing, req: ReadRequest) -> Result<Snapshot> {
        let url = self.s.source.redis_url.as_deref().unwrap_or_default();
        let mut reader = CrsReader::connect(url, self.timeout()).await?;
        let data = reader.read(&req).await?;
        let scope = Scope {
            source: SourceKind::Crs,
            trend_days: req.trend_days,
            top_n: req.top_n,
        };
        Ok(aggregate(data, pricing, scope))
    }

    async fn quota(&self, now: DateTime<Utc>) -> Result<QuotaInput> {
        let mut conn = self.conn().await?;
        let keys = quota::read_key_costs(&mut conn, &self.s.rules.quota, now, self.tz()).await?;
        Ok(QuotaInput::Keys(keys))
    }

    async fn leaderboard(
        &self,
        window: LeaderboardWindow,
        now: DateTime<Utc>,
    ) -> Result<BoardInput> {
        let mut conn = self.conn().await?;
        let tz = self.tz();
        let (periods, label) = leaderboard::read_key_periods(&mut conn, window, now, tz).await?;
        let (from, to) = leaderboard::span(tz, window, now);
        Ok(BoardInput {
            from,
            to,
            label,
            periods,
        })
    }

    /// The accounts in trouble (`watch_accounts`) and, in the same Redis, Claude Code Hub's
    /// breaker hashes (`watch_cch`, without names: they live in CCH's database).
    async fn watched(&self, what: WatchSet, now: DateTime<Utc>) -> Result<Vec<Watched>> {
        let mut out = Vec::new();
        if !(what.accounts || what.cch) {
            return Ok(out);
        }
        // One connection serves both reads (a clone shares it).
        let conn = self.conn().await?;
        if what.accounts {
            let mut reader = CrsReader::from_conn(conn.clone());
            let accounts = reader.accounts(&mut Warnings::default()).await?;
            out.push(Watched {
                group: "accounts",
                states: watched::account_states(&accounts, now),
                names: watched::account_names(&accounts),
            });
        }
        if what.cch {
            let breakers = cch::read_breakers(&mut conn.clone(), &mut Warnings::default()).await?;
            out.push(Watched {
                group: "cch",
                states: cch::watched::cch_states(&breakers),
                names: Default::default(),
            });
        }
        Ok(out)
    }
}

//! The built-in demo as a [`Relay`]: its snapshot, no limits, the snapshot's top keys as the
//! leaderboard, and nothing watched. Rule: deterministic (same `now`, same answers) and it
//! reads no store.

use chrono::{DateTime, Utc};

use crate::config::Settings;
use crate::error::Result;
use crate::model::{
    BoardInput, KeyPeriod, LeaderboardWindow, QuotaInput, Snapshot, SourceKind, WatchSet, Watched,
};
use crate::pricing::Pricing;
use crate::source::aggregate::{aggregate, Scope};
use crate::source::crs::leaderboard::{buckets, span};
use crate::source::relay::Relay;
use crate::source::ReadRequest;
use crate::tz::RelayTz;

/// The demo relay, with `[source]`'s zone and `[report]`'s sizes.
pub struct Demo<'a> {
    s: &'a Settings,
}

impl<'a> Demo<'a> {
    pub fn new(s: &'a Settings) -> Demo<'a> {
        Demo { s }
    }
}

impl Relay for Demo<'_> {
    fn kind(&self) -> SourceKind {
        SourceKind::Demo
    }

    fn reads_store(&self) -> bool {
        false
    }

    fn location(&self) -> Option<String> {
        None
    }

    async fn snapshot(&self, pricing: &Pricing, req: ReadRequest) -> Result<Snapshot> {
        let scope = Scope {
            source: SourceKind::Demo,
            trend_days: req.trend_days,
            top_n: req.top_n,
        };
        Ok(aggregate(super::generate(req, pricing), pricing, scope))
    }

    async fn quota(&self, _now: DateTime<Utc>) -> Result<QuotaInput> {
        Ok(QuotaInput::Keys(Vec::new()))
    }

    /// The snapshot's top keys stand in for the window's (CRS's windows and labels).
    async fn leaderboard(
        &self,
        window: LeaderboardWindow,
        now: DateTime<Utc>,
    ) -> Result<BoardInput> {
        let pricing = match &self.s.source.pricing_file {
            Some(p) => Pricing::from_file(p)?,
            None => Pricing::bundled(),
        };
        let snap = self
            .snapshot(&pricing, ReadRequest::from_settings(self.s, now))
            .await?;
        let tz = RelayTz::from_config(self.s.source.timezone_offset_hours);
        let (from, to) = span(tz, window, now);
        let periods = snap
            .top_keys
            .iter()
            .map(|k| KeyPeriod {
                usage: k.clone(),
                deleted: false,
            })
            .collect();
        Ok(BoardInput {
            from,
            to,
            label: buckets(window, now, tz).1,
            periods,
        })
    }

    async fn watched(&self, _what: WatchSet, _now: DateTime<Utc>) -> Result<Vec<Watched>> {
        Ok(Vec::new())
    }
}

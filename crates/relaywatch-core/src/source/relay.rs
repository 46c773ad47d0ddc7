//! The one interface every relay answers ([`Relay`]): the dashboard snapshot, the quota
//! rule's input, the leaderboard's input and the watched states, all as plain `model` data;
//! and [`open`], the one place a relay is chosen by `[source] kind`. Rule: a relay only reads
//! its store (never writes it), and nothing above `source/` names a relay.

use chrono::{DateTime, Utc};

use super::{cch, crs, demo, ReadRequest};
use crate::config::{Settings, SourceKindSetting};
use crate::error::{Error, FieldError, Result};
use crate::model::{
    BoardInput, LeaderboardWindow, QuotaInput, Snapshot, SourceKind, WatchSet, Watched,
};
use crate::pricing::Pricing;

/// What a relay answers. A new relay is a folder `source/<relay>/` with a type implementing
/// this, a [`SourceKindSetting`] variant, and one line in [`open`] and [`AnyRelay`].
// Called through `AnyRelay` (static dispatch), so each caller sees whether the future it awaits
// is `Send`: CRS's snapshot is not, and runs on the daemon's blocking reader thread.
#[allow(async_fn_in_trait)]
pub trait Relay {
    /// Which relay this is.
    fn kind(&self) -> SourceKind;

    /// Whether it reads a relay's store at all (the demo, or CRS without a URL, does not): the
    /// daemon reads quota and watched states only when it does.
    fn reads_store(&self) -> bool;

    /// Where it reads, as people may see it: credentials masked (`None`: no store).
    fn location(&self) -> Option<String>;

    /// The dashboard snapshot as of `req.now`.
    async fn snapshot(&self, pricing: &Pricing, req: ReadRequest) -> Result<Snapshot>;

    /// Every limit the quota rule compares at `now`.
    async fn quota(&self, now: DateTime<Utc>) -> Result<QuotaInput>;

    /// Every key's (or user's) usage over the leaderboard's `window` at `now`.
    async fn leaderboard(
        &self,
        window: LeaderboardWindow,
        now: DateTime<Utc>,
    ) -> Result<BoardInput>;

    /// The states of `what` the relay keeps (accounts, breakers) at `now`, one group each.
    async fn watched(&self, what: WatchSet, now: DateTime<Utc>) -> Result<Vec<Watched>>;
}

/// The relay `[source]` selects.
pub enum AnyRelay<'a> {
    Crs(crs::relay::Crs<'a>),
    Cch(cch::relay::Cch<'a>),
    Demo(demo::Demo<'a>),
}

/// The relay `s` selects (nothing is connected or copied: each answer connects and reads).
pub fn open(s: &Settings) -> AnyRelay<'_> {
    match s.source.effective_kind() {
        SourceKindSetting::Crs => AnyRelay::Crs(crs::relay::Crs::new(s)),
        SourceKindSetting::Cch => AnyRelay::Cch(cch::relay::Cch::new(s)),
        SourceKindSetting::Demo => AnyRelay::Demo(demo::Demo::new(s)),
    }
}

/// Calls the same method on whichever relay `$r` holds.
macro_rules! each {
    ($r:expr, $x:ident => $call:expr) => {
        match $r {
            AnyRelay::Crs($x) => $call,
            AnyRelay::Cch($x) => $call,
            AnyRelay::Demo($x) => $call,
        }
    };
}

impl Relay for AnyRelay<'_> {
    fn kind(&self) -> SourceKind {
        each!(self, r => r.kind())
    }

    fn reads_store(&self) -> bool {
        each!(self, r => r.reads_store())
    }

    fn location(&self) -> Option<String> {
        each!(self, r => r.location())
    }

    async fn snapshot(&self, pricing: &Pricing, req: ReadRequest) -> Result<Snapshot> {
        self.answered(each!(self, r => r.snapshot(pricing, req).await))
    }

    async fn quota(&self, now: DateTime<Utc>) -> Result<QuotaInput> {
        self.answered(each!(self, r => r.quota(now).await))
    }

    async fn leaderboard(
        &self,
        window: LeaderboardWindow,
        now: DateTime<Utc>,
    ) -> Result<BoardInput> {
        self.answered(each!(self, r => r.leaderboard(window, now).await))
    }

    async fn watched(&self, what: WatchSet, now: DateTime<Utc>) -> Result<Vec<Watched>> {
        self.answered(each!(self, r => r.watched(what, now).await))
    }
}

impl AnyRelay<'_> {
    /// `read`, after recording whether the relay's store answered (the `source up` metric).
    fn answered<T>(&self, read: Result<T>) -> Result<T> {
        if self.kind() != SourceKind::Demo {
            crate::metrics::source_redis(!matches!(&read, Err(e) if store_down(e)));
        }
        read
    }
}

/// Whether `e` says the relay's store did not answer (for the `source up` metric).
pub fn store_down(e: &Error) -> bool {
    matches!(
        e,
        Error::RedisConnect { .. } | Error::Redis { .. } | Error::Database { .. }
    )
}

/// The error for a read that needs a setting left unset.
pub(crate) fn unset(field: &str, fix: &str) -> Error {
    Error::Config {
        source_name: None,
        errors: vec![FieldError {
            field: field.into(),
            value: "(unset)".into(),
            fix: fix.into(),
        }],
    }
}

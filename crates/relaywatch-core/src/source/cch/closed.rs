//! The closed local days of a hub's ledger, summed once and kept by a process that reads the
//! same hub again (the daemon, `serve`, the tray), so its later reads sum only the rows since;
//! rule: a day is kept once it ended [`GRACE`] ago (a request's ledger row is updated when the
//! request ends), kept days are read afresh after [`REBUILD`] or as soon as a row written since
//! they were read falls in one of them, a read about an instant before
//! the kept days' end keeps nothing, and a hub's first read in a process keeps nothing either
//! (a one-shot command pays nothing extra).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use tokio_postgres::Client;

use super::days::{Scope, Span};
use super::ledger::{self, Range};
use super::windows::{local_day, local_start};

/// How long after a day's end its rows may still change (a request that ran past midnight).
pub const GRACE: Duration = Duration::hours(1);
/// How long kept days are trusted before they are read again.
pub const REBUILD: std::time::Duration = std::time::Duration::from_secs(6 * 3600);
/// Days kept one by one (a month's window and a trend fit); earlier ones are one base.
pub const DAYS_KEPT: i64 = 40;

/// Hubs whose days one process keeps at once.
const MAX_HUBS: usize = 16;

/// The kept sums: days in `[horizon, end)`, a base before `horizon`.
#[derive(Debug)]
pub struct Closed {
    pub span: Span,
    pub horizon: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The earliest billed row when kept (a window from it or earlier holds the whole base).
    pub first: Option<DateTime<Utc>>,
    /// The highest ledger id when the days were read: a later row dated in them spoils them.
    max_id: i64,
    read_at: Instant,
}

impl Closed {
    /// Kept days without sums (for the window plans' tests).
    #[cfg(test)]
    pub fn for_tests(
        horizon: DateTime<Utc>,
        end: DateTime<Utc>,
        first: Option<DateTime<Utc>>,
    ) -> Closed {
        Closed {
            span: Span::default(),
            horizon,
            end,
            first,
            max_id: 0,
            read_at: Instant::now(),
        }
    }

    pub fn horizon_day(&self, tz: Tz) -> NaiveDate {
        local_day(tz, self.horizon)
    }
}

#[derive(Default)]
struct Hub {
    reads: u32,
    closed: Option<Arc<Closed>>,
}

type Hubs = Mutex<HashMap<u64, (Arc<tokio::sync::Mutex<Hub>>, Instant)>>;
static HUBS: LazyLock<Hubs> = LazyLock::new(Hubs::default);

/// A hub's identity in this process: its database, zone and model grouping (a hash; the URL
/// itself is not kept).
pub fn hub_id(url: &str, tz: Tz, by_original: bool) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (url, tz.name(), by_original).hash(&mut h);
    h.finish()
}

/// Where kept days end at `now`: the start of the local day holding `now - GRACE`.
pub fn end_at(tz: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    local_start(tz, local_day(tz, now - GRACE))
}

/// The kept days for a read at `now` (`None`: read everything fresh).
pub async fn kept(
    c: &Client,
    hub: u64,
    tz: Tz,
    by_original: bool,
    now: DateTime<Utc>,
) -> Result<Option<Arc<Closed>>, tokio_postgres::Error> {
    let slot = {
        let mut hubs = HUBS.lock().unwrap_or_else(|p| p.into_inner());
        // A process reads one hub, or a few as its config changes: the least recently read
        // one is let go.
        if !hubs.contains_key(&hub) && hubs.len() >= MAX_HUBS {
            let oldest = hubs
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(id, _)| *id);
            oldest.map(|id| hubs.remove(&id));
        }
        let entry = hubs
            .entry(hub)
            .or_insert_with(|| (Arc::default(), Instant::now()));
        entry.1 = Instant::now();
        entry.0.clone()
    };
    let mut h = slot.lock().await;
    h.reads = h.reads.saturating_add(1);
    if h.reads < 2 {
        return Ok(None);
    }
    let end = end_at(tz, now);
    let mut fresh = h.closed.as_ref().filter(|k| k.read_at.elapsed() < REBUILD);
    if let Some(k) = fresh {
        if ledger::written_into(c, k.max_id, k.end).await? {
            fresh = None;
        }
    }
    let next = match fresh {
        Some(k) if k.end > now => return Ok(None),
        Some(k) if k.end >= end => return Ok(Some(k.clone())),
        Some(k) => extend(c, k, tz, by_original, end).await?,
        None => build(c, tz, by_original, end).await?,
    };
    let next = Arc::new(next);
    h.closed = Some(next.clone());
    Ok(Some(next))
}

async fn read_all(
    c: &Client,
    r: Range<'_>,
    by_original: bool,
    span: &mut Span,
) -> Result<(), tokio_postgres::Error> {
    ledger::totals(c, r, span).await?;
    let days = Range {
        from: Some(r.from.map_or(r.horizon, |f| f.max(r.horizon))),
        ..r
    };
    ledger::models(c, days, by_original, span).await?;
    for scope in Scope::ALL {
        ledger::entities(c, r, scope, span).await?;
    }
    Ok(())
}

async fn build(
    c: &Client,
    tz: Tz,
    by_original: bool,
    end: DateTime<Utc>,
) -> Result<Closed, tokio_postgres::Error> {
    let horizon = local_start(tz, local_day(tz, end) - Duration::days(DAYS_KEPT));
    let mut span = Span::default();
    let r = Range {
        zone: tz.name(),
        horizon,
        from: None,
        to: end,
    };
    let max_id = ledger::max_id(c).await?;
    read_all(c, r, by_original, &mut span).await?;
    let first = ledger::first(c).await?;
    Ok(Closed {
        span,
        horizon,
        end,
        first,
        max_id,
        read_at: Instant::now(),
    })
}

/// `k` with the days from its end to `end` added.
async fn extend(
    c: &Client,
    k: &Closed,
    tz: Tz,
    by_original: bool,
    end: DateTime<Utc>,
) -> Result<Closed, tokio_postgres::Error> {
    let mut added = Span::default();
    let r = Range {
        zone: tz.name(),
        horizon: k.end,
        from: Some(k.end),
        to: end,
    };
    let max_id = ledger::max_id(c).await?;
    read_all(c, r, by_original, &mut added).await?;
    let mut span = k.span.clone();
    span.absorb(added);
    Ok(Closed {
        span,
        horizon: k.horizon,
        end,
        first: k.first,
        max_id,
        read_at: k.read_at,
    })
}

/// The rows after the kept days, `[from, to)`, by day in one pass: totals, what each user, key
/// and provider used, and the models when `models` says how CCH groups them (`Some(by_original)`).
pub async fn live(
    c: &Client,
    tz: Tz,
    models: Option<bool>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Span, tokio_postgres::Error> {
    let mut span = Span::default();
    let r = Range {
        zone: tz.name(),
        horizon: from,
        from: Some(from),
        to,
    };
    ledger::grouped(c, r, models, &Scope::ALL, &mut span).await?;
    Ok(span)
}

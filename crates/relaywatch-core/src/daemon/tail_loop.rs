//! The log-table tail as a daemon loop (`[events] source = "ezapi"`): read EZ-API's log table by
//! id, feed each row to the error-rate rule on the rows' own clock and to the breaker rule, queue
//! what they decide, then save the position. Rules: one instance reads (a lease in relaywatch's
//! Redis); the position and the rule's state are saved after the alerts are queued, and every
//! alert's outbox key is derived from the rows alone — so a restart re-reads at most one page
//! and its alerts are recognised as already queued: nothing is sent twice, nothing is skipped.
//! The very first start begins at the table's end (history never fires). While the database is
//! unreachable, health says why and nothing resolves; the tail catches up when it is back.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use tokio::sync::watch;

use super::alerts;
use super::jobs::JobError;
use super::status::TailHealth;
use super::{stopped, Context};
use crate::events::table::{LogTable, Position, TableRow, PAGE};
use crate::rules::error_rate::ExactWindow;
use crate::rules::Alert;
use crate::store::alert_state::AlertStateStore;
use crate::store::breaker::BreakerRule;
use crate::store::tail::TailStore;

/// The lease lasts this long unless renewed (each page renews it).
const LEASE_TTL: Duration = Duration::from_secs(15);
/// How long a standby instance waits before trying for the lease again.
const LEASE_RETRY: Duration = Duration::from_secs(5);
/// Pause between reads once caught up.
const POLL: Duration = Duration::from_millis(1_000);
/// Pause after an error before trying again.
const ERROR_PAUSE: Duration = Duration::from_secs(2);
/// Time alone moves the window only this far behind the clock: rows are written in batches a
/// moment after their `created_at`, and one arriving late must not find its window resolved.
const GRACE_MS: i64 = 5_000;

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn other(e: impl std::fmt::Display) -> JobError {
    JobError::Other(crate::secrets::redact(&e.to_string()))
}

async fn nap(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        _ = stopped(stop) => true,
        _ = tokio::time::sleep(d) => false,
    }
}

pub async fn table_events(ctx: Arc<Context>, mut stop: watch::Receiver<bool>) {
    let s = &ctx.settings;
    let wanted = s.rules.error_rate.enabled || s.rules.breaker.enabled;
    let Some((_, _, _, name)) = crate::events::table::table_of(s).filter(|_| wanted) else {
        stopped(&mut stop).await;
        return;
    };
    let mut health = TailHealth {
        source: name,
        state: "starting".into(),
        error: None,
        position: None,
        lag_seconds: None,
        rows: 0,
    };
    loop {
        match tail(&ctx, &mut stop, &mut health).await {
            Ok(()) => return,
            Err(e) => {
                let reason = crate::secrets::redact(&e.to_string());
                tracing::warn!("log table tail: {reason}; retrying");
                health.state = "down".into();
                health.error = Some(reason);
                ctx.status.tail(health.clone());
                if nap(&mut stop, ERROR_PAUSE).await {
                    return;
                }
            }
        }
    }
}

/// Where the tail starts: the saved position, else (first start) the table's end.
async fn start(
    table: &LogTable,
    store: &TailStore,
) -> Result<(Position, ExactWindowSeed), JobError> {
    let st = store.load().await.map_err(other)?;
    if let Some(p) = st.position {
        return Ok((p, st.memos));
    }
    let end = table.end().await.map_err(other)?.unwrap_or(Position {
        id: 0,
        at_ms: Utc::now().timestamp_millis(),
    });
    store
        .save(None, end, &Default::default())
        .await
        .map_err(other)?;
    tracing::info!(
        "log table tail starts at the table's end (id {}): history is not replayed",
        end.id
    );
    Ok((end, st.memos))
}

type ExactWindowSeed = std::collections::BTreeMap<String, crate::rules::error_rate::SubjectMemo>;

async fn tail(
    ctx: &Context,
    stop: &mut watch::Receiver<bool>,
    health: &mut TailHealth,
) -> Result<(), JobError> {
    let s = &ctx.settings;
    let url = match &ctx.events_db {
        Some(Ok(u)) => u.expose().to_string(),
        Some(Err(e)) => return Err(JobError::Other(e.clone())),
        None => {
            return Err(JobError::Other(
                "the request table's database_url is not set".into(),
            ))
        }
    };
    let timeout = Duration::from_millis(s.source.connect_timeout_ms);
    let (_, table_name, shape, _) = crate::events::table::table_of(s)
        .ok_or_else(|| JobError::Other("[events] names no table".into()))?;
    let table = LogTable::connect(&url, &table_name, shape, timeout)
        .await
        .map_err(other)?;
    let store = TailStore::new(
        ctx.outbox.connection().clone(),
        &s.state.prefix,
        &health.source,
        &ctx.options.instance,
    );
    while !store.lease(LEASE_TTL).await.map_err(other)? {
        health.state = "standby".into();
        health.error = None;
        ctx.status.tail(health.clone());
        if nap(stop, LEASE_RETRY).await {
            return Ok(());
        }
    }
    let (mut pos, memos) = start(&table, &store).await?;
    let mut er = ExactWindow::with_memos(s.rules.error_rate.clone(), memos);
    warm(&table, &mut er, pos).await?;
    let br = BreakerRule::new(
        ctx.outbox.connection().clone(),
        s.rules.breaker.clone(),
        &s.state.prefix,
    );
    let mut alert_store = super::rules_loop::state_store(ctx).await?;
    health.state = "up".into();
    health.error = None;
    health.position = Some(pos.id);
    ctx.status.tail(health.clone());
    let mut saved = None;
    loop {
        if *stop.borrow() {
            store.release().await;
            return Ok(());
        }
        if !store.lease(LEASE_TTL).await.map_err(other)? {
            return Err(JobError::Other(
                "the tail's lease went to another instance".into(),
            ));
        }
        let rows = table.after(pos.id, PAGE).await.map_err(other)?;
        let page = Page {
            ctx,
            table: &table,
            store: &store,
            br: &br,
        };
        let full = rows.len() as i64 == PAGE;
        pos = page
            .step(&mut er, &mut alert_store, pos, rows, health, &mut saved)
            .await?;
        ctx.status.tail(health.clone());
        if !full && nap(stop, POLL).await {
            store.release().await;
            return Ok(());
        }
    }
}

/// Refills the error-rate window from the rows already judged (a window's worth before the
/// position): they count, they fire nothing.
async fn warm(table: &LogTable, er: &mut ExactWindow, pos: Position) -> Result<(), JobError> {
    let w = er.settings().window_seconds as i64 * 1000;
    table
        .span(at(pos.at_ms - w), at(pos.at_ms + 1), |r| {
            if r.id <= pos.id {
                er.warm(&r.event, r.at_ms());
            }
        })
        .await
        .map_err(other)?;
    Ok(())
}

/// How long a request may stay unfinished before the tail moves past it (a request CCH never
/// completed, e.g. after a crash, must not stop the tail for good).
const UNFINISHED_WAIT: i64 = 10 * 60;

/// The rows the tail may take now: up to the first unfinished request younger than
/// [`UNFINISHED_WAIT`] (true when it stopped there); older unfinished ones are passed over.
fn ready(mut rows: Vec<TableRow>, now: chrono::DateTime<Utc>) -> (Vec<TableRow>, bool) {
    let young = now - chrono::Duration::seconds(UNFINISHED_WAIT);
    match rows.iter().position(|r| !r.finished && r.at > young) {
        Some(i) => {
            rows.truncate(i);
            (rows, true)
        }
        None => (rows, false),
    }
}

/// One read of the tail.
struct Page<'a> {
    ctx: &'a Context,
    table: &'a LogTable,
    store: &'a TailStore,
    br: &'a BreakerRule,
}

impl Page<'_> {
    /// Judges `rows` (or, with none, lets time pass), queues the alerts, saves the position.
    async fn step(
        &self,
        er: &mut ExactWindow,
        alert_store: &mut AlertStateStore,
        pos: Position,
        rows: Vec<TableRow>,
        health: &mut TailHealth,
        saved: &mut Option<ExactWindowSeed>,
    ) -> Result<Position, JobError> {
        let s = &self.ctx.settings;
        let now = Utc::now();
        let mut next = pos;
        let mut transitions = Vec::new();
        let (rows, waiting) = ready(rows, now);
        if rows.is_empty() && waiting {
            // The next request is still running: wait for it; time still moves the window.
            transitions = er.advance(now.timestamp_millis() - GRACE_MS);
        } else if rows.is_empty() {
            // Caught up: time alone moves the window; skip past soft-deleted rows.
            transitions = er.advance(now.timestamp_millis() - GRACE_MS);
            if let Some(id) = self.table.last_id_upto(pos.id, PAGE).await.map_err(other)? {
                next.id = next.id.max(id);
            }
            health.lag_seconds = Some(0.0);
        } else {
            for r in &rows {
                if r.finished {
                    transitions.extend(er.push(&r.event, r.at_ms()));
                }
                next.id = next.id.max(r.id);
                next.at_ms = next.at_ms.max(r.at_ms());
            }
            health.rows += rows.len() as u64;
            health.lag_seconds = Some((now.timestamp_millis() - next.at_ms).max(0) as f64 / 1000.0);
        }
        let mut found: Vec<Alert> = Vec::new();
        if s.rules.error_rate.enabled {
            found.extend(transitions.iter().map(|t| t.alert(&s.rules.error_rate)));
        }
        if s.rules.breaker.enabled && !rows.is_empty() {
            let out = self
                .br
                .evaluate(rows.iter().filter(|r| r.finished).map(|r| &r.event), now)
                .await
                .map_err(other)?;
            found.extend(out);
        }
        if !found.is_empty() {
            alerts::dispatch(self.ctx, alert_store, found, now).await?;
            self.ctx.nudge.notify_one();
        }
        let memos = er.memos(next.at_ms.max(now.timestamp_millis()));
        if next == pos && saved.as_ref() == Some(&memos) {
            // Idle: nothing read, nothing changed; no write to Redis.
            return Ok(next);
        }
        if !self
            .store
            .save(Some(pos), next, &memos)
            .await
            .map_err(other)?
        {
            return Err(JobError::Other(
                "another instance moved the tail meanwhile; re-reading".into(),
            ));
        }
        *saved = Some(memos);
        health.position = Some(next.id);
        Ok(next)
    }
}

//! Log events read from a relay's PostgreSQL log table (EZ-API's `log_records`, as GORM creates
//! it); rule: read-only — only `SELECT`s of the columns a `LogEvent` carries (never the request
//! or response bodies), soft-deleted rows (`deleted_at` set) are not events, and every query
//! reads in bounded pages (by id for the tail) or as a stream (a span in time order), never the
//! whole table into memory.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_postgres::{Client, NoTls, Row};

use crate::model::LogEvent;

/// Rows per page.
pub const PAGE: i64 = 5_000;

/// Errors of the log-table reader (redacted: they never carry the URL's password).
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("cannot connect to the log database {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("log table `{table}`: {reason}")]
    Query { table: String, reason: String },
}

/// One row of the log table as an event, with its id and time.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub event: LogEvent,
}

impl TableRow {
    pub fn at_ms(&self) -> i64 {
        self.at.timestamp_millis()
    }
}

/// Where the reader stands: the last id read and that row's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    pub id: i64,
    pub at_ms: i64,
}

/// A read-only handle on one log table.
pub struct LogTable {
    client: Client,
    table: String,
    /// The quoted name used in queries (validated by config: identifier parts only).
    quoted: String,
}

const COLUMNS: &str = "id, created_at, \"group\", key_id, model_name, provider_id, provider_type, \
     provider_name, status_code, latency_ms, tokens_in, tokens_out, error_message, client_ip";

fn quote(table: &str) -> String {
    table
        .split('.')
        .map(|p| format!("\"{}\"", p.replace('"', "")))
        .collect::<Vec<_>>()
        .join(".")
}

fn text(row: &Row, i: usize) -> Option<String> {
    row.try_get::<_, Option<String>>(i)
        .ok()
        .flatten()
        .filter(|s| !s.is_empty())
}

fn int(row: &Row, i: usize) -> Option<i64> {
    row.try_get::<_, Option<i64>>(i).ok().flatten()
}

/// A row as an event: empty strings and zero ids are absent (GORM writes `''` and `0`), a
/// status of 0 is no status (a transport error), and counts below 0 are absent.
pub fn event_of(row: &Row) -> Option<TableRow> {
    let id: i64 = row.try_get(0).ok()?;
    let at: DateTime<Utc> = row.try_get::<_, Option<DateTime<Utc>>>(1).ok()??;
    let nonzero = |i| int(row, i).filter(|v| *v != 0).map(|v| v.to_string());
    let count = |i| int(row, i).and_then(|v| u64::try_from(v).ok());
    let event = LogEvent {
        ts: Some(at),
        group: text(row, 2),
        key_id: nonzero(3),
        model: text(row, 4),
        provider_id: nonzero(5),
        provider_type: text(row, 6),
        provider_name: text(row, 7),
        status_code: int(row, 8)
            .filter(|c| *c > 0)
            .map(|c| c.min(u16::MAX as i64) as u16),
        latency_ms: count(9),
        tokens_in: count(10),
        tokens_out: count(11),
        error_message: text(row, 12),
        client_ip: text(row, 13),
    };
    Some(TableRow { id, at, event })
}

impl LogTable {
    /// Connects (plain TCP or a Unix socket; bounded by `timeout`) to `url`, for `table`.
    pub async fn connect(url: &str, table: &str, timeout: Duration) -> Result<Self, TableError> {
        let fail = |reason: String| TableError::Connect {
            url: crate::secrets::mask_url(url),
            reason: crate::secrets::redact(&reason),
        };
        let mut cfg: tokio_postgres::Config = url.parse().map_err(|e| fail(format!("{e}")))?;
        cfg.connect_timeout(timeout);
        cfg.application_name("relaywatch");
        let (client, conn) = tokio::time::timeout(timeout, cfg.connect(NoTls))
            .await
            .map_err(|_| fail(format!("no answer within {} ms", timeout.as_millis())))?
            .map_err(|e| fail(e.to_string()))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(
                    "log database connection ended: {}",
                    crate::secrets::redact(&e.to_string())
                );
            }
        });
        let t = LogTable {
            client,
            table: table.to_string(),
            quoted: quote(table),
        };
        // Read-only from here on: a write would fail even if the role could write.
        t.client
            .batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            .await
            .map_err(|e| t.err(e))?;
        Ok(t)
    }

    fn err(&self, e: tokio_postgres::Error) -> TableError {
        let reason = match e.as_db_error() {
            Some(db) => db.message().to_string(),
            None => e.to_string(),
        };
        TableError::Query {
            table: self.table.clone(),
            reason: crate::secrets::redact(&reason),
        }
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// The newest row's position (deleted rows included: the tail starts after them too).
    pub async fn end(&self) -> Result<Option<Position>, TableError> {
        let q = format!(
            "SELECT id, created_at FROM {} ORDER BY id DESC LIMIT 1",
            self.quoted
        );
        let rows = self.client.query(&q, &[]).await.map_err(|e| self.err(e))?;
        Ok(rows.first().map(|r| Position {
            id: r.get(0),
            at_ms: r
                .get::<_, Option<DateTime<Utc>>>(1)
                .map(|t| t.timestamp_millis())
                .unwrap_or(0),
        }))
    }

    /// Up to `limit` live rows after id `after`, by id.
    pub async fn after(&self, after: i64, limit: i64) -> Result<Vec<TableRow>, TableError> {
        let q = format!(
            "SELECT {COLUMNS} FROM {} WHERE id > $1 AND deleted_at IS NULL ORDER BY id LIMIT $2",
            self.quoted
        );
        let rows = self
            .client
            .query(&q, &[&after, &limit])
            .await
            .map_err(|e| self.err(e))?;
        Ok(rows.iter().filter_map(event_of).collect())
    }

    /// The highest id of rows up to `after + limit` ids on (deleted ones included), so the tail
    /// moves past a page of soft-deleted rows.
    pub async fn last_id_upto(&self, after: i64, limit: i64) -> Result<Option<i64>, TableError> {
        let q = format!(
            "SELECT max(id) FROM (SELECT id FROM {} WHERE id > $1 ORDER BY id LIMIT $2) t",
            self.quoted
        );
        let rows = self
            .client
            .query(&q, &[&after, &limit])
            .await
            .map_err(|e| self.err(e))?;
        Ok(rows.first().and_then(|r| r.get::<_, Option<i64>>(0)))
    }

    /// Every live row with `from ≤ created_at < to`, in `(created_at, id)` order, streamed into
    /// `f` from one query (one scan and one sort in the database, whatever indexes the table
    /// has; rows arrive as the server sends them, so memory stays flat). Returns the rows read.
    pub async fn span(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        mut f: impl FnMut(&TableRow),
    ) -> Result<u64, TableError> {
        use futures_util::TryStreamExt;
        let q = format!(
            "SELECT {COLUMNS} FROM {} WHERE deleted_at IS NULL AND created_at >= $1 \
             AND created_at < $2 ORDER BY created_at, id",
            self.quoted
        );
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&from, &to];
        let rows = self
            .client
            .query_raw(&q, params)
            .await
            .map_err(|e| self.err(e))?;
        let mut rows = std::pin::pin!(rows);
        let mut n = 0;
        while let Some(row) = rows.try_next().await.map_err(|e| self.err(e))? {
            if let Some(r) = event_of(&row) {
                f(&r);
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn table_names_are_quoted_per_part() {
        assert_eq!(quote("log_records"), "\"log_records\"");
        assert_eq!(quote("ez.log_records"), "\"ez\".\"log_records\"");
    }
}

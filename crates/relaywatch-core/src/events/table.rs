//! Log events read from a relay's PostgreSQL request table — EZ-API's `log_records` (as GORM
//! creates it) or Claude Code Hub's `message_request`; rule: read-only — only `SELECT`s of the
//! columns a `LogEvent` carries (never request or response bodies, never CCH's key strings:
//! a key is named by its id), EZ-API's soft-deleted rows and CCH's blocked ones (warm-ups) are
//! not events, a CCH row is an event once it is finished (a status or an error is set), and every query
//! reads in bounded pages (by id for the tail) or as a stream (a span in time order), never the
//! whole table into memory.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_postgres::{Client, Row};

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
    /// Whether the request has ended (CCH writes a row when a request starts and completes it
    /// later); always true for EZ-API.
    pub finished: bool,
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

/// Which relay's table, and so which columns mean what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// EZ-API's `log_records`: every column a `LogEvent` has, by the same names.
    Ezapi,
    /// Claude Code Hub's `message_request`, with its provider's name and type and the key's id.
    CchRequests,
}

impl Shape {
    /// `SELECT … FROM …` giving the 15 columns [`event_of`] reads, the table aliased `t`.
    fn select(self, quoted: &str) -> String {
        match self {
            Shape::Ezapi => format!(
                "SELECT t.id, t.created_at, t.\"group\", t.key_id, t.model_name, t.provider_id, \
                 t.provider_type, t.provider_name, t.status_code, t.latency_ms, t.tokens_in, \
                 t.tokens_out, t.error_message, t.client_ip, true FROM {quoted} t"
            ),
            Shape::CchRequests => format!(
                "SELECT t.id::int8, t.created_at, NULL::text, k.id::int8, t.model::text, \
                 t.provider_id::int8, p.provider_type::text, p.name::text, t.status_code::int8, \
                 t.duration_ms::int8, t.input_tokens::int8, t.output_tokens::int8, t.error_message, \
                 NULL::text, (t.status_code IS NOT NULL OR coalesce(t.error_message, '') <> '') \
                 FROM {quoted} t LEFT JOIN providers p ON p.id = t.provider_id \
                 LEFT JOIN keys k ON k.key = t.key"
            ),
        }
    }

    /// The condition for a row that is an event (finished or not).
    fn live(self) -> &'static str {
        match self {
            Shape::Ezapi => "t.deleted_at IS NULL",
            Shape::CchRequests => "t.blocked_by IS NULL",
        }
    }
}

/// The request table `[events]` names, if it names one: where its URL is configured, the
/// table, its shape and the tail's name (`ezapi:log_records`, `cch:message_request`).
pub fn table_of(
    s: &crate::config::Settings,
) -> Option<(
    Option<&crate::config::channels::SecretRef>,
    String,
    Shape,
    String,
)> {
    use crate::config::rules::EventSourceKind;
    match s.events.source {
        EventSourceKind::Stream => None,
        EventSourceKind::Ezapi => Some((
            s.events.database_url.as_ref(),
            s.events.table.clone(),
            Shape::Ezapi,
            format!("ezapi:{}", s.events.table),
        )),
        EventSourceKind::Cch => Some((
            s.source.database_url.as_ref(),
            "message_request".into(),
            Shape::CchRequests,
            "cch:message_request".into(),
        )),
    }
}

/// A read-only handle on one log table.
pub struct LogTable {
    client: Client,
    table: String,
    /// The quoted name used in queries (validated by config: identifier parts only).
    quoted: String,
    shape: Shape,
}

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
    let finished = row
        .try_get::<_, Option<bool>>(14)
        .ok()
        .flatten()
        .unwrap_or(true);
    Some(TableRow {
        id,
        at,
        event,
        finished,
    })
}

impl LogTable {
    /// Connects (read-only, bounded by `timeout`) to `url`, for `table` of `shape`.
    pub async fn connect(
        url: &str,
        table: &str,
        shape: Shape,
        timeout: Duration,
    ) -> Result<Self, TableError> {
        let client = crate::source::pg::connect_read_only(url, timeout)
            .await
            .map_err(|reason| TableError::Connect {
                url: crate::secrets::mask_url(url),
                reason,
            })?;
        Ok(LogTable {
            client,
            table: table.to_string(),
            quoted: quote(table),
            shape,
        })
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
            "SELECT id::int8, created_at FROM {} ORDER BY id DESC LIMIT 1",
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
            "{} WHERE t.id > $1::int8 AND {} ORDER BY t.id LIMIT $2",
            self.shape.select(&self.quoted),
            self.shape.live()
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
            "SELECT max(id)::int8 FROM (SELECT id FROM {} WHERE id > $1::int8 ORDER BY id LIMIT $2) t",
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
            "{} WHERE {} AND t.created_at >= $1 AND t.created_at < $2 \
             ORDER BY t.created_at, t.id",
            self.shape.select(&self.quoted),
            self.shape.live()
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
            if let Some(r) = event_of(&row).filter(|r| r.finished) {
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

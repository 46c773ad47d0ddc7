//! EZ-API's request log table in PostgreSQL (`log_records`, as GORM's AutoMigrate creates it for EZ-API's `LogRecord`) and writers that fill it; rule: every row is what EZ-API's LogWriter would write — strings '' never NULL, numbers 0 when unset, `updated_at` = `created_at`, bodies '', and deletes are GORM soft deletes (`deleted_at` set).

use chrono::{DateTime, Utc};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Client;

/// The table and its index exactly as GORM's AutoMigrate makes them for EZ-API's `LogRecord`
/// (`gorm.Model` — id, created_at, updated_at, deleted_at — plus its fields).
pub const LOG_RECORDS_DDL: &str = "CREATE TABLE log_records (\
id bigserial PRIMARY KEY, \
created_at timestamptz, \
updated_at timestamptz, \
deleted_at timestamptz, \
\"group\" text, \
key_id bigint, \
model_name text, \
provider_id bigint, \
provider_type text, \
provider_name text, \
status_code bigint, \
latency_ms bigint, \
tokens_in bigint, \
tokens_out bigint, \
error_message text, \
client_ip text, \
request_size bigint, \
response_size bigint, \
audit_reason text, \
request_body text, \
response_body text); \
CREATE INDEX idx_log_records_deleted_at ON log_records (deleted_at);";

/// The table's name in [`LOG_RECORDS_DDL`].
pub const LOG_RECORDS: &str = "log_records";

/// The columns a LogWriter insert fills (all but `id`), in COPY order.
const INSERT_COLUMNS: &str = "created_at, updated_at, deleted_at, \"group\", key_id, model_name, \
provider_id, provider_type, provider_name, status_code, latency_ms, tokens_in, tokens_out, \
error_message, client_ip, request_size, response_size, audit_reason, request_body, response_body";

const INSERT_TYPES: [Type; 20] = [
    Type::TIMESTAMPTZ,
    Type::TIMESTAMPTZ,
    Type::TIMESTAMPTZ,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
];

/// One request as EZ-API logs it. Fields left out here (`request_size`, `response_size`,
/// `audit_reason`, the bodies) are written as 0 and ''. Build one with [`LogRecordRow::ok`] or
/// [`LogRecordRow::error`] and struct update syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecordRow {
    pub created_at: DateTime<Utc>,
    pub group: String,
    pub key_id: i64,
    pub model_name: String,
    pub provider_id: i64,
    pub provider_type: String,
    pub provider_name: String,
    pub status_code: i64,
    pub latency_ms: i64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub error_message: String,
    pub client_ip: String,
    /// `Some` for a soft-deleted row.
    pub deleted_at: Option<DateTime<Utc>>,
}

impl LogRecordRow {
    /// A successful request at `at`: group `default`, key 1, `gpt-4o-mini` through provider 1
    /// (`openai`, `openai-main`), status 200, 350 ms, 100 tokens in, 50 out, no error.
    pub fn ok(at: DateTime<Utc>) -> LogRecordRow {
        LogRecordRow {
            created_at: at,
            group: "default".to_string(),
            key_id: 1,
            model_name: "gpt-4o-mini".to_string(),
            provider_id: 1,
            provider_type: "openai".to_string(),
            provider_name: "openai-main".to_string(),
            status_code: 200,
            latency_ms: 350,
            tokens_in: 100,
            tokens_out: 50,
            error_message: String::new(),
            client_ip: "127.0.0.1".to_string(),
            deleted_at: None,
        }
    }

    /// A failed request at `at` with `status` and `message`, otherwise as [`LogRecordRow::ok`]
    /// (no tokens out).
    pub fn error(at: DateTime<Utc>, status: i64, message: &str) -> LogRecordRow {
        LogRecordRow {
            status_code: status,
            error_message: message.to_string(),
            tokens_out: 0,
            ..LogRecordRow::ok(at)
        }
    }
}

/// Creates `table` (and `idx_<table>_deleted_at`) as [`LOG_RECORDS_DDL`] does. Panics when
/// `table` is not a plain identifier (`[a-z_][a-z0-9_]*`).
pub async fn create_log_records(client: &Client, table: &str) -> Result<(), tokio_postgres::Error> {
    check_table(table);
    client
        .batch_execute(&LOG_RECORDS_DDL.replace(LOG_RECORDS, table))
        .await
}

/// Inserts `rows` into `table` with one binary `COPY … FROM STDIN` (a million rows take
/// seconds), `updated_at` = `created_at`, sizes 0 and `audit_reason` and bodies ''.
pub async fn insert_log_records(
    client: &Client,
    table: &str,
    rows: &[LogRecordRow],
) -> Result<(), tokio_postgres::Error> {
    check_table(table);
    let sink = client
        .copy_in(&format!(
            "COPY {table} ({INSERT_COLUMNS}) FROM STDIN (FORMAT binary)"
        ))
        .await?;
    let writer = BinaryCopyInWriter::new(sink, &INSERT_TYPES);
    let mut writer = std::pin::pin!(writer);
    let zero = 0i64;
    let empty = "";
    for row in rows {
        let values: [&(dyn ToSql + Sync); 20] = [
            &row.created_at,
            &row.created_at,
            &row.deleted_at,
            &row.group,
            &row.key_id,
            &row.model_name,
            &row.provider_id,
            &row.provider_type,
            &row.provider_name,
            &row.status_code,
            &row.latency_ms,
            &row.tokens_in,
            &row.tokens_out,
            &row.error_message,
            &row.client_ip,
            &zero,
            &zero,
            &empty,
            &empty,
            &empty,
        ];
        writer.as_mut().write(&values).await?;
    }
    writer.as_mut().finish().await?;
    Ok(())
}

/// GORM's `Delete` on rows `ids`: sets `deleted_at = now()` where it is still NULL. Returns the
/// number of rows soft-deleted.
pub async fn soft_delete(
    client: &Client,
    table: &str,
    ids: &[i64],
) -> Result<u64, tokio_postgres::Error> {
    check_table(table);
    client
        .execute(
            &format!(
                "UPDATE {table} SET deleted_at = now() WHERE id = ANY($1) AND deleted_at IS NULL"
            ),
            &[&ids],
        )
        .await
}

/// GORM's `Where(condition).Delete`: sets `deleted_at = now()` on the rows matching the SQL
/// `condition` (trusted test code, not escaped) where it is still NULL. Returns the number of
/// rows soft-deleted.
pub async fn soft_delete_where(
    client: &Client,
    table: &str,
    condition: &str,
) -> Result<u64, tokio_postgres::Error> {
    check_table(table);
    client
        .execute(
            &format!(
                "UPDATE {table} SET deleted_at = now() WHERE ({condition}) AND deleted_at IS NULL"
            ),
            &[],
        )
        .await
}

fn check_table(table: &str) {
    assert!(
        crate::pg::is_plain_identifier(table),
        "EZ-API table name {table:?} is not a plain identifier ([a-z_][a-z0-9_]*)"
    );
}

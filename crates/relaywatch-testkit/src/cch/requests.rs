//! CCH's `message_request` rows and the writes CCH's proxy makes to them; rule: every write goes to `message_request` only (CCH's trigger alone fills `usage_ledger`), rows are inserted whole or as CCH inserts a starting request and later completes it with an UPDATE, and deletes are CCH's soft delete (`deleted_at`) or its log cleanup (hard delete, the ledger stays).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

/// Rows per INSERT in [`insert_requests`] / [`insert_started`].
const BATCH: usize = 1000;

/// One request as CCH records it. Build with [`CchRequest::ok`], [`CchRequest::error`] or
/// [`CchRequest::warmup`] and struct update syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CchRequest {
    pub created_at: DateTime<Utc>,
    pub user_id: i32,
    /// The key string (`keys.key`), not `keys.id`.
    pub key: String,
    /// The provider first chosen (CCH writes 0 for requests it answered itself).
    pub provider_id: i32,
    /// Providers tried, in order (the last one served); written as CCH's `provider_chain`
    /// objects `{id, name, reason, attemptNumber, timestamp[, statusCode]}`.
    pub provider_chain: Option<Vec<i32>>,
    pub model: String,
    /// The model the client asked for when a provider redirected it.
    pub original_model: Option<String>,
    /// `None` as in rows older than CCH's endpoint column.
    pub endpoint: Option<String>,
    pub status_code: Option<i32>,
    pub error_message: Option<String>,
    /// A decimal literal (`"0.012345"`), stored as `numeric(21,15)`; `None` = NULL.
    pub cost_usd: Option<String>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cache_creation_input_tokens: Option<i64>,
    pub cache_read_input_tokens: Option<i64>,
    pub cache_creation_5m_input_tokens: Option<i64>,
    pub cache_creation_1h_input_tokens: Option<i64>,
    pub duration_ms: Option<i32>,
    /// `warmup`, `sensitive_word`, … (`None` for a normal request).
    pub blocked_by: Option<String>,
    pub is_replay: bool,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl CchRequest {
    /// A successful `/v1/messages` call at `at` costing `cost_usd` (a decimal literal):
    /// provider 1 alone in the chain, `claude-sonnet-4-5-20250929`, status 200, 2,400 ms,
    /// 1,200 tokens in, 350 out, 500 cache-creation (all 5 m) and 4,000 cache-read.
    pub fn ok(at: DateTime<Utc>, user_id: i32, key: &str, cost_usd: &str) -> CchRequest {
        CchRequest {
            created_at: at,
            user_id,
            key: key.to_string(),
            provider_id: 1,
            provider_chain: Some(vec![1]),
            model: "claude-sonnet-4-5-20250929".to_string(),
            original_model: None,
            endpoint: Some("/v1/messages".to_string()),
            status_code: Some(200),
            error_message: None,
            cost_usd: Some(cost_usd.to_string()),
            input_tokens: Some(1200),
            output_tokens: Some(350),
            cache_creation_input_tokens: Some(500),
            cache_read_input_tokens: Some(4000),
            cache_creation_5m_input_tokens: Some(500),
            cache_creation_1h_input_tokens: Some(0),
            duration_ms: Some(2400),
            blocked_by: None,
            is_replay: false,
            deleted_at: None,
        }
    }

    /// A failed call at `at`: `status` and `message`, cost 0 (CCH bills no error), no tokens,
    /// 800 ms, otherwise as [`CchRequest::ok`].
    pub fn error(
        at: DateTime<Utc>,
        user_id: i32,
        key: &str,
        status: i32,
        message: &str,
    ) -> CchRequest {
        CchRequest {
            status_code: Some(status),
            error_message: Some(message.to_string()),
            cost_usd: Some("0".to_string()),
            input_tokens: None,
            output_tokens: None,
            cache_creation_input_tokens: None,
            cache_read_input_tokens: None,
            cache_creation_5m_input_tokens: None,
            cache_creation_1h_input_tokens: None,
            duration_ms: Some(800),
            ..CchRequest::ok(at, user_id, key, "0")
        }
    }

    /// A warm-up request CCH answered itself (its warm-up guard): provider 0, no chain,
    /// status 200, cost NULL, `blocked_by = 'warmup'`, 3 ms.
    pub fn warmup(at: DateTime<Utc>, user_id: i32, key: &str) -> CchRequest {
        CchRequest {
            provider_id: 0,
            provider_chain: None,
            cost_usd: None,
            input_tokens: None,
            output_tokens: None,
            cache_creation_input_tokens: None,
            cache_read_input_tokens: None,
            cache_creation_5m_input_tokens: None,
            cache_creation_1h_input_tokens: None,
            duration_ms: Some(3),
            blocked_by: Some("warmup".to_string()),
            ..CchRequest::ok(at, user_id, key, "0")
        }
    }

    /// Served by `provider_id` alone.
    pub fn with_provider(self, provider_id: i32) -> CchRequest {
        self.with_chain(&[provider_id])
    }

    /// Tried `chain` in order (first = `provider_id`, last = the one that served).
    pub fn with_chain(self, chain: &[i32]) -> CchRequest {
        CchRequest {
            provider_id: chain.first().copied().unwrap_or(self.provider_id),
            provider_chain: Some(chain.to_vec()),
            ..self
        }
    }

    fn updated_at(&self) -> DateTime<Utc> {
        self.created_at + Duration::milliseconds(i64::from(self.duration_ms.unwrap_or(0)))
    }
}

/// CCH's `provider_chain` for `chain`: one object per attempt, names from `names` (or
/// `provider-{id}` for an unknown id); earlier attempts `retry_failed`, the last
/// `request_success` / `retry_success` when the request succeeded, else `retry_failed`, with
/// the status code.
fn chain_json(r: &CchRequest, names: &HashMap<i32, String>) -> Option<String> {
    let chain = r.provider_chain.as_ref()?;
    let succeeded = r.error_message.as_deref().unwrap_or("").is_empty()
        && r.status_code.is_some_and(|s| s < 400);
    let start = r.created_at.timestamp_millis();
    let hops: Vec<Value> = chain
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let last = i + 1 == chain.len();
            let reason = match (last, succeeded, chain.len()) {
                (true, true, 1) => "request_success",
                (true, true, _) => "retry_success",
                _ => "retry_failed",
            };
            let name = names
                .get(id)
                .cloned()
                .unwrap_or_else(|| format!("provider-{id}"));
            let mut hop = json!({
                "id": id,
                "name": name,
                "reason": reason,
                "attemptNumber": i + 1,
                "timestamp": start + 10 * i as i64,
            });
            if let (true, Some(status)) = (last, r.status_code) {
                hop["statusCode"] = json!(status);
            }
            hop
        })
        .collect();
    Some(Value::Array(hops).to_string())
}

async fn provider_names(client: &Client) -> Result<HashMap<i32, String>, tokio_postgres::Error> {
    Ok(client
        .query("SELECT id, name::text FROM providers", &[])
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect())
}

/// `n` ids from `message_request`'s own sequence, in order.
async fn next_ids(client: &Client, n: usize) -> Result<Vec<i32>, tokio_postgres::Error> {
    let n = i32::try_from(n).expect("batch size fits i32");
    Ok(client
        .query(
            "SELECT nextval(pg_get_serial_sequence('message_request', 'id'))::int4 \
             FROM generate_series(1, $1)",
            &[&n],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect())
}

/// One INSERT of a whole batch: `unnest` over one array per column, rows in id order (so the
/// trigger sees them in that order).
const INSERT_SQL: &str = "INSERT INTO message_request (id, provider_id, user_id, key, model, \
original_model, endpoint, status_code, error_message, duration_ms, cost_usd, input_tokens, \
output_tokens, cache_creation_input_tokens, cache_read_input_tokens, \
cache_creation_5m_input_tokens, cache_creation_1h_input_tokens, provider_chain, blocked_by, \
is_replay, created_at, updated_at, deleted_at) \
SELECT id, provider_id, user_id, key, model, original_model, endpoint, status_code, \
error_message, duration_ms, cost_usd::numeric, input_tokens, output_tokens, cc, cr, c5m, c1h, \
provider_chain::jsonb, blocked_by, is_replay, created_at, updated_at, deleted_at \
FROM unnest($1::int4[], $2::int4[], $3::int4[], $4::text[], $5::text[], $6::text[], \
$7::text[], $8::int4[], $9::text[], $10::int4[], $11::text[], $12::int8[], $13::int8[], \
$14::int8[], $15::int8[], $16::int8[], $17::int8[], $18::text[], $19::text[], $20::bool[], \
$21::timestamptz[], $22::timestamptz[], $23::timestamptz[]) \
AS r(id, provider_id, user_id, key, model, original_model, endpoint, status_code, \
error_message, duration_ms, cost_usd, input_tokens, output_tokens, cc, cr, c5m, c1h, \
provider_chain, blocked_by, is_replay, created_at, updated_at, deleted_at) \
ORDER BY id";

/// The batch as column arrays for [`INSERT_SQL`].
#[derive(Default)]
struct Columns {
    id: Vec<i32>,
    provider_id: Vec<i32>,
    user_id: Vec<i32>,
    key: Vec<String>,
    model: Vec<String>,
    original_model: Vec<Option<String>>,
    endpoint: Vec<Option<String>>,
    status_code: Vec<Option<i32>>,
    error_message: Vec<Option<String>>,
    duration_ms: Vec<Option<i32>>,
    cost_usd: Vec<Option<String>>,
    tokens: [Vec<Option<i64>>; 6],
    provider_chain: Vec<Option<String>>,
    blocked_by: Vec<Option<String>>,
    is_replay: Vec<bool>,
    created_at: Vec<DateTime<Utc>>,
    updated_at: Vec<DateTime<Utc>>,
    deleted_at: Vec<Option<DateTime<Utc>>>,
}

impl Columns {
    fn push(&mut self, id: i32, r: &CchRequest, chain: Option<String>) {
        self.id.push(id);
        self.provider_id.push(r.provider_id);
        self.user_id.push(r.user_id);
        self.key.push(r.key.clone());
        self.model.push(r.model.clone());
        self.original_model.push(r.original_model.clone());
        self.endpoint.push(r.endpoint.clone());
        self.status_code.push(r.status_code);
        self.error_message.push(r.error_message.clone());
        self.duration_ms.push(r.duration_ms);
        self.cost_usd.push(r.cost_usd.clone());
        let tokens = [
            r.input_tokens,
            r.output_tokens,
            r.cache_creation_input_tokens,
            r.cache_read_input_tokens,
            r.cache_creation_5m_input_tokens,
            r.cache_creation_1h_input_tokens,
        ];
        for (column, value) in self.tokens.iter_mut().zip(tokens) {
            column.push(value);
        }
        self.provider_chain.push(chain);
        self.blocked_by.push(r.blocked_by.clone());
        self.is_replay.push(r.is_replay);
        self.created_at.push(r.created_at);
        self.updated_at.push(r.updated_at());
        self.deleted_at.push(r.deleted_at);
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        let mut p: Vec<&(dyn ToSql + Sync)> = vec![
            &self.id,
            &self.provider_id,
            &self.user_id,
            &self.key,
            &self.model,
            &self.original_model,
            &self.endpoint,
            &self.status_code,
            &self.error_message,
            &self.duration_ms,
            &self.cost_usd,
        ];
        p.extend(self.tokens.iter().map(|c| c as &(dyn ToSql + Sync)));
        p.extend([
            &self.provider_chain as &(dyn ToSql + Sync),
            &self.blocked_by,
            &self.is_replay,
            &self.created_at,
            &self.updated_at,
            &self.deleted_at,
        ]);
        p
    }
}

/// Inserts `rows` into `message_request` as finished requests (`updated_at` = `created_at` +
/// `duration_ms`), 1,000 per INSERT, so CCH's trigger fills `usage_ledger` row by row. Ids
/// come from the table's own sequence; returns them in `rows` order. ~25,000 rows take a few
/// seconds.
pub async fn insert_requests(
    client: &Client,
    rows: &[CchRequest],
) -> Result<Vec<i32>, tokio_postgres::Error> {
    insert_batches(client, rows.iter().cloned()).await
}

/// Inserts `rows` as CCH does when a request starts: status, error, tokens, duration, chain
/// and `blocked_by` NULL, cost CCH's column default 0, `updated_at` = `created_at`; the
/// ledger gets a row that looks successful (no status, no error). Complete each with
/// [`finish_request`]. Returns the ids in `rows` order.
pub async fn insert_started(
    client: &Client,
    rows: &[CchRequest],
) -> Result<Vec<i32>, tokio_postgres::Error> {
    let started = rows.iter().map(|r| CchRequest {
        provider_chain: None,
        status_code: None,
        error_message: None,
        cost_usd: Some("0".to_string()),
        input_tokens: None,
        output_tokens: None,
        cache_creation_input_tokens: None,
        cache_read_input_tokens: None,
        cache_creation_5m_input_tokens: None,
        cache_creation_1h_input_tokens: None,
        duration_ms: None,
        blocked_by: None,
        ..r.clone()
    });
    insert_batches(client, started).await
}

async fn insert_batches(
    client: &Client,
    rows: impl ExactSizeIterator<Item = CchRequest>,
) -> Result<Vec<i32>, tokio_postgres::Error> {
    let names = provider_names(client).await?;
    let ids = next_ids(client, rows.len()).await?;
    let statement = client.prepare(INSERT_SQL).await?;
    let mut columns = Columns::default();
    for (id, row) in ids.iter().zip(rows) {
        columns.push(*id, &row, chain_json(&row, &names));
        if columns.id.len() == BATCH {
            client.execute(&statement, &columns.params()).await?;
            columns = Columns::default();
        }
    }
    if !columns.id.is_empty() {
        client.execute(&statement, &columns.params()).await?;
    }
    Ok(ids)
}

/// Completes request `id` as CCH's proxy does when the response ends: one UPDATE of status,
/// error, duration, tokens, chain and `blocked_by` from `end`, the cost too unless `end`'s is
/// `None` (CCH skips an unknown cost), `updated_at` = `created_at` + duration. `created_at`
/// is left alone, and so is the ledger's. Returns the number of rows updated (0 or 1).
pub async fn finish_request(
    client: &Client,
    id: i32,
    end: &CchRequest,
) -> Result<u64, tokio_postgres::Error> {
    let names = provider_names(client).await?;
    let chain = chain_json(end, &names);
    client
        .execute(
            "UPDATE message_request SET status_code = $2, error_message = $3, \
             duration_ms = $4, cost_usd = coalesce($5::text::numeric, cost_usd), \
             input_tokens = $6, output_tokens = $7, cache_creation_input_tokens = $8, \
             cache_read_input_tokens = $9, cache_creation_5m_input_tokens = $10, \
             cache_creation_1h_input_tokens = $11, provider_chain = $12::text::jsonb, \
             blocked_by = $13, \
             updated_at = created_at + coalesce($4, 0) * interval '1 millisecond' \
             WHERE id = $1",
            &[
                &id,
                &end.status_code,
                &end.error_message,
                &end.duration_ms,
                &end.cost_usd,
                &end.input_tokens,
                &end.output_tokens,
                &end.cache_creation_input_tokens,
                &end.cache_read_input_tokens,
                &end.cache_creation_5m_input_tokens,
                &end.cache_creation_1h_input_tokens,
                &chain,
                &end.blocked_by,
            ],
        )
        .await
}

/// CCH's soft delete of requests `ids`: `deleted_at` (and `updated_at`) = `at` where still
/// NULL. The ledger does not change. Returns the number of rows soft-deleted.
pub async fn soft_delete_requests(
    client: &Client,
    ids: &[i32],
    at: DateTime<Utc>,
) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            "UPDATE message_request SET deleted_at = $2, updated_at = $2 \
             WHERE id = ANY($1) AND deleted_at IS NULL",
            &[&ids, &at],
        )
        .await
}

/// CCH's log cleanup: hard-deletes requests `ids`; their ledger rows stay. Returns the number
/// of rows deleted.
pub async fn purge_requests(client: &Client, ids: &[i32]) -> Result<u64, tokio_postgres::Error> {
    client
        .execute("DELETE FROM message_request WHERE id = ANY($1)", &[&ids])
        .await
}

//! CCH's own SQL for the same figures, timed and explained, and the plans of relaywatch's slow
//! statements (`RELAYWATCH_BENCH_EXPLAIN=1`).

use super::*;

/// A `json` value as its text (EXPLAIN's FORMAT JSON output; its binary form is the text).
pub(crate) struct JsonText(pub(crate) String);

impl<'a> FromSql<'a> for JsonText {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> Result<JsonText, Box<dyn std::error::Error + Sync + Send>> {
        Ok(JsonText(std::str::from_utf8(raw)?.to_string()))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON
    }
}

/// The plan's nodes, outermost first: `Node Type [on relation] [using index]`.
pub(crate) fn plan_outline(plan: &serde_json::Value, out: &mut Vec<String>) {
    let get = |k: &str| plan.get(k).and_then(|v| v.as_str());
    let mut node = get("Node Type").unwrap_or("?").to_string();
    if let Some(r) = get("Relation Name") {
        node += &format!(" on {r}");
    }
    if let Some(i) = get("Index Name") {
        node += &format!(" using {i}");
    }
    out.push(node);
    for p in plan
        .get("Plans")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        plan_outline(p, out);
    }
}

/// Times `sql` (median of `RUNS`) and prints EXPLAIN ANALYZE's execution time and plan outline.
pub(crate) async fn time_sql(c: &Client, name: &str, sql: &str, params: &[&(dyn ToSql + Sync)]) {
    let stmt = &c.prepare(sql).await.unwrap();
    let ms = time_runs(move || async move {
        c.query(stmt, params).await.unwrap();
    })
    .await;
    print_times(name, ms, None);
    let explain = format!("EXPLAIN (ANALYZE, FORMAT JSON) {sql}");
    let row = c.query_one(&explain, params).await.unwrap();
    let JsonText(text) = row.get(0);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let top = &json[0];
    let mut nodes = Vec::new();
    plan_outline(&top["Plan"], &mut nodes);
    println!(
        "    EXPLAIN ANALYZE: execution {:.1} ms; {}",
        top["Execution Time"].as_f64().unwrap_or(f64::NAN),
        nodes.join(" > ")
    );
}

/// CCH's own SQL for the same figures (written from CCH's repositories), through one client.
pub(crate) async fn time_cch_sql(c: &Client, hub: &Hub, now: DateTime<Utc>) {
    let today = format!(
        "SELECT count(*), coalesce(sum(cost_usd), 0), count(*) FILTER (WHERE NOT is_success) \
         FROM usage_ledger WHERE {BILLING} \
         AND created_at >= (date_trunc('day', $2::timestamptz AT TIME ZONE $1) AT TIME ZONE $1) \
         AND created_at < ((date_trunc('day', $2::timestamptz AT TIME ZONE $1) + interval '1 day') AT TIME ZONE $1)"
    );
    time_sql(c, "CCH SQL: today overview", &today, &[&ZONE, &now]).await;
    let board = format!(
        "SELECT l.user_id, u.name, count(*), sum(l.cost_usd) AS cost FROM usage_ledger l \
         JOIN users u ON u.id = l.user_id AND u.deleted_at IS NULL WHERE {} \
         AND l.created_at >= $1::timestamptz - interval '24 hours' \
         GROUP BY l.user_id, u.name ORDER BY cost DESC",
        BILLING
            .replace("blocked_by", "l.blocked_by")
            .replace("is_replay", "l.is_replay")
            .replace("endpoint", "l.endpoint")
    );
    time_sql(c, "CCH SQL: rolling-24h leaderboard", &board, &[&now]).await;
    let per_key = format!(
        "SELECT coalesce(sum(cost_usd), 0) FROM usage_ledger \
         WHERE key = $1 AND {BILLING} AND created_at >= $2 AND created_at <= $3"
    );
    let busiest = &hub.keys[0].key;
    let month = now - Duration::days(DAYS + 1);
    let day = now - Duration::days(1);
    let name = "CCH SQL: one key's total (busiest key, all its rows)";
    time_sql(c, name, &per_key, &[busiest, &month, &now]).await;
    let name = "CCH SQL: one key's rolling day (busiest key)";
    time_sql(c, name, &per_key, &[busiest, &day, &now]).await;
    let stmt = &c.prepare(&per_key).await.unwrap();
    let keys = &hub.limited_keys;
    let ms = time_runs(move || async move {
        for k in keys {
            c.query_one(stmt, &[k, &day, &now]).await.unwrap();
        }
    })
    .await;
    let name = format!(
        "CCH SQL: rolling-day sum of each of the {} limited keys, one query each",
        hub.limited_keys.len()
    );
    print_times(&name, ms, None);
}

/// With RELAYWATCH_BENCH_EXPLAIN=1: PostgreSQL's auto_explain logs the plan of every statement
/// over 20 ms in one snapshot and one quota dry run; prints those plans from the server's log.
pub(crate) async fn explain_relaywatch(
    pg: &PgServer,
    c: &Client,
    s: &Settings,
    now: DateTime<Utc>,
) {
    if std::env::var("RELAYWATCH_BENCH_EXPLAIN").ok().as_deref() != Some("1") {
        return;
    }
    // One statement each: ALTER SYSTEM refuses to run in a (multi-statement) transaction; the
    // LOAD makes auto_explain's parameters known to this session.
    for sql in [
        "LOAD 'auto_explain'",
        "ALTER SYSTEM SET session_preload_libraries = 'auto_explain'",
        "ALTER SYSTEM SET auto_explain.log_min_duration = '20ms'",
        "ALTER SYSTEM SET auto_explain.log_analyze = on",
        "ALTER SYSTEM SET auto_explain.log_buffers = on",
        "SELECT pg_reload_conf()",
    ] {
        c.batch_execute(sql).await.unwrap();
    }
    let log = pg.dir().join("log");
    let from = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0) as usize;
    take_snapshot(s, &Pricing::bundled(), request(now))
        .await
        .unwrap();
    dry_runs::quota(s, now).await.unwrap();
    let text = std::fs::read(&log).unwrap_or_default();
    println!("--- auto_explain: relaywatch statements over 20 ms ---");
    println!("{}", String::from_utf8_lossy(&text[from.min(text.len())..]));
}

//! Seeds a Claude Code Hub into a running PostgreSQL (and its breakers into a Redis) for the web
//! UI tests; rule: it starts no server, writes only through the testkit's CCH writers
//! (`create_cch_schema`, `seed_demo_hub`, `write_breaker`) and prints one JSON line of what it
//! wrote.
//!
//! `cargo run -p relaywatch-testkit --example seed_cch_ui -- DATABASE_URL [REDIS_URL]`
//!
//! The database must be empty (CCH's tables are created in it). With `REDIS_URL`, three breaker
//! hashes are written as CCH writes them: the first provider `open` (5 failures, open for
//! 30 more minutes), the second `open` past its `circuitOpenUntil` (CCH reads it `half-open`),
//! the deleted provider `open` (it must not be shown); the third has none (closed).

use chrono::{Duration, Utc};
use relaywatch_testkit::cch::{create_cch_schema, seed_demo_hub, write_breaker, SeedKey};
use relaywatch_testkit::pg::connect;
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .expect("usage: seed_cch_ui DATABASE_URL [REDIS_URL]");
    let client = connect(url).await;
    create_cch_schema(&client)
        .await
        .unwrap_or_else(|e| panic!("cannot create CCH's tables: {e}"));
    let now = Utc::now();
    let seed = seed_demo_hub(&client, now)
        .await
        .unwrap_or_else(|e| panic!("cannot seed the demo hub: {e}"));
    if let Some(redis_url) = args.get(1) {
        let mut con = redis::Client::open(redis_url.as_str())
            .and_then(|c| c.get_connection())
            .unwrap_or_else(|e| panic!("cannot connect to {redis_url}: {e}"));
        let ms = |d: Duration| Some((now + d).timestamp_millis());
        let p = |i: usize| seed.providers[i].0;
        let breakers = [
            (
                p(0),
                5,
                ms(Duration::minutes(30)),
                ms(-Duration::minutes(1)),
            ),
            (
                p(1),
                4,
                ms(-Duration::minutes(2)),
                ms(-Duration::minutes(40)),
            ),
            (
                seed.deleted_provider,
                9,
                ms(Duration::minutes(30)),
                ms(-Duration::minutes(1)),
            ),
        ];
        for (id, failures, until, last) in breakers {
            write_breaker(&mut con, id, "open", failures, until, last)
                .unwrap_or_else(|e| panic!("cannot write breaker {id}: {e}"));
        }
    }
    let key = |k: &SeedKey| json!({"id": k.id.to_string(), "name": k.name});
    let named = |rows: &[(i32, String)]| {
        rows.iter()
            .map(|(id, name)| json!({"id": id.to_string(), "name": name}))
            .collect::<Vec<_>>()
    };
    let line = json!({
        "now": now.to_rfc3339(),
        "timezone": seed.timezone,
        "users": named(&seed.users),
        "providers": named(&seed.providers),
        "deleted_provider": seed.deleted_provider.to_string(),
        "deleted_user": seed.deleted_user.to_string(),
        "key_daily_80": key(&seed.key_daily_80),
        "key_daily_over": key(&seed.key_daily_over),
        "requests": seed.counts.requests,
    });
    println!("{line}");
}

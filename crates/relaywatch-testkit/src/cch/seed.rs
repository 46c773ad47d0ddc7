//! A small, realistic Claude Code Hub for tests ([`seed_demo_hub`]); rule: deterministic for a given `now` (a fixed-seed generator, no clock reads), written only through this module's writers (requests through `message_request` and CCH's trigger), and every figure a test may assert is returned in [`CchSeed`] or stated in these docs.
//!
//! The hub, in zone `Asia/Shanghai` (UTC+8 all year), billing model source `original`:
//! * users: `alice` (daily 100 fixed, 5 h 20, weekly 300), `bob`, `carol` (total 500),
//!   `dave` (disabled; requests until 3 days ago), `erin` (soft-deleted a day ago, with spend
//!   before), `张伟` (tags, weekly 150, monthly 500, expires in 30 days);
//! * providers: `Claude官方-A` (claude), `Claude中转-B` (claude-auth; daily 200, weekly 1000,
//!   multiplier 1.2), `Codex-C` (codex; monthly 500, total 2000 since a reset 7 days ago),
//!   `旧Gemini-D` (gemini, soft-deleted 5 days ago; used only before);
//! * keys: see [`CchSeed`]'s fields; the three limit keys get only the requests listed there;
//! * ~2,000 requests over the last 10 days on the other keys: about 6 % errors (some after a
//!   failover), 3 % warm-ups, 2 % replays (cost 0), 4 % `count_tokens`/`compact` calls (some
//!   with a trailing slash), 1 % blocked by `sensitive_word`, 10 % served after a failover;
//!   a tenth of the Sonnet calls were redirected from Opus (`original_model` set), 1 % of the
//!   calls have a NULL endpoint, and 3 % of all were soft-deleted a day after they ran (or at
//!   `now`). Deleted, disabled and expired keys and users send nothing after that happened.

use chrono::{DateTime, Duration, Utc};
use tokio_postgres::Client;

use super::requests::{insert_requests, CchRequest};
use super::{
    insert_keys, insert_providers, insert_users, set_settings, CchKey, CchLimits, CchProvider,
    CchSettings, CchUser, ResetMode,
};

/// The zone [`seed_demo_hub`] sets (a fixed UTC+8 offset).
pub const SEED_TIMEZONE: &str = "Asia/Shanghai";
const SEED_TZ_OFFSET_HOURS: i64 = 8;
/// Requests in the random stream.
const STREAM_REQUESTS: usize = 1980;

/// A seeded key: its row id, owner, name and key string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedKey {
    pub id: i32,
    pub user_id: i32,
    pub name: String,
    pub key: String,
}

/// Request counts by kind, over all seeded requests (soft-deleted ones included).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedCounts {
    /// Rows in `message_request`.
    pub requests: usize,
    /// Rows CCH's trigger leaves in `usage_ledger` (all but warm-ups and non-billing endpoints).
    pub ledger_rows: usize,
    /// Ledger rows inside CCH's billing condition.
    pub billable: usize,
    /// Ledger rows with `is_success = false` (errors and blocked requests).
    pub failed: usize,
    pub warmups: usize,
    pub replays: usize,
    /// `count_tokens` and `compact` calls.
    pub non_billing_endpoint: usize,
    /// `blocked_by` other than `warmup`.
    pub blocked: usize,
    pub soft_deleted: usize,
    /// Requests whose chain has more than one provider.
    pub failovers: usize,
    pub null_endpoint: usize,
}

/// What [`seed_demo_hub`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CchSeed {
    pub now: DateTime<Utc>,
    /// `system_settings.timezone`: [`SEED_TIMEZONE`].
    pub timezone: String,
    /// `(id, name)` in insertion order: alice, bob, carol, dave, erin, 张伟.
    pub users: Vec<(i32, String)>,
    /// `(id, name)`: Claude官方-A, Claude中转-B, Codex-C, 旧Gemini-D.
    pub providers: Vec<(i32, String)>,
    /// All ten keys in insertion order.
    pub keys: Vec<SeedKey>,
    pub disabled_user: i32,
    /// Soft-deleted, with spend in the ledger.
    pub deleted_user: i32,
    pub deleted_provider: i32,
    /// `bob-main`: daily limit 50.00, `fixed` at the local minute 3 h before `now`; spent
    /// exactly 40.00 (80 %) since (8 × 5.00 between 2 h and 50 min ago) and 10.00 before
    /// (26 h and 27 h ago). No other limit.
    pub key_daily_80: SeedKey,
    /// `bob-batch`: daily limit 20.00, `rolling`; spent 23.50 (117.5 %) in the last 24 h
    /// (5 × 4.70, 6 h to 2 h ago) and 6.00 before (2 × 3.00, 30 h ago).
    pub key_daily_over: SeedKey,
    /// `carol-main`: total limit 100.00, `cost_reset_at` 3 days ago; spent 80.00 before the
    /// reset (4 × 20.00, 5 days ago) and 30.00 after (3 × 10.00, 2 days ago).
    pub key_cost_reset: SeedKey,
    /// `carol-old`: soft-deleted 2 days ago, spend before.
    pub deleted_key: SeedKey,
    /// `zhangwei-old`: expired 4 days ago, spend before.
    pub expired_key: SeedKey,
    /// Every request's id, in insertion order (the limit keys' requests first).
    pub request_ids: Vec<i32>,
    pub counts: SeedCounts,
    /// Σ `cost_usd` over the ledger's billable rows, in micro-USD (all costs have ≤ 6 decimals).
    pub billed_cost_micros: i64,
}

/// Writes the demo hub described in the module docs into a database holding
/// [`super::CCH_DDL`]'s empty tables, with all times relative to `now`.
pub async fn seed_demo_hub(
    client: &Client,
    now: DateTime<Utc>,
) -> Result<CchSeed, tokio_postgres::Error> {
    set_settings(
        client,
        &CchSettings {
            timezone: Some(SEED_TIMEZONE.to_string()),
            ..CchSettings::default()
        },
    )
    .await?;
    let user_ids = insert_users(client, &seed_users(now)).await?;
    let providers = seed_providers(now);
    let provider_ids = insert_providers(client, &providers).await?;
    let key_specs = seed_keys(&user_ids, now);
    let key_ids = insert_keys(client, &key_specs).await?;
    let keys: Vec<SeedKey> = key_specs
        .iter()
        .zip(&key_ids)
        .map(|(k, id)| SeedKey {
            id: *id,
            user_id: k.user_id,
            name: k.name.clone(),
            key: k.key.clone(),
        })
        .collect();
    let mut requests = limit_key_requests(&keys, provider_ids[0], now);
    requests.extend(stream_requests(&keys, &provider_ids, now));
    let request_ids = insert_requests(client, &requests).await?;
    let (counts, billed_cost_micros) = tally(&requests);
    let names = ["alice", "bob", "carol", "dave", "erin", "张伟"];
    Ok(CchSeed {
        now,
        timezone: SEED_TIMEZONE.to_string(),
        users: user_ids
            .iter()
            .copied()
            .zip(names.map(String::from))
            .collect(),
        providers: provider_ids
            .iter()
            .copied()
            .zip(providers.iter().map(|p| p.name.clone()))
            .collect(),
        disabled_user: user_ids[3],
        deleted_user: user_ids[4],
        deleted_provider: provider_ids[3],
        key_daily_80: keys[2].clone(),
        key_daily_over: keys[3].clone(),
        key_cost_reset: keys[4].clone(),
        deleted_key: keys[5].clone(),
        expired_key: keys[9].clone(),
        keys,
        request_ids,
        counts,
        billed_cost_micros,
    })
}

fn seed_users(now: DateTime<Utc>) -> Vec<CchUser> {
    let alice = CchUser {
        limits: CchLimits {
            daily_usd: Some(100.0),
            limit_5h_usd: Some(20.0),
            weekly_usd: Some(300.0),
            ..CchLimits::default()
        },
        ..CchUser::new("alice")
    };
    let carol = CchUser {
        limits: CchLimits {
            total_usd: Some(500.0),
            ..CchLimits::default()
        },
        ..CchUser::new("carol")
    };
    let zhang = CchUser {
        tags: vec!["vip".to_string(), "中文团队".to_string()],
        expires_at: Some(now + Duration::days(30)),
        limits: CchLimits {
            weekly_usd: Some(150.0),
            monthly_usd: Some(500.0),
            ..CchLimits::default()
        },
        ..CchUser::new("张伟")
    };
    vec![
        alice,
        CchUser::new("bob"),
        carol,
        CchUser {
            is_enabled: false,
            ..CchUser::new("dave")
        },
        CchUser {
            deleted_at: Some(now - Duration::days(1)),
            ..CchUser::new("erin")
        },
        zhang,
    ]
}

fn seed_providers(now: DateTime<Utc>) -> Vec<CchProvider> {
    vec![
        CchProvider::new("Claude官方-A", "claude"),
        CchProvider {
            cost_multiplier: 1.2,
            limits: CchLimits {
                daily_usd: Some(200.0),
                weekly_usd: Some(1000.0),
                ..CchLimits::default()
            },
            ..CchProvider::new("Claude中转-B", "claude-auth")
        },
        CchProvider {
            limits: CchLimits {
                monthly_usd: Some(500.0),
                total_usd: Some(2000.0),
                ..CchLimits::default()
            },
            total_cost_reset_at: Some(now - Duration::days(7)),
            circuit_breaker_failure_threshold: 3,
            ..CchProvider::new("Codex-C", "codex")
        },
        CchProvider {
            is_enabled: false,
            deleted_at: Some(now - Duration::days(5)),
            ..CchProvider::new("旧Gemini-D", "gemini")
        },
    ]
}

/// `HH:mm` of `at` in the seed's zone.
fn local_hh_mm(at: DateTime<Utc>) -> String {
    (at + Duration::hours(SEED_TZ_OFFSET_HOURS))
        .format("%H:%M")
        .to_string()
}

/// `CchLimits::default()` changed by `f`.
fn limits(f: impl FnOnce(&mut CchLimits)) -> CchLimits {
    let mut l = CchLimits::default();
    f(&mut l);
    l
}

/// Key `sk-cch-{secret}` of `user`.
fn key(user: i32, secret: &str, name: &str, limits: CchLimits) -> CchKey {
    CchKey {
        limits,
        ..CchKey::new(user, &format!("sk-cch-{secret}"), name)
    }
}

/// The ten keys: alice's and bob's, then [`other_keys`].
fn seed_keys(users: &[i32], now: DateTime<Utc>) -> Vec<CchKey> {
    let (alice, bob) = (users[0], users[1]);
    let mut keys = vec![
        key(
            alice,
            "a11ce0main",
            "alice-main",
            limits(|l| {
                l.limit_5h_usd = Some(10.0);
                l.weekly_usd = Some(200.0);
                l.monthly_usd = Some(600.0);
            }),
        ),
        key(
            alice,
            "a11ce00ci",
            "alice-ci",
            limits(|l| {
                l.limit_5h_usd = Some(5.0);
                l.limit_5h_reset_mode = ResetMode::Fixed;
                l.total_usd = Some(1000.0);
            }),
        ),
        key(
            bob,
            "b0b0main",
            "bob-main",
            limits(|l| {
                l.daily_usd = Some(50.0);
                l.daily_reset_time = local_hh_mm(now - Duration::hours(3));
            }),
        ),
        key(
            bob,
            "b0b0batch",
            "bob-batch",
            limits(|l| {
                l.daily_usd = Some(20.0);
                l.daily_reset_mode = ResetMode::Rolling;
            }),
        ),
    ];
    keys.extend(other_keys(users, now));
    keys
}

/// Keys 5–10: carol's (one with a cost reset, one deleted), dave's, erin's, 张伟's (one expired).
fn other_keys(users: &[i32], now: DateTime<Utc>) -> Vec<CchKey> {
    let (carol, dave, erin, zhang) = (users[2], users[3], users[4], users[5]);
    let none = CchLimits::default;
    vec![
        CchKey {
            cost_reset_at: Some(now - Duration::days(3)),
            ..key(
                carol,
                "ca401main",
                "carol-main",
                limits(|l| l.total_usd = Some(100.0)),
            )
        },
        CchKey {
            deleted_at: Some(now - Duration::days(2)),
            ..key(carol, "ca401old", "carol-old", none())
        },
        key(
            dave,
            "da7e",
            "dave-main",
            limits(|l| l.weekly_usd = Some(100.0)),
        ),
        key(
            erin,
            "e414",
            "erin-main",
            limits(|l| l.monthly_usd = Some(300.0)),
        ),
        key(
            zhang,
            "2ha4gwei",
            "zhangwei-main",
            limits(|l| {
                l.daily_usd = Some(30.0);
                l.daily_reset_time = "18:00".to_string();
            }),
        ),
        CchKey {
            expires_at: Some(now - Duration::days(4)),
            ..key(zhang, "2ha4gweiold", "zhangwei-old", none())
        },
    ]
}

/// `micros` micro-USD as a decimal literal.
fn usd_micros(micros: i64) -> String {
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// The exact requests of `bob-main`, `bob-batch` and `carol-main` ([`CchSeed`]'s docs).
fn limit_key_requests(keys: &[SeedKey], provider: i32, now: DateTime<Utc>) -> Vec<CchRequest> {
    let one = |k: &SeedKey, at: DateTime<Utc>, micros: i64| {
        CchRequest::ok(at, k.user_id, &k.key, &usd_micros(micros)).with_provider(provider)
    };
    let mut out = Vec::new();
    let (bob_main, bob_batch, carol) = (&keys[2], &keys[3], &keys[4]);
    for i in 0..8 {
        out.push(one(
            bob_main,
            now - Duration::minutes(120 - 10 * i),
            5_000_000,
        ));
    }
    out.push(one(bob_main, now - Duration::hours(26), 5_000_000));
    out.push(one(bob_main, now - Duration::hours(27), 5_000_000));
    for i in 0..5 {
        out.push(one(bob_batch, now - Duration::hours(6 - i), 4_700_000));
    }
    for m in [0, 5] {
        out.push(one(
            bob_batch,
            now - Duration::hours(30) - Duration::minutes(m),
            3_000_000,
        ));
    }
    for i in 0..4 {
        out.push(one(
            carol,
            now - Duration::days(5) + Duration::hours(i),
            20_000_000,
        ));
    }
    for i in 0..3 {
        out.push(one(
            carol,
            now - Duration::days(2) + Duration::hours(i),
            10_000_000,
        ));
    }
    out
}

/// A xorshift64* generator: the same stream for every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo) as u64) as i64
    }
}

/// The keys the random stream uses, each with the time after which it sends nothing.
fn stream_keys(keys: &[SeedKey], now: DateTime<Utc>) -> Vec<(SeedKey, DateTime<Utc>)> {
    [
        (0, now),
        (1, now),
        (5, now - Duration::days(2)),
        (6, now - Duration::days(3)),
        (7, now - Duration::days(1)),
        (8, now),
        (9, now - Duration::days(4)),
    ]
    .into_iter()
    .map(|(i, until)| (keys[i].clone(), until))
    .collect()
}

/// The ~2,000 requests of the random stream (module docs), oldest first.
fn stream_requests(keys: &[SeedKey], providers: &[i32], now: DateTime<Utc>) -> Vec<CchRequest> {
    let mut rng = Rng(0x5EED_C0DE_2025_0001);
    let senders = stream_keys(keys, now);
    let span_ms = Duration::days(10).num_milliseconds() - 60_000;
    let start = now - Duration::days(10);
    (0..STREAM_REQUESTS)
        .map(|i| {
            let offset = span_ms * i as i64 / STREAM_REQUESTS as i64 + rng.range(0, 60_000);
            let at = start + Duration::milliseconds(offset.min(span_ms));
            let (key, until) = &senders[rng.range(0, senders.len() as i64) as usize];
            let key = if at < *until { key } else { &senders[0].0 };
            // The deleted provider served only before its deletion.
            let live = if at < now - Duration::days(5) { 4 } else { 3 };
            let slot = rng.range(0, live) as usize;
            let pick = Pick {
                slot,
                id: providers[slot],
                other: providers[(slot + 1) % live as usize],
            };
            let mut r = stream_request(&mut rng, at, key, &pick);
            if rng.range(0, 100) < 3 {
                r.deleted_at = Some((at + Duration::days(1)).min(now));
            }
            r
        })
        .collect()
}

/// The provider serving a stream request: its slot (0–3 = A–D), id, and the one tried before it
/// on a failover.
struct Pick {
    slot: usize,
    id: i32,
    other: i32,
}

/// One random request of `key` at `at`, chosen by kind (module docs).
fn stream_request(rng: &mut Rng, at: DateTime<Utc>, key: &SeedKey, pick: &Pick) -> CchRequest {
    let (provider, other) = (pick.id, pick.other);
    let kind = rng.range(0, 100);
    let (user, k) = (key.user_id, key.key.as_str());
    match kind {
        0..=5 => {
            let (status, message) = [
                (502, "upstream 502: Bad Gateway"),
                (500, "Internal server error"),
                (429, "rate_limit_error: too many requests"),
                (400, "invalid_request_error: prompt is too long"),
                (524, "upstream timeout (524)"),
                (401, "authentication_error: invalid x-api-key"),
            ][rng.range(0, 6) as usize];
            let chain = if kind % 2 == 0 {
                vec![provider]
            } else {
                vec![other, provider]
            };
            CchRequest::error(at, user, k, status, message).with_chain(&chain)
        }
        6..=8 => CchRequest::warmup(at, user, k),
        9..=10 => CchRequest {
            is_replay: true,
            cost_usd: Some("0".to_string()),
            duration_ms: Some(40),
            ..billed(rng, at, key, pick)
        },
        11..=14 => CchRequest {
            endpoint: Some(
                [
                    "/v1/messages/count_tokens",
                    "/v1/messages/count_tokens/",
                    "/v1/responses/compact",
                ][rng.range(0, 3) as usize]
                    .to_string(),
            ),
            cost_usd: Some("0".to_string()),
            output_tokens: Some(0),
            duration_ms: Some(120),
            ..billed(rng, at, key, pick)
        },
        15 => CchRequest {
            provider_id: 0,
            provider_chain: None,
            blocked_by: Some("sensitive_word".to_string()),
            ..CchRequest::error(at, user, k, 400, "请求包含敏感词，已被拦截")
        },
        16..=25 => billed(rng, at, key, pick).with_chain(&[other, provider]),
        _ => billed(rng, at, key, pick),
    }
}

/// A successful, billed request with a model and cost fitting the provider's type, some
/// redirected, 1 % without an endpoint.
fn billed(rng: &mut Rng, at: DateTime<Utc>, key: &SeedKey, pick: &Pick) -> CchRequest {
    let slot = rng.range(0, 3);
    let (model, lo, hi) = match pick.slot {
        2 => ("gpt-5-codex", 3_000, 100_000),
        3 => ("gemini-2.5-pro", 2_000, 80_000),
        _ => [
            ("claude-sonnet-4-5-20250929", 5_000, 150_000),
            ("claude-opus-4-1-20250805", 20_000, 400_000),
            ("claude-haiku-4-5-20251001", 1_000, 30_000),
        ][slot as usize],
    };
    let cache_5m = rng.range(0, 3_000);
    let cache_1h = if slot == 1 { rng.range(0, 1_000) } else { 0 };
    let redirected = model == "claude-sonnet-4-5-20250929" && rng.range(0, 10) == 0;
    CchRequest {
        model: model.to_string(),
        original_model: redirected.then(|| "claude-opus-4-1-20250805".to_string()),
        endpoint: (rng.range(0, 100) != 0).then(|| {
            if model == "gpt-5-codex" {
                "/v1/responses"
            } else {
                "/v1/messages"
            }
            .to_string()
        }),
        input_tokens: Some(rng.range(200, 20_000)),
        output_tokens: Some(rng.range(50, 4_000)),
        cache_creation_input_tokens: Some(cache_5m + cache_1h),
        cache_creation_5m_input_tokens: Some(cache_5m),
        cache_creation_1h_input_tokens: Some(cache_1h),
        cache_read_input_tokens: Some(rng.range(0, 50_000)),
        duration_ms: Some(rng.range(800, 60_000) as i32),
        ..CchRequest::ok(at, key.user_id, &key.key, &usd_micros(rng.range(lo, hi)))
            .with_provider(pick.id)
    }
}

/// The request's cost in micro-USD (the seed writes ≤ 6 decimals).
fn cost_micros(r: &CchRequest) -> i64 {
    let Some(cost) = r.cost_usd.as_deref() else {
        return 0;
    };
    let (whole, frac) = cost.split_once('.').unwrap_or((cost, ""));
    let frac = format!("{frac:0<6}");
    whole.parse::<i64>().unwrap_or(0) * 1_000_000 + frac[..6].parse::<i64>().unwrap_or(0)
}

/// Counts by kind and the billed total, following CCH's trigger and billing condition.
fn tally(requests: &[CchRequest]) -> (SeedCounts, i64) {
    let mut c = SeedCounts {
        requests: requests.len(),
        ..SeedCounts::default()
    };
    let mut billed = 0;
    for r in requests {
        let endpoint = r.endpoint.as_deref().unwrap_or("").trim_end_matches('/');
        let non_billing = matches!(
            endpoint,
            "/v1/messages/count_tokens" | "/v1/responses/compact"
        );
        let warmup = r.blocked_by.as_deref() == Some("warmup");
        c.warmups += usize::from(warmup);
        c.non_billing_endpoint += usize::from(non_billing);
        c.replays += usize::from(r.is_replay);
        c.blocked += usize::from(r.blocked_by.is_some() && !warmup);
        c.soft_deleted += usize::from(r.deleted_at.is_some());
        c.failovers += usize::from(r.provider_chain.as_ref().is_some_and(|ch| ch.len() > 1));
        c.null_endpoint += usize::from(r.endpoint.is_none());
        if warmup || non_billing {
            continue;
        }
        c.ledger_rows += 1;
        let success = r.error_message.as_deref().unwrap_or("").is_empty()
            && !matches!(r.status_code, Some(s) if s >= 400);
        c.failed += usize::from(!success);
        if r.blocked_by.is_none() && !r.is_replay {
            c.billable += 1;
            billed += cost_micros(r);
        }
    }
    (c, billed)
}

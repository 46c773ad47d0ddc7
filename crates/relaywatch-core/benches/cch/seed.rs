//! The benchmark's hub: users, keys, providers and the ledger rows, written with one binary
//! COPY carrying what CCH's trigger would write.

use super::*;

/// A small deterministic generator (xorshift64*).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A USD amount in micro-dollars, sent as PostgreSQL's binary `numeric` (scale 6).
#[derive(Debug)]
pub(crate) struct Usd(pub(crate) i64);

impl ToSql for Usd {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut tokio_postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let m = self.0.unsigned_abs();
        let (mut int, frac) = (m / 1_000_000, m % 1_000_000 * 100);
        let mut digits = Vec::new();
        while int > 0 {
            digits.insert(0, (int % 10_000) as i16);
            int /= 10_000;
        }
        let weight = digits.len() as i16 - 1;
        digits.extend([(frac / 10_000) as i16, (frac % 10_000) as i16]);
        let sign: u16 = if self.0 < 0 { 0x4000 } else { 0 };
        let head = [digits.len() as i16, weight, sign as i16, 6];
        for v in head.iter().chain(&digits) {
            out.extend_from_slice(&v.to_be_bytes());
        }
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }

    to_sql_checked!();
}

/// A key as the ledger knows it: owner and key string.
pub(crate) struct SeedKey {
    pub(crate) user_id: i32,
    pub(crate) key: String,
}

/// What the seeding wrote that the ledger rows refer to.
pub(crate) struct Hub {
    pub(crate) keys: Vec<SeedKey>,
    pub(crate) providers: Vec<i32>,
    pub(crate) limited_keys: Vec<String>,
}

pub(crate) fn usd_limits(j: usize) -> CchLimits {
    let on = |set: &[usize], v: f64| set.contains(&j).then_some(v);
    CchLimits {
        limit_5h_usd: on(&[0, 4], 1.5),
        limit_5h_reset_mode: if j == 4 {
            ResetMode::Fixed
        } else {
            ResetMode::Rolling
        },
        daily_usd: on(&[1, 2, 5, 6], 4.0),
        daily_reset_mode: if j == 2 || j == 6 {
            ResetMode::Rolling
        } else {
            ResetMode::Fixed
        },
        daily_reset_time: if j == 5 { "08:30" } else { "00:00" }.to_string(),
        weekly_usd: on(&[3, 4, 7], 25.0),
        monthly_usd: on(&[0, 5, 7], 80.0),
        total_usd: on(&[2, 3, 6], 120.0),
    }
}

pub(crate) fn users(now: DateTime<Utc>) -> Vec<CchUser> {
    (0..USERS)
        .map(|i| {
            let mut u = CchUser::new(&format!("user-{i:03}"));
            if i % 50 == 49 {
                u.deleted_at = Some(now - Duration::days(2));
            }
            if i % 10 == 0 {
                u.limits.daily_usd = Some(40.0);
                u.limits.weekly_usd = Some(200.0);
            }
            u
        })
        .collect()
}

pub(crate) fn providers() -> Vec<CchProvider> {
    let kinds = ["claude", "claude-auth", "codex", "gemini"];
    (0..PROVIDERS)
        .map(|i| {
            let mut p = CchProvider::new(&format!("provider-{i}"), kinds[i % kinds.len()]);
            if i == 1 {
                p.limits.daily_usd = Some(1_500.0);
            }
            if i == 2 {
                p.limits.total_usd = Some(100_000.0);
            }
            p
        })
        .collect()
}

/// Users, providers and keys (every other key with limits; a few disabled or deleted).
pub(crate) async fn seed_hub(c: &Client, now: DateTime<Utc>) -> Hub {
    set_settings(
        c,
        &CchSettings {
            timezone: Some(ZONE.into()),
            ..CchSettings::default()
        },
    )
    .await
    .unwrap();
    let user_ids = insert_users(c, &users(now)).await.unwrap();
    let providers = insert_providers(c, &providers()).await.unwrap();
    let mut specs = Vec::with_capacity(KEYS);
    let mut limited_keys = Vec::new();
    for i in 0..KEYS {
        let user_id = user_ids[i % USERS];
        let key = format!("sk-bench-{i:05}-{:016x}", Rng(i as u64 + 7).next());
        let mut k = CchKey::new(user_id, &key, &format!("key-{i:04}"));
        if i % 2 == 0 {
            let j = (i / 2) % 8;
            k.limits = usd_limits(j);
            if j == 6 {
                k.cost_reset_at = Some(now - Duration::days(10));
            }
            limited_keys.push(key.clone());
        }
        k.is_enabled = (i + 1) % 101 != 0;
        if (i + 1) % 397 == 0 {
            k.deleted_at = Some(now - Duration::days(1));
        }
        specs.push(k);
    }
    insert_keys(c, &specs).await.unwrap();
    let keys = specs
        .into_iter()
        .map(|k| SeedKey {
            user_id: k.user_id,
            key: k.key,
        })
        .collect();
    Hub {
        keys,
        providers,
        limited_keys,
    }
}

/// One `usage_ledger` row, as CCH's trigger would have written it.
pub(crate) struct Row<'a> {
    pub(crate) user_id: i32,
    pub(crate) key: &'a str,
    pub(crate) provider_id: i32,
    pub(crate) final_provider_id: i32,
    pub(crate) model: &'static str,
    pub(crate) original_model: Option<&'static str>,
    pub(crate) endpoint: Option<&'static str>,
    pub(crate) is_replay: bool,
    pub(crate) status_code: Option<i32>,
    pub(crate) is_success: bool,
    pub(crate) blocked_by: Option<&'static str>,
    pub(crate) cost_micros: i64,
    pub(crate) tokens: [Option<i64>; 6],
    pub(crate) duration_ms: Option<i32>,
}

pub(crate) fn model_of(rng: &mut Rng, provider_index: usize) -> (&'static str, &'static str) {
    match provider_index % 4 {
        2 => ("gpt-5-codex", "/v1/responses"),
        3 => ("gemini-2.5-pro", "/v1/messages"),
        _ => match rng.below(20) {
            0..=11 => ("claude-sonnet-4-5-20250929", "/v1/messages"),
            12..=14 => ("claude-opus-4-1-20250805", "/v1/messages"),
            _ => ("claude-haiku-4-5-20251001", "/v1/messages"),
        },
    }
}

/// A successful call's tokens and cost (list prices, micro-USD).
pub(crate) fn usage(rng: &mut Rng, model: &str) -> ([Option<i64>; 6], i64) {
    let input = 50 + rng.below(8_000) as i64;
    let output = 20 + rng.below(3_000) as i64;
    let cc = if rng.below(10) < 3 {
        500 + rng.below(20_000) as i64
    } else {
        0
    };
    let cr = if rng.below(2) == 0 {
        1_000 + rng.below(100_000) as i64
    } else {
        0
    };
    let base = input * 3 + output * 15 + cc * 15 / 4 + cr * 3 / 10;
    let cost = if model.contains("opus") {
        base * 5
    } else if model.contains("haiku") {
        base / 3
    } else {
        base
    };
    (
        [
            Some(input),
            Some(output),
            Some(cc),
            Some(cr),
            Some(cc),
            Some(0),
        ],
        cost,
    )
}

/// A failed call: `status`, no cost, no tokens (`is_success` as the trigger computes it).
pub(crate) fn fail(r: &mut Row<'_>, status: i32) {
    r.status_code = Some(status);
    r.is_success = false;
    r.cost_micros = 0;
    r.tokens = [None; 6];
}

/// The `i`th ledger row: ~2.5 % errors and 0.5 % blocked (3 % `is_success = false`), 2 %
/// replays (cost 0), 1 % warm-ups marked after the fact, 5 % served after a failover, 1 % with a
/// NULL endpoint; keys drawn with a skew. Also 0.5 % `count_tokens`/`compact` calls, which
/// CCH's current trigger keeps out of the ledger: they are here (as an older ledger may hold
/// them) so the billing condition has rows to drop.
pub(crate) fn row<'a>(rng: &mut Rng, hub: &'a Hub, old: bool) -> Row<'a> {
    let k = &hub.keys[(rng.unit().powi(2) * KEYS as f64) as usize];
    let live = if old { PROVIDERS } else { PROVIDERS - 1 };
    let p = rng.below(live as u64) as usize;
    let (model, endpoint) = model_of(rng, p);
    let (tokens, cost) = usage(rng, model);
    let mut r = Row {
        user_id: k.user_id,
        key: &k.key,
        provider_id: hub.providers[p],
        final_provider_id: hub.providers[p],
        model,
        original_model: None,
        endpoint: Some(endpoint),
        is_replay: false,
        status_code: Some(200),
        is_success: true,
        blocked_by: None,
        cost_micros: cost,
        tokens,
        duration_ms: Some(300 + rng.below(60_000) as i32),
    };
    if model.starts_with("claude-sonnet") && rng.below(10) == 0 {
        r.original_model = Some("claude-opus-4-1-20250805");
    }
    if rng.below(20) == 0 {
        r.final_provider_id = hub.providers[(p + 1) % (PROVIDERS - 1)];
    }
    if rng.below(100) == 0 {
        r.endpoint = None;
    }
    match rng.below(1_000) {
        0..=24 => fail(&mut r, [500, 502, 529, 429, 401][rng.below(5) as usize]),
        25..=29 => {
            fail(&mut r, 400);
            r.blocked_by = Some("sensitive_word");
        }
        30..=49 => {
            r.is_replay = true;
            r.cost_micros = 0;
        }
        50..=59 => {
            (r.status_code, r.cost_micros, r.tokens) = (None, 0, [None; 6]);
            (r.duration_ms, r.blocked_by) = (None, Some("warmup"));
        }
        60..=64 => {
            let ends = [
                "/v1/messages/count_tokens",
                "/v1/messages/count_tokens/",
                "/v1/responses/compact",
            ];
            r.endpoint = Some(ends[rng.below(3) as usize]);
        }
        _ => {}
    }
    r
}

pub(crate) const LEDGER_COLUMNS: &str =
    "request_id, user_id, key, provider_id, final_provider_id, model, \
    original_model, endpoint, is_replay, status_code, is_success, blocked_by, cost_usd, \
    input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens, \
    cache_creation_5m_input_tokens, cache_creation_1h_input_tokens, duration_ms, created_at";

pub(crate) const LEDGER_TYPES: [Type; 21] = [
    Type::INT4,
    Type::INT4,
    Type::VARCHAR,
    Type::INT4,
    Type::INT4,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::BOOL,
    Type::INT4,
    Type::BOOL,
    Type::VARCHAR,
    Type::NUMERIC,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT4,
    Type::TIMESTAMPTZ,
];

/// `n` ledger rows over the `DAYS` days before `now`, in time order, with one binary COPY.
pub(crate) async fn copy_ledger(c: &Client, hub: &Hub, n: usize, now: DateTime<Utc>) {
    let sink = c
        .copy_in(&format!(
            "COPY usage_ledger ({LEDGER_COLUMNS}) FROM STDIN (FORMAT binary)"
        ))
        .await
        .unwrap();
    let writer = BinaryCopyInWriter::new(sink, &LEDGER_TYPES);
    let mut writer = std::pin::pin!(writer);
    let start = now - Duration::days(DAYS);
    let step = DAYS * 86_400_000_000 / n as i64;
    let mut rng = Rng(0x00c0_ffee_1234_5678);
    for i in 0..n {
        let at = start + Duration::microseconds(i as i64 * step + rng.below(step as u64) as i64);
        let r = row(&mut rng, hub, at < now - Duration::days(20));
        let (request_id, cost) = (i as i32 + 1, Usd(r.cost_micros));
        let [t0, t1, t2, t3, t4, t5] = &r.tokens;
        let values: [&(dyn ToSql + Sync); 21] = [
            &request_id,
            &r.user_id,
            &r.key,
            &r.provider_id,
            &r.final_provider_id,
            &r.model,
            &r.original_model,
            &r.endpoint,
            &r.is_replay,
            &r.status_code,
            &r.is_success,
            &r.blocked_by,
            &cost,
            t0,
            t1,
            t2,
            t3,
            t4,
            t5,
            &r.duration_ms,
            &at,
        ];
        writer.as_mut().write(&values).await.unwrap();
    }
    writer.as_mut().finish().await.unwrap();
}

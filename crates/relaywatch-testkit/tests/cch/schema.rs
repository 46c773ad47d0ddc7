//! CCH's tables: columns, types, defaults, the ledger's index and trigger, and the writers'
//! rows read back.

use super::*;

#[tokio::test]
async fn the_tables_have_cchs_columns_types_and_defaults() {
    let client = cch_db().await;
    for (table, spec) in [
        ("users", USERS),
        ("keys", KEYS),
        ("providers", PROVIDERS),
        ("system_settings", SYSTEM_SETTINGS),
        ("message_request", MESSAGE_REQUEST),
        ("usage_ledger", USAGE_LEDGER),
    ] {
        assert_eq!(columns(&client, table).await, lines(spec), "{table}");
    }
    let labels: Vec<String> = client
        .query(
            "SELECT unnest(enum_range(NULL::daily_reset_mode))::text",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(labels, ["fixed", "rolling"]);
}

#[tokio::test]
async fn the_ledger_has_cchs_unique_index_and_trigger() {
    let client = cch_db().await;
    let unique: String = client
        .query_one(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_usage_ledger_request_id'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        unique,
        "CREATE UNIQUE INDEX idx_usage_ledger_request_id ON public.usage_ledger USING btree (request_id)"
    );
    let trigger: String = client
        .query_one(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'trg_upsert_usage_ledger'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        trigger,
        "CREATE TRIGGER trg_upsert_usage_ledger AFTER INSERT OR UPDATE OF blocked_by, \
         status_code, error_message, provider_chain, endpoint, provider_id, user_id, key, model, \
         original_model, is_replay, cost_usd, input_tokens, output_tokens, \
         cache_creation_input_tokens, cache_read_input_tokens, cache_creation_5m_input_tokens, \
         cache_creation_1h_input_tokens, duration_ms, created_at ON public.message_request \
         FOR EACH ROW EXECUTE FUNCTION fn_upsert_usage_ledger()"
    );
}

#[tokio::test]
async fn users_keys_providers_and_settings_read_back() {
    let client = cch_db().await;
    let reset = at(0);
    let users = [
        CchUser {
            tags: vec!["vip".to_string(), "中文".to_string()],
            limits: CchLimits {
                daily_usd: Some(12.5),
                daily_reset_mode: ResetMode::Rolling,
                limit_5h_usd: Some(3.0),
                limit_5h_reset_mode: ResetMode::Fixed,
                ..CchLimits::default()
            },
            cost_reset_at: Some(reset),
            ..CchUser::new("张伟")
        },
        CchUser {
            is_enabled: false,
            deleted_at: Some(reset),
            ..CchUser::new("old")
        },
    ];
    assert_eq!(insert_users(&client, &users).await.unwrap(), [1, 2]);
    let u = client
        .query_one(
            "SELECT name::text, tags::text, daily_limit_usd::text, daily_reset_mode::text, \
             limit_5h_usd::text, limit_5h_reset_mode::text, daily_reset_time::text, \
             limit_weekly_usd::text, is_enabled, cost_reset_at FROM users WHERE id = 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(u.get::<_, String>(0), "张伟");
    assert_eq!(u.get::<_, String>(1), r#"["vip", "中文"]"#);
    assert_eq!(u.get::<_, String>(2), "12.50");
    assert_eq!(u.get::<_, String>(3), "rolling");
    assert_eq!(u.get::<_, String>(4), "3.00");
    assert_eq!(u.get::<_, String>(5), "fixed");
    assert_eq!(u.get::<_, String>(6), "00:00");
    assert_eq!(u.get::<_, Option<String>>(7), None);
    assert!(u.get::<_, bool>(8));
    assert_eq!(u.get::<_, DateTime<Utc>>(9), reset);
    let key = CchKey {
        limits: CchLimits {
            daily_usd: Some(50.0),
            daily_reset_time: "18:30".to_string(),
            total_usd: Some(1000.0),
            ..CchLimits::default()
        },
        expires_at: Some(reset),
        ..CchKey::new(1, "sk-secret-1", "main")
    };
    assert_eq!(insert_keys(&client, &[key]).await.unwrap(), [1]);
    let k = client
        .query_one(
            "SELECT key::text, limit_daily_usd::text, daily_reset_time::text, \
             limit_total_usd::text, is_enabled, expires_at FROM keys",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(k.get::<_, String>(0), "sk-secret-1");
    assert_eq!(k.get::<_, String>(1), "50.00");
    assert_eq!(k.get::<_, String>(2), "18:30");
    assert_eq!(k.get::<_, String>(3), "1000.00");
    assert_eq!(k.get::<_, Option<bool>>(4), Some(true));
    assert_eq!(k.get::<_, Option<DateTime<Utc>>>(5), Some(reset));
    check_provider_and_settings(&client).await;
}

pub(crate) async fn check_provider_and_settings(client: &Client) {
    let provider = CchProvider {
        cost_multiplier: 1.25,
        total_cost_reset_at: Some(at(3)),
        circuit_breaker_failure_threshold: 3,
        limits: CchLimits {
            weekly_usd: Some(99.99),
            ..CchLimits::default()
        },
        ..CchProvider::new("Claude中转-B", "claude-auth")
    };
    assert_eq!(insert_providers(client, &[provider]).await.unwrap(), [1]);
    let p = client
        .query_one(
            "SELECT name::text, provider_type::text, cost_multiplier::text, \
             limit_weekly_usd::text, circuit_breaker_failure_threshold, \
             circuit_breaker_open_duration, circuit_breaker_half_open_success_threshold, \
             total_cost_reset_at, is_enabled FROM providers",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(p.get::<_, String>(0), "Claude中转-B");
    assert_eq!(p.get::<_, String>(1), "claude-auth");
    assert_eq!(p.get::<_, String>(2), "1.2500");
    assert_eq!(p.get::<_, String>(3), "99.99");
    assert_eq!(p.get::<_, Option<i32>>(4), Some(3));
    assert_eq!(p.get::<_, Option<i32>>(5), Some(1_800_000));
    assert_eq!(p.get::<_, Option<i32>>(6), Some(2));
    assert_eq!(p.get::<_, Option<DateTime<Utc>>>(7), Some(at(3)));
    assert!(p.get::<_, bool>(8));
    set_timezone(client, Some("Asia/Shanghai")).await.unwrap();
    let shanghai = (
        Some("Asia/Shanghai".to_string()),
        "original".to_string(),
        "USD".to_string(),
    );
    assert_eq!(settings(client).await, [shanghai]);
    let redirected = CchSettings {
        timezone: Some("Europe/Berlin".to_string()),
        billing_model_source: "redirected".to_string(),
        currency_display: "CNY".to_string(),
    };
    set_settings(client, &redirected).await.unwrap();
    set_timezone(client, None).await.unwrap();
    let expected = (None, "redirected".to_string(), "CNY".to_string());
    assert_eq!(settings(client).await, [expected], "still one row");
}

pub(crate) type SettingsRow = (Option<String>, String, String);

pub(crate) async fn settings(c: &Client) -> Vec<SettingsRow> {
    c.query(
        "SELECT timezone::text, billing_model_source::text, currency_display::text \
         FROM system_settings",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect()
}

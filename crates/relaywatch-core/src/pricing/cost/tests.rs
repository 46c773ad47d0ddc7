//! Tests of the cost of one request under the pricing table.

use super::*;

fn usage(input: u64, output: u64, cache_create: u64, cache_read: u64) -> TokenCounts {
    TokenCounts {
        input,
        output,
        cache_create,
        cache_read,
        ..TokenCounts::default()
    }
}

fn table(json: &str) -> Pricing {
    Pricing::from_json_str(json).unwrap()
}

const SONNET_4: &str = "claude-sonnet-4-20250514";

#[test]
fn legacy_exact_match() {
    // claude-sonnet-4-20250514: 3 / 15 / 3.75 / 0.30 USD per Mtok.
    let c = Pricing::bundled().cost(
        &usage(1_000_000, 100_000, 200_000, 2_000_000),
        "claude-sonnet-4-20250514",
    );
    assert!(!c.used_fallback);
    assert!((c.input - 3.0).abs() < 1e-12);
    assert!((c.output - 1.5).abs() < 1e-12);
    assert!((c.cache_write - 0.75).abs() < 1e-12);
    assert!((c.cache_read - 0.6).abs() < 1e-12);
    assert!((c.total - 5.85).abs() < 1e-12);
    // Same operations as CRS: (tokens / 1e6) * (per-token price * 1e6).
    assert_eq!(c.input, (1_000_000f64 / 1e6) * (3e-6 * 1e6));
    assert_eq!(
        c.total,
        c.input + c.output + c.cache_write + c.cache_read,
        "summed left to right"
    );
}

#[test]
fn legacy_fuzzy_match() {
    // "claude_sonnet_4_5" is no key; the fuzzy step finds claude-sonnet-4-5 (3 / 15).
    let c = Pricing::bundled().cost(&usage(2_000_000, 1_000_000, 0, 0), "claude_sonnet_4_5");
    assert!(!c.used_fallback);
    assert!((c.total - 21.0).abs() < 1e-12);
}

#[test]
fn unknown_model_uses_the_static_unknown_row() {
    let c = Pricing::bundled().cost(
        &usage(1_000_000, 1_000_000, 1_000_000, 1_000_000),
        "totally-unknown-model-xyz",
    );
    assert!(c.used_fallback);
    assert_eq!(c.input, 3.0);
    assert_eq!(c.output, 15.0);
    assert_eq!(c.cache_write, 3.75);
    assert_eq!(c.cache_read, 0.3);
    assert!((c.total - 22.05).abs() < 1e-12);
}

#[test]
fn empty_price_list_uses_the_static_table() {
    let p = table("{}");
    let c = p.cost(
        &usage(1_000_000, 1_000_000, 0, 0),
        "claude-3-5-haiku-20241022",
    );
    assert!(c.used_fallback);
    assert!((c.total - 1.5).abs() < 1e-12);
    assert_eq!(static_fallback_price("unknown"), SONNET);
    assert_eq!(static_fallback_price("claude-opus-4-1-20250805"), OPUS);
}

#[test]
fn openai_cache_create_without_price_is_billed_as_input() {
    let p = table(
        r#"{"gpt-4o": {"input_cost_per_token": 2.5e-6, "output_cost_per_token": 1e-5,
                       "cache_read_input_token_cost": 1.25e-6, "litellm_provider": "openai"},
            "other": {"input_cost_per_token": 1e-6, "litellm_provider": "x"}}"#,
    );
    let c = p.cost(&usage(0, 0, 1_000_000, 0), "gpt-4o");
    assert!((c.cache_write - 2.5).abs() < 1e-12);
    // Not OpenAI and no cache price: cache creation is free.
    let c = p.cost(&usage(0, 0, 1_000_000, 0), "other");
    assert_eq!(c.cache_write, 0.0);
}

#[test]
fn ephemeral_1h_uses_the_1h_price() {
    // claude-sonnet-4-20250514: 5m write 3.75, 1h write 6 USD per Mtok.
    let u = TokenCounts {
        input: 1_000_000,
        output: 0,
        cache_create: 300_000,
        cache_read: 0,
        ephemeral_5m: 100_000,
        ephemeral_1h: 200_000,
    };
    let c = Pricing::bundled().cost(&u, "claude-sonnet-4-20250514");
    assert!(!c.used_fallback);
    assert!((c.input - 3.0).abs() < 1e-12);
    assert!((c.cache_write - (0.375 + 1.2)).abs() < 1e-12);
    // Per-token arithmetic, as pricingService does it.
    assert_eq!(c.cache_write, 100_000.0 * 3.75e-6 + 200_000.0 * 6e-6);
}

#[test]
fn ephemeral_split_bills_only_the_split_tokens() {
    // CRS bills 5m + 1h tokens and ignores the rest of cache_create once a split exists.
    let u = TokenCounts {
        cache_create: 1_000_000,
        ephemeral_5m: 100_000,
        ..TokenCounts::default()
    };
    let c = Pricing::bundled().cost(&u, "claude-sonnet-4-20250514");
    assert!((c.cache_write - 0.375).abs() < 1e-12);
}

#[test]
fn claude_without_cache_fields_uses_the_multipliers() {
    let p = table(r#"{"claude-new": {"input_cost_per_token": 4e-6}}"#);
    let u = TokenCounts {
        cache_read: 1_000_000,
        ephemeral_5m: 1_000_000,
        ephemeral_1h: 1_000_000,
        cache_create: 2_000_000,
        ..TokenCounts::default()
    };
    let c = p.cost(&u, "claude-new");
    assert!((c.cache_write - (5.0 + 8.0)).abs() < 1e-12);
    assert!((c.cache_read - 0.4).abs() < 1e-12);
}

#[test]
fn one_m_claude_model_stays_flat_above_200k() {
    // claude-opus-4-6[1m] resolves (fuzzy) to claude-opus-4-6: 5 / 25 USD per Mtok,
    // cache write 6.25, cache read 0.50.
    let p = Pricing::bundled();
    let above = p.cost(&usage(250_000, 10_000, 0, 0), "claude-opus-4-6[1m]");
    assert!(!above.used_fallback);
    assert!((above.input - 1.25).abs() < 1e-12);
    assert!((above.output - 0.25).abs() < 1e-12);
    let below = p.cost(
        &usage(150_000, 10_000, 40_000, 100_000),
        "claude-opus-4-6[1m]",
    );
    assert!((below.input - 0.75).abs() < 1e-12);
    assert!((below.output - 0.25).abs() < 1e-12);
    assert!((below.cache_write - 0.25).abs() < 1e-12);
    assert!((below.cache_read - 0.05).abs() < 1e-12);

    // Even with 200K+ fields that differ, CRS prices Claude flat.
    let p = table(
        r#"{"claude-x": {"input_cost_per_token": 3e-6, "output_cost_per_token": 1.5e-5,
             "input_cost_per_token_above_200k_tokens": 6e-6,
             "output_cost_per_token_above_200k_tokens": 2.25e-5,
             "litellm_provider": "anthropic"}}"#,
    );
    let above = p.cost(&usage(300_000, 100_000, 0, 0), "claude-x[1m]");
    assert!((above.input - 0.9).abs() < 1e-12);
    assert!((above.output - 1.5).abs() < 1e-12);
}

#[test]
fn one_m_non_claude_model_switches_tier_above_200k() {
    let p = table(
        r#"{"gemini-x": {"input_cost_per_token": 1.25e-6, "output_cost_per_token": 1e-5,
             "input_cost_per_token_above_200k_tokens": 2.5e-6,
             "output_cost_per_token_above_200k_tokens": 1.5e-5,
             "cache_read_input_token_cost": 1.25e-7,
             "cache_read_input_token_cost_above_200k_tokens": 2.5e-7,
             "litellm_provider": "vertex_ai"}}"#,
    );
    // Above: total input 150k + 60k cache read = 210k > 200k.
    let above = p.cost(&usage(150_000, 100_000, 0, 60_000), "gemini-x[1m]");
    assert!((above.input - 0.375).abs() < 1e-12);
    assert!((above.output - 1.5).abs() < 1e-12);
    assert!((above.cache_read - 0.015).abs() < 1e-12);
    // Exactly 200k is not above.
    let at = p.cost(&usage(200_000, 100_000, 0, 0), "gemini-x[1m]");
    assert!((at.input - 0.25).abs() < 1e-12);
    assert!((at.output - 1.0).abs() < 1e-12);
    // Without [1m] the legacy path never switches.
    let plain = p.cost(&usage(250_000, 0, 0, 0), "gemini-x");
    assert!((plain.input - 0.3125).abs() < 1e-12);
}

/// A newer Claude model that the bundled list does not know (no key matches it, fuzzily
/// either).
const NEW_CLAUDE: &str = "claude-opus-5-20270101";

fn split(input: u64, output: u64, five_m: u64, one_h: u64, cache_read: u64) -> TokenCounts {
    TokenCounts {
        input,
        output,
        cache_create: five_m + one_h,
        cache_read,
        ephemeral_5m: five_m,
        ephemeral_1h: one_h,
    }
}

#[test]
fn unknown_model_with_cache_split_falls_back_to_the_unknown_row() {
    let p = Pricing::bundled();
    assert!(p.get_model_pricing(NEW_CLAUDE).is_none());
    // Detailed path: pricingService has no price (hasPricing=false), so CRS takes the legacy
    // path with MODEL_PRICING.unknown = 3 / 15 / 3.75 / 0.30 USD per Mtok, and bills all
    // cache creation (5m and 1h alike) at 3.75:
    //   input        1_000_000 / 1e6 × 3     = 3
    //   output         200_000 / 1e6 × 15    = 3
    //   cache write    300_000 / 1e6 × 3.75  = 1.125 (not 0.375 + 200k × 6/1e6)
    //   cache read     500_000 / 1e6 × 0.30  = 0.15
    //   total                                  7.275
    let c = p.cost(
        &split(1_000_000, 200_000, 100_000, 200_000, 500_000),
        NEW_CLAUDE,
    );
    assert!(c.used_fallback);
    assert_eq!(c.input, 3.0);
    assert_eq!(c.output, 3.0);
    assert!((c.cache_write - 1.125).abs() < 1e-15);
    assert!((c.cache_read - 0.15).abs() < 1e-15);
    assert!((c.total - 7.275).abs() < 1e-12);
    // Same operations as CRS's legacy path: (tokens / 1e6) × per-Mtok price, summed in order.
    assert_eq!(c.cache_read, (500_000f64 / 1e6) * 0.3);
    assert_eq!(c.total, 3.0 + 3.0 + 1.125 + (500_000f64 / 1e6) * 0.3);
}

#[test]
fn crs_own_test_cases_for_the_fallback() {
    // CRS's tests/costCalculator.test.js (v1.1.314), with the bundled list in place of its
    // mock (neither model has an entry, fuzzily either).
    let p = Pricing::bundled();
    // "falls back to unknown pricing for detailed-cache requests with missing model
    // pricing": 1000×3/1e6 + 500×15/1e6 + 200×3.75/1e6 + 100×0.3/1e6
    //   = 0.003 + 0.0075 + 0.00075 + 0.00003 = 0.01128.
    let c = p.cost(&split(1_000, 500, 100, 100, 100), "kimi-k2.5");
    assert!(c.used_fallback);
    assert!((c.total - 0.01128).abs() < 1e-10);
    // "falls back instead of throwing for unknown long-context models":
    // 250_000×3/1e6 + 1000×15/1e6 = 0.75 + 0.015 = 0.765.
    let c = p.cost(&usage(250_000, 1_000, 0, 0), "mystery-model[1m]");
    assert!(c.used_fallback);
    assert!((c.total - 0.765).abs() < 1e-10);
}

#[test]
fn unknown_model_with_1h_only_split_bills_it_at_the_5m_write_price() {
    // 1h-only: 200_000 / 1e6 × 3.75 = 0.75 (the unknown row has no 1h price);
    // input 10_000 / 1e6 × 3 = 0.03; total 0.78.
    let c = Pricing::bundled().cost(&split(10_000, 0, 0, 200_000, 0), NEW_CLAUDE);
    assert!(c.used_fallback);
    assert_eq!(c.cache_write, 0.75);
    assert!((c.total - 0.78).abs() < 1e-15);
}

#[test]
fn unknown_model_without_split_costs_the_same_as_with_one() {
    // Legacy path straight away, same row, same figures: the split changes nothing here.
    let p = Pricing::bundled();
    let with = p.cost(&split(1_000, 2_000, 1_000, 2_000, 4_000), NEW_CLAUDE);
    let without = p.cost(&usage(1_000, 2_000, 3_000, 4_000), NEW_CLAUDE);
    assert_eq!(with, without);
    // 1000 × 3/1e6 + 2000 × 15/1e6 + 3000 × 3.75/1e6 + 4000 × 0.3/1e6
    //   = 0.003 + 0.03 + 0.01125 + 0.0012 = 0.04545
    assert!((with.total - 0.04545).abs() < 1e-15);
}

#[test]
fn unknown_model_in_the_static_table_uses_its_own_row() {
    // No price list at all: Claude 3.5 Haiku's static row is 0.25 / 1.25 / 0.30 / 0.03.
    // 1M input 0.25 + 1M output 1.25 + 1M cache write (400k 5m + 600k 1h) 0.30 = 1.8.
    let p = table("{}");
    let c = p.cost(
        &split(1_000_000, 1_000_000, 400_000, 600_000, 0),
        "claude-3-5-haiku-20241022",
    );
    assert!(c.used_fallback);
    assert!((c.total - 1.8).abs() < 1e-12);
    // The static table is looked up by the exact name: "[1m]" misses its row, so the
    // unknown row prices it: 250_000 / 1e6 × 3 = 0.75, 1_000 / 1e6 × 15 = 0.015.
    let c = p.cost(
        &usage(250_000, 1_000, 0, 0),
        "claude-3-5-haiku-20241022[1m]",
    );
    assert!(c.used_fallback);
    assert_eq!(c.input, 0.75);
    assert!((c.total - 0.765).abs() < 1e-15);
}

#[test]
fn unknown_long_context_model_falls_back_to_the_unknown_row() {
    // An unknown [1m] model takes the detailed path even without a split; no price, so the
    // legacy path with the unknown row, flat above 200k (no 200k+ tier, no 2× input):
    //   300_000 / 1e6 × 3 = 0.9; 10_000 / 1e6 × 15 = 0.15; 50_000 / 1e6 × 3.75 = 0.1875;
    //   total 1.2375.
    let c = Pricing::bundled().cost(
        &split(300_000, 10_000, 20_000, 30_000, 0),
        "claude-opus-5-20270101[1m]",
    );
    assert!(c.used_fallback);
    assert!((c.input - 0.9).abs() < 1e-15);
    assert!((c.cache_write - 0.1875).abs() < 1e-15);
    assert!((c.total - 1.2375).abs() < 1e-12);
}

#[test]
fn empty_model_name_is_priced_as_unknown() {
    // `model || 'unknown'`: 1M input × 3 + 100k 1h cache write × 3.75 = 3.375.
    let c = Pricing::bundled().cost(&split(1_000_000, 0, 0, 100_000, 0), "");
    assert!(c.used_fallback);
    assert!((c.total - 3.375).abs() < 1e-12);
}

#[test]
fn known_model_with_split_stays_on_the_detailed_path() {
    // claude-sonnet-4-20250514 per token: input 3e-6, output 1.5e-5, 5m write 3.75e-6,
    // 1h write 6e-6, read 3e-7:
    //   1000 × 3e-6 + 1000 × 1.5e-5 + (1000 × 3.75e-6 + 2000 × 6e-6) + 0
    //   = 0.003 + 0.015 + 0.01575 = 0.03375
    let c = Pricing::bundled().cost(&split(1_000, 1_000, 1_000, 2_000, 0), SONNET_4);
    assert!(!c.used_fallback);
    assert!((c.cache_write - 0.01575).abs() < 1e-15);
    assert!((c.total - 0.03375).abs() < 1e-15);
}

#[test]
fn non_finite_detailed_result_falls_back_to_the_legacy_path_with_the_entry() {
    // The 1h price parses to Infinity (as JSON.parse reads 1e400): 200k 1h tokens × ∞ make
    // cacheCreateCost non-finite, so CRS rejects the detailed result and prices the entry
    // on the legacy path, every cache-creation token at the 5m price:
    //   1M × 2 + 0.1M × 10 + 0.3M × 2.5 + 1M × 0.2 (USD per Mtok) = 2 + 1 + 0.75 + 0.2 = 3.95
    let p = table(
        r#"{"claude-inf": {"input_cost_per_token": 2e-6, "output_cost_per_token": 1e-5,
             "cache_creation_input_token_cost": 2.5e-6, "cache_read_input_token_cost": 2e-7,
             "cache_creation_input_token_cost_above_1hr": 1e400,
             "litellm_provider": "anthropic"}}"#,
    );
    let c = p.cost(
        &split(1_000_000, 100_000, 100_000, 200_000, 1_000_000),
        "claude-inf",
    );
    assert!(
        !c.used_fallback,
        "the entry exists; only the detailed result was rejected"
    );
    assert!((c.cache_write - 0.75).abs() < 1e-15);
    assert!((c.total - 3.95).abs() < 1e-12);
    // 5m only: 0 × ∞ is NaN in JavaScript too, so the same fallback.
    let c = p.cost(&split(0, 0, 100_000, 0, 0), "claude-inf");
    assert!((c.total - 0.25).abs() < 1e-15);
}

#[test]
fn non_number_price_fails_the_detailed_check_as_in_crs() {
    // Claude entry per token: input 3e-6, read 3e-7, 1h write 6e-6; the 5m write price
    // varies. Usage: 1M input, 100k 5m + 200k 1h write.
    let u = split(1_000_000, 0, 100_000, 200_000, 0);
    let entry = |write: &str, one_hour: &str| {
        table(&format!(
            r#"{{"claude-s": {{"input_cost_per_token": 3e-6, "output_cost_per_token": 1.5e-5,
                 "cache_read_input_token_cost": 3e-7,
                 "cache_creation_input_token_cost": {write},
                 "cache_creation_input_token_cost_above_1hr": {one_hour},
                 "litellm_provider": "anthropic"}}}}"#
        ))
    };
    // A number: detailed path, 3 + 100k × 3.75e-6 + 200k × 6e-6 = 3 + 0.375 + 1.2 = 4.575.
    let c = entry("3.75e-6", "6e-6").cost(&u, "claude-s");
    assert!((c.total - 4.575).abs() < 1e-12);
    // A string: `"3.75e-6" || 0` keeps the string, `isFiniteNumber` rejects it, and the
    // legacy path bills all 300k write tokens at ("3.75e-6" × 1e6) = 3.75 per Mtok:
    // 3 + 0.3 × 3.75 = 4.125.
    let c = entry(r#""3.75e-6""#, "6e-6").cost(&u, "claude-s");
    assert!(!c.used_fallback);
    assert!((c.total - 4.125).abs() < 1e-12);
    // An empty string is falsy: `"" || 0` is the number 0, then the Claude multiplier
    // 1.25 × 3e-6 = 3.75e-6 applies, and the detailed result stands: 4.575.
    let c = entry(r#""""#, "6e-6").cost(&u, "claude-s");
    assert!((c.total - 4.575).abs() < 1e-12);
    // The 1h price is not checked: a numeric string multiplies as a number, 4.575 again.
    let c = entry("3.75e-6", r#""6e-6""#).cost(&u, "claude-s");
    assert!((c.total - 4.575).abs() < 1e-12);
    // `true` is truthy and not a number: legacy path, where (true || 0) × 1e6 is 1e6 USD
    // per Mtok: 3 + 300_000 / 1e6 × 1e6 = 300_003.
    let c = entry("true", "6e-6").cost(&u, "claude-s");
    assert!((c.total - (3.0 + 300_000.0)).abs() < 1e-6);
}

#[test]
fn non_number_200k_price_is_kept_even_when_falsy() {
    // `x !== null && x !== undefined ? x : …` keeps "" for a non-Claude [1m] model above
    // 200k; it is not a number, so CRS takes the legacy path with the entry (read as the
    // number 0 it would have made the input free): input 300_000 / 1e6 × 1.25 = 0.375,
    // and no 200k+ output tier: 100_000 / 1e6 × 10 = 1.
    let p = table(
        r#"{"gemini-y": {"input_cost_per_token": 1.25e-6, "output_cost_per_token": 1e-5,
             "input_cost_per_token_above_200k_tokens": "",
             "output_cost_per_token_above_200k_tokens": 1.5e-5,
             "litellm_provider": "vertex_ai"}}"#,
    );
    let c = p.cost(&usage(300_000, 100_000, 0, 0), "gemini-y[1m]");
    assert!((c.input - 0.375).abs() < 1e-15);
    assert!(
        (c.output - 1.0).abs() < 1e-15,
        "legacy path: no 200k+ output tier"
    );
    // The same entry with a number there takes the 200k+ output tier: 100k × 1.5e-5 = 1.5.
    let p = table(
        r#"{"gemini-y": {"input_cost_per_token": 1.25e-6, "output_cost_per_token": 1e-5,
             "input_cost_per_token_above_200k_tokens": 0,
             "output_cost_per_token_above_200k_tokens": 1.5e-5,
             "litellm_provider": "vertex_ai"}}"#,
    );
    let c = p.cost(&usage(300_000, 100_000, 0, 0), "gemini-y[1m]");
    assert_eq!(c.input, 0.0, "a numeric 0 is kept: 200k+ input is free");
    assert!((c.output - 1.5).abs() < 1e-15);
}

#[test]
fn openai_write_price_string_zero_is_truthy() {
    // `!pricingData.cache_creation_input_token_cost` is false for "0", so CRS does not bill
    // cache creation as input: ("0" || 0) × 1e6 = 0.
    let p = table(
        r#"{"gpt-z": {"input_cost_per_token": 1e-6, "cache_creation_input_token_cost": "0",
             "litellm_provider": "openai"}}"#,
    );
    assert_eq!(p.cost(&usage(0, 0, 1_000_000, 0), "gpt-z").cache_write, 0.0);
    // A repeated field keeps its last value and kind: a number 0 is falsy, so input price.
    let p = table(
        r#"{"gpt-z": {"input_cost_per_token": 1e-6, "cache_creation_input_token_cost": "0",
             "cache_creation_input_token_cost": 0, "litellm_provider": "openai"}}"#,
    );
    assert_eq!(p.cost(&usage(0, 0, 1_000_000, 0), "gpt-z").cache_write, 1.0);
}

#[test]
fn long_context_suffix_is_stripped_case_insensitively() {
    assert_eq!(strip_long_context_suffix(" gpt-x[1M] "), "gpt-x");
    assert_eq!(strip_long_context_suffix("a[1m]b[1m]"), "ab");
    assert_eq!(strip_long_context_suffix("a"), "a");
}

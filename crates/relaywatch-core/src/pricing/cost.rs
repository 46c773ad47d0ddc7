//! CRS's `CostCalculator.calculateCost` and, for its detailed path, `pricingService.calculateCost`.
//! Rule kept: the same branches, the detailed path's fall back to the legacy path included, and
//! the same float operations in the same order (per-Mtok price times tokens/1e6 on the legacy
//! path, per-token price times tokens on the detailed path), so a total equals CRS's to the last
//! bit, not just to the cent.

use super::table::{or_zero, JsPrice, ModelPrice, PriceField, Pricing};
use super::{CostBreakdown, TokenCounts};

/// A row of CRS's static fallback table (`MODEL_PRICING` in `costCalculator.js`), USD per Mtok.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StaticPrice {
    /// Input price.
    pub input: f64,
    /// Output price.
    pub output: f64,
    /// Cache-write price.
    pub cache_write: f64,
    /// Cache-read price.
    pub cache_read: f64,
}

const fn sp(input: f64, output: f64, cache_write: f64, cache_read: f64) -> StaticPrice {
    StaticPrice {
        input,
        output,
        cache_write,
        cache_read,
    }
}

const SONNET: StaticPrice = sp(3.0, 15.0, 3.75, 0.3);
const HAIKU: StaticPrice = sp(0.25, 1.25, 0.3, 0.03);
const OPUS: StaticPrice = sp(15.0, 75.0, 18.75, 1.5);

/// CRS's static table, used only when the price list has no entry for the model.
const STATIC_TABLE: [(&str, StaticPrice); 8] = [
    ("claude-3-5-sonnet-20241022", SONNET),
    ("claude-sonnet-4-20250514", SONNET),
    ("claude-sonnet-4-5-20250929", SONNET),
    ("claude-3-5-haiku-20241022", HAIKU),
    ("claude-3-opus-20240229", OPUS),
    ("claude-opus-4-1-20250805", OPUS),
    ("claude-3-sonnet-20240229", SONNET),
    ("claude-3-haiku-20240307", HAIKU),
];

/// `MODEL_PRICING[model] || MODEL_PRICING['unknown']`: the static row for `model`, or the
/// `unknown` row (3 / 15 / 3.75 / 0.30 USD per Mtok).
pub fn static_fallback_price(model: &str) -> StaticPrice {
    STATIC_TABLE
        .iter()
        .find(|(name, _)| *name == model)
        .map(|(_, p)| *p)
        .unwrap_or(SONNET)
}

/// Claude prompt-caching multipliers of the input price, used when a Claude entry lacks the
/// cache fields (`pricingService.claudeCacheMultipliers`).
const CLAUDE_WRITE_5M: f64 = 1.25;
const CLAUDE_WRITE_1H: f64 = 2.0;
const CLAUDE_READ: f64 = 0.1;

impl Pricing {
    /// What CRS's `CostCalculator.calculateCost(usage, model)` returns in `costs` for usage
    /// aggregated from Redis (no service tier, no beta headers, as every admin recompute calls
    /// it).
    ///
    /// CRS's branches, in its order:
    ///
    /// 1. **Detailed** (`isDetailedPricingRequest`): the routes attach a `cache_creation` object
    ///    only when `ephemeral5mTokens > 0 || ephemeral1hTokens > 0`, or `model` contains
    ///    `[1m]`. Then `pricingService.calculateCost(usage, model)` prices it; its result is
    ///    used only when `isValidPricingServiceResult` holds: the model has a price entry
    ///    (`hasPricing === true`) and the four chosen prices and the five costs are finite.
    /// 2. **Detailed, then legacy**: otherwise (a model missing from the price list, above all)
    ///    CRS prices the same usage on the legacy path: the price entry if one exists, else its
    ///    static table row or the `unknown` row (Sonnet 3 / 15 / 3.75 / 0.30 USD per Mtok), all
    ///    of `cacheCreateTokens` at the cache-write price (the 5m/1h split is ignored).
    /// 3. **Legacy**: neither a split nor `[1m]`.
    pub fn cost(&self, usage: &TokenCounts, model: &str) -> CostBreakdown {
        if usage.ephemeral_5m > 0 || usage.ephemeral_1h > 0 || model.contains("[1m]") {
            if let Some(detailed) = self.detailed_cost(usage, model) {
                return detailed;
            }
        }
        self.legacy_cost(usage, model)
    }

    /// `CostCalculator.buildLegacyCostResult`: the price entry's per-token prices times 1e6,
    /// or, without an entry, the static table (`MODEL_PRICING[model] || MODEL_PRICING.unknown`).
    fn legacy_cost(&self, usage: &TokenCounts, model: &str) -> CostBreakdown {
        // `typeof model === 'string' && model ? model : 'unknown'`.
        let model = if model.is_empty() { "unknown" } else { model };
        let input_tokens = usage.input as f64;
        let output_tokens = usage.output as f64;
        let cache_create_tokens = usage.cache_create as f64;
        let cache_read_tokens = usage.cache_read as f64;

        let (price, used_fallback) = match self.get_model_pricing(model) {
            Some(p) => {
                let input = or_zero(p.input_cost_per_token) * 1_000_000.0;
                let output = or_zero(p.output_cost_per_token) * 1_000_000.0;
                let cache_read = or_zero(p.cache_read_input_token_cost) * 1_000_000.0;
                let mut cache_write = or_zero(p.cache_creation_input_token_cost) * 1_000_000.0;
                // OpenAI models without a cache-write price bill cache creation as input.
                let is_openai = model.contains("gpt")
                    || model.contains("o1")
                    || p.litellm_provider.as_deref() == Some("openai");
                // `!pricingData.cache_creation_input_token_cost`: a string such as "0" is truthy.
                let has_write_price = p.js(PriceField::CacheCreate).is_some_and(|v| v.truthy);
                if is_openai && !has_write_price && usage.cache_create > 0 {
                    cache_write = input;
                }
                (sp(input, output, cache_write, cache_read), false)
            }
            None => (static_fallback_price(model), true),
        };

        let input = (input_tokens / 1_000_000.0) * price.input;
        let output = (output_tokens / 1_000_000.0) * price.output;
        let cache_write = (cache_create_tokens / 1_000_000.0) * price.cache_write;
        let cache_read = (cache_read_tokens / 1_000_000.0) * price.cache_read;
        CostBreakdown {
            input,
            output,
            cache_write,
            cache_read,
            total: input + output + cache_write + cache_read,
            used_fallback,
        }
    }

    /// `pricingService.calculateCost(usage, model)` without beta headers or speed signals, so
    /// no 1M-context beta and no fast-mode multiplier; `None` where CRS's
    /// `isValidPricingServiceResult` rejects the result (no price entry, or a chosen price or a
    /// cost that is not finite) and CRS falls back to the legacy path.
    fn detailed_cost(&self, usage: &TokenCounts, model: &str) -> Option<CostBreakdown> {
        let stripped = strip_long_context_suffix(model);
        let is_long_context_model = model.contains("[1m]");

        let input_tokens = usage.input as f64;
        let cache_creation_tokens = usage.cache_create as f64;
        let cache_read_tokens = usage.cache_read as f64;
        let total_input_tokens = input_tokens + cache_creation_tokens + cache_read_tokens;

        // The full name, `[1m]` included, is what CRS looks up; no entry is `hasPricing: false`.
        let pricing = self.get_model_pricing(model)?;
        let provider_is_anthropic = pricing
            .litellm_provider
            .as_deref()
            .is_some_and(|p| p.to_lowercase().contains("anthropic"));
        // Anthropic bills Claude flat regardless of context length: no 200K+ tier for Claude.
        let ignores_200k = stripped.to_lowercase().contains("claude") || provider_is_anthropic;
        let use_long_context_pricing =
            is_long_context_model && total_input_tokens > 200_000.0 && !ignores_200k;
        let is_claude = model.to_lowercase().contains("claude") || provider_is_anthropic;

        let prices = detailed_prices(pricing, use_long_context_pricing, is_claude);

        // JavaScript's `*` makes a number of a non-number price.
        let input = input_tokens * prices.input.num;
        let output = (usage.output as f64) * prices.output.num;
        let cache_write = if usage.ephemeral_5m > 0 || usage.ephemeral_1h > 0 {
            let ephemeral_5m = (usage.ephemeral_5m as f64) * prices.cache_create.num;
            let ephemeral_1h = (usage.ephemeral_1h as f64) * prices.ephemeral_1h.num;
            ephemeral_5m + ephemeral_1h
        } else if usage.cache_create > 0 {
            cache_creation_tokens * prices.cache_create.num
        } else {
            0.0
        };
        let cache_read = cache_read_tokens * prices.cache_read.num;
        let total = input + output + cache_write + cache_read;
        // `isValidPricingServiceResult`: four prices of type number and finite
        // (`pricing.ephemeral1h` is not checked, but a non-finite 1h price with 1h tokens makes
        // `cacheCreateCost` non-finite), and five finite costs.
        let valid = [
            prices.input,
            prices.output,
            prices.cache_create,
            prices.cache_read,
        ]
        .iter()
        .all(|p| p.is_finite_number())
            && [input, output, cache_write, cache_read, total]
                .iter()
                .all(|v| v.is_finite());
        valid.then_some(CostBreakdown {
            input,
            output,
            cache_write,
            cache_read,
            total,
            used_fallback: false,
        })
    }
}

/// Per-token prices chosen by the detailed path, as JavaScript holds them.
struct DetailedPrices {
    input: JsPrice,
    output: JsPrice,
    cache_create: JsPrice,
    cache_read: JsPrice,
    ephemeral_1h: JsPrice,
}

/// `pricingService.calculateCost`'s choice of prices: `x || 0` and `x || y || 0` keep the first
/// truthy value as it is, `x !== null && x !== undefined ? x : …` keeps `x` as it is (even `0`
/// or `""`), and arithmetic makes a number.
fn detailed_prices(p: &ModelPrice, long: bool, is_claude: bool) -> DetailedPrices {
    use PriceField as F;
    let base_input = p.js_or_zero(F::Input);
    let input = match (long, p.js(F::Input200k)) {
        (false, _) => base_input,
        (true, Some(v)) => v,
        (true, None) if is_claude => JsPrice::number(base_input.num * 2.0),
        (true, None) => base_input,
    };
    let base_output = p.js_or_zero(F::Output);
    let output = match (long, p.js(F::Output200k)) {
        (true, Some(v)) => v,
        _ => base_output,
    };

    let (mut cache_create, mut cache_read, mut ephemeral_1h) = if long {
        let cache_create = if is_claude {
            p.js_or_zero(F::CacheCreate200k)
        } else {
            p.js_or_zero(F::CacheCreate200k)
                .or(p.js_or_zero(F::CacheCreate))
        };
        let cache_read = if is_claude {
            p.js_or_zero(F::CacheRead200k)
        } else {
            p.js_or_zero(F::CacheRead200k)
                .or(p.js_or_zero(F::CacheRead))
        };
        let ephemeral_1h = match p.js(F::CacheCreate1h200k) {
            Some(v) => v,
            None if is_claude => JsPrice::ZERO,
            None => p.js_or_zero(F::CacheCreate1h),
        };
        (cache_create, cache_read, ephemeral_1h)
    } else {
        (
            p.js_or_zero(F::CacheCreate),
            p.js_or_zero(F::CacheRead),
            p.js_or_zero(F::CacheCreate1h),
        )
    };

    if is_claude {
        if !cache_create.truthy {
            cache_create = JsPrice::number(input.num * CLAUDE_WRITE_5M);
        }
        if !cache_read.truthy {
            cache_read = JsPrice::number(input.num * CLAUDE_READ);
        }
        if !ephemeral_1h.truthy {
            ephemeral_1h = JsPrice::number(input.num * CLAUDE_WRITE_1H);
        }
    }

    DetailedPrices {
        input,
        output,
        cache_create,
        cache_read,
        ephemeral_1h,
    }
}

/// `modelName.replace(/\[1m\]/gi, '').trim()`.
fn strip_long_context_suffix(model: &str) -> String {
    let mut out = String::with_capacity(model.len());
    let mut rest = model;
    while let Some(i) = find_ascii_ci(rest, "[1m]") {
        out.push_str(&rest[..i]);
        rest = &rest[i + 4..];
    }
    out.push_str(rest);
    // JavaScript's trim also removes U+FEFF.
    out.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .to_string()
}

fn find_ascii_ci(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    (0..=h.len().checked_sub(n.len())?).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests;

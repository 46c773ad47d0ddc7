//! The LiteLLM price list and CRS's model lookup (`pricingService.getModelPricing`). Rule kept:
//! entries stay in the order JavaScript's `Object.entries` gives for the parsed file (array-index
//! keys first, then file order; a repeated key keeps its first place and its last value), because
//! CRS's fuzzy match returns the first hit in that order.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use super::json::{parse_price_file, TopLevel};
use super::PricingError;

/// The [`Pricing::source`] of the price list compiled into the binary.
pub const BUNDLED_SOURCE: &str = "bundled";

const BUNDLED_JSON: &str =
    include_str!("../../../../assets/pricing/model_prices_and_context_window.json");

/// The fields of one LiteLLM entry that CRS's cost rules read. Prices are USD per token.
///
/// A numeric field is `None` when the key is missing or `null` (JavaScript `undefined`/`null`);
/// `Some(0.0)` is kept apart because CRS tests some fields with `!== null && !== undefined`.
/// Non-numeric values are coerced the way JavaScript arithmetic would (strings parsed, booleans
/// 1/0, anything else NaN).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ModelPrice {
    /// `input_cost_per_token`.
    pub input_cost_per_token: Option<f64>,
    /// `output_cost_per_token`.
    pub output_cost_per_token: Option<f64>,
    /// `cache_creation_input_token_cost` (5-minute cache write).
    pub cache_creation_input_token_cost: Option<f64>,
    /// `cache_read_input_token_cost`.
    pub cache_read_input_token_cost: Option<f64>,
    /// `cache_creation_input_token_cost_above_1hr` (1-hour cache write).
    pub cache_creation_input_token_cost_above_1hr: Option<f64>,
    /// `input_cost_per_token_above_200k_tokens`.
    pub input_cost_per_token_above_200k_tokens: Option<f64>,
    /// `output_cost_per_token_above_200k_tokens`.
    pub output_cost_per_token_above_200k_tokens: Option<f64>,
    /// `cache_creation_input_token_cost_above_200k_tokens`.
    pub cache_creation_input_token_cost_above_200k_tokens: Option<f64>,
    /// `cache_read_input_token_cost_above_200k_tokens`.
    pub cache_read_input_token_cost_above_200k_tokens: Option<f64>,
    /// `cache_creation_input_token_cost_above_1hr_above_200k_tokens`.
    pub cache_creation_input_token_cost_above_1hr_above_200k_tokens: Option<f64>,
    /// `input_cost_per_token_priority` (OpenAI priority tier; per-request only in CRS).
    pub input_cost_per_token_priority: Option<f64>,
    /// `output_cost_per_token_priority`.
    pub output_cost_per_token_priority: Option<f64>,
    /// `cache_read_input_token_cost_priority`.
    pub cache_read_input_token_cost_priority: Option<f64>,
    /// `litellm_provider`, when it is a string.
    pub litellm_provider: Option<String>,
    /// `supports_service_tier`, as JavaScript truthiness.
    pub supports_service_tier: bool,
    /// `provider_specific_entry.fast` (Claude fast-mode multiplier; per-request only in CRS).
    pub fast_multiplier: Option<f64>,
    /// The [`PriceField`]s whose JSON value was not a number (a string, boolean, array or
    /// object): CRS's detailed path keeps such a value as it is, and its result check then
    /// rejects it. The numeric fields above hold what JavaScript arithmetic makes of it.
    pub(crate) non_numbers: NonNumbers,
}

/// The price fields CRS's detailed path reads, one bit each in [`NonNumbers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PriceField {
    Input,
    Output,
    CacheCreate,
    CacheRead,
    CacheCreate1h,
    Input200k,
    Output200k,
    CacheCreate200k,
    CacheRead200k,
    CacheCreate1h200k,
}

impl PriceField {
    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// Which price fields held a non-number, and which of those JavaScript holds truthy (a
/// non-empty string, `true`, an array or an object).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NonNumbers {
    any: u16,
    truthy: u16,
}

impl NonNumbers {
    /// Record what `field` held: a non-number of this truthiness, or (`None`) a number or null.
    pub(crate) fn set(&mut self, field: PriceField, non_number_truthy: Option<bool>) {
        self.any &= !field.bit();
        self.truthy &= !field.bit();
        if let Some(truthy) = non_number_truthy {
            self.any |= field.bit();
            if truthy {
                self.truthy |= field.bit();
            }
        }
    }
}

/// A price as JavaScript holds it in CRS's detailed path: the number arithmetic makes of it,
/// whether it is of type `number` (`isFiniteNumber` needs that), and its truthiness.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct JsPrice {
    pub num: f64,
    pub is_number: bool,
    pub truthy: bool,
}

impl JsPrice {
    pub const ZERO: JsPrice = JsPrice {
        num: 0.0,
        is_number: true,
        truthy: false,
    };

    /// A value of type `number`.
    pub fn number(num: f64) -> JsPrice {
        JsPrice {
            num,
            is_number: true,
            truthy: num != 0.0 && !num.is_nan(),
        }
    }

    /// JavaScript `self || other`.
    pub fn or(self, other: JsPrice) -> JsPrice {
        if self.truthy {
            self
        } else {
            other
        }
    }

    /// A number of type `number` that is finite (`CostCalculator.isFiniteNumber`).
    pub fn is_finite_number(self) -> bool {
        self.is_number && self.num.is_finite()
    }
}

impl ModelPrice {
    /// The field as JavaScript holds it; `None` when it is missing or `null`.
    pub(crate) fn js(&self, field: PriceField) -> Option<JsPrice> {
        let num = match field {
            PriceField::Input => self.input_cost_per_token,
            PriceField::Output => self.output_cost_per_token,
            PriceField::CacheCreate => self.cache_creation_input_token_cost,
            PriceField::CacheRead => self.cache_read_input_token_cost,
            PriceField::CacheCreate1h => self.cache_creation_input_token_cost_above_1hr,
            PriceField::Input200k => self.input_cost_per_token_above_200k_tokens,
            PriceField::Output200k => self.output_cost_per_token_above_200k_tokens,
            PriceField::CacheCreate200k => self.cache_creation_input_token_cost_above_200k_tokens,
            PriceField::CacheRead200k => self.cache_read_input_token_cost_above_200k_tokens,
            PriceField::CacheCreate1h200k => {
                self.cache_creation_input_token_cost_above_1hr_above_200k_tokens
            }
        }?;
        if self.non_numbers.any & field.bit() == 0 {
            return Some(JsPrice::number(num));
        }
        Some(JsPrice {
            num,
            is_number: false,
            truthy: self.non_numbers.truthy & field.bit() != 0,
        })
    }

    /// JavaScript `field || 0`, kept as JavaScript holds it.
    pub(crate) fn js_or_zero(&self, field: PriceField) -> JsPrice {
        self.js(field)
            .map_or(JsPrice::ZERO, |v| v.or(JsPrice::ZERO))
    }
}

/// JavaScript truthiness of a numeric field: present, not 0, not NaN.
pub(crate) fn truthy(v: Option<f64>) -> bool {
    matches!(v, Some(x) if x != 0.0 && !x.is_nan())
}

/// JavaScript `field || 0` for a numeric field.
pub(crate) fn or_zero(v: Option<f64>) -> f64 {
    match v {
        Some(x) if truthy(Some(x)) => x,
        _ => 0.0,
    }
}

/// A LiteLLM-format price list, in the key order CRS iterates it. Cheap to clone (shared).
#[derive(Clone)]
pub struct Pricing {
    inner: Arc<Inner>,
}

struct Inner {
    source: String,
    /// Model name, its entry (`None` for a JavaScript-falsy value such as `null`), and the
    /// name lower-cased with `-` and `_` removed (the fuzzy-match form).
    entries: Vec<(String, Option<ModelPrice>, String)>,
    index: HashMap<String, usize>,
    /// Lookup results by model name (an entry index, or none): the fuzzy step scans every key.
    memo: Mutex<HashMap<String, Option<usize>>>,
}

/// Past this many distinct names the lookup memo starts over.
const MEMO_LIMIT: usize = 4096;

impl fmt::Debug for Pricing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pricing")
            .field("source", &self.inner.source)
            .field("models", &self.inner.entries.len())
            .finish()
    }
}

impl Pricing {
    /// The price list compiled into the binary, parsed once per process and shared.
    pub fn bundled() -> Pricing {
        static BUNDLED: OnceLock<Pricing> = OnceLock::new();
        BUNDLED
            .get_or_init(|| {
                parse(BUNDLED_JSON, BUNDLED_SOURCE.to_string())
                    .expect("the bundled pricing JSON is valid (checked by a unit test)")
            })
            .clone()
    }

    /// Load a LiteLLM-format JSON file, such as a relay's `data/model_pricing.json`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Pricing, PricingError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PricingError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        parse(&text, path.display().to_string())
    }

    /// Parse LiteLLM-format JSON held in memory; its [`source`](Pricing::source) is "inline".
    pub fn from_json_str(json: &str) -> Result<Pricing, PricingError> {
        parse(json, "inline".to_string())
    }

    /// Where the prices came from: "bundled", "inline", or the file path.
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// How many model entries the list holds.
    pub fn len(&self) -> usize {
        self.inner.entries.len()
    }

    /// Whether the list holds no entries (CRS then prices everything from its static table).
    pub fn is_empty(&self) -> bool {
        self.inner.entries.is_empty()
    }

    /// The model names in CRS's iteration order.
    pub fn model_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.inner.entries.iter().map(|(k, _, _)| k.as_str())
    }

    /// The index of the entry whose key is exactly `model`, if its value is JavaScript-truthy
    /// (`if (this.pricingData[model])`).
    fn exact(&self, model: &str) -> Option<usize> {
        self.inner
            .index
            .get(model)
            .copied()
            .filter(|&i| self.inner.entries[i].1.is_some())
    }

    /// CRS's `pricingService.getModelPricing(model)`, step by step:
    ///
    /// 1. exact key;
    /// 2. `gpt-5.5`, then any `gpt-5.6*`, fall back to `gpt-5`;
    /// 3. a name containing `.anthropic.` or `.claude` is retried without a leading `us.`, `eu.`
    ///    or `apac.`;
    /// 4. fuzzy: both names lower-cased with `-` and `_` removed; the first entry (in iteration
    ///    order) where either contains the other wins, even when its value is `null`;
    /// 5. a name containing `anthropic.claude`: its core (region and first `anthropic.` removed)
    ///    is searched for in every key, and in every key with its first `anthropic.` removed;
    /// 6. nothing.
    pub fn get_model_pricing(&self, model: &str) -> Option<&ModelPrice> {
        let found = {
            let memo = self.inner.memo.lock().ok();
            memo.and_then(|m| m.get(model).copied())
        };
        let found = match found {
            Some(found) => found,
            None => {
                let found = self.lookup(model);
                if let Ok(mut memo) = self.inner.memo.lock() {
                    if memo.len() >= MEMO_LIMIT {
                        memo.clear();
                    }
                    memo.insert(model.to_string(), found);
                }
                found
            }
        };
        found.and_then(|i| self.inner.entries[i].1.as_ref())
    }

    /// The index of the entry CRS's lookup lands on (its value may still be falsy).
    fn lookup(&self, model: &str) -> Option<usize> {
        if model.is_empty() {
            return None;
        }
        if let Some(i) = self.exact(model) {
            return Some(i);
        }
        // Step 2. At this point `pricingData[model]` is known to be falsy.
        if model == "gpt-5.5" || model.starts_with("gpt-5.6") {
            if let Some(i) = self.exact("gpt-5") {
                return Some(i);
            }
        }
        // Step 3.
        if model.contains(".anthropic.") || model.contains(".claude") {
            if let Some(i) = self.exact(strip_region(model)) {
                return Some(i);
            }
        }
        // Step 4: the first hit ends the search, even on a falsy value.
        let wanted = fuzzy_form(model);
        let entries = &self.inner.entries;
        if let Some(i) = entries.iter().position(|(_, _, key_form)| {
            key_form.contains(wanted.as_str()) || wanted.contains(key_form.as_str())
        }) {
            return Some(i);
        }
        // Step 5.
        if model.contains("anthropic.claude") {
            let core = replace_first(strip_region(model), "anthropic.", "");
            return entries.iter().position(|(key, _, _)| {
                key.contains(core.as_str())
                    || replace_first(key, "anthropic.", "").contains(core.as_str())
            });
        }
        None
    }
}

/// `name.replace(/^(us|eu|apac)\./, '')`.
fn strip_region(name: &str) -> &str {
    for prefix in ["us.", "eu.", "apac."] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return rest;
        }
    }
    name
}

/// JavaScript `s.replace(pattern, with)` with a string pattern: the first occurrence only.
fn replace_first(s: &str, pattern: &str, with: &str) -> String {
    s.replacen(pattern, with, 1)
}

/// `name.toLowerCase().replace(/[_-]/g, '')`.
fn fuzzy_form(name: &str) -> String {
    name.to_lowercase().replace(['-', '_'], "")
}

/// Whether JavaScript treats `key` as an array index, which `Object.entries` lists first, in
/// ascending numeric order: a canonical decimal integer below 2^32 - 1.
fn is_array_index(key: &str) -> bool {
    if key.is_empty() || key.len() > 10 || !key.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    if key.len() > 1 && key.starts_with('0') {
        return false;
    }
    key.parse::<u64>().is_ok_and(|n| n < u32::MAX as u64)
}

fn parse(json: &str, origin: String) -> Result<Pricing, PricingError> {
    let raw = match parse_price_file(json) {
        Ok(TopLevel::Object(raw)) => raw,
        Ok(TopLevel::Other(found)) => return Err(PricingError::NotAnObject { origin, found }),
        Err(e) => {
            return Err(PricingError::Parse {
                origin,
                line: e.line,
                column: e.column,
                message: e.message,
            })
        }
    };

    // `Object.entries` order: array-index keys ascending, then insertion order.
    let (mut numeric, named): (Vec<_>, Vec<_>) =
        raw.into_iter().partition(|(k, _)| is_array_index(k));
    numeric.sort_by_key(|(k, _)| k.parse::<u64>().unwrap_or(u64::MAX));
    let entries: Vec<(String, Option<ModelPrice>, String)> = numeric
        .into_iter()
        .chain(named)
        .map(|(k, v)| {
            let form = fuzzy_form(&k);
            (k, v, form)
        })
        .collect();
    let index = entries
        .iter()
        .enumerate()
        .map(|(i, (k, _, _))| (k.clone(), i))
        .collect();
    Ok(Pricing {
        inner: Arc::new(Inner {
            source: origin,
            entries,
            index,
            memo: Mutex::new(HashMap::new()),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(json: &str) -> Pricing {
        Pricing::from_json_str(json).unwrap()
    }

    #[test]
    fn bundled_parses_in_file_order_and_fast() {
        let start = std::time::Instant::now();
        let p = parse(BUNDLED_JSON, "bundled".into()).unwrap();
        let took = start.elapsed();
        assert_eq!(p.len(), 222);
        assert_eq!(p.model_names().next(), Some("claude-3-5-haiku-20241022"));
        assert_eq!(p.source(), "bundled");
        assert!(
            took.as_millis() < 200,
            "parsing the bundled list took {took:?}"
        );
        assert_eq!(Pricing::bundled().len(), 222);
    }

    #[test]
    fn exact_match_price() {
        let p = Pricing::bundled();
        let e = p.get_model_pricing("claude-sonnet-4-20250514").unwrap();
        assert_eq!(e.input_cost_per_token, Some(3e-6));
        assert_eq!(e.output_cost_per_token, Some(1.5e-5));
        assert_eq!(e.cache_creation_input_token_cost, Some(3.75e-6));
        assert_eq!(e.cache_read_input_token_cost, Some(3e-7));
        assert_eq!(e.litellm_provider.as_deref(), Some("anthropic"));
    }

    #[test]
    fn fuzzy_match_takes_first_in_file_order() {
        let p = table(
            r#"{"b-model_x": {"input_cost_per_token": 1}, "a-model": {"input_cost_per_token": 2},
                "modelx": {"input_cost_per_token": 3}}"#,
        );
        // "MODEL" -> "model": contained in "bmodelx" (first) and in "amodel", "modelx".
        assert_eq!(
            p.get_model_pricing("MODEL").unwrap().input_cost_per_token,
            Some(1.0)
        );
        // The query containing a key also counts: "amodel-pro" contains "amodel".
        assert_eq!(
            p.get_model_pricing("a_model-pro")
                .unwrap()
                .input_cost_per_token,
            Some(2.0)
        );
        assert!(p.get_model_pricing("zzz").is_none());
        assert!(p.get_model_pricing("").is_none());
        // Memoised lookups answer the same.
        assert_eq!(
            p.get_model_pricing("MODEL").unwrap().input_cost_per_token,
            Some(1.0)
        );
        assert!(p.get_model_pricing("zzz").is_none());
    }

    #[test]
    fn fuzzy_match_in_bundled_list() {
        let p = Pricing::bundled();
        // Not a key; "claudesonnet45" is contained in "claudesonnet45" (claude-sonnet-4-5),
        // and "claude-sonnet-4-5" comes before its dated and -v1:0 variants.
        let e = p.get_model_pricing("claude_sonnet_4_5").unwrap();
        assert_eq!(e.input_cost_per_token, Some(3e-6));
        // A [1m] name is looked up as written: the fuzzy step finds the key it contains.
        let e = p.get_model_pricing("claude-opus-4-6[1m]").unwrap();
        assert_eq!(e.input_cost_per_token, Some(5e-6));
    }

    #[test]
    fn bedrock_region_prefix_is_removed() {
        let p = table(
            r#"{"anthropic.claude-3-5-sonnet-20241022-v2:0": {"input_cost_per_token": 3e-6},
                "zzz": {"input_cost_per_token": 1}}"#,
        );
        let e = p
            .get_model_pricing("us.anthropic.claude-3-5-sonnet-20241022-v2:0")
            .unwrap();
        assert_eq!(e.input_cost_per_token, Some(3e-6));
        // "global." is not a stripped region: the fuzzy step still finds the key it contains.
        let e = p
            .get_model_pricing("global.anthropic.claude-3-5-sonnet-20241022-v2:0")
            .unwrap();
        assert_eq!(e.input_cost_per_token, Some(3e-6));
    }

    #[test]
    fn bedrock_core_match_is_the_last_resort() {
        // Neither exact, region-stripped nor fuzzy matches ("." vs no "."), the core does.
        let p = table(r#"{"bedrock/anthropic.claude-x.y": {"input_cost_per_token": 7}}"#);
        let e = p.get_model_pricing("eu.anthropic.claude-x.y").unwrap();
        assert_eq!(e.input_cost_per_token, Some(7.0));
    }

    #[test]
    fn gpt_5_5_and_5_6_fall_back_to_gpt_5() {
        let p = table(
            r#"{"gpt-5": {"input_cost_per_token": 1.25e-6}, "gpt-5.6-sol": {"input_cost_per_token": 4e-6}}"#,
        );
        assert_eq!(
            p.get_model_pricing("gpt-5.5").unwrap().input_cost_per_token,
            Some(1.25e-6)
        );
        assert_eq!(
            p.get_model_pricing("gpt-5.6-terra")
                .unwrap()
                .input_cost_per_token,
            Some(1.25e-6)
        );
        assert_eq!(
            p.get_model_pricing("gpt-5.6-sol")
                .unwrap()
                .input_cost_per_token,
            Some(4e-6)
        );
    }

    #[test]
    fn falsy_entries_and_key_order_follow_javascript() {
        // A null entry is skipped by the exact step but ends the fuzzy step.
        let p = table(r#"{"abc": null, "abcd": {"input_cost_per_token": 1}}"#);
        assert!(p.get_model_pricing("abc").is_none());
        assert_eq!(
            p.get_model_pricing("abcd").unwrap().input_cost_per_token,
            Some(1.0)
        );
        // Array-index keys come first; a repeated key keeps its first place, last value.
        let p = table(
            r#"{"x": {"input_cost_per_token": 1}, "10": {}, "2": {}, "x": {"input_cost_per_token": 9}}"#,
        );
        let names: Vec<_> = p.model_names().collect();
        assert_eq!(names, ["2", "10", "x"]);
        assert_eq!(
            p.get_model_pricing("x").unwrap().input_cost_per_token,
            Some(9.0)
        );
    }

    #[test]
    fn null_and_zero_fields_are_told_apart() {
        let p = table(
            r#"{"m": {"input_cost_per_token_above_200k_tokens": 0, "output_cost_per_token_above_200k_tokens": null,
                      "input_cost_per_token": "0.5", "supports_service_tier": true,
                      "provider_specific_entry": {"fast": 6}, "litellm_provider": 5}}"#,
        );
        let e = p.get_model_pricing("m").unwrap();
        assert_eq!(e.input_cost_per_token_above_200k_tokens, Some(0.0));
        assert_eq!(e.output_cost_per_token_above_200k_tokens, None);
        assert_eq!(e.input_cost_per_token, Some(0.5));
        // As JavaScript holds them: the string stays a (truthy) non-number, 0 a falsy number.
        let js = e.js(PriceField::Input).unwrap();
        assert_eq!((js.num, js.is_number, js.truthy), (0.5, false, true));
        let js = e.js(PriceField::Input200k).unwrap();
        assert_eq!((js.num, js.is_number, js.truthy), (0.0, true, false));
        assert_eq!(e.js(PriceField::Output200k), None);
        assert_eq!(e.js_or_zero(PriceField::Output), JsPrice::ZERO);
        assert!(e.supports_service_tier);
        assert_eq!(e.fast_multiplier, Some(6.0));
        assert_eq!(e.litellm_provider, None);
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let err = Pricing::from_json_str("[1, 2]").unwrap_err();
        assert_eq!(
            err.to_string(),
            "pricing file inline must hold a JSON object keyed by model name, found an array"
        );
        let err = Pricing::from_json_str("{\"a\": {").unwrap_err();
        assert_eq!(
            err.to_string(),
            "pricing file inline is not valid JSON at line 1, column 8: expected a string"
        );
        let err = Pricing::from_file("/nonexistent/model_pricing.json").unwrap_err();
        assert!(err
            .to_string()
            .starts_with("cannot read pricing file /nonexistent/model_pricing.json: "));
    }

    #[test]
    fn from_file_records_the_path() {
        let dir = std::env::temp_dir().join(format!("relaywatch-pricing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("model_pricing.json");
        std::fs::write(&path, r#"{"m": {"input_cost_per_token": 1e-6}}"#).unwrap();
        let p = Pricing::from_file(&path).unwrap();
        assert_eq!(p.source(), path.display().to_string());
        assert_eq!(p.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn array_index_keys() {
        assert!(is_array_index("0"));
        assert!(is_array_index("4294967294"));
        assert!(!is_array_index("4294967295"));
        assert!(!is_array_index("01"));
        assert!(!is_array_index("-1"));
        assert!(!is_array_index("1.5"));
    }
}

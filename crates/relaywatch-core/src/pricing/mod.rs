//! Model prices (LiteLLM JSON) and CRS's cost rules, ported so every figure matches what CRS's
//! admin API computes from the same Redis data. Pure: no I/O beyond loading a price file.
//!
//! - [`table`]: the price list, kept in the file's key order, and CRS's model lookup
//!   (`pricingService.getModelPricing`).
//! - [`cost`]: `CostCalculator.calculateCost` (legacy path, detailed path, static fallback),
//!   with CRS's float operations in CRS's order.
//! - [`format`](mod@format): `CostCalculator.formatCost`, with JavaScript's `toFixed` rounding.
//! - `json`: a strict JSON reader whose numbers round exactly like JavaScript's `JSON.parse`.

pub mod cost;
pub mod format;
mod json;
pub mod table;

use std::path::PathBuf;

pub use cost::{static_fallback_price, StaticPrice};
pub use format::{format_cost, js_to_fixed};
pub use table::{ModelPrice, Pricing, BUNDLED_SOURCE};

/// Token counts of one usage bucket, as CRS stores them in a usage hash (`inputTokens`,
/// `outputTokens`, `cacheCreateTokens`, `cacheReadTokens`, `ephemeral5mTokens`,
/// `ephemeral1hTokens`).
///
/// `ephemeral_5m` and `ephemeral_1h` are the split of `cache_create` when the upstream reported
/// it; CRS bills the detailed way only when one of them is above zero.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TokenCounts {
    /// Uncached input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Cache-creation (write) tokens, 5-minute and 1-hour together.
    pub cache_create: u64,
    /// Cache-read tokens.
    pub cache_read: u64,
    /// Cache-creation tokens with a 5-minute lifetime.
    pub ephemeral_5m: u64,
    /// Cache-creation tokens with a 1-hour lifetime.
    pub ephemeral_1h: u64,
}

/// One cost as CRS's `CostCalculator.calculateCost` returns it in `costs`, in US dollars.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct CostBreakdown {
    /// Cost of the input tokens.
    pub input: f64,
    /// Cost of the output tokens.
    pub output: f64,
    /// Cost of the cache-creation tokens (`costs.cacheWrite`).
    pub cache_write: f64,
    /// Cost of the cache-read tokens.
    pub cache_read: f64,
    /// `input + output + cache_write + cache_read`, added in that order as CRS does.
    pub total: f64,
    /// The model had no entry in the price list, so CRS's static table priced it (its own row,
    /// or `unknown` = 3 / 15 / 3.75 / 0.30 USD per Mtok), on the legacy path directly or after
    /// the detailed path (1h/5m split or `[1m]` model) found no price, as CRS does.
    pub used_fallback: bool,
}

/// A price list that could not be loaded. Each variant names the file (or "bundled"/"inline")
/// and the problem.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    /// The price file could not be read.
    #[error("cannot read pricing file {}: {source}", .path.display())]
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// The price file is not valid JSON.
    #[error("pricing file {origin} is not valid JSON at line {line}, column {column}: {message}")]
    Parse {
        /// The file path, or "bundled"/"inline".
        origin: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column (in characters) of the problem.
        column: usize,
        /// What was wrong there.
        message: String,
    },
    /// The price file holds JSON, but not an object of model entries.
    #[error("pricing file {origin} must hold a JSON object keyed by model name, found {found}")]
    NotAnObject {
        /// The file path, or "bundled"/"inline".
        origin: String,
        /// What the top-level value was.
        found: &'static str,
    },
}

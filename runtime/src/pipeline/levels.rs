//! Levels: INFO for every call; WARN for slow calls, cut or filtered
//! output, prompts near the context window, retries and a crossed cost
//! budget; ERROR for failures.

use super::budget::{add_cost, charge};
use super::retries::is_retry;
use crate::config::Config;
use crate::pricing::Price;
use crate::record::{CallRecord, Status};

/// The warning names a record can carry.
pub mod warning {
    /// Slower than `LLM_SLOW_MS`.
    pub const SLOW: &str = "slow";
    /// Cut by a token limit (`length`, `max_tokens`, …).
    pub const TRUNCATED: &str = "truncated";
    /// Filtered or refused by the provider's safety system.
    pub const CONTENT_FILTERED: &str = "content_filtered";
    /// Prompt tokens above 90 % of the model's context window.
    pub const NEAR_CONTEXT_LIMIT: &str = "near_context_limit";
    /// The same function called again in one trace after a failure.
    pub const RETRY: &str = "retry";
    /// This call took the process's cost past `LLM_COST_BUDGET_USD`.
    pub const BUDGET_EXCEEDED: &str = "budget_exceeded";
    /// A stream that ended without a finish reason: cut mid-way.
    pub const STREAM_CUT: &str = "stream_cut";
}

/// Finish reasons that mean the output was cut by a limit.
const TRUNCATED: &[&str] = &[
    "length",
    "max_tokens",
    "MAX_TOKENS",
    "max_output_tokens",
    "model_context_window_exceeded",
];
/// Finish reasons that mean the output was filtered or refused.
const FILTERED: &[&str] = &[
    "content_filter",
    "refusal",
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
];

/// Fills the record's `level` and `warnings`, and counts its cost against the
/// budget. Returns the level.
///
/// `refused` says whether the model refused, which the record shows only
/// when response content is kept.
pub(super) fn assess(
    record: &mut CallRecord,
    config: Option<&Config>,
    price: Option<&Price>,
    site_key: usize,
    refused: bool,
) -> &'static str {
    let mut warnings = Vec::new();
    let slow_ms = config.map_or(crate::config::DEFAULT_SLOW_MS, |c| c.slow_ms);
    if record.latency_ms > slow_ms && record.status != Status::Cancelled {
        warnings.push(warning::SLOW);
    }
    if record
        .finish_reasons
        .iter()
        .any(|r| TRUNCATED.contains(&r.as_str()))
    {
        warnings.push(warning::TRUNCATED);
    }
    if record
        .finish_reasons
        .iter()
        .any(|r| FILTERED.contains(&r.as_str()))
        || refused
    {
        warnings.push(warning::CONTENT_FILTERED);
    }
    if let (Some(window), Some(input)) = (
        price.and_then(|p| p.context_window),
        record.usage.and_then(|u| u.input_tokens),
    ) {
        if input as f64 > 0.9 * window as f64 {
            warnings.push(warning::NEAR_CONTEXT_LIMIT);
        }
    }
    if record.stream.is_some_and(|s| s.completed)
        && record.finish_reasons.is_empty()
        && record.error.is_none()
    {
        warnings.push(warning::STREAM_CUT);
    }
    if record.kind == "llm" && is_retry(record, site_key) {
        warnings.push(warning::RETRY);
    }
    if let (Some(cost), Some(budget)) = (record.cost_usd, config.and_then(|c| c.cost_budget_usd)) {
        if charge(cost, budget) {
            warnings.push(warning::BUDGET_EXCEEDED);
        }
    } else if let Some(cost) = record.cost_usd {
        add_cost(cost);
    }
    let level = match record.status {
        Status::Error | Status::Panic => "error",
        _ if !warnings.is_empty() => "warn",
        _ => "info",
    };
    record.warnings = warnings.into_iter().map(str::to_owned).collect();
    record.level = std::borrow::Cow::Borrowed(level);
    level
}

pub use super::budget::spent_usd;

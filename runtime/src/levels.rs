//! Levels: INFO for every call; WARN for slow calls,
//! cut or filtered output, prompts near the context window, and retries;
//! ERROR for failures. A process-wide cost budget emits one ERROR event
//! `llm_budget_exceeded` when crossed (`tracing` has no CRITICAL level).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;

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
pub(crate) fn assess(
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

// ---------------------------------------------------------------------------
// Retries

/// Failures seen per (trace, function), kept for ten minutes.
static FAILED: Lazy<Mutex<HashMap<(String, usize), Instant>>> = Lazy::new(Default::default);
static ANY_FAILED: AtomicBool = AtomicBool::new(false);
const RETRY_MEMORY: Duration = Duration::from_secs(600);
const RETRY_CAPACITY: usize = 10_000;

fn is_retry(record: &CallRecord, site_key: usize) -> bool {
    let Some(trace) = &record.trace_id else {
        return false;
    };
    let failed = matches!(record.status, Status::Error | Status::Panic);
    if !failed && !ANY_FAILED.load(Ordering::Relaxed) {
        return false;
    }
    let Ok(mut map) = FAILED.lock() else {
        return false;
    };
    let key = (trace.clone(), site_key);
    let now = Instant::now();
    let retry = map
        .get(&key)
        .is_some_and(|t| now.duration_since(*t) < RETRY_MEMORY);
    if failed {
        if map.len() >= RETRY_CAPACITY {
            map.retain(|_, t| now.duration_since(*t) < RETRY_MEMORY);
            if map.len() >= RETRY_CAPACITY {
                map.clear();
            }
        }
        map.insert(key, now);
        ANY_FAILED.store(true, Ordering::Relaxed);
    } else if retry {
        map.remove(&key);
    }
    retry
}

// ---------------------------------------------------------------------------
// Cost and budget

/// Cost so far, in millionths of a dollar.
static SPENT_MICRO_USD: AtomicU64 = AtomicU64::new(0);
static BUDGET_REPORTED: AtomicBool = AtomicBool::new(false);

fn add_cost(cost: f64) -> u64 {
    let micro = (cost * 1e6).round().max(0.0) as u64;
    SPENT_MICRO_USD.fetch_add(micro, Ordering::Relaxed) + micro
}

/// Adds `cost`; true when this call crossed the budget (reported once).
fn charge(cost: f64, budget: f64) -> bool {
    let total = add_cost(cost) as f64 / 1e6;
    if total > budget && !BUDGET_REPORTED.swap(true, Ordering::Relaxed) {
        tracing::error!(
            target: "llm_traced",
            budget_usd = budget,
            spent_usd = total,
            "llm_budget_exceeded"
        );
        eprintln!("llm-traced: cost budget exceeded: ${total:.4} spent, budget ${budget:.4}");
        return true;
    }
    false
}

/// The estimated cost of every priced call so far in this process, in USD.
pub fn spent_usd() -> f64 {
    SPENT_MICRO_USD.load(Ordering::Relaxed) as f64 / 1e6
}

// ---------------------------------------------------------------------------
// Content sampling

/// Whether the log keeps content for this trace: a stable hash of the trace
/// id against `rate`, so that a trace keeps all its content or none.
pub(crate) fn content_sampled(trace_id: Option<&str>, rate: f64) -> bool {
    if rate >= 1.0 {
        return true;
    }
    if rate <= 0.0 {
        return false;
    }
    let Some(trace) = trace_id else { return true };
    let hash = trace.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash >> 11) as f64 / (1u64 << 53) as f64 <= rate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_stable_per_trace_and_near_the_rate() {
        let traces: Vec<String> = (0..10_000)
            .map(|i| format!("{:032x}", i * 7919 + 13))
            .collect();
        let kept = traces
            .iter()
            .filter(|t| content_sampled(Some(t), 0.25))
            .count();
        assert!((2000..3000).contains(&kept), "{kept}");
        for t in &traces[..50] {
            assert_eq!(
                content_sampled(Some(t), 0.25),
                content_sampled(Some(t), 0.25)
            );
        }
        assert!(traces.iter().all(|t| content_sampled(Some(t), 1.0)));
        assert!(!traces.iter().any(|t| content_sampled(Some(t), 0.0)));
    }
}

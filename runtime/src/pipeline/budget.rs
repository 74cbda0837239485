//! The process-wide cost budget (`LLM_COST_BUDGET_USD`): the estimated cost
//! of every priced call adds up; the call that crosses the budget gets a
//! warning and one ERROR event `llm_budget_exceeded` is emitted (`tracing`
//! has no CRITICAL level).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Cost so far, in millionths of a dollar.
static SPENT_MICRO_USD: AtomicU64 = AtomicU64::new(0);
static BUDGET_REPORTED: AtomicBool = AtomicBool::new(false);

pub(super) fn add_cost(cost: f64) -> u64 {
    let micro = (cost * 1e6).round().max(0.0) as u64;
    SPENT_MICRO_USD.fetch_add(micro, Ordering::Relaxed) + micro
}

/// Adds `cost`; true when this call crossed the budget (reported once).
pub(super) fn charge(cost: f64, budget: f64) -> bool {
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

//! Per-call overhead with every llm-traced output off and no `tracing`
//! subscriber: the cost a user pays for leaving `#[llm_traced]` in place.
//!
//! ```sh
//! cargo bench -p llm-traced-integration --bench overhead
//! ```
//!
//! Futures are polled once with a no-op waker (they complete at once), so the
//! numbers are the wrapper's cost, not an executor's.

use std::hint::black_box;

mod shared;
use shared::*;

fn main() {
    llm_traced::Config::default().install().unwrap();
    divan::main();
}

#[divan::bench]
fn async_bare() -> &'static str {
    poll_once(bare_async(black_box(MESSAGES)))
}

#[divan::bench]
fn async_tracing_instrument() -> &'static str {
    poll_once(instrument_async(black_box(MESSAGES)))
}

#[divan::bench]
fn async_llm_traced_off() -> &'static str {
    poll_once(llm_traced_async(black_box(MESSAGES)))
}

#[divan::bench]
fn async_llm_traced_off_dynamic_model() -> &'static str {
    poll_once(llm_traced_async_dynamic_model(
        black_box("gpt-4o"),
        black_box(MESSAGES),
    ))
}

#[divan::bench]
fn sync_bare() -> &'static str {
    bare_sync(black_box(MESSAGES))
}

#[divan::bench]
fn sync_llm_traced_off() -> &'static str {
    llm_traced_sync(black_box(MESSAGES))
}

//! Per-call cost when a `tracing` subscriber listens (the call is recorded:
//! clock, ids, span fields, the end event) and no file output is on, outside
//! any context and inside a bound one; and the cost of a bound scope alone.
//!
//! ```sh
//! cargo bench -p llm-traced-integration --bench active
//! ```

use std::hint::black_box;

use llm_traced::context::Context;
use llm_traced::llm_traced;

mod shared;
use shared::*;

fn main() {
    llm_traced::Config::default().install().unwrap();
    // The registry stores spans and enables everything, like an application's
    // subscriber would, but prints nothing.
    tracing::subscriber::set_global_default(tracing_subscriber::registry()).unwrap();
    divan::main();
}

#[divan::bench]
fn async_bare() -> &'static str {
    poll_once(bare_async(black_box(MESSAGES)))
}

#[divan::bench]
fn async_llm_traced_recorded() -> &'static str {
    poll_once(llm_traced_async(black_box(MESSAGES)))
}

#[divan::bench]
fn async_llm_traced_recorded_in_bound_context(bencher: divan::Bencher) {
    let ctx = Context::new_trace()
        .with_user("u-42")
        .with_session("s-1")
        .with_tenant("acme")
        .with_tag("beta");
    bencher.bench_local(|| poll_once(ctx.clone().scope(llm_traced_async(black_box(MESSAGES)))));
}

#[divan::bench]
fn async_bare_in_bound_context(bencher: divan::Bencher) {
    let ctx = Context::new_trace()
        .with_user("u-42")
        .with_session("s-1")
        .with_tenant("acme")
        .with_tag("beta");
    bencher.bench_local(|| poll_once(ctx.clone().scope(bare_async(black_box(MESSAGES)))));
}

#[divan::bench]
fn bind_a_new_context(bencher: divan::Bencher) {
    bencher.bench_local(|| Context::current().with_user(black_box("u-42")));
}

#[llm_traced(provider = "openai", model = "gpt-4o")]
fn sync_recorded(messages: &[&str]) -> &'static str {
    if black_box(messages.len()) > 10 {
        "long"
    } else {
        "short"
    }
}

#[divan::bench]
fn sync_llm_traced_recorded() -> &'static str {
    sync_recorded(black_box(MESSAGES))
}

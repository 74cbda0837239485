//! Per-call overhead with every llm-traced output off and no `tracing`
//! subscriber: the cost a user pays for leaving `#[llm_traced]` in place.
//!
//! ```sh
//! cargo bench --bench overhead
//! ```
//!
//! Futures are polled once with a no-op waker (they complete at once), so the
//! numbers are the wrapper's cost, not an executor's.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use llm_traced::llm_traced;

fn main() {
    llm_traced::Config::default().install().unwrap();
    divan::main();
}

fn poll_once<F: Future>(fut: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(fut).poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("the benchmarked futures complete at once"),
    }
}

#[inline(never)]
async fn bare_async(messages: &[&str]) -> &'static str {
    if black_box(messages.len()) > 10 {
        "long"
    } else {
        "short"
    }
}

#[inline(never)]
#[tracing::instrument(skip_all)]
async fn instrument_async(messages: &[&str]) -> &'static str {
    if black_box(messages.len()) > 10 {
        "long"
    } else {
        "short"
    }
}

#[inline(never)]
#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn llm_traced_async(messages: &[&str]) -> &'static str {
    if black_box(messages.len()) > 10 {
        "long"
    } else {
        "short"
    }
}

#[inline(never)]
#[llm_traced(provider = "openai", model = model)]
async fn llm_traced_async_dynamic_model(model: &str, messages: &[&str]) -> &'static str {
    let _ = model;
    if black_box(messages.len()) > 10 {
        "long"
    } else {
        "short"
    }
}

#[inline(never)]
fn bare_sync(messages: &[&str]) -> &'static str {
    if black_box(messages.len()) > 10 {
        "long"
    } else {
        "short"
    }
}

#[inline(never)]
#[llm_traced(provider = "openai", model = "gpt-4o")]
fn llm_traced_sync(messages: &[&str]) -> &'static str {
    if black_box(messages.len()) > 10 {
        "long"
    } else {
        "short"
    }
}

const MESSAGES: &[&str] = &["You are terse.", "Say hi."];

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

//! The functions both overhead benchmarks measure: the same trivial body,
//! bare and under each attribute.

#![allow(dead_code)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use llm_traced::llm_traced;

/// Two short messages, the argument of every measured function.
pub const MESSAGES: &[&str] = &["You are terse.", "Say hi."];

/// Polls a future that completes at once, with a no-op waker: the cost of
/// the future itself, not of an executor.
pub fn poll_once<F: Future>(fut: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(fut).poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("the measured futures complete at once"),
    }
}

#[inline(always)]
fn answer(messages: &[&str]) -> &'static str {
    if black_box(messages.len()) > 10 {
        "long"
    } else {
        "short"
    }
}

#[inline(never)]
pub async fn bare_async(messages: &[&str]) -> &'static str {
    answer(messages)
}

#[inline(never)]
#[tracing::instrument(skip_all)]
pub async fn instrument_async(messages: &[&str]) -> &'static str {
    answer(messages)
}

#[inline(never)]
#[llm_traced(provider = "openai", model = "gpt-4o")]
pub async fn llm_traced_async(messages: &[&str]) -> &'static str {
    answer(messages)
}

#[inline(never)]
#[llm_traced(provider = "openai", model = model)]
pub async fn llm_traced_async_dynamic_model(model: &str, messages: &[&str]) -> &'static str {
    let _ = model;
    answer(messages)
}

#[inline(never)]
pub fn bare_sync(messages: &[&str]) -> &'static str {
    answer(messages)
}

#[inline(never)]
#[llm_traced(provider = "openai", model = "gpt-4o")]
pub fn llm_traced_sync(messages: &[&str]) -> &'static str {
    answer(messages)
}

//! The data of [llm-traced](https://docs.rs/llm-traced): what a call is
//! made of and what is known about it, apart from the machinery that records
//! it (`llm-traced-runtime`). Its own crate so that the two compile side by
//! side.
//!
//! Use it through the `llm-traced` crate, which re-exports everything here.
//! Modules, one concern each:
//!
//! - [`config`]: the switches, read once from the environment or installed in code.
//! - [`capture`]: the [`LlmResponse`](capture::LlmResponse) trait that reads a function's output.
//! - [`context`]: trace ids and bound values (user, session, tenant, tags).
//! - [`record`]: [`CallRecord`](record::CallRecord), the versioned schema of saved conversations.
//! - [`diagnostics`]: what kind of failure an error is, and what to do about it.
//! - [`redaction`]: secrets and personal data kept out of every output.
//! - [`pricing`]: the price table and a call's estimated cost.

// On docs.rs, each item shows the cargo feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs, unreachable_pub)]
#![deny(unsafe_code)]

pub mod capture;
pub mod config;
pub mod context;
pub mod diagnostics;
pub mod pricing;
pub mod record;
pub mod redaction;
#[doc(hidden)]
pub mod text;

/// Prints `message` on stderr the first time `flag` is seen unset.
#[doc(hidden)]
pub fn warn_once(flag: &std::sync::atomic::AtomicBool, message: impl FnOnce() -> String) {
    if !flag.swap(true, std::sync::atomic::Ordering::Relaxed) {
        eprintln!(
            "{} (further errors of this kind are not reported)",
            message()
        );
    }
}

//! Request context: trace ids across nested calls and tasks, and bound values
//! (user, session, tenant, tags, metadata) that every call inside a scope
//! inherits.
//!
//! The context is llm-traced's own: a thread-local that the future wrappers
//! install on each poll and restore afterwards, so it follows the work across
//! `.await` on any executor and needs no `tracing` subscriber.
//!
//! ```
//! # extern crate llm_traced_core as llm_traced;
//! use llm_traced::context::Context;
//!
//! # futures_lite_block_on(async {
//! Context::current()
//!     .with_user("u-42")
//!     .with_session("chat-7")
//!     .with_tag("beta")
//!     .scope(async {
//!         // every #[llm_traced] call in here shares one trace id and
//!         // records user u-42, session chat-7 and the tag "beta"
//!         assert_eq!(Context::current().user_id(), Some("u-42"));
//!     })
//!     .await;
//! # });
//! # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut f = std::pin::pin!(f);
//! #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! ```
//!
//! Spawned work does not inherit the context by itself: a task spawned
//! without [`FutureExt::in_current_context`] starts its own trace. For threads
//! and `spawn_blocking`, capture with [`Context::current`] and
//! [`attach`](Context::attach) on the other side.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use serde_json::Value;

/// A W3C Trace Context trace id: 16 bytes, 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(pub [u8; 16]);

/// A W3C Trace Context span id: 8 bytes, 16 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId(pub [u8; 8]);

impl TraceId {
    /// A random, valid (non-zero) trace id.
    pub fn random() -> Self {
        loop {
            let id = fastrand::u128(..).to_be_bytes();
            if id != [0; 16] {
                return TraceId(id);
            }
        }
    }

    /// Parses 32 hex digits (any case); all zeros is invalid, as in W3C.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let mut out = [0u8; 16];
        parse_hex(hex, &mut out)?;
        (out != [0; 16]).then_some(TraceId(out))
    }
}

impl SpanId {
    /// A random, valid (non-zero) span id.
    pub fn random() -> Self {
        loop {
            let id = fastrand::u64(..).to_be_bytes();
            if id != [0; 8] {
                return SpanId(id);
            }
        }
    }

    /// Parses 16 hex digits (any case); all zeros is invalid, as in W3C.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let mut out = [0u8; 8];
        parse_hex(hex, &mut out)?;
        (out != [0; 8]).then_some(SpanId(out))
    }
}

/// A request id: a UUID v7 (time-ordered to the millisecond), monotonic
/// within the process: after the 48-bit millisecond come 16 bits of a
/// counter that restarts at each new millisecond (RFC 9562's method 1, the
/// 12 bits of `rand_a` and 4 of `rand_b`), then 56 random bits from the
/// thread's fast generator, so that the last 8 hex digits, which `ls` shows
/// as the short id, stay random. Two ids made one after the other compare in
/// that order, as text and as bytes, whichever thread made them. A counter
/// that runs over lends its carry to the millisecond: the ids stay ordered
/// and unique, a millisecond ahead at worst.
///
/// `Uuid::now_v7` asks the kernel for its random bits on every call (a system
/// call per recorded call, and a panic where `getrandom` fails); an id that
/// must be unique, not secret, needs neither.
#[doc(hidden)]
pub fn request_id(at: chrono::DateTime<chrono::Utc>) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    /// The last id's millisecond (high 48 bits) and counter (low 16).
    static LAST: AtomicU64 = AtomicU64::new(0);

    let floor = u64::try_from(at.timestamp_millis()).unwrap_or(0) << 16;
    let mut prev = LAST.load(Ordering::Relaxed);
    let stamp = loop {
        let next = floor.max(prev.wrapping_add(1));
        match LAST.compare_exchange_weak(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break next,
            Err(now) => prev = now,
        }
    };
    let millis = stamp >> 16;
    let counter = stamp & 0xffff;
    let mut bytes = [0u8; 10];
    fastrand::fill(&mut bytes[2..]);
    // The builder overwrites the version's 4 bits (bytes[0]'s high half) and
    // the variant's 2 (bytes[2]'s top).
    bytes[0] = (counter >> 12) as u8;
    bytes[1] = (counter >> 4) as u8;
    bytes[2] = (((counter & 0xf) as u8) << 2) | (bytes[2] & 0b11);
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes)
        .into_uuid()
        .to_string()
}

/// The next call's place in the process's start order: 0, 1, 2, …
#[doc(hidden)]
pub fn next_seq() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    SEQ.fetch_add(1, Ordering::Relaxed)
}

fn parse_hex(hex: &str, out: &mut [u8]) -> Option<()> {
    let bytes = hex.as_bytes();
    if bytes.len() != out.len() * 2 {
        return None;
    }
    for (i, pair) in bytes.chunks(2).enumerate() {
        let digit = |b: u8| (b as char).to_digit(16);
        out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(())
}

/// Lowercase hex of up to 16 bytes, without the formatting machinery (ids
/// are formatted on every recorded call).
fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 32];
    for (i, b) in bytes.iter().enumerate().take(16) {
        buf[2 * i] = DIGITS[usize::from(b >> 4)];
        buf[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
    }
    let text = std::str::from_utf8(&buf[..bytes.len().min(16) * 2]).map_err(|_| fmt::Error)?;
    f.write_str(text)
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

/// A parsed W3C `traceparent` header: `00-<trace id>-<parent span id>-<flags>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// The trace.
    pub trace_id: TraceId,
    /// The caller's span: the parent of the spans made here.
    pub parent_span_id: SpanId,
    /// Trace flags (bit 0: sampled).
    pub flags: u8,
}

impl TraceParent {
    /// Parses a `traceparent` value. Version `00` must have exactly four
    /// fields; a higher version may carry more, as the W3C spec allows.
    /// Version `ff`, bad hex and all-zero ids are rejected.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let mut parts = value.split('-');
        let version = parts.next()?;
        let trace = parts.next()?;
        let parent = parts.next()?;
        let flags = parts.next()?;
        let mut version_byte = [0u8; 1];
        parse_hex(version, &mut version_byte)?;
        if version_byte[0] == 0xff || (version_byte[0] == 0 && parts.next().is_some()) {
            return None;
        }
        let mut flags_byte = [0u8; 1];
        parse_hex(flags, &mut flags_byte)?;
        Some(TraceParent {
            trace_id: TraceId::from_hex(trace)?,
            parent_span_id: SpanId::from_hex(parent)?,
            flags: flags_byte[0],
        })
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            self.trace_id, self.parent_span_id, self.flags
        )
    }
}

/// Values bound to a scope, inherited by every call inside it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bound {
    /// The end user the work is for.
    pub user_id: Option<String>,
    /// The conversation or session (`gen_ai.conversation.id`).
    pub session_id: Option<String>,
    /// The customer, in a multi-tenant application.
    pub tenant_id: Option<String>,
    /// Free-form labels.
    pub tags: Vec<String>,
    /// Free-form key/value metadata.
    pub metadata: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default)]
struct Inner {
    trace_id: Option<TraceId>,
    span_id: Option<SpanId>,
    /// When `span_id` is a remote parent (an incoming `traceparent`) rather
    /// than one of this process's calls: its trace flags.
    remote: Option<u8>,
    request_id: Option<String>,
    /// The request id of the recorded call the calls here replay.
    replay_of: Option<String>,
    bound: Bound,
}

/// The context of the work at hand: a trace, the current span (the parent of
/// the next call), an HTTP request id, and the bound values. Cheap to clone.
#[derive(Clone, Default)]
pub struct Context {
    inner: Option<Arc<Inner>>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.as_deref().cloned().unwrap_or_default();
        f.debug_struct("Context")
            .field("trace_id", &inner.trace_id)
            .field("span_id", &inner.span_id)
            .field("request_id", &inner.request_id)
            .field("bound", &inner.bound)
            .finish()
    }
}

thread_local! {
    static CURRENT: RefCell<Context> = RefCell::new(Context::default());
}

impl Context {
    /// The context of the running code (empty outside any scope).
    pub fn current() -> Context {
        CURRENT.try_with(|c| c.borrow().clone()).unwrap_or_default()
    }

    /// A context that starts a new trace, with nothing bound.
    pub fn new_trace() -> Context {
        Context::from_inner(Inner {
            trace_id: Some(TraceId::random()),
            ..Inner::default()
        })
    }

    /// A context in trace `trace_id`, with no parent span (an incoming
    /// `X-Trace-ID`).
    pub fn from_trace_id(trace_id: TraceId) -> Context {
        Context::from_inner(Inner {
            trace_id: Some(trace_id),
            ..Inner::default()
        })
    }

    /// A context that continues a remote trace (an incoming `traceparent`).
    pub fn from_traceparent(parent: TraceParent) -> Context {
        Context::from_inner(Inner {
            trace_id: Some(parent.trace_id),
            span_id: Some(parent.parent_span_id),
            remote: Some(parent.flags),
            ..Inner::default()
        })
    }

    fn from_inner(inner: Inner) -> Context {
        Context {
            inner: Some(Arc::new(inner)),
        }
    }

    fn edit(&self, f: impl FnOnce(&mut Inner)) -> Context {
        let mut inner = self.inner.as_deref().cloned().unwrap_or_default();
        f(&mut inner);
        Context::from_inner(inner)
    }

    /// The trace id, if a trace is active.
    pub fn trace_id(&self) -> Option<TraceId> {
        self.inner.as_ref().and_then(|i| i.trace_id)
    }

    /// The trace flags of a remote parent (an incoming `traceparent`), when
    /// the current span is one.
    #[doc(hidden)]
    pub fn remote_flags(&self) -> Option<u8> {
        self.inner.as_ref().and_then(|i| i.remote)
    }

    /// The current span: the parent of calls made now.
    pub fn span_id(&self) -> Option<SpanId> {
        self.inner.as_ref().and_then(|i| i.span_id)
    }

    /// The id of the HTTP request being served, when set by the HTTP layer.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.as_ref().and_then(|i| i.request_id.as_deref())
    }

    /// The bound values.
    pub fn bound(&self) -> Option<&Bound> {
        self.inner.as_ref().map(|i| &i.bound)
    }

    /// The bound user id.
    pub fn user_id(&self) -> Option<&str> {
        self.bound().and_then(|b| b.user_id.as_deref())
    }

    /// The bound session id.
    pub fn session_id(&self) -> Option<&str> {
        self.bound().and_then(|b| b.session_id.as_deref())
    }

    /// The bound tenant id.
    pub fn tenant_id(&self) -> Option<&str> {
        self.bound().and_then(|b| b.tenant_id.as_deref())
    }

    /// The `traceparent` header value that continues this context in another
    /// service, when a trace and a span are active.
    pub fn traceparent(&self) -> Option<TraceParent> {
        Some(TraceParent {
            trace_id: self.trace_id()?,
            parent_span_id: self.span_id()?,
            flags: 1,
        })
    }

    /// This context with `user_id` bound.
    pub fn with_user(&self, user_id: impl Into<String>) -> Context {
        let user_id = user_id.into();
        self.edit(|i| i.bound.user_id = Some(user_id))
    }

    /// This context with `session_id` bound.
    pub fn with_session(&self, session_id: impl Into<String>) -> Context {
        let session_id = session_id.into();
        self.edit(|i| i.bound.session_id = Some(session_id))
    }

    /// This context with `tenant_id` bound.
    pub fn with_tenant(&self, tenant_id: impl Into<String>) -> Context {
        let tenant_id = tenant_id.into();
        self.edit(|i| i.bound.tenant_id = Some(tenant_id))
    }

    /// This context with one more tag (a tag already there is not repeated).
    pub fn with_tag(&self, tag: impl Into<String>) -> Context {
        let tag = tag.into();
        self.edit(|i| {
            if !i.bound.tags.contains(&tag) {
                i.bound.tags.push(tag)
            }
        })
    }

    /// This context with `key` set to `value` in the metadata.
    pub fn with_metadata(&self, key: impl Into<String>, value: impl Into<Value>) -> Context {
        let (key, value) = (key.into(), value.into());
        self.edit(|i| {
            i.bound.metadata.insert(key, value);
        })
    }

    /// This context with its calls marked as replays of the recorded call
    /// `request_id` (their records' `replay_of`), as `llm-traced replay`
    /// runs them.
    pub fn with_replay_of(&self, request_id: impl Into<String>) -> Context {
        let request_id = request_id.into();
        self.edit(|i| i.replay_of = Some(request_id))
    }

    /// The request id of the recorded call the calls here replay.
    pub fn replay_of(&self) -> Option<&str> {
        self.inner.as_ref().and_then(|i| i.replay_of.as_deref())
    }

    /// This context with the HTTP request id set.
    pub fn with_request_id(&self, request_id: impl Into<String>) -> Context {
        let request_id = request_id.into();
        self.edit(|i| i.request_id = Some(request_id))
    }

    /// This context as the parent of a call: same trace and bound values,
    /// `span_id` as the current span.
    #[doc(hidden)]
    pub fn child(&self, trace_id: TraceId, span_id: SpanId) -> Context {
        self.edit(|i| {
            i.trace_id = Some(trace_id);
            i.span_id = Some(span_id);
            i.remote = None;
        })
    }

    /// This context with a trace: its own, or a new one when it has none.
    fn with_trace(self) -> Context {
        if self.trace_id().is_some() {
            self
        } else {
            self.edit(|i| i.trace_id = Some(TraceId::random()))
        }
    }

    /// Makes this the current context until the guard is dropped. For threads
    /// and `spawn_blocking`: capture with [`Context::current`], attach on the
    /// other side. Without a trace, one is started.
    #[must_use = "the context is current only while the guard lives"]
    pub fn attach(self) -> ContextGuard {
        self.with_trace().enter()
    }

    /// Runs `f` with this context current.
    pub fn in_scope<R>(self, f: impl FnOnce() -> R) -> R {
        let _guard = self.attach();
        f()
    }

    /// Runs `future` with this context current on each of its polls. Without
    /// a trace, one is started, so that every call inside shares it.
    pub fn scope<F: Future>(self, future: F) -> WithContext<F> {
        WithContext {
            context: self.with_trace(),
            inner: future,
        }
    }

    /// Installs this context without starting a trace: the call wrappers use it.
    #[doc(hidden)]
    pub fn enter(&self) -> ContextGuard {
        // A remote parent becomes the exporter's current context as well
        // (OpenTelemetry, when set up), so that spans started inside (the
        // user's own too) join its trace.
        let remote = match self.inner.as_deref() {
            Some(Inner {
                trace_id: Some(trace_id),
                span_id: Some(span_id),
                remote: Some(flags),
                ..
            }) => ON_REMOTE
                .get()
                .and_then(|hook| hook(*trace_id, *span_id, *flags)),
            _ => None,
        };
        ContextGuard {
            previous: Some(swap(self.clone())),
            _remote: remote,
        }
    }
}

fn swap(context: Context) -> Context {
    CURRENT
        .try_with(|c| std::mem::replace(&mut *c.borrow_mut(), context))
        .unwrap_or_default()
}

/// What entering a context with a remote parent also does: the
/// OpenTelemetry export, once set up, registers a hook that makes the parent
/// its current context and returns the guard that restores it. (Registered
/// this way so that the context, which the export reads, does not depend on
/// the export.)
pub(crate) type RemoteHook = fn(TraceId, SpanId, u8) -> Option<Box<dyn std::any::Any>>;

/// The hook, when an exporter registered one.
#[doc(hidden)]
pub static ON_REMOTE: std::sync::OnceLock<RemoteHook> = std::sync::OnceLock::new();

/// Restores the previous context when dropped.
pub struct ContextGuard {
    previous: Option<Context>,
    /// The exporter's context for a remote parent; restored on drop.
    _remote: Option<Box<dyn std::any::Any>>,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            swap(previous);
        }
    }
}

impl fmt::Debug for ContextGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContextGuard")
    }
}

pin_project_lite::pin_project! {
    /// A future that runs with a context current: see [`Context::scope`] and
    /// [`FutureExt::in_current_context`].
    #[must_use = "futures do nothing unless polled"]
    pub struct WithContext<F> {
        context: Context,
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _guard = this.context.enter();
        this.inner.poll(cx)
    }
}

/// Carries the current context into spawned work.
pub trait FutureExt: Future + Sized {
    /// Wraps the future so that it runs with the context current now, the
    /// way `tracing::Instrument::in_current_span` carries a span:
    /// `tokio::spawn(work().in_current_context())`.
    fn in_current_context(self) -> WithContext<Self> {
        WithContext {
            context: Context::current(),
            inner: self,
        }
    }

    /// Wraps the future so that it runs with `context` current.
    fn with_context(self, context: Context) -> WithContext<Self> {
        context.scope(self)
    }
}

impl<F: Future> FutureExt for F {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_uuid_v7_in_time_order() {
        let at = chrono::Utc::now();
        let a = request_id(at);
        let b = request_id(at + chrono::Duration::milliseconds(1));
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
        assert_eq!(a.len(), 36);
        assert!(a < b, "{a} then {b}");
        assert_ne!(request_id(at), request_id(at));
        // The id's time is the call's, or a little later when ids of other
        // threads (other tests) came first.
        let (secs, nanos) = parsed.get_timestamp().unwrap().to_unix();
        let millis = secs as i64 * 1000 + i64::from(nanos / 1_000_000);
        assert!(
            (at.timestamp_millis()..at.timestamp_millis() + 1000).contains(&millis),
            "{millis} for {}",
            at.timestamp_millis()
        );
    }

    #[test]
    fn request_ids_made_one_after_another_sort_in_that_order() {
        let at = chrono::Utc::now();
        // Many in one millisecond, from several threads: each thread's ids
        // are increasing, all are distinct.
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || (0..5000).map(|_| request_id(at)).collect::<Vec<_>>())
            })
            .collect();
        let mut all = Vec::new();
        for t in threads {
            let ids = t.join().unwrap();
            assert!(
                ids.windows(2).all(|w| w[0] < w[1]),
                "in order within a thread"
            );
            all.extend(ids);
        }
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "unique");
        // The short id `ls` shows (the last 8 hex digits) stays random.
        let tails: std::collections::HashSet<_> = all.iter().map(|id| &id[28..]).collect();
        assert!(
            tails.len() > n * 9 / 10,
            "{} distinct tails of {n}",
            tails.len()
        );
    }

    #[test]
    fn call_sequence_numbers_increase() {
        let a = next_seq();
        let b = next_seq();
        assert!(b > a);
    }

    #[test]
    fn ids_print_as_lowercase_hex_of_the_w3c_length() {
        let t = TraceId::random().to_string();
        let s = SpanId::random().to_string();
        assert_eq!(t.len(), 32);
        assert_eq!(s.len(), 16);
        assert!(t
            .chars()
            .chain(s.chars())
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(TraceId::from_hex(&t).unwrap().to_string(), t);
    }

    #[test]
    fn traceparent_round_trip_and_rejections() {
        let v = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let p = TraceParent::parse(v).unwrap();
        assert_eq!(p.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(p.parent_span_id.to_string(), "00f067aa0ba902b7");
        assert_eq!(p.to_string(), v);
        for bad in [
            "",
            "garbage",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad:?}");
        }
        // A future version may add fields.
        assert!(
            TraceParent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz")
                .is_some()
        );
    }

    #[test]
    fn inner_scopes_override_for_their_duration_only() {
        let outer = Context::current().with_user("outer").with_tag("a");
        outer.in_scope(|| {
            assert_eq!(Context::current().user_id(), Some("outer"));
            let trace = Context::current().trace_id().unwrap();
            Context::current()
                .with_user("inner")
                .with_tag("b")
                .in_scope(|| {
                    let c = Context::current();
                    assert_eq!(c.user_id(), Some("inner"));
                    assert_eq!(c.bound().unwrap().tags, ["a", "b"]);
                    assert_eq!(c.trace_id(), Some(trace), "same trace inside");
                });
            assert_eq!(Context::current().user_id(), Some("outer"));
            assert_eq!(Context::current().bound().unwrap().tags, ["a"]);
        });
        assert_eq!(Context::current().user_id(), None);
        assert_eq!(Context::current().trace_id(), None);
    }
}

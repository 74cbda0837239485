//! Calls seen on the wire by the HTTP middleware (`llm_traced::middleware`)
//! rather than through `#[llm_traced]`: the same `CallState`, pipeline and
//! outputs, started from what the request says.
//!
//! The nesting rule: a middleware call inside an annotated step (`chain`,
//! `agent`, `tool`, `retrieval`) is recorded as the step's child, like any
//! nested call. Inside an annotated model call (`kind = "llm"`) it records
//! nothing of its own: it hands what it saw (the request body or bodies, the
//! last HTTP status, the attempts, the server) to the enclosing call through
//! [`Seen`], and the enclosing call's own output still decides the response,
//! usage and error. The enclosing call makes its `Seen` current for the
//! middleware while its body is polled ([`CallState::enter_seen`]).

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tracing::Span;

use super::{CallState, Outcome, Site};
use crate::capture::ResponseInfo;
use crate::config;
use crate::record::HttpExchange;

/// What the middleware saw below an annotated model call.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// Whether the enclosing call records requests (some output shows content).
    pub(crate) wants_request: bool,
    pub(crate) requests: Vec<Value>,
    pub(crate) server: Option<(String, u16)>,
    pub(crate) http: HttpExchange,
}

impl Seen {
    fn shared(wants_request: bool) -> Arc<Mutex<Seen>> {
        Arc::new(Mutex::new(Seen {
            wants_request,
            ..Seen::default()
        }))
    }
}

/// An annotated model call's [`Seen`], made only when a middleware below it
/// first asks for it: a call with no middleware below allocates nothing.
pub(crate) type SeenCell = std::sync::OnceLock<Arc<Mutex<Seen>>>;

/// The annotated model call being polled on this thread: whether it records
/// requests, and its `Seen` once made.
struct Slot {
    wants_request: bool,
    seen: Option<Arc<Mutex<Seen>>>,
}

thread_local! {
    static CURRENT: RefCell<Option<Slot>> = const { RefCell::new(None) };
}

/// Restores the previous slot when dropped, and hands a `Seen` made during
/// the poll to its call.
pub(crate) struct SeenGuard<'a> {
    previous: Option<Option<Slot>>,
    cell: Option<&'a SeenCell>,
}

impl Drop for SeenGuard<'_> {
    fn drop(&mut self) {
        let Some(previous) = self.previous.take() else {
            return;
        };
        let mine = CURRENT.try_with(|c| c.replace(previous)).ok().flatten();
        if let (
            Some(cell),
            Some(Slot {
                seen: Some(seen), ..
            }),
        ) = (self.cell, mine)
        {
            let _ = cell.set(seen);
        }
    }
}

/// The `Seen` of the annotated model call being polled on this thread, if
/// any (made now when it is the first middleware call below it).
pub(crate) fn enclosing() -> Option<Arc<Mutex<Seen>>> {
    CURRENT
        .try_with(|c| {
            let mut c = c.borrow_mut();
            let slot = c.as_mut()?;
            let wants_request = slot.wants_request;
            Some(
                slot.seen
                    .get_or_insert_with(|| Seen::shared(wants_request))
                    .clone(),
            )
        })
        .ok()
        .flatten()
}

impl CallState {
    /// Makes this call's slot current for the middleware below it (a step
    /// has none, and hides its parent's: a call inside a step is the step's).
    pub(crate) fn enter_seen(&self) -> SeenGuard<'_> {
        let slot = self.seen.as_ref().map(|cell| Slot {
            wants_request: self.wants_messages,
            seen: cell.get().cloned(),
        });
        SeenGuard {
            previous: CURRENT.try_with(|c| c.replace(slot)).ok(),
            cell: self.seen.as_ref(),
        }
    }

    /// Folds what the middleware saw into this call's record.
    pub(super) fn adopt_seen(&mut self) {
        let Some(seen) = self.seen.take().and_then(SeenCell::into_inner) else {
            return;
        };
        let Ok(mut seen) = seen.lock() else { return };
        if seen.http.attempts == 0 {
            return;
        }
        self.http = Some(std::mem::take(&mut seen.http));
        if self.server.is_none() {
            self.server = seen.server.take();
        }
        if self.request.is_none() && self.wants_messages {
            let mut requests = std::mem::take(&mut seen.requests);
            let request = match requests.len() {
                0 => None,
                1 => requests.pop(),
                _ => Some(Value::Array(requests)),
            };
            if let Some(request) = request {
                self.adopt_request(request);
            }
        }
    }

    /// Takes the request's model and messages (when not known) and keeps it.
    pub(super) fn adopt_request(&mut self, value: Value) {
        if self.model.is_none() {
            if let Some(model) = value.get("model").and_then(Value::as_str) {
                self.model = Some(model.to_owned());
            }
        }
        if self.messages.is_none() {
            self.messages = ["messages", "contents", "input", "prompt"]
                .iter()
                .find_map(|key| value.get(key))
                .cloned();
        }
        self.request = Some(value);
    }

    /// Whether some output shows the response's content.
    pub(crate) fn wants_response(&self) -> bool {
        self.wants_response
    }

    /// Records what the middleware saw on the wire.
    pub(crate) fn set_http(&mut self, http: HttpExchange) {
        self.http = Some(http);
    }

    /// Ends a middleware call with what its response said.
    pub(crate) fn finish_info(mut self: Box<Self>, info: ResponseInfo) {
        self.complete(Outcome::Returned(Box::new(info)));
    }
}

/// What the middleware knows when a request starts.
pub(crate) struct Request<'a> {
    pub(crate) site: &'static Site,
    pub(crate) provider: &'static str,
    pub(crate) server: Option<(String, u16)>,
    /// The model when the URL names it (an Azure deployment, a Gemini model).
    pub(crate) model: Option<String>,
    /// The JSON body, when the request has one in memory (not multipart).
    pub(crate) body: Option<&'a [u8]>,
}

/// Starts a call seen by the middleware: `None` when nothing listens. The
/// context is taken now, where the request starts, so that a response body
/// read later in another task still belongs to the caller's trace.
pub(crate) fn start(request: Request<'_>, span: Span) -> Option<Box<CallState>> {
    let config = config::active();
    if config.is_none() && span.is_disabled() && !request.site.audit {
        std::mem::forget(span);
        return None;
    }
    let mut state = CallState::begin(request.site, span, config);
    state.seen = None;
    state.provider = Some(request.provider);
    state.server = request.server;
    if request.model.is_some() {
        state.model = request.model;
    }
    if state.wants_messages {
        if let Some(value) = request
            .body
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        {
            state.adopt_request(value);
        }
    } else if state.model.is_none() {
        state.model = request.body.and_then(model_of);
    }
    state.announce();
    Some(state)
}

/// The `model` of a JSON body, read without building the whole value.
fn model_of(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Model {
        model: Option<String>,
    }
    serde_json::from_slice::<Model>(body).ok()?.model
}

//! The in-memory index: one small [`Entry`] of metadata per call (no message
//! bodies), with the maps the views look calls up by. Recorded strings that
//! repeat (models, functions, users, sessions, tenants, tags) are interned.

use std::collections::HashMap;
use std::path::PathBuf;

use llm_traced_runtime::record::Status;
use llm_traced_runtime::score::ScoreLine;

pub use crate::conversations::Meta;

/// An interned string's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(pub u32);

/// Strings to small ids and back.
#[derive(Debug, Default)]
pub struct Interner {
    ids: HashMap<Box<str>, Sym>,
    names: Vec<Box<str>>,
}

impl Interner {
    /// The id of `name`, added when new.
    pub fn id(&mut self, name: &str) -> Sym {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = Sym(self.names.len() as u32);
        self.names.push(name.into());
        self.ids.insert(name.into(), id);
        id
    }

    /// The id of `name`, if it was ever seen.
    pub fn find(&self, name: &str) -> Option<Sym> {
        self.ids.get(name).copied()
    }

    /// The string of an id.
    pub fn name(&self, id: Sym) -> &str {
        self.names.get(id.0 as usize).map_or("", |n| n)
    }
}

/// Where a call's full record is on disk.
#[derive(Debug, Clone)]
pub enum Body {
    /// A saved conversation file.
    Conversation(Box<std::path::Path>),
    /// One line of a JSON-lines log (index into [`Index::log_files`]).
    LogLine {
        /// The log file.
        file: u32,
        /// Where the line starts.
        offset: u64,
        /// Its length, without the newline.
        len: u32,
    },
}

/// What the index keeps of one call.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The request id (UUID v7).
    pub request_id: Box<str>,
    /// W3C trace id.
    pub trace_id: Option<Box<str>>,
    /// W3C span id.
    pub span_id: Option<Box<str>>,
    /// The parent's span id.
    pub parent_span_id: Option<Box<str>>,
    /// `llm`, `chain`, `agent`, `tool`, `retrieval`.
    pub kind: Sym,
    /// The call's name.
    pub name: Sym,
    /// The function's path.
    pub function: Sym,
    /// The model asked for.
    pub request_model: Option<Sym>,
    /// The model that answered.
    pub response_model: Option<Sym>,
    /// The bound user.
    pub user: Option<Sym>,
    /// The bound session.
    pub session: Option<Sym>,
    /// The bound tenant.
    pub tenant: Option<Sym>,
    /// The bound tags.
    pub tags: Box<[Sym]>,
    /// Start, epoch microseconds.
    pub started_us: i64,
    /// The call's place in its process's start order (`seq`).
    pub seq: Option<u64>,
    /// Latency, ms.
    pub latency_ms: f64,
    /// How it ended.
    pub status: Status,
    /// The error class.
    pub error_type: Option<Sym>,
    /// Input tokens.
    pub input_tokens: Option<u64>,
    /// Output tokens.
    pub output_tokens: Option<u64>,
    /// Total tokens.
    pub total_tokens: Option<u64>,
    /// Cost, USD.
    pub cost_usd: Option<f64>,
    /// `warn` calls stand out too.
    pub warn: bool,
    /// Where the full record is.
    pub body: Body,
}

impl Entry {
    /// Start, epoch milliseconds.
    pub fn started_ms(&self) -> i64 {
        self.started_us.div_euclid(1000)
    }

    /// Its place among other calls (start, `seq`, request id), as every
    /// command orders calls.
    pub fn order(&self) -> crate::conversations::Order<'_> {
        crate::conversations::Order {
            started_us: self.started_us,
            seq: self.seq,
            request_id: &self.request_id,
        }
    }

    /// The model shown: the one asked for, else the one that answered.
    pub fn model(&self) -> Option<Sym> {
        self.request_model.or(self.response_model)
    }

    /// Whether the call failed (any status but `ok`).
    pub fn failed(&self) -> bool {
        self.status != Status::Ok
    }

    /// The error class as `stats` counts it: the error's type, else
    /// `unknown` for an error, else the status (`panic`, `cancelled`).
    pub fn error_class<'a>(&self, syms: &'a Interner) -> Option<&'a str> {
        if !self.failed() {
            return None;
        }
        Some(match (self.error_type, self.status) {
            (Some(t), _) => syms.name(t),
            (None, Status::Error) => "unknown",
            (None, s) => s.as_str(),
        })
    }
}

/// A file or line that was not indexed, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// `path` or `path:line`.
    pub what: String,
    /// Why.
    pub reason: String,
}

/// How many skipped inputs are kept with their reason (all are counted).
pub const SKIPPED_KEPT: usize = 1000;

/// Every call known, and how to find them.
#[derive(Debug, Default)]
pub struct Index {
    /// Interned strings.
    pub syms: Interner,
    /// The calls, in the order they were found (an entry's id is its position).
    pub entries: Vec<Entry>,
    /// Entry ids, newest first.
    pub order: Vec<u32>,
    by_request: HashMap<Box<str>, u32>,
    by_trace: HashMap<Box<str>, Vec<u32>>,
    by_session: HashMap<Sym, Vec<u32>>,
    /// The JSON-lines logs read ([`Body::LogLine`] points here).
    pub log_files: Vec<PathBuf>,
    /// The first [`SKIPPED_KEPT`] inputs that were not indexed.
    pub skipped: Vec<Skipped>,
    /// How many were, in all.
    pub skipped_count: u64,
    /// Scores from the files beside conversations, by request id (a
    /// file's are replaced whole when it changes).
    pub file_scores: HashMap<Box<str>, Vec<ScoreLine>>,
    /// Scores from the logs' `"type": "score"` lines, by request id.
    pub log_scores: HashMap<Box<str>, Vec<ScoreLine>>,
    menus: Menus,
}

impl Index {
    /// Adds a call; a call already known by its request id is kept once,
    /// and a conversation file (which holds the content) wins over a log
    /// line. Returns the entry's id when it is new or was replaced.
    pub fn add(&mut self, meta: Meta, body: Body) -> Option<u32> {
        let existing = self.by_request.get(meta.request_id.as_str()).copied();
        if let Some(id) = existing {
            let old = &self.entries[id as usize];
            let upgrade =
                matches!(old.body, Body::LogLine { .. }) && matches!(body, Body::Conversation(_));
            if !upgrade {
                return None;
            }
        }
        let s = &mut self.syms;
        let opt = |s: &mut Interner, v: Option<String>| v.as_deref().map(|v| s.id(v));
        let entry = Entry {
            request_id: meta.request_id.into_boxed_str(),
            trace_id: meta.trace_id.map(String::into_boxed_str),
            span_id: meta.span_id.map(String::into_boxed_str),
            parent_span_id: meta.parent_span_id.map(String::into_boxed_str),
            kind: s.id(meta.kind.as_deref().unwrap_or("llm")),
            name: s.id(&meta.name),
            function: s.id(&meta.function),
            request_model: opt(s, meta.request_model),
            response_model: opt(s, meta.response_model),
            user: opt(s, meta.user_id),
            session: opt(s, meta.session_id),
            tenant: opt(s, meta.tenant_id),
            tags: meta.tags.iter().map(|t| s.id(t)).collect(),
            started_us: crate::when::rfc3339_micros(&meta.started_at).unwrap_or(0),
            seq: meta.seq,
            latency_ms: meta.latency_ms,
            status: meta.status,
            error_type: opt(s, meta.error.and_then(|e| e.error_type)),
            input_tokens: meta.usage.as_ref().and_then(|u| u.input_tokens),
            output_tokens: meta.usage.as_ref().and_then(|u| u.output_tokens),
            total_tokens: meta.usage.as_ref().and_then(|u| u.total()),
            cost_usd: meta.cost_usd,
            warn: meta.level.as_deref() == Some("warn"),
            body,
        };
        match existing {
            Some(id) => {
                self.entries[id as usize] = entry;
                Some(id)
            }
            None => {
                let id = self.entries.len() as u32;
                self.by_request.insert(entry.request_id.clone(), id);
                self.entries.push(entry);
                Some(id)
            }
        }
    }

    /// Notes an input that was not indexed.
    pub fn skip(&mut self, what: String, reason: String) {
        self.skipped_count += 1;
        if self.skipped.len() < SKIPPED_KEPT {
            self.skipped.push(Skipped { what, reason });
        }
    }

    /// Rebuilds the order and the maps after calls were added.
    pub fn rebuild(&mut self) {
        let entries = &self.entries;
        let mut order: Vec<u32> = (0..entries.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| {
            let (a, b) = (&entries[a as usize], &entries[b as usize]);
            b.order().cmp(&a.order())
        });
        let mut by_trace: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        let mut by_session: HashMap<Sym, Vec<u32>> = HashMap::new();
        // Oldest first within a trace or a session.
        for &id in order.iter().rev() {
            let e = &entries[id as usize];
            if let Some(t) = &e.trace_id {
                match by_trace.get_mut(t) {
                    Some(v) => v.push(id),
                    None => {
                        by_trace.insert(t.clone(), vec![id]);
                    }
                }
            }
            if let Some(s) = e.session {
                by_session.entry(s).or_default().push(id);
            }
        }
        self.order = order;
        self.by_trace = by_trace;
        self.by_session = by_session;
        let (syms, entries) = (&self.syms, &self.entries[..]);
        self.menus = Menus {
            models: values(entries, |e| e.model().map(|m| syms.name(m))),
            errors: values(entries, |e| e.error_class(syms)),
            functions: values(entries, |e| Some(syms.name(e.function))),
            kinds: values(entries, |e| Some(syms.name(e.kind))),
            tenants: values(entries, |e| e.tenant.map(|t| syms.name(t))),
        };
    }

    /// The call with this request id.
    pub fn call(&self, request_id: &str) -> Option<u32> {
        self.by_request.get(request_id).copied()
    }

    /// The calls of a trace, oldest first.
    pub fn trace(&self, trace_id: &str) -> &[u32] {
        self.by_trace.get(trace_id).map_or(&[], Vec::as_slice)
    }

    /// The calls of a session, oldest first.
    pub fn session(&self, session_id: &str) -> &[u32] {
        self.syms
            .find(session_id)
            .and_then(|s| self.by_session.get(&s))
            .map_or(&[], Vec::as_slice)
    }

    /// An entry by id.
    pub fn entry(&self, id: u32) -> &Entry {
        &self.entries[id as usize]
    }

    /// A call's scores from every source, each once, oldest first.
    pub fn scores(&self, request_id: &str) -> Vec<ScoreLine> {
        let none: &[ScoreLine] = &[];
        let file = self.file_scores.get(request_id).map_or(none, Vec::as_slice);
        let log = self.log_scores.get(request_id).map_or(none, Vec::as_slice);
        match (file.is_empty(), log.is_empty()) {
            (true, true) => Vec::new(),
            _ => super::scores::merge(file, log),
        }
    }

    /// A call's scores as they are on disk now: its conversation's scores
    /// file read again (so that a page never shows a stale list), merged with
    /// what the index holds from the logs.
    pub fn current_scores(&self, e: &Entry) -> Vec<ScoreLine> {
        match &e.body {
            Body::Conversation(path) => {
                let file = std::fs::read(llm_traced_runtime::score::scores_path(path))
                    .map(|bytes| super::scores::parse_text(&bytes))
                    .unwrap_or_default();
                let log = self
                    .log_scores
                    .get(&*e.request_id)
                    .map_or(&[][..], Vec::as_slice);
                super::scores::merge(&file, log)
            }
            Body::LogLine { .. } => self.scores(&e.request_id),
        }
    }

    /// Whether a call has any score.
    pub fn has_scores(&self, request_id: &str) -> bool {
        self.file_scores
            .get(request_id)
            .is_some_and(|v| !v.is_empty())
            || self
                .log_scores
                .get(request_id)
                .is_some_and(|v| !v.is_empty())
    }

    /// The choices of the filter menus (kept up to date by [`Index::rebuild`]).
    pub fn menus(&self) -> &Menus {
        &self.menus
    }
}

/// Distinct values of a field, sorted.
fn values<'a>(entries: &'a [Entry], field: impl Fn(&'a Entry) -> Option<&'a str>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    for e in entries {
        if let Some(s) = field(e) {
            seen.insert(s);
        }
    }
    let mut out: Vec<String> = seen.into_iter().map(str::to_owned).collect();
    out.sort_unstable();
    out
}

/// The distinct values the filter menus offer.
#[derive(Debug, Default)]
pub struct Menus {
    /// Models (the one asked for, else the one that answered).
    pub models: Vec<String>,
    /// Error classes.
    pub errors: Vec<String>,
    /// Functions.
    pub functions: Vec<String>,
    /// Kinds.
    pub kinds: Vec<String>,
    /// Tenants.
    pub tenants: Vec<String>,
}

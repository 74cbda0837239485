//! `/calls/{request_id}`: one call as a chat, with its figures, context,
//! error diagnosis and the raw JSON.

use std::fmt::Write as _;

use llm_traced_runtime::diagnostics::diagnose_text;
use llm_traced_runtime::record::CallRecord;
use llm_traced_runtime::Status;

use super::chat;
use super::html::{self, esc, seg};
use super::index::{Body, Entry, Index};

/// A call's record as read from disk.
pub struct Loaded {
    /// The record, or why it could not be read.
    pub record: Result<CallRecord, String>,
    /// The text as stored (pretty-printed for a log line).
    pub raw: String,
    /// Its scores, oldest first.
    pub scores: Vec<llm_traced_runtime::score::ScoreLine>,
}

/// Reads a call's full record (a conversation file, or its log line).
pub fn load(index: &Index, e: &Entry) -> Loaded {
    let scores = index.current_scores(e);
    match super::load::read_body(index, &e.body) {
        Ok(text) => {
            let record = CallRecord::from_json(&text)
                .map_err(|err| err.to_string())
                .and_then(|r| {
                    if *r.request_id == *e.request_id {
                        Ok(r)
                    } else {
                        Err("the file changed since it was read (a rotated log?)".to_owned())
                    }
                });
            let raw = match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) if matches!(e.body, Body::LogLine { .. }) => {
                    serde_json::to_string_pretty(&v).unwrap_or(text)
                }
                _ => text,
            };
            Loaded {
                record,
                raw,
                scores,
            }
        }
        Err(err) => Loaded {
            record: Err(err),
            raw: String::new(),
            scores,
        },
    }
}

/// Where a call was read from, for people.
pub fn source(index: &Index, e: &Entry) -> String {
    match &e.body {
        Body::Conversation(p) => p.display().to_string(),
        Body::LogLine { file, .. } => index
            .log_files
            .get(*file as usize)
            .map_or_else(String::new, |p| format!("{} (log)", p.display())),
    }
}

/// The call page's body.
pub fn render(index: &Index, id: u32) -> (String, String) {
    let e = index.entry(id);
    let loaded = load(index, e);
    let title = index.syms.name(e.name).to_owned();
    let mut b = String::with_capacity(16 * 1024);
    let _ = write!(
        b,
        "<p class=\"crumbs\"><a href=\"/\">calls</a> › {}{}</p>",
        match &e.trace_id {
            Some(t) => format!(
                "<a href=\"/traces/{}?call={}\">trace {}</a> › ",
                seg(t),
                seg(&e.request_id),
                esc(t.get(..8).unwrap_or(t))
            ),
            None => String::new(),
        },
        esc(&title)
    );
    detail(&mut b, index, e, &loaded);
    (title, b)
}

/// A call's details (the call page, and the trace page's selected node).
pub fn detail(b: &mut String, index: &Index, e: &Entry, loaded: &Loaded) {
    let s = &index.syms;
    let status = match e.error_class(s) {
        Some(c) => format!(
            "<span class=\"badge err\">{} · {}</span>",
            e.status.as_str(),
            esc(c)
        ),
        None if e.warn => "<span class=\"badge warn\">ok · warn</span>".to_owned(),
        None => "<span class=\"badge ok\">ok</span>".to_owned(),
    };
    let _ = write!(
        b,
        "<h1 class=\"call-title\">{} {status} <a class=\"small\" href=\"/calls/{}\">link</a></h1>",
        esc(s.name(e.name)),
        seg(&e.request_id)
    );
    let r = match &loaded.record {
        Ok(r) => r,
        Err(err) => {
            let _ = write!(
                b,
                "<p class=\"problem\">The record could not be read: {}. What the index holds is shown.</p>",
                esc(err)
            );
            facts_from_entry(b, index, e);
            super::scores::section(b, &loaded.scores);
            return;
        }
    };
    b.push_str("<div class=\"call-grid\"><section class=\"chat\">");
    if matches!(e.body, Body::LogLine { .. }) && r.messages.is_none() && r.response.is_none() {
        b.push_str(
            "<p class=\"note\">Known from the log only, which keeps no content unless \
             LLM_LOG_PROMPTS / LLM_LOG_RESPONSES are on.</p>",
        );
    }
    let nothing = r.messages.is_none()
        && r.response.is_none()
        && r.tool_calls.is_empty()
        && r.error.is_none();
    if nothing && matches!(e.body, Body::Conversation(_)) {
        b.push_str(&format!(
            "<p class=\"note\">No content was recorded for this {}.</p>",
            if r.kind == "llm" { "call" } else { "step" }
        ));
    }
    if let Some(m) = &r.messages {
        chat::messages(b, m);
    }
    if let Some(resp) = &r.response {
        chat::response(b, resp);
    }
    if !r.tool_calls.is_empty() {
        b.push_str("<div class=\"msg assistant\"><div class=\"role\">tool calls</div>");
        for c in &r.tool_calls {
            let args = serde_json::Value::String(c.arguments.clone());
            chat::tool_call(b, &c.name, c.id.as_deref(), Some(&args));
        }
        b.push_str("</div>");
    }
    if let Some(err) = &r.error {
        error(b, err);
    }
    b.push_str("</section><aside class=\"facts\">");
    facts(b, index, e, r, &loaded.scores);
    b.push_str("</aside></div>");
    super::scores::section(b, &loaded.scores);
    let _ = write!(
        b,
        "<details class=\"raw\"><summary>Raw JSON</summary>\
         <button type=\"button\" class=\"copy\" data-copy=\"raw-json\">Copy</button>\
         <pre id=\"raw-json\">{}</pre></details>",
        esc(&loaded.raw)
    );
}

fn error(b: &mut String, err: &llm_traced_runtime::record::ErrorRecord) {
    let _ = write!(
        b,
        "<div class=\"error-box\"><div class=\"role\">error <b>{}</b></div><div class=\"text\">{}</div>",
        esc(&err.error_type),
        esc(&err.message)
    );
    let mut details = Vec::new();
    details.extend(err.type_name.as_deref().map(esc));
    details.extend(err.http_status.map(|s| format!("HTTP {s}")));
    details.extend(err.code.as_deref().map(|c| format!("code {}", esc(c))));
    if !details.is_empty() {
        let _ = write!(b, "<p class=\"note\">{}</p>", details.join(" · "));
    }
    let (label, d) = match &err.diagnosis {
        Some(d) => ("Diagnosis", d.clone()),
        None => ("Diagnosis (from the message)", diagnose_text(&err.message)),
    };
    let _ = write!(
        b,
        "<h3>{label}: <span class=\"mono\">{}</span></h3><p>{}</p>",
        esc(d.class.as_str()),
        esc(&d.summary)
    );
    let retry = match (d.retryable, err.retry_after_ms.or(d.retry_after_ms)) {
        (true, Some(ms)) => format!("Retry: yes, after {}.", html::duration(ms as f64)),
        (true, None) => "Retry: yes, with backoff.".to_owned(),
        (false, _) => "Retry: no, not unchanged.".to_owned(),
    };
    let _ = write!(b, "<p class=\"retry\">{}</p>", esc(&retry));
    if !d.suggestions.is_empty() {
        b.push_str("<ul class=\"suggestions\">");
        for s in &d.suggestions {
            let _ = write!(b, "<li>{}</li>", esc(s));
        }
        b.push_str("</ul>");
    }
    for doc in &d.docs {
        if doc.starts_with("https://") || doc.starts_with("http://") {
            let _ = write!(
                b,
                "<p class=\"docs\">Docs: <a href=\"{0}\" rel=\"noreferrer noopener\">{0}</a></p>",
                esc(doc)
            );
        } else {
            let _ = write!(b, "<p class=\"docs\">Docs: {}</p>", esc(doc));
        }
    }
    b.push_str("</div>");
}

fn fact(b: &mut String, label: &str, value_html: &str) {
    let _ = write!(b, "<dt>{label}</dt><dd>{value_html}</dd>");
}

fn facts(
    b: &mut String,
    index: &Index,
    e: &Entry,
    r: &CallRecord,
    scores: &[llm_traced_runtime::score::ScoreLine],
) {
    b.push_str("<dl>");
    fact(b, "time", &html::time_us(r.started_at.timestamp_micros()));
    fact(b, "function", &esc(&r.function));
    fact(b, "kind", &esc(&r.kind));
    let provider = match &r.provider {
        Some(p) => format!("{} · {}", esc(p), esc(&r.operation)),
        None => esc(&r.operation),
    };
    fact(b, "provider", &provider);
    let model = match (&r.request_model, &r.response_model) {
        (Some(a), Some(b)) if a != b => format!("{} → {}", esc(a), esc(b)),
        (Some(a), _) | (None, Some(a)) => esc(a),
        (None, None) => "–".to_owned(),
    };
    fact(b, "model", &model);
    fact(b, "latency", &html::duration(r.latency_ms));
    if let Some(t) = r.time_to_first_chunk_ms {
        fact(b, "first chunk", &html::duration(t));
    }
    if let Some(s) = &r.stream {
        fact(
            b,
            "stream",
            &format!(
                "{} chunks{}",
                s.chunks,
                if s.completed { "" } else { " · abandoned" }
            ),
        );
    }
    if let Some(u) = &r.usage {
        let mut parts = Vec::new();
        parts.extend(u.input_tokens.map(|n| format!("{} in", html::count(n))));
        parts.extend(u.output_tokens.map(|n| format!("{} out", html::count(n))));
        parts.extend(u.total().map(|n| format!("{} total", html::count(n))));
        parts.extend(
            u.cached_input_tokens
                .map(|n| format!("{} cached", html::count(n))),
        );
        parts.extend(
            u.cache_creation_input_tokens
                .map(|n| format!("{} cache write", html::count(n))),
        );
        parts.extend(
            u.reasoning_tokens
                .map(|n| format!("{} reasoning", html::count(n))),
        );
        fact(b, "tokens", &parts.join(" · "));
    }
    match r.cost_usd {
        Some(c) => fact(b, "cost", &html::usd(c)),
        None if r.usage.is_some() => fact(b, "cost", "unknown (not in the price table)"),
        None => {}
    }
    let mut status = r.status.as_str().to_owned();
    if r.status == Status::Ok && r.level != "info" {
        let _ = write!(status, " · level {}", r.level);
    }
    fact(b, "status", &esc(&status));
    if !r.finish_reasons.is_empty() {
        fact(b, "finish", &esc(&r.finish_reasons.join(", ")));
    }
    if !r.warnings.is_empty() {
        fact(b, "warnings", &esc(&r.warnings.join(", ")));
    }
    if !scores.is_empty() {
        // In view at the top; each score is listed below.
        fact(
            b,
            "scores",
            &format!("<a href=\"#scores\">{}</a>", super::scores::cell(scores)),
        );
    }
    if let Some(u) = &r.user_id {
        fact(
            b,
            "user",
            &format!("<a href=\"/?user={}\">{}</a>", seg(u), esc(u)),
        );
    }
    if let Some(sid) = &r.session_id {
        fact(
            b,
            "session",
            &format!("<a href=\"/sessions/{}\">{}</a>", seg(sid), esc(sid)),
        );
    }
    if let Some(t) = &r.tenant_id {
        fact(
            b,
            "tenant",
            &format!("<a href=\"/?tenant={}\">{}</a>", seg(t), esc(t)),
        );
    }
    if !r.tags.is_empty() {
        let tags: Vec<String> = r
            .tags
            .iter()
            .map(|t| format!("<a href=\"/?tag={}\">{}</a>", seg(t), esc(t)))
            .collect();
        fact(b, "tags", &tags.join(" "));
    }
    if !r.metadata.is_empty() {
        let mut m = String::new();
        chat::json_block(
            &mut m,
            &serde_json::to_value(&r.metadata).unwrap_or_default(),
        );
        fact(b, "metadata", &m);
    }
    if let Some(t) = &r.trace_id {
        fact(
            b,
            "trace",
            &format!(
                "<a class=\"mono\" href=\"/traces/{}?call={}\">{}</a>",
                seg(t),
                seg(&r.request_id),
                esc(t)
            ),
        );
    }
    if let Some(sp) = &r.span_id {
        fact(
            b,
            "span",
            &format!("<span class=\"mono\">{}</span>", esc(sp)),
        );
    }
    if let Some(p) = &r.parent_span_id {
        fact(
            b,
            "parent",
            &format!("<span class=\"mono\">{}</span>", esc(p)),
        );
    }
    fact(
        b,
        "request",
        &format!("<span class=\"mono\">{}</span>", esc(&r.request_id)),
    );
    if let Some(id) = &r.response_id {
        fact(
            b,
            "response id",
            &format!("<span class=\"mono\">{}</span>", esc(id)),
        );
    }
    if let Some(h) = &r.http_request_id {
        fact(
            b,
            "http request",
            &format!("<span class=\"mono\">{}</span>", esc(h)),
        );
    }
    fact(
        b,
        "source",
        &format!(
            "<span class=\"mono small\">{}</span>",
            esc(&source(index, e))
        ),
    );
    b.push_str("</dl>");
}

fn facts_from_entry(b: &mut String, index: &Index, e: &Entry) {
    let s = &index.syms;
    b.push_str("<aside class=\"facts\"><dl>");
    fact(b, "time", &html::time_us(e.started_us));
    fact(b, "function", &esc(s.name(e.function)));
    fact(b, "model", &esc(e.model().map_or("–", |m| s.name(m))));
    fact(b, "latency", &html::duration(e.latency_ms));
    fact(b, "tokens", &html::opt_count(e.total_tokens));
    fact(b, "request", &esc(&e.request_id));
    fact(b, "source", &esc(&source(index, e)));
    b.push_str("</dl></aside>");
}

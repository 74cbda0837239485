//! `/sessions/{session_id}`: a session's calls in order, read as one
//! conversation, with the session's totals.

use std::fmt::Write as _;

use super::call;
use super::chat;
use super::html::{self, esc, seg};
use super::index::Index;

/// Calls shown per page of a session.
pub const PAGE: usize = 100;

/// The session page's body.
pub fn render(index: &Index, session_id: &str, ids: &[u32], page: usize) -> String {
    let s = &index.syms;
    let tokens: u64 = ids
        .iter()
        .filter_map(|&id| index.entry(id).total_tokens)
        .fold(0u64, u64::saturating_add);
    let cost: f64 = ids.iter().filter_map(|&id| index.entry(id).cost_usd).sum();
    let errors = ids.iter().filter(|&&id| index.entry(id).failed()).count();
    let latency: f64 = ids.iter().map(|&id| index.entry(id).latency_ms).sum();
    let users: std::collections::BTreeSet<&str> = ids
        .iter()
        .filter_map(|&id| index.entry(id).user.map(|u| s.name(u)))
        .collect();
    let pages = ids.len().div_ceil(PAGE).max(1);
    let page = page.clamp(1, pages);

    let mut b = String::with_capacity(32 * 1024);
    let _ = write!(
        b,
        "<p class=\"crumbs\"><a href=\"/\">calls</a> › session</p>\
         <h1>Session <span class=\"mono\">{}</span></h1>\
         <div class=\"totals\"><span><b>{}</b> calls</span><span><b>{}</b> tokens</span>\
         <span><b>{}</b> cost</span><span><b>{}</b> model time</span>\
         <span class=\"{}\"><b>{}</b> errors</span>{}\
         <a href=\"/?session={}\">as a list</a></div>",
        esc(session_id),
        ids.len(),
        html::count(tokens),
        html::usd(cost),
        html::duration(latency),
        if errors > 0 { "errtext" } else { "" },
        errors,
        if users.is_empty() {
            String::new()
        } else {
            format!(
                "<span>user {}</span>",
                users.into_iter().map(esc).collect::<Vec<_>>().join(", ")
            )
        },
        seg(session_id)
    );
    b.push_str("<div class=\"session\" id=\"session\">");
    let first = (page - 1) * PAGE;
    for (n, &id) in ids.iter().enumerate().skip(first).take(PAGE) {
        let e = index.entry(id);
        let href = format!("/calls/{}", seg(&e.request_id));
        let _ = write!(
            b,
            "<article class=\"turn{}\" data-href=\"{href}\" data-id=\"{}\">\
             <div class=\"turn-head\"><a href=\"{href}\">{}</a> · {} · {} · {} tokens · {} · {}{}</div>",
            if e.failed() { " failed" } else { "" },
            esc(&e.request_id),
            esc(s.name(e.name)),
            html::time(e.started_ms()),
            esc(e.model().map_or("–", |m| s.name(m))),
            html::opt_count(e.total_tokens),
            html::duration(e.latency_ms),
            match e.error_class(s) {
                Some(c) => format!("<span class=\"badge err\">{}</span>", esc(c)),
                None => "<span class=\"badge ok\">ok</span>".to_owned(),
            },
            super::scores::span(&index.scores(&e.request_id))
        );
        let loaded = call::load(index, e);
        match &loaded.record {
            Ok(r) => {
                if let Some(m) = &r.messages {
                    // The first call's whole prompt, then each call's new turn.
                    if n == 0 {
                        chat::messages(&mut b, m);
                    } else {
                        chat::last_message(&mut b, m);
                    }
                }
                if let Some(resp) = &r.response {
                    chat::response(&mut b, resp);
                }
                for c in &r.tool_calls {
                    let args = serde_json::Value::String(c.arguments.clone());
                    chat::tool_call(&mut b, &c.name, c.id.as_deref(), Some(&args));
                }
                if let Some(err) = &r.error {
                    let _ = write!(
                        b,
                        "<div class=\"error-box\"><b>{}</b> {}</div>",
                        esc(&err.error_type),
                        esc(&err.message)
                    );
                }
                if r.messages.is_none() && r.response.is_none() {
                    b.push_str("<p class=\"note\">(no content recorded)</p>");
                }
            }
            Err(err) => {
                let _ = write!(b, "<p class=\"problem\">{}</p>", esc(err));
            }
        }
        b.push_str("</article>");
    }
    b.push_str("</div>");
    if pages > 1 {
        b.push_str("<nav class=\"pages\">");
        if page > 1 {
            let _ = write!(
                b,
                "<a href=\"/sessions/{}?page={}\">‹ earlier</a>",
                seg(session_id),
                page - 1
            );
        }
        let _ = write!(b, "<span>page {page} of {pages}</span>");
        if page < pages {
            let _ = write!(
                b,
                "<a href=\"/sessions/{}?page={}\">later ›</a>",
                seg(session_id),
                page + 1
            );
        }
        b.push_str("</nav>");
    }
    b
}

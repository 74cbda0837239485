//! `/`: the calls, newest first, with filters, sorting, pages and search.

use std::fmt::Write as _;

use super::html::{self, esc, seg};
use super::index::{Entry, Index};
use super::query::{Query, Sort};

/// Rows per page.
pub const PAGE: usize = 100;

/// The list page. `matches`: the search result (a flag per entry id) when
/// `q` is set.
pub fn render(index: &Index, query: &Query, matches: Option<&[bool]>) -> String {
    let mut ids = query.filter(index);
    if let Some(m) = matches {
        ids.retain(|&id| m.get(id as usize).copied().unwrap_or(false));
    }
    query.sort(index, &mut ids);
    let total = ids.len();
    let pages = total.div_ceil(PAGE).max(1);
    let page = query.page.min(pages);
    let shown = &ids[(page - 1) * PAGE..(page * PAGE).min(total)];

    let mut b = String::with_capacity(64 * 1024);
    filters(&mut b, index, query, "/");
    for p in &query.problems {
        let _ = write!(b, "<p class=\"problem\">{}</p>", esc(p));
    }
    let _ = write!(
        b,
        "<div class=\"bar-line\"><span id=\"count\" data-total=\"{total}\">{} call{}</span>",
        html::count(total as u64),
        if total == 1 { "" } else { "s" }
    );
    if !query.q.is_empty() {
        let _ = write!(
            b,
            " <span class=\"note\">whose prompt or response contains “{}”</span>",
            esc(&query.q)
        );
    }
    let _ = write!(
        b,
        " <a class=\"button\" id=\"export\" href=\"/export?{0}\" download=\"llm-traced-export.jsonl\">Export</a>\
         <span class=\"note\">as <a href=\"/export?{0}&amp;format=chat-jsonl\" download>chat-jsonl</a> · \
         <a href=\"/export?{0}&amp;format=promptfoo\" download>promptfoo</a> · \
         <a href=\"/export?{0}&amp;format=openai-evals\" download>openai-evals</a> · \
         <a href=\"/export?{0}&amp;format=langfuse\" download>langfuse</a> · \
         <a href=\"/export?{0}&amp;format=csv\" download>csv</a></span>\
         <label class=\"live\"><input type=\"checkbox\" id=\"pause\"> pause live</label>\
         <span id=\"live-state\" class=\"note\"></span></div>",
        esc(&query.to_query(&[]))
    );
    // A scores column when any call shown has scores.
    let scored = shown
        .iter()
        .any(|&id| index.has_scores(&index.entry(id).request_id));
    let live = page == 1 && query.sort.is_none() && !query.asc;
    let _ = write!(
        b,
        "<table class=\"calls\" id=\"calls\"{}><thead><tr>",
        if live {
            let mut q = query.to_query(&[]);
            if scored {
                if !q.is_empty() {
                    q.push('&');
                }
                q.push_str("scores=1");
            }
            format!(" data-live=\"/events?{}\"", esc(&q))
        } else {
            String::new()
        }
    );
    for (label, sort, class) in [
        ("Time (UTC)", Some(Sort::Time), ""),
        ("Name", Some(Sort::Name), ""),
        ("Kind", None, ""),
        ("Model", Some(Sort::Model), ""),
        ("Tokens", Some(Sort::Tokens), "num"),
        ("Cost", Some(Sort::Cost), "num"),
        ("Latency", Some(Sort::Latency), "num"),
        ("Status", Some(Sort::Status), ""),
        ("Trace", None, ""),
        ("Scores", None, "scores-col"),
    ] {
        if label == "Scores" && !scored {
            continue;
        }
        let Some(sort) = sort else {
            let _ = write!(b, "<th class=\"{class}\">{label}</th>");
            continue;
        };
        let current = query.sort.unwrap_or(Sort::Time) == sort;
        // A click on the current column flips the order; on another, descending.
        let asc = current && !query.asc;
        let mut pairs = vec![("sort", sort.as_str())];
        if asc {
            pairs.push(("order", "asc"));
        }
        let href = format!("/?{}", query.to_query(&pairs));
        let arrow = match (current, query.asc) {
            (true, true) => " ▲",
            (true, false) => " ▼",
            _ => "",
        };
        let _ = write!(
            b,
            "<th class=\"{class}\"><a href=\"{}\">{label}{arrow}</a></th>",
            esc(&href)
        );
    }
    b.push_str("</tr></thead><tbody>");
    for &id in shown {
        b.push_str(&row(index, index.entry(id), scored));
    }
    b.push_str("</tbody></table>");
    if total == 0 {
        b.push_str("<p class=\"empty\">No calls match. ");
        if index.entries.is_empty() {
            b.push_str(
                "Nothing is recorded yet: run your program with LLM_SAVE_CONVERSATIONS=1 \
                 (or LLM_LOG_FILE); new calls appear here as they are written.",
            );
        }
        b.push_str("</p>");
    }
    if pages > 1 {
        b.push_str("<nav class=\"pages\">");
        let link = |b: &mut String, p: usize, label: &str| {
            let ps = p.to_string();
            let _ = write!(
                b,
                "<a href=\"/?{}\">{label}</a>",
                esc(&query.with_sort(&[("page", &ps)]))
            );
        };
        if page > 1 {
            link(&mut b, 1, "« first");
            link(&mut b, page - 1, "‹ newer");
        }
        let _ = write!(b, "<span>page {page} of {pages}</span>");
        if page < pages {
            link(&mut b, page + 1, "older ›");
            link(&mut b, pages, "last »");
        }
        b.push_str("</nav>");
    }
    b
}

/// One call's row (also sent to the page by the live stream); `scored`:
/// with a scores cell.
pub fn row(index: &Index, e: &Entry, scored: bool) -> String {
    let s = &index.syms;
    let href = format!("/calls/{}", seg(&e.request_id));
    let class = if e.failed() {
        "call failed"
    } else if e.warn {
        "call warn"
    } else {
        "call"
    };
    let mut r = String::with_capacity(768);
    let _ = write!(
        r,
        "<tr class=\"{class}\" data-href=\"{href}\" data-id=\"{}\"><td class=\"time\">{}</td>\
         <td><a href=\"{href}\">{}</a></td><td>{}</td><td>{}</td>",
        esc(&e.request_id),
        html::time(e.started_ms()),
        esc(s.name(e.name)),
        esc(s.name(e.kind)),
        esc(e.model().map_or("–", |m| s.name(m)))
    );
    let _ = write!(
        r,
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
        html::opt_count(e.total_tokens),
        e.cost_usd.map_or_else(|| "–".to_owned(), html::usd),
        html::duration(e.latency_ms)
    );
    match e.error_class(s) {
        Some(class) => {
            let _ = write!(
                r,
                "<td><span class=\"badge err\">{}</span></td>",
                esc(class)
            );
        }
        None if e.warn => r.push_str("<td><span class=\"badge warn\">ok · warn</span></td>"),
        None => r.push_str("<td><span class=\"badge ok\">ok</span></td>"),
    }
    match &e.trace_id {
        Some(t) => {
            let short = t.get(..8).unwrap_or(t);
            let _ = write!(
                r,
                "<td><a class=\"mono\" href=\"/traces/{}\">{}</a></td>",
                seg(t),
                esc(short)
            );
        }
        None => r.push_str("<td>–</td>"),
    }
    if scored {
        let _ = write!(
            r,
            "<td class=\"scores-cell\">{}</td>",
            super::scores::cell(&index.scores(&e.request_id))
        );
    }
    r.push_str("</tr>");
    r
}

/// The filter form. `action`: the page it submits to.
pub fn filters(b: &mut String, index: &Index, query: &Query, action: &str) {
    let _ = write!(
        b,
        "<form class=\"filters\" method=\"get\" action=\"{action}\" id=\"filters\">\
         <input type=\"search\" name=\"q\" id=\"search\" placeholder=\"search prompts and responses ( / )\" value=\"{}\">",
        esc(&query.q)
    );
    let select = |b: &mut String, name: &str, label: &str, values: &[String]| {
        let current = query.field(name);
        let _ = write!(
            b,
            "<label>{label} <select name=\"{name}\"><option value=\"\">any</option>"
        );
        let mut found = current.is_empty();
        for v in values {
            let sel = if v == current {
                found = true;
                " selected"
            } else {
                ""
            };
            let _ = write!(b, "<option{sel}>{}</option>", esc(v));
        }
        if !found {
            let _ = write!(b, "<option selected>{}</option>", esc(current));
        }
        b.push_str("</select></label>");
    };
    let menus = index.menus();
    select(b, "model", "model", &menus.models);
    select(
        b,
        "status",
        "status",
        &["ok", "failed", "error", "panic", "cancelled"].map(str::to_owned),
    );
    select(b, "error", "error", &menus.errors);
    select(b, "function", "function", &menus.functions);
    select(b, "kind", "kind", &menus.kinds);
    select(b, "tenant", "tenant", &menus.tenants);
    for (name, label) in [("user", "user"), ("session", "session"), ("tag", "tag")] {
        let _ = write!(
            b,
            "<label>{label} <input name=\"{name}\" size=\"10\" value=\"{}\"></label>",
            esc(query.field(name))
        );
    }
    for (name, label) in [("since", "since"), ("until", "until")] {
        let _ = write!(
            b,
            "<label>{label} <input name=\"{name}\" size=\"12\" placeholder=\"2h, 2026-11-27\" value=\"{}\"></label>",
            esc(query.field(name))
        );
    }
    if let Some(s) = query.sort {
        let _ = write!(
            b,
            "<input type=\"hidden\" name=\"sort\" value=\"{}\">",
            s.as_str()
        );
        if query.asc {
            b.push_str("<input type=\"hidden\" name=\"order\" value=\"asc\">");
        }
    }
    if action == "/stats" && !query.by.is_empty() {
        let _ = write!(
            b,
            "<input type=\"hidden\" name=\"by\" value=\"{}\">",
            esc(&query.by)
        );
    }
    let _ = write!(
        b,
        "<button type=\"submit\">Apply</button> <a href=\"{action}\">clear</a>\
         <span id=\"search-progress\" class=\"note\" hidden></span></form>"
    );
}

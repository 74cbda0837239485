//! `/traces/{trace_id}`: the tree of a trace's calls and steps (from their
//! parent span ids) beside a timeline with a bar per call, to scale.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::call;
use super::html::{self, esc, seg};
use super::index::Index;

/// The calls of a trace as (id, depth), parents before their children,
/// siblings by start time.
pub fn tree(index: &Index, ids: &[u32]) -> Vec<(u32, usize)> {
    let by_span: HashMap<&str, u32> = ids
        .iter()
        .filter_map(|&id| index.entry(id).span_id.as_deref().map(|s| (s, id)))
        .collect();
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut roots = Vec::new();
    for &id in ids {
        let e = index.entry(id);
        let parent = e
            .parent_span_id
            .as_deref()
            .and_then(|p| by_span.get(p).copied())
            .filter(|&p| p != id);
        match parent {
            Some(p) => children.entry(p).or_default().push(id),
            None => roots.push(id),
        }
    }
    // `ids` are oldest first, so each list is too.
    let mut out = Vec::with_capacity(ids.len());
    let mut stack: Vec<(u32, usize)> = roots.iter().rev().map(|&r| (r, 0)).collect();
    let mut seen = std::collections::HashSet::new();
    while let Some((id, depth)) = stack.pop() {
        if !seen.insert(id) {
            continue; // a cycle of span ids in bad input
        }
        out.push((id, depth));
        if let Some(kids) = children.get(&id) {
            for &k in kids.iter().rev() {
                stack.push((k, depth + 1));
            }
        }
    }
    // Calls caught in a cycle (no root above them) are shown at the top level.
    for &id in ids {
        if !seen.contains(&id) {
            out.push((id, 0));
        }
    }
    out
}

/// The trace page's body; `selected`: the call shown under the tree.
pub fn render(index: &Index, trace_id: &str, ids: &[u32], selected: Option<u32>) -> String {
    let rows = tree(index, ids);
    let s = &index.syms;
    let start = ids
        .iter()
        .map(|&id| index.entry(id).started_us)
        .min()
        .unwrap_or(0);
    let end = ids
        .iter()
        .map(|&id| {
            let e = index.entry(id);
            (e.started_us - start) as f64 / 1000.0 + e.latency_ms.max(0.0)
        })
        .fold(0.0, f64::max);
    // Milliseconds from the trace's start; a trace of sub-millisecond steps
    // is drawn to a scale of at least one millisecond.
    let span = end.max(1.0);
    let tokens: u64 = ids
        .iter()
        .filter_map(|&id| index.entry(id).total_tokens)
        .fold(0u64, u64::saturating_add);
    let cost: f64 = ids.iter().filter_map(|&id| index.entry(id).cost_usd).sum();
    let errors = ids.iter().filter(|&&id| index.entry(id).failed()).count();
    let selected = selected.or_else(|| rows.first().map(|r| r.0));

    let mut b = String::with_capacity(32 * 1024);
    let _ = write!(
        b,
        "<p class=\"crumbs\"><a href=\"/\">calls</a> › trace</p>\
         <h1>Trace <span class=\"mono\">{}</span></h1>\
         <div class=\"totals\"><span><b>{}</b> calls</span><span><b>{}</b> tokens</span>\
         <span><b>{}</b> cost</span><span><b>{}</b> duration</span><span class=\"{}\"><b>{}</b> errors</span></div>",
        esc(trace_id),
        ids.len(),
        html::count(tokens),
        html::usd(cost),
        html::duration(end),
        if errors > 0 { "errtext" } else { "" },
        errors
    );
    b.push_str(
        "<table class=\"trace\" id=\"trace\"><thead><tr><th>Call</th><th>Model</th>\
         <th class=\"num\">Latency</th><th>Status</th><th class=\"timeline-head\">",
    );
    let _ = write!(
        b,
        "<span>0</span><span>{}</span></th></tr></thead><tbody>",
        html::duration(span)
    );
    for (id, depth) in &rows {
        let e = index.entry(*id);
        let href = format!("/traces/{}?call={}", seg(trace_id), seg(&e.request_id));
        let mut class = String::from("node");
        if e.failed() {
            class.push_str(" failed");
        }
        if Some(*id) == selected {
            class.push_str(" selected");
        }
        let offset_ms = (e.started_us - start) as f64 / 1000.0;
        let x = offset_ms / span * 1000.0;
        let w = (e.latency_ms.max(0.0) / span * 1000.0).max(2.0);
        let bar_class = if e.failed() {
            "bar-err".to_owned()
        } else {
            format!("bar-{}", esc(s.name(e.kind)))
        };
        let _ = write!(
            b,
            "<tr class=\"{class}\" data-href=\"{href}\" data-id=\"{}\">\
             <td class=\"tree d{}\"><a href=\"{href}\">{}</a> <span class=\"kind\">{}</span>{}</td>\
             <td>{}</td><td class=\"num\">{}</td><td>{}</td>\
             <td class=\"timeline\"><svg viewBox=\"0 0 1000 14\" preserveAspectRatio=\"none\" role=\"img\">\
             <title>{} · starts at +{} · {}</title>\
             <rect class=\"{bar_class}\" x=\"{x:.2}\" y=\"2\" width=\"{w:.2}\" height=\"10\"/></svg></td></tr>",
            esc(&e.request_id),
            depth.min(&15),
            esc(s.name(e.name)),
            esc(s.name(e.kind)),
            super::scores::span(&index.scores(&e.request_id)),
            esc(e.model().map_or("–", |m| s.name(m))),
            html::duration(e.latency_ms),
            match e.error_class(s) {
                Some(c) => format!("<span class=\"badge err\">{}</span>", esc(c)),
                None => "<span class=\"badge ok\">ok</span>".to_owned(),
            },
            esc(s.name(e.name)),
            html::duration(offset_ms),
            html::duration(e.latency_ms),
        );
    }
    b.push_str("</tbody></table>");
    if let Some(id) = selected {
        let e = index.entry(id);
        b.push_str("<section class=\"selected-call\">");
        let loaded = call::load(index, e);
        call::detail(&mut b, index, e, &loaded);
        b.push_str("</section>");
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::index::{Body, Meta};

    fn index(spans: &[(&str, Option<&str>, u32)]) -> Index {
        let mut i = Index::default();
        for (n, (span, parent, start)) in spans.iter().enumerate() {
            let mut v = serde_json::json!({"schema": 1, "request_id": format!("r{n}"), "trace_id": "t",
                "span_id": span, "name": "x", "function": "f",
                "started_at": format!("2026-11-27T09:00:{start:02}Z"), "latency_ms": 1, "status": "ok"});
            if let Some(p) = parent {
                v["parent_span_id"] = serde_json::json!(p);
            }
            let meta = Meta::parse(v.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            i.add(meta, Body::Conversation(std::path::Path::new("x").into()));
        }
        i.rebuild();
        i
    }

    #[test]
    fn parents_before_children_siblings_by_time() {
        let i = index(&[
            ("a", None, 0),
            ("c", Some("a"), 5),
            ("b", Some("a"), 2),
            ("d", Some("b"), 3),
        ]);
        let ids = i.trace("t").to_vec();
        let rows: Vec<(String, usize)> = tree(&i, &ids)
            .into_iter()
            .map(|(id, d)| (i.entry(id).span_id.as_deref().unwrap_or("").to_owned(), d))
            .collect();
        let want = [("a", 0), ("b", 1), ("d", 2), ("c", 1)];
        assert_eq!(rows, want.map(|(s, d)| (s.to_owned(), d)));
    }

    #[test]
    fn cycles_and_missing_parents_in_bad_input_show_every_call_once() {
        // x and y are each other's parent; z's parent is not in the trace;
        // w is its own parent.
        let i = index(&[
            ("x", Some("y"), 0),
            ("y", Some("x"), 1),
            ("z", Some("gone"), 2),
            ("w", Some("w"), 3),
        ]);
        let ids = i.trace("t").to_vec();
        let rows = tree(&i, &ids);
        let mut seen: Vec<u32> = rows.iter().map(|r| r.0).collect();
        seen.sort_unstable();
        assert_eq!(seen, ids);
        let html = render(&i, "t", &ids, None);
        assert!(html.contains("<b>4</b> calls"));
    }
}

//! What changed between the original call and its replay: the text as a
//! word diff, tool calls (names, then their arguments as a JSON diff),
//! finish reason, tokens, cost, latency, time to first chunk.

use llm_traced_runtime::record::CallRecord;
use serde_json::Value;

use crate::render::{self, Paint, Style};

/// `[-removed-]{+added+}` between two texts, word by word (whitespace kept
/// from the new text). Texts too long for the quadratic table are shown
/// whole as removed and added.
pub fn words(old: &str, new: &str, style: Style) -> String {
    let a: Vec<&str> = old.split_whitespace().collect();
    let b: Vec<&str> = new.split_whitespace().collect();
    let del = |w: &str| style.paint(Paint::Red, &format!("[-{w}-]"));
    let add = |w: &str| style.paint(Paint::Green, &format!("{{+{w}+}}"));
    if a.len().saturating_mul(b.len()) > 4_000_000 {
        return format!("{} {}", del(&a.join(" ")), add(&b.join(" ")));
    }
    // Longest common subsequence, from the end.
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[at(i, j)] = if a[i] == b[j] {
                lcs[at(i + 1, j + 1)] + 1
            } else {
                lcs[at(i + 1, j)].max(lcs[at(i, j + 1)])
            };
        }
    }
    let mut out: Vec<String> = Vec::new();
    let (mut dels, mut adds): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    let flush = |out: &mut Vec<String>, dels: &mut Vec<&str>, adds: &mut Vec<&str>| {
        if !dels.is_empty() {
            out.push(del(&dels.join(" ")));
            dels.clear();
        }
        if !adds.is_empty() {
            out.push(add(&adds.join(" ")));
            adds.clear();
        }
    };
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            flush(&mut out, &mut dels, &mut adds);
            out.push(a[i].to_owned());
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[at(i, j + 1)] >= lcs[at(i + 1, j)]) {
            adds.push(b[j]);
            j += 1;
        } else {
            dels.push(a[i]);
            i += 1;
        }
    }
    flush(&mut out, &mut dels, &mut adds);
    out.join(" ")
}

/// Differences between two JSON values, one line per changed path.
pub fn json(old: &Value, new: &Value, path: &str, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => json(x, y, &p, out),
                    (Some(x), None) => out.push(format!("- {p}: {x}")),
                    (None, Some(y)) => out.push(format!("+ {p}: {y}")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                json(x, y, &format!("{path}[{i}]"), out);
            }
        }
        _ if old != new => {
            let p = if path.is_empty() { "(all)" } else { path };
            out.push(format!("~ {p}: {old} → {new}"));
        }
        _ => {}
    }
}

fn args(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// Whether the answers' texts are the same.
pub fn same_text(a: &CallRecord, b: &CallRecord) -> bool {
    text(a) == text(b)
}

/// Whether the tool calls are the same: names in order, arguments as JSON.
pub fn same_tools(a: &CallRecord, b: &CallRecord) -> bool {
    a.tool_calls.len() == b.tool_calls.len()
        && a.tool_calls
            .iter()
            .zip(&b.tool_calls)
            .all(|(x, y)| x.name == y.name && args(&x.arguments) == args(&y.arguments))
}

fn text(r: &CallRecord) -> &str {
    r.response
        .as_ref()
        .and_then(|c| c.text.as_deref())
        .unwrap_or("")
}

/// The comparison, for a person.
pub fn report(old: &CallRecord, new: &CallRecord, style: Style) -> String {
    let mut out = String::new();
    let width = render::width().max(40);
    if same_text(old, new) {
        out.push_str(&format!(
            "text:        same ({} words)\n",
            text(old).split_whitespace().count()
        ));
    } else {
        out.push_str("text:\n");
        out.push_str(&render::wrap(
            &words(text(old), text(new), style),
            width,
            "  ",
            "  ",
        ));
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    let names = |r: &CallRecord| {
        r.tool_calls
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if old.tool_calls.is_empty() && new.tool_calls.is_empty() {
    } else if same_tools(old, new) {
        out.push_str(&format!("tool calls:  same ({})\n", names(old)));
    } else {
        let (a, b) = (names(old), names(new));
        if a == b {
            out.push_str(&format!("tool calls:  {a}, arguments changed\n"));
        } else {
            let none = |s: String| if s.is_empty() { "none".to_owned() } else { s };
            out.push_str(&format!("tool calls:  {} → {}\n", none(a), none(b)));
        }
        for (x, y) in old.tool_calls.iter().zip(&new.tool_calls) {
            if x.name == y.name {
                let mut lines = Vec::new();
                json(&args(&x.arguments), &args(&y.arguments), "", &mut lines);
                for l in lines {
                    out.push_str(&format!("  {}: {l}\n", x.name));
                }
            }
        }
    }
    let pair = |label: &str, a: Option<String>, b: Option<String>| -> String {
        let dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_owned());
        let (a, b) = (dash(a), dash(b));
        if a == b {
            format!("{label:<13}{a}\n")
        } else {
            format!("{label:<13}{a} → {b}\n")
        }
    };
    let finish =
        |r: &CallRecord| (!r.finish_reasons.is_empty()).then(|| r.finish_reasons.join(", "));
    out.push_str(&pair("finish:", finish(old), finish(new)));
    let tokens = |r: &CallRecord| {
        r.usage.as_ref().map(|u| {
            format!(
                "{} (in {}, out {})",
                u.total().map_or("-".into(), |n| n.to_string()),
                u.input_tokens.map_or("-".into(), |n| n.to_string()),
                u.output_tokens.map_or("-".into(), |n| n.to_string()),
            )
        })
    };
    out.push_str(&pair("tokens:", tokens(old), tokens(new)));
    let cost = |r: &CallRecord| r.cost_usd.map(render::usd);
    out.push_str(&pair("cost:", cost(old), cost(new)));
    out.push_str(&pair(
        "latency:",
        Some(render::duration_ms(old.latency_ms)),
        Some(render::duration_ms(new.latency_ms)),
    ));
    if old.time_to_first_chunk_ms.is_some() || new.time_to_first_chunk_ms.is_some() {
        let ttfc = |r: &CallRecord| r.time_to_first_chunk_ms.map(render::duration_ms);
        out.push_str(&pair("first chunk:", ttfc(old), ttfc(new)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_diff_marks_what_changed() {
        let style = Style::plain();
        assert_eq!(
            words("It is sunny in Paris", "It is rainy in Paris today", style),
            "It is [-sunny-] {+rainy+} in Paris {+today+}"
        );
        assert_eq!(words("same", "same", style), "same");
    }

    #[test]
    fn json_diff_names_paths() {
        let mut out = Vec::new();
        json(
            &serde_json::json!({"city": "Paris", "days": 1}),
            &serde_json::json!({"city": "Lyon", "unit": "C", "days": 1}),
            "",
            &mut out,
        );
        assert_eq!(out, ["~ city: \"Paris\" → \"Lyon\"", "+ unit: \"C\""]);
    }
}

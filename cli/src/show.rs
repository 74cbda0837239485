//! `show`: a saved conversation rendered for a person.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use llm_traced_runtime::diagnostics::diagnose_text;
use llm_traced_runtime::record::CallRecord;
use llm_traced_runtime::Status;
use serde_json::Value;

use crate::conversations::{conversation_files, load, Order, Skip};
use crate::exit::{Failure, Outcome};
use crate::render::{self, Paint, Style};

/// `show --help`'s examples and exit codes.
pub(crate) const HELP: &str = "\
Examples:
  llm-traced show llm_conversations/20261127T092647.125Z_ask_01a2….json
  llm-traced show llm_conversations          every conversation, oldest first
  llm-traced show 49f07b0e                   the file whose name has this ID
  llm-traced show --raw FILE | jq .usage     the JSON as saved

A FILE is a saved conversation (LLM_SAVE_CONVERSATIONS=1), a DIR shows every
conversation in it, and anything else is looked up as (part of) a file name
in --dir.

Exit codes: 0 done; 1 some files were not llm-traced records; 2 usage error;
3 a file could not be read.";

/// `show`'s arguments.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Conversation files, directories of them, or IDs from `ls`.
    #[arg(required = true, value_name = "FILE|DIR|ID")]
    pub paths: Vec<String>,
    /// Print the JSON as saved instead of rendering it.
    #[arg(long)]
    pub raw: bool,
    /// Where IDs are looked up.
    #[arg(
        long,
        env = "LLM_CONVERSATIONS_DIR",
        default_value = "llm_conversations",
        value_name = "DIR"
    )]
    pub dir: PathBuf,
}

/// Runs `show`.
pub fn run(args: &ShowArgs, style: Style) -> Result<Outcome, Failure> {
    let width = render::width();
    let mut outcome = Outcome::Clean;
    let mut unreadable: Option<String> = None;
    let mut first = true;
    for arg in &args.paths {
        let path = Path::new(arg);
        let files = if path.is_dir() {
            conversation_files(path)
                .map_err(|e| Failure::Input(format!("cannot read {arg}: {e}")))?
        } else if path.exists() {
            vec![path.to_owned()]
        } else {
            match find_by_id(&args.dir, arg) {
                Some(found) if !found.is_empty() => found,
                _ => {
                    eprintln!(
                        "llm-traced: {arg}: no such file, and no conversation in {} has it in its name",
                        args.dir.display()
                    );
                    unreadable.get_or_insert_with(|| arg.clone());
                    continue;
                }
            }
        };
        let mut loaded = Vec::new();
        for file in &files {
            match load(file) {
                Ok(l) => loaded.push(l),
                Err(skip) => {
                    eprintln!("llm-traced: {skip}");
                    match skip {
                        Skip::Unreadable(..) => {
                            unreadable.get_or_insert_with(|| file.display().to_string());
                        }
                        Skip::NotARecord(..) => outcome = Outcome::Findings,
                    }
                }
            }
        }
        // Oldest first, in the order the calls started.
        loaded.sort_by(|a, b| {
            Order::of_record(&a.record)
                .cmp(&Order::of_record(&b.record))
                .then_with(|| a.path.cmp(&b.path))
        });
        for l in &loaded {
            let mut text = String::new();
            if args.raw {
                text.push_str(l.text.trim_end());
                text.push('\n');
            } else {
                if !first {
                    text.push('\n');
                }
                text.push_str(&render_record(
                    &l.record,
                    &l.path.display().to_string(),
                    width,
                    style,
                ));
                text.push_str(&render_scores(
                    &llm_traced_runtime::score::read_scores(&l.path),
                    width,
                    style,
                ));
            }
            first = false;
            crate::exit::print(&text)?;
        }
    }
    match unreadable {
        Some(what) => Err(Failure::Input(format!("could not read {what}"))),
        None => Ok(outcome),
    }
}

/// The files in `dir` whose names contain `id`.
pub(crate) fn find_by_id(dir: &Path, id: &str) -> Option<Vec<PathBuf>> {
    if id.is_empty() || id.contains(['/', '\\']) {
        return None;
    }
    let files = conversation_files(dir).ok()?;
    Some(
        files
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.contains(id))
            })
            .collect(),
    )
}

/// A record as text for a terminal, `width` columns wide.
pub fn render_record(r: &CallRecord, file: &str, width: usize, style: Style) -> String {
    let mut out = String::new();
    let title = format!("── {} ", r.name);
    let fill = width.saturating_sub(render::text_width(&title));
    let _ = writeln!(
        out,
        "{}",
        style.paint(Paint::Bold, &format!("{title}{}", "─".repeat(fill)))
    );

    let mut fact = |label: &str, value: &str, paint: Option<Paint>| {
        let text = render::wrap(value, width, &format!("  {label:<10}"), &" ".repeat(12));
        for line in text.lines() {
            let _ = match paint {
                Some(p) => writeln!(out, "{}", style.paint(p, line)),
                None => writeln!(out, "{line}"),
            };
        }
    };
    fact(
        "time",
        &r.started_at.format("%Y-%m-%d %H:%M:%S%.6f UTC").to_string(),
        None,
    );
    let mut function = r.function.to_string();
    if !r.function.ends_with(r.name.as_ref()) {
        let _ = write!(function, " (name {})", r.name);
    }
    if r.kind != "llm" {
        let _ = write!(function, " · kind {}", r.kind);
    }
    fact("function", &function, None);
    let provider = match &r.provider {
        Some(p) => format!("{p} · {}", r.operation),
        None => r.operation.to_string(),
    };
    fact("provider", &provider, None);
    let model = match (&r.request_model, &r.response_model) {
        (Some(a), Some(b)) if a != b => format!("{a} -> {b}"),
        (Some(a), _) | (None, Some(a)) => a.clone(),
        (None, None) => "-".to_owned(),
    };
    fact("model", &model, None);
    fact("latency", &render::duration_ms(r.latency_ms), None);
    if let Some(u) = &r.usage {
        let mut parts = Vec::new();
        parts.extend(u.input_tokens.map(|n| format!("{} in", render::count(n))));
        parts.extend(u.output_tokens.map(|n| format!("{} out", render::count(n))));
        parts.extend(u.total().map(|n| format!("{} total", render::count(n))));
        parts.extend(
            u.cached_input_tokens
                .filter(|&n| n > 0)
                .map(|n| format!("{} cached", render::count(n))),
        );
        parts.extend(
            u.reasoning_tokens
                .filter(|&n| n > 0)
                .map(|n| format!("{} reasoning", render::count(n))),
        );
        fact("tokens", &parts.join(" · "), None);
    }
    match r.cost_usd {
        Some(c) => fact("cost", &render::usd(c), None),
        None if r.usage.is_some() => fact(
            "cost",
            "unknown (the model is not in the price table)",
            None,
        ),
        None => {}
    }
    if let Some(trace) = &r.trace_id {
        let mut t = trace.clone();
        if let Some(span) = &r.span_id {
            let _ = write!(t, " · span {span}");
        }
        if let Some(parent) = &r.parent_span_id {
            let _ = write!(t, " · parent {parent}");
        }
        fact("trace", &t, None);
    }
    fact("request", &r.request_id, None);
    if let Some(id) = &r.response_id {
        fact("resp. id", id, None);
    }
    let mut context = Vec::new();
    context.extend(r.user_id.as_ref().map(|u| format!("user {u}")));
    context.extend(r.session_id.as_ref().map(|s| format!("session {s}")));
    context.extend(r.tenant_id.as_ref().map(|t| format!("tenant {t}")));
    context.extend(
        r.http_request_id
            .as_ref()
            .map(|h| format!("http request {h}")),
    );
    if !r.tags.is_empty() {
        context.push(format!("tags {}", r.tags.join(", ")));
    }
    if !context.is_empty() {
        fact("context", &context.join(" · "), None);
    }
    if !r.metadata.is_empty() {
        let meta = serde_json::to_string(&r.metadata).unwrap_or_default();
        fact("metadata", &meta, None);
    }
    let mut status = r.status.as_str().to_owned();
    if !r.finish_reasons.is_empty() {
        let _ = write!(status, " · finish {}", r.finish_reasons.join(", "));
    }
    if r.status == Status::Ok && r.level != "info" {
        let _ = write!(status, " · level {}", r.level);
    }
    if !r.warnings.is_empty() {
        let _ = write!(status, " · {}", r.warnings.join(", "));
    }
    let paint = match r.status {
        Status::Ok if r.level == "warn" => Paint::Yellow,
        Status::Ok => Paint::Green,
        _ => Paint::Red,
    };
    fact("status", &status, Some(paint));
    // The name only: it fits the width, and the directory is the one given.
    let name = Path::new(file)
        .file_name()
        .map_or(file.to_owned(), |n| n.to_string_lossy().into_owned());
    fact("file", &name, Some(Paint::Dim));

    if let Some(messages) = &r.messages {
        section(&mut out, "messages", style);
        render_messages(&mut out, messages, width, style);
    }
    if !r.tool_calls.is_empty() {
        section(&mut out, "tool calls", style);
        for call in &r.tool_calls {
            render_tool_call(
                &mut out,
                &call.name,
                call.id.as_deref(),
                &call.arguments,
                width,
                style,
            );
        }
    }
    if let Some(response) = &r.response {
        section(&mut out, "response", style);
        if let Some(text) = &response.text {
            out.push_str(&render::wrap(text, width, "  ", "  "));
        }
        if let Some(refusal) = &response.refusal {
            let text = render::wrap(refusal, width, "  refusal: ", "    ");
            out.push_str(&style.paint(Paint::Yellow, text.trim_end()));
            out.push('\n');
        }
        if response.choices.len() > 1 {
            for c in &response.choices {
                let label = match &c.finish_reason {
                    Some(f) => format!("[choice {} · {f}]", c.index),
                    None => format!("[choice {}]", c.index),
                };
                let _ = writeln!(out, "  {}", style.paint(Paint::Cyan, &label));
                out.push_str(&render::wrap(
                    c.text.as_deref().unwrap_or(""),
                    width,
                    "    ",
                    "    ",
                ));
            }
        }
    }
    if let Some(error) = &r.error {
        section(&mut out, "error", style);
        let head = format!("[{}] {}", error.error_type, error.message);
        let text = render::wrap(&head, width, "  ", "    ");
        for line in text.lines() {
            let _ = writeln!(out, "{}", style.paint(Paint::Red, line));
        }
        let mut details = Vec::new();
        details.extend(error.type_name.clone());
        details.extend(error.http_status.map(|s| format!("HTTP {s}")));
        details.extend(error.code.as_ref().map(|c| format!("code {c}")));
        if !details.is_empty() {
            out.push_str(&render::wrap(&details.join(" · "), width, "  ", "  "));
        }
        let (label, diagnosis) = match &error.diagnosis {
            Some(d) => ("diagnosis", d.clone()),
            None => (
                "diagnosis (from the message)",
                diagnose_text(&error.message),
            ),
        };
        section(&mut out, label, style);
        let rendered = diagnosis.render();
        out.push_str(&indent(
            &crate::diagnose::paint_first_line(&rendered, style),
            "  ",
        ));
    }
    out
}

/// The scores beside a conversation (`FILE.scores.jsonl`), oldest first.
pub fn render_scores(
    scores: &[llm_traced_runtime::score::ScoreLine],
    width: usize,
    style: Style,
) -> String {
    let mut out = String::new();
    if scores.is_empty() {
        return out;
    }
    section(&mut out, "scores", style);
    for s in scores {
        let value = match (&s.label, s.value) {
            (Some(label), _) => label.clone(),
            (None, Some(x)) => format!("{x}"),
            (None, None) => "-".to_owned(),
        };
        let mut line = format!("{} = {value}", s.name);
        if let Some(author) = &s.author {
            let _ = write!(line, " · {author}");
        }
        let _ = write!(line, " · {}", s.scored_at.format("%Y-%m-%d %H:%M:%S"));
        if let Some(comment) = &s.comment {
            let _ = write!(line, " · {comment}");
        }
        out.push_str(&render::wrap(&line, width, "  ", "    "));
    }
    out
}

fn section(out: &mut String, title: &str, style: Style) {
    let _ = writeln!(out, "\n{}", style.paint(Paint::Bold, title));
}

fn indent(text: &str, prefix: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "{prefix}{line}");
        }
    }
    out
}

fn render_messages(out: &mut String, messages: &Value, width: usize, style: Style) {
    let list = match messages {
        Value::Array(list) => list,
        Value::String(prompt) => {
            let _ = writeln!(out, "  {}", style.paint(Paint::Cyan, "[prompt]"));
            out.push_str(&render::wrap(prompt, width, "    ", "    "));
            return;
        }
        other => {
            let pretty = serde_json::to_string_pretty(other).unwrap_or_default();
            out.push_str(&indent(&pretty, "  "));
            return;
        }
    };
    for message in list {
        let Value::Object(m) = message else {
            out.push_str(&render::wrap(&compact(message), width, "  ", "  "));
            continue;
        };
        let role = m.get("role").and_then(Value::as_str).unwrap_or("message");
        let mut label = format!("[{role}");
        if let Some(name) = m.get("name").and_then(Value::as_str) {
            let _ = write!(label, " {name}");
        }
        if let Some(id) = m.get("tool_call_id").and_then(Value::as_str) {
            let _ = write!(label, " for {id}");
        }
        label.push(']');
        let _ = writeln!(out, "  {}", style.paint(Paint::Cyan, &label));
        match m.get("content") {
            Some(Value::String(text)) => out.push_str(&render::wrap(text, width, "    ", "    ")),
            Some(Value::Array(parts)) => {
                for part in parts {
                    let text = match part {
                        Value::String(s) => s.clone(),
                        Value::Object(p) => {
                            match (p.get("text").and_then(Value::as_str), p.get("type")) {
                                (Some(t), _) => t.to_owned(),
                                (None, Some(Value::String(kind))) => format!("[{kind}]"),
                                _ => compact(part),
                            }
                        }
                        other => compact(other),
                    };
                    out.push_str(&render::wrap(&text, width, "    ", "    "));
                }
            }
            Some(Value::Null) | None => {}
            Some(other) => out.push_str(&render::wrap(&compact(other), width, "    ", "    ")),
        }
        if let Some(Value::Array(calls)) = m.get("tool_calls") {
            for call in calls {
                let (name, arguments) = crate::conversations::tool_call_parts(call);
                let arguments = match arguments {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => compact(other),
                    None => String::new(),
                };
                let id = call.get("id").and_then(Value::as_str);
                render_tool_call(out, name, id, &arguments, width, style);
            }
        }
    }
}

fn render_tool_call(
    out: &mut String,
    name: &str,
    id: Option<&str>,
    arguments: &str,
    width: usize,
    style: Style,
) {
    let label = match id {
        Some(id) => format!("{name} ({id})"),
        None => name.to_owned(),
    };
    let _ = writeln!(out, "  {}", style.paint(Paint::Cyan, &label));
    if arguments.is_empty() {
        let _ = writeln!(
            out,
            "    {}",
            style.paint(Paint::Dim, "(arguments not recorded)")
        );
        return;
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v) => {
            let pretty = serde_json::to_string_pretty(&v).unwrap_or_else(|_| arguments.to_owned());
            for line in pretty.lines() {
                out.push_str(&render::wrap(line, width, "    ", "      "));
            }
        }
        Err(_) => out.push_str(&render::wrap(arguments, width, "    ", "    ")),
    }
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

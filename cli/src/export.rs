//! `export`: recorded calls as datasets, to standard output: fine-tuning
//! chat JSONL, promptfoo test cases, OpenAI evals samples, Langfuse dataset
//! items, or CSV of the metadata.
//!
//! Inputs are saved conversations (files or directories) and JSON-lines
//! logs; a call found in both is exported once. The messages are turned
//! into the OpenAI chat shape whatever the provider's shape was (OpenAI
//! Chat Completions and Responses, Anthropic Messages, Gemini contents), so
//! that every format reads the same.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use llm_traced_runtime::record::CallRecord;
use llm_traced_runtime::Status;
use serde_json::{json, Map, Value};

use crate::conversations::Call;
use crate::conversations::{conversation_files, load, Order, Skip};
use crate::exit::{Failure, Outcome};

/// `export --help`'s examples and exit codes.
pub(crate) const HELP: &str = "\
Examples:
  llm-traced export --format chat-jsonl > train.jsonl
  llm-traced export --format promptfoo --assert contains --since 7d > tests.jsonl
  llm-traced export --format openai-evals calls.jsonl --model gpt-4o
  llm-traced export --format langfuse llm_conversations --trace 4a0602d9
  llm-traced export --format csv --include-errors > calls.csv

PATH is a directory of saved conversations (its *.json files, and its
*.jsonl logs), a conversation file, or a JSON-lines log (LLM_LOG_FILE; its
records carry content only with LLM_LOG_PROMPTS=1 and LLM_LOG_RESPONSES=1).
Default: $LLM_CONVERSATIONS_DIR or ./llm_conversations. Calls are written
oldest first; a call found in several inputs is written once.

Failed calls are left out of every format but csv unless --include-errors
(or --errors). Records without content are skipped and counted on stderr.
Calls whose content was masked (secrets, personal data) carry
`masked: {kind: count}` in their metadata; chat-jsonl, which has no
metadata, reports how many on stderr.

Exit codes: 0 done; 1 some files or lines were not llm-traced records;
2 usage error; 3 an input could not be read.";

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `{"messages": [...], "tools": [...]}` per call: OpenAI fine-tuning,
    /// Hugging Face TRL, Together.
    ChatJsonl,
    /// promptfoo test cases: `{"vars": {"messages": [...]}, "assert": [...], "metadata": {...}}`.
    Promptfoo,
    /// OpenAI evals registry samples: `{"input": [...], "ideal": "..."}`.
    OpenaiEvals,
    /// Langfuse dataset items: `input`, `expectedOutput`, `metadata`, `sourceTraceId`.
    Langfuse,
    /// One row per call with the columns of `ls --json`, `request_id` first.
    Csv,
}

/// The assertion `--assert` adds to promptfoo test cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Assert {
    /// The output equals the recorded answer.
    Equals,
    /// The output contains the recorded answer.
    Contains,
}

/// `export`'s arguments.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The format written to standard output.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Format,
    /// Conversation directories or files, JSON-lines logs.
    #[arg(
        env = "LLM_CONVERSATIONS_DIR",
        default_value = "llm_conversations",
        value_name = "PATH"
    )]
    pub paths: Vec<PathBuf>,
    /// promptfoo: add an assertion made from the recorded answer.
    #[arg(long, value_enum, value_name = "KIND")]
    pub assert: Option<Assert>,
    /// Keep the calls that failed (csv always keeps them).
    #[arg(long)]
    pub include_errors: bool,
    /// Which calls.
    #[command(flatten)]
    pub filter: crate::conversations::Filter,
    /// At most this many calls (the newest).
    #[arg(short = 'n', long, value_name = "N")]
    pub limit: Option<usize>,
}

/// A record and where it came from (`file` or `log:line`).
pub(crate) struct Found {
    /// The record.
    pub(crate) record: CallRecord,
    /// Where it was read (a file, or a log and its line).
    pub(crate) source: String,
    /// Its start, epoch microseconds.
    pub(crate) started: i64,
}

/// What [`write`] left out or marked.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Records without content (logs without prompts).
    pub(crate) no_content: usize,
    /// Calls without a text answer where the format needs one.
    pub(crate) no_answer: usize,
    /// Calls whose content was masked.
    pub(crate) masked: usize,
}

/// Writes `found` in `format` to `out`: the command's output, and the
/// viewer's "Export" of the current filter.
pub(crate) fn write(
    format: Format,
    assert: Option<Assert>,
    found: &[Found],
    out: &mut String,
) -> Counts {
    let mut counts = Counts::default();
    if format == Format::Csv {
        csv(found, out);
        return counts;
    }
    for f in found {
        let r = &f.record;
        let Some(input) = input_messages(r) else {
            counts.no_content += 1;
            continue;
        };
        let reply = assistant_reply(r);
        let line = match format {
            Format::ChatJsonl => {
                let mut messages = input;
                messages.extend(reply);
                let mut line = json!({ "messages": messages });
                if let Some(tools) = tools(r) {
                    line["tools"] = tools;
                }
                line
            }
            Format::Promptfoo => {
                let text = r.response.as_ref().and_then(|c| c.text.clone());
                let assert = match (assert, text) {
                    (None, _) => vec![],
                    (Some(kind), Some(text)) => {
                        let kind = match kind {
                            Assert::Equals => "equals",
                            Assert::Contains => "contains",
                        };
                        vec![json!({"type": kind, "value": text})]
                    }
                    (Some(_), None) => {
                        counts.no_answer += 1;
                        continue;
                    }
                };
                json!({
                    "vars": { "messages": input },
                    "assert": assert,
                    "metadata": metadata(r),
                })
            }
            Format::OpenaiEvals => {
                let Some(text) = r.response.as_ref().and_then(|c| c.text.clone()) else {
                    counts.no_answer += 1;
                    continue;
                };
                json!({ "input": input, "ideal": text })
            }
            Format::Langfuse => {
                let mut input_value = json!({ "messages": input });
                if let Some(tools) = tools(r) {
                    input_value["tools"] = tools;
                }
                let mut item = json!({
                    "input": input_value,
                    "expectedOutput": reply.unwrap_or(Value::Null),
                    "metadata": metadata(r),
                });
                if let Some(trace) = &r.trace_id {
                    item["sourceTraceId"] = json!(trace);
                }
                item
            }
            Format::Csv => unreachable!("csv is written above"),
        };
        if !r.masked.is_empty() {
            counts.masked += 1;
        }
        out.push_str(&line.to_string());
        out.push('\n');
    }
    counts
}

/// Runs `export`.
pub fn run(args: &ExportArgs) -> Result<Outcome, Failure> {
    if args.assert.is_some() && args.format != Format::Promptfoo {
        return Err(Failure::Usage(
            "--assert applies to --format promptfoo only".to_owned(),
        ));
    }
    let mut outcome = Outcome::Clean;
    let mut found: Vec<Found> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for path in &args.paths {
        let mut add = |record: CallRecord, source: String| {
            let started = record.started_at.timestamp_micros();
            let new = Found {
                record,
                source,
                started,
            };
            match seen.get(&new.record.request_id) {
                // The same call in a log and a file: keep the one with content.
                Some(&i) => {
                    if !has_content(&found[i].record) && has_content(&new.record) {
                        found[i] = new;
                    }
                }
                None => {
                    seen.insert(new.record.request_id.clone(), found.len());
                    found.push(new);
                }
            }
        };
        if read_input(path, &mut add)? {
            outcome = Outcome::Findings;
        }
    }

    let errors_too = args.include_errors || args.filter.errors || args.format == Format::Csv;
    let mut kept: Vec<Found> = found
        .into_iter()
        .filter(|f| args.filter.matches(&Call::of_record(&f.record, f.started)))
        .filter(|f| errors_too || f.record.status == Status::Ok)
        .collect();
    kept.sort_by(|a, b| {
        Order::of_record(&a.record)
            .cmp(&Order::of_record(&b.record))
            .then_with(|| a.source.cmp(&b.source))
    });
    if let Some(n) = args.limit {
        let drop = kept.len().saturating_sub(n);
        kept.drain(..drop);
    }

    let mut out = String::new();
    let counts = write(args.format, args.assert, &kept, &mut out);
    let Counts {
        no_content,
        no_answer,
        masked,
    } = counts;
    crate::exit::print(&out)?;
    if no_content > 0 {
        eprintln!(
            "llm-traced: skipped {no_content} record{} without content (logs carry it only with \
             LLM_LOG_PROMPTS=1 and LLM_LOG_RESPONSES=1)",
            plural(no_content)
        );
    }
    if no_answer > 0 {
        eprintln!(
            "llm-traced: skipped {no_answer} call{} without a text answer (tool calls only, or none)",
            plural(no_answer)
        );
    }
    if masked > 0 && args.format == Format::ChatJsonl {
        eprintln!(
            "llm-traced: {masked} exported call{} had masked content (placeholders such as [EMAIL] \
             stand for what was there)",
            plural(masked)
        );
    }
    Ok(outcome)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Reads one input, handing each record to `add`; returns whether
/// something that is not a record was skipped.
fn read_input(path: &Path, add: &mut dyn FnMut(CallRecord, String)) -> Result<bool, Failure> {
    let cannot = |e: std::io::Error| Failure::Input(format!("cannot read {}: {e}", path.display()));
    if path.is_dir() {
        let mut skipped = false;
        for file in conversation_files(path).map_err(cannot)? {
            skipped |= read_conversation(&file, add)?;
        }
        let mut logs: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(cannot)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl") && p.is_file())
            .collect();
        logs.sort();
        for log in logs {
            skipped |= read_log(&log, add)?;
        }
        return Ok(skipped);
    }
    if !path.exists() {
        return Err(Failure::Input(format!(
            "{}: no such file or directory (conversations are saved with \
             LLM_SAVE_CONVERSATIONS=1, in LLM_CONVERSATIONS_DIR or ./llm_conversations)",
            path.display()
        )));
    }
    if path.extension().is_some_and(|x| x == "json") {
        read_conversation(path, add)
    } else {
        read_log(path, add)
    }
}

fn read_conversation(
    path: &Path,
    add: &mut dyn FnMut(CallRecord, String),
) -> Result<bool, Failure> {
    match load(path) {
        Ok(l) => {
            add(l.record, l.path.display().to_string());
            Ok(false)
        }
        Err(skip @ Skip::NotARecord(..)) => {
            eprintln!("llm-traced: skipped {skip}");
            Ok(true)
        }
        Err(skip @ Skip::Unreadable(..)) => Err(Failure::Input(skip.to_string())),
    }
}

fn read_log(path: &Path, add: &mut dyn FnMut(CallRecord, String)) -> Result<bool, Failure> {
    let data = std::fs::read(path)
        .map_err(|e| Failure::Input(format!("cannot read {}: {e}", path.display())))?;
    let mut bad = 0usize;
    let mut first_bad = None;
    crate::stats::read::for_each_line(&data, |index, line| {
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let parsed = std::str::from_utf8(line)
            .map_err(|e| e.to_string())
            .and_then(|text| CallRecord::from_json(text).map_err(|e| e.to_string()));
        match parsed {
            Ok(record) => add(record, format!("{}:{}", path.display(), index + 1)),
            Err(why) => {
                bad += 1;
                first_bad.get_or_insert((index + 1, why));
            }
        }
    });
    if let Some((line, why)) = first_bad {
        eprintln!(
            "llm-traced: skipped {bad} line{} of {} that {} not llm-traced records (first: line {line}: {why})",
            plural(bad),
            path.display(),
            if bad == 1 { "is" } else { "are" }
        );
    }
    Ok(bad > 0)
}

fn has_content(r: &CallRecord) -> bool {
    r.messages.is_some() || r.request.is_some()
}

/// What export formats carry as metadata: where the call came from, and
/// what was masked.
fn metadata(r: &CallRecord) -> Value {
    let mut m = Map::new();
    m.insert("request_id".into(), json!(r.request_id));
    let optional = [
        ("trace_id", r.trace_id.as_deref()),
        ("span_id", r.span_id.as_deref()),
        ("provider", r.provider.as_deref()),
        ("request_model", r.request_model.as_deref()),
        ("response_model", r.response_model.as_deref()),
        ("session_id", r.session_id.as_deref()),
        ("user_id", r.user_id.as_deref()),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    }
    m.insert("function".into(), json!(r.function));
    m.insert(
        "started_at".into(),
        json!(crate::when::format_micros(r.started_at.timestamp_micros())),
    );
    m.insert("status".into(), json!(r.status.as_str()));
    if let Some(e) = &r.error {
        m.insert("error_type".into(), json!(e.error_type));
    }
    if let Some(params) = parameters(r) {
        m.insert("parameters".into(), params);
    }
    if !r.masked.is_empty() {
        m.insert("masked".into(), json!(r.masked));
    }
    Value::Object(m)
}

/// The request's sampling parameters (what is not messages, tools or the
/// model), when the request was recorded.
fn parameters(r: &CallRecord) -> Option<Value> {
    let request = r.request.as_ref()?.as_object()?;
    let skip = [
        "model",
        "messages",
        "contents",
        "input",
        "system",
        "systemInstruction",
        "system_instruction",
        "instructions",
        "tools",
        "stream",
    ];
    let params: Map<String, Value> = request
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (!params.is_empty()).then_some(Value::Object(params))
}

// ---------------------------------------------------------------------------
// Messages in the OpenAI chat shape

/// The request's messages in the OpenAI chat shape (system prompt first
/// when the provider keeps it apart); `None` when the record has none.
pub(crate) fn input_messages(r: &CallRecord) -> Option<Vec<Value>> {
    let request = r.request.as_ref().and_then(Value::as_object);
    let field = |name: &str| request.and_then(|q| q.get(name));
    let source = r
        .messages
        .as_ref()
        .or_else(|| field("messages"))
        .or_else(|| field("contents"))
        .or_else(|| field("input"))?;
    let mut out = Vec::new();
    // A system prompt kept beside the messages: Anthropic's `system`,
    // Gemini's `systemInstruction`, the Responses API's `instructions`.
    let system = field("system")
        .or_else(|| field("systemInstruction"))
        .or_else(|| field("system_instruction"))
        .or_else(|| field("instructions"));
    if let Some(system) = system {
        let text = flatten_text(system);
        if !text.is_empty() {
            out.push(json!({"role": "system", "content": text}));
        }
    }
    match source {
        Value::String(text) => out.push(json!({"role": "user", "content": text})),
        Value::Array(items) => {
            for item in items {
                convert_message(item, &mut out);
            }
        }
        other => out.push(json!({"role": "user", "content": other.to_string()})),
    }
    Some(out)
}

/// One provider message (or Responses API item) into OpenAI chat messages.
fn convert_message(item: &Value, out: &mut Vec<Value>) {
    let Some(obj) = item.as_object() else {
        if let Some(text) = item.as_str() {
            out.push(json!({"role": "user", "content": text}));
        }
        return;
    };
    // Gemini: {role: user|model, parts: [...]}.
    if let Some(parts) = obj.get("parts").and_then(Value::as_array) {
        let role = match obj.get("role").and_then(Value::as_str) {
            Some("model") => "assistant",
            Some(other) => other,
            None => "user",
        };
        let mut text = String::new();
        let mut calls = Vec::new();
        for part in parts {
            if let Some(t) = part.get("text").and_then(Value::as_str) {
                text.push_str(t);
            } else if let Some(call) = part.get("functionCall") {
                let name = call.get("name").and_then(Value::as_str).unwrap_or("");
                let args = call.get("args").cloned().unwrap_or(json!({}));
                calls.push(tool_call(None, name, &args.to_string(), calls.len()));
            } else if let Some(resp) = part.get("functionResponse") {
                let name = resp.get("name").and_then(Value::as_str).unwrap_or("");
                let content = resp.get("response").cloned().unwrap_or(Value::Null);
                out.push(
                    json!({"role": "tool", "tool_call_id": name, "content": content.to_string()}),
                );
            }
        }
        push_message(out, role, text, calls);
        return;
    }
    // Responses API items without a role.
    match obj.get("type").and_then(Value::as_str) {
        Some("function_call") => {
            let name = obj.get("name").and_then(Value::as_str).unwrap_or("");
            let args = obj.get("arguments").and_then(Value::as_str).unwrap_or("{}");
            let id = obj.get("call_id").and_then(Value::as_str);
            out.push(json!({"role": "assistant", "content": null,
                            "tool_calls": [tool_call(id, name, args, 0)]}));
            return;
        }
        Some("function_call_output") => {
            let id = obj.get("call_id").and_then(Value::as_str).unwrap_or("");
            let output = obj.get("output").map(flatten_text).unwrap_or_default();
            out.push(json!({"role": "tool", "tool_call_id": id, "content": output}));
            return;
        }
        _ => {}
    }
    let role = obj.get("role").and_then(Value::as_str).unwrap_or("user");
    let role = if role == "developer" { "system" } else { role };
    match obj.get("content") {
        // Anthropic content blocks, Responses API content parts, OpenAI
        // multimodal parts.
        Some(Value::Array(blocks)) => {
            let mut text = String::new();
            let mut calls = Vec::new();
            let mut other_parts = false;
            for block in blocks {
                match block.get("type").and_then(Value::as_str) {
                    Some("text" | "input_text" | "output_text") => {
                        text.push_str(block.get("text").and_then(Value::as_str).unwrap_or(""));
                    }
                    Some("tool_use") => {
                        let id = block.get("id").and_then(Value::as_str);
                        let name = block.get("name").and_then(Value::as_str).unwrap_or("");
                        let input = block.get("input").cloned().unwrap_or(json!({}));
                        calls.push(tool_call(id, name, &input.to_string(), calls.len()));
                    }
                    Some("tool_result") => {
                        let id = block
                            .get("tool_use_id")
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        let content = block.get("content").map(flatten_text).unwrap_or_default();
                        out.push(json!({"role": "tool", "tool_call_id": id, "content": content}));
                    }
                    _ => other_parts = true,
                }
            }
            if other_parts && calls.is_empty() {
                // Images and other parts: kept as they are.
                let mut m = obj.clone();
                m.insert("role".into(), json!(role));
                out.push(Value::Object(m));
            } else {
                push_message(out, role, text, calls);
            }
        }
        _ => {
            // Already the OpenAI chat shape (tool_calls, tool_call_id, name kept).
            let mut m = obj.clone();
            m.insert("role".into(), json!(role));
            out.push(Value::Object(m));
        }
    }
}

fn push_message(out: &mut Vec<Value>, role: &str, text: String, calls: Vec<Value>) {
    if text.is_empty() && calls.is_empty() {
        return;
    }
    let mut m =
        json!({"role": role, "content": if text.is_empty() { Value::Null } else { json!(text) }});
    if !calls.is_empty() {
        m["tool_calls"] = Value::Array(calls);
    }
    out.push(m);
}

fn tool_call(id: Option<&str>, name: &str, arguments: &str, index: usize) -> Value {
    let id = id.map_or_else(|| format!("call_{index}"), str::to_owned);
    json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}})
}

/// The text of a string, of content parts, or of Gemini parts.
fn flatten_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(flatten_text).collect::<Vec<_>>().join(""),
        Value::Object(o) => {
            if let Some(t) = o.get("text").and_then(Value::as_str) {
                t.to_owned()
            } else if let Some(parts) = o.get("parts") {
                flatten_text(parts)
            } else {
                v.to_string()
            }
        }
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The assistant's reply in the OpenAI chat shape: its text and its tool
/// calls; `None` when the call recorded neither.
pub(crate) fn assistant_reply(r: &CallRecord) -> Option<Value> {
    let text = r.response.as_ref().and_then(|c| c.text.clone());
    let calls: Vec<Value> = r
        .tool_calls
        .iter()
        .enumerate()
        .map(|(i, c)| tool_call(c.id.as_deref(), &c.name, &c.arguments, i))
        .collect();
    if text.is_none() && calls.is_empty() {
        return None;
    }
    let mut m = json!({"role": "assistant", "content": text});
    if !calls.is_empty() {
        m["tool_calls"] = Value::Array(calls);
    }
    Some(m)
}

/// The request's tools in the OpenAI chat shape, when the request was
/// recorded with tools (OpenAI, Responses API, Anthropic, Gemini shapes).
fn tools(r: &CallRecord) -> Option<Value> {
    let tools = r.request.as_ref()?.get("tools")?.as_array()?;
    let mut out = Vec::new();
    for t in tools {
        if t.get("function").is_some() {
            out.push(t.clone());
        } else if let Some(decls) = t
            .get("functionDeclarations")
            .or_else(|| t.get("function_declarations"))
            .and_then(Value::as_array)
        {
            for d in decls {
                out.push(function_tool(d, d.get("parameters")));
            }
        } else if t.get("name").is_some() {
            let schema = t.get("input_schema").or_else(|| t.get("parameters"));
            out.push(function_tool(t, schema));
        }
    }
    (!out.is_empty()).then_some(Value::Array(out))
}

fn function_tool(t: &Value, schema: Option<&Value>) -> Value {
    let mut f = json!({"name": t.get("name").cloned().unwrap_or(Value::Null)});
    if let Some(d) = t.get("description") {
        f["description"] = d.clone();
    }
    if let Some(s) = schema {
        f["parameters"] = s.clone();
    }
    json!({"type": "function", "function": f})
}

// ---------------------------------------------------------------------------
// CSV

/// The columns of `ls --json`, `request_id` first, and what was masked.
const CSV_COLUMNS: &[&str] = &[
    "request_id",
    "file",
    "started_at",
    "name",
    "function",
    "provider",
    "request_model",
    "response_model",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
    "latency_ms",
    "status",
    "error_type",
    "trace_id",
    "session_id",
    "user_id",
    "tenant_id",
    "masked",
];

fn csv(found: &[Found], out: &mut String) {
    out.push_str(&CSV_COLUMNS.join(","));
    out.push_str("\r\n");
    for f in found {
        let r = &f.record;
        let num = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
        let opt = |v: Option<&str>| v.unwrap_or("").to_owned();
        let usage = r.usage.as_ref();
        let masked = r
            .masked
            .iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect::<Vec<_>>()
            .join(";");
        let cells = [
            r.request_id.clone(),
            f.source.clone(),
            crate::when::format_micros(f.started),
            r.name.to_string(),
            r.function.to_string(),
            opt(r.provider.as_deref()),
            opt(r.request_model.as_deref()),
            opt(r.response_model.as_deref()),
            num(usage.and_then(|u| u.input_tokens)),
            num(usage.and_then(|u| u.output_tokens)),
            num(usage.and_then(|u| u.total())),
            r.cost_usd.map(|c| c.to_string()).unwrap_or_default(),
            r.latency_ms.to_string(),
            r.status.as_str().to_owned(),
            opt(r.error.as_ref().map(|e| e.error_type.as_str())),
            opt(r.trace_id.as_deref()),
            opt(r.session_id.as_deref()),
            opt(r.user_id.as_deref()),
            opt(r.tenant_id.as_deref()),
            masked,
        ];
        let row: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        let _ = write!(out, "{}\r\n", row.join(","));
    }
}

/// RFC 4180: a cell with a comma, quote or line break is quoted, quotes doubled.
fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

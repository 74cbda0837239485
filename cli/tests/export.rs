//! `llm-traced export`: every format field by field, the inputs (files
//! written before `request`/`masked` existed, logs with and without
//! content), the filters, and the errors.

mod common;

use common::{cli, data, record, stderr, stdout, tempdir, write_conversation, write_log};
use serde_json::{json, Value};

const PLAIN: &str = "01a21c54-2854-76d8-9cd8-c470c0b00ab6";
const TOOL: &str = "01a21c54-2855-7008-865d-49ef48bdb142";
const FAILED: &str = "01a21c54-2855-7008-865d-49f07b0e472b";
const ANSWER: &str = "You asked 2 question(s); here is a short, deterministic answer.";

fn json_lines(out: &std::process::Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn export(args: &[&str]) -> std::process::Output {
    cli()
        .arg("export")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn quickstart() -> String {
    data("conversations").display().to_string()
}

#[test]
fn chat_jsonl_from_files_written_before_this_change() {
    let out = export(&["--format", "chat-jsonl", &quickstart()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out);
    // The failed call is left out; oldest first.
    assert_eq!(lines.len(), 2, "{}", stdout(&out));
    assert_eq!(
        lines[0],
        json!({"messages": [
            {"role": "system", "content": "You are a concise assistant."},
            {"role": "user", "content": "What is tracing?"},
            {"role": "assistant", "content": ANSWER},
        ]})
    );
    assert_eq!(
        lines[1],
        json!({"messages": [
            {"role": "system", "content": "You are a concise assistant."},
            {"role": "user", "content": "What is the weather in Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
        ]})
    );

    let out = export(&["--format", "chat-jsonl", "--include-errors", &quickstart()]);
    let all = json_lines(&out);
    assert_eq!(all.len(), 3);
    // A failed call has no reply: its messages end with the user's.
    let last = all[2]["messages"].as_array().unwrap();
    assert_eq!(last.len(), 2);
    assert_eq!(last[1]["role"], "user");
}

/// An Anthropic Messages request with a system prompt, tools, a tool use and
/// its result, answered with text; content masked.
fn anthropic_call(dir: &std::path::Path) {
    let r = record(json!({
        "request_id": "01a21c54-0000-7000-8000-00000000a001",
        "trace_id": "ab".repeat(16), "span_id": "cd".repeat(8),
        "provider": "anthropic", "request_model": "claude-sonnet-4-5",
        "response_model": "claude-sonnet-4-5-20250929",
        "started_at": "2026-11-27T10:00:00.000Z",
        "request": {
            "model": "claude-sonnet-4-5", "max_tokens": 512, "temperature": 0.2,
            "system": "Answer briefly.",
            "tools": [{"name": "get_weather", "description": "Weather of a city",
                       "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
            "messages": [
                {"role": "user", "content": "Weather in Paris? Mail [EMAIL]"},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01", "content": "18°C, clear"}]},
            ],
        },
        "messages": [
            {"role": "user", "content": "Weather in Paris? Mail [EMAIL]"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "content": "18°C, clear"}]},
        ],
        "masked": {"email": 1},
        "response": {"text": "It is 18°C and clear in Paris."},
        "usage": {"input_tokens": 40, "output_tokens": 9, "total_tokens": 49},
    }));
    write_conversation(dir, &r);
}

fn anthropic_messages() -> Value {
    json!([
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Weather in Paris? Mail [EMAIL]"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "toolu_01", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "toolu_01", "content": "18°C, clear"},
    ])
}

fn openai_tools() -> Value {
    json!([{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])
}

#[test]
fn chat_jsonl_converts_anthropic_shapes_and_keeps_tools() {
    let dir = tempdir();
    anthropic_call(dir.path());
    let path = dir.path().display().to_string();
    let out = export(&["--format", "chat-jsonl", &path]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out);
    let mut messages = anthropic_messages();
    messages
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "assistant", "content": "It is 18°C and clear in Paris."}));
    assert_eq!(
        lines[0],
        json!({"messages": messages, "tools": openai_tools()})
    );
    // No metadata in this format: the masking is said on stderr.
    assert!(
        stderr(&out).contains("1 exported call had masked content"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn promptfoo_cases_with_and_without_an_assertion() {
    let dir = tempdir();
    anthropic_call(dir.path());
    let path = dir.path().display().to_string();
    let out = export(&["--format", "promptfoo", &path]);
    assert!(out.status.success(), "{}", stderr(&out));
    let case = &json_lines(&out)[0];
    assert_eq!(case["vars"], json!({"messages": anthropic_messages()}));
    assert_eq!(case["assert"], json!([]));
    assert_eq!(
        case["metadata"],
        json!({
            "request_id": "01a21c54-0000-7000-8000-00000000a001",
            "trace_id": "ab".repeat(16), "span_id": "cd".repeat(8),
            "provider": "anthropic", "request_model": "claude-sonnet-4-5",
            "response_model": "claude-sonnet-4-5-20250929",
            "function": "app::ask", "started_at": "2026-11-27T10:00:00.000000Z",
            "status": "ok",
            "parameters": {"max_tokens": 512, "temperature": 0.2},
            "masked": {"email": 1},
        })
    );
    for (kind, n) in [("equals", 1), ("contains", 1)] {
        let out = export(&["--format", "promptfoo", "--assert", kind, &quickstart()]);
        assert!(out.status.success(), "{}", stderr(&out));
        let cases = json_lines(&out);
        // The tool-call-only call has no text to assert: skipped, counted.
        assert_eq!(cases.len(), n, "{}", stdout(&out));
        assert_eq!(cases[0]["assert"], json!([{"type": kind, "value": ANSWER}]));
        assert_eq!(cases[0]["metadata"]["request_id"], PLAIN);
        assert!(cases[0]["metadata"].get("masked").is_none());
        assert!(
            stderr(&out).contains("skipped 1 call without a text answer"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn openai_evals_samples() {
    let out = export(&["--format", "openai-evals", &quickstart()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let samples = json_lines(&out);
    assert_eq!(
        samples,
        vec![json!({
            "input": [
                {"role": "system", "content": "You are a concise assistant."},
                {"role": "user", "content": "What is tracing?"},
            ],
            "ideal": ANSWER,
        })]
    );
    assert!(stderr(&out).contains("skipped 1 call without a text answer"));
}

#[test]
fn langfuse_dataset_items() {
    let dir = tempdir();
    anthropic_call(dir.path());
    let out = export(&["--format", "langfuse", &dir.path().display().to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let item = &json_lines(&out)[0];
    assert_eq!(
        item["input"],
        json!({"messages": anthropic_messages(), "tools": openai_tools()})
    );
    assert_eq!(
        item["expectedOutput"],
        json!({"role": "assistant", "content": "It is 18°C and clear in Paris."})
    );
    assert_eq!(item["sourceTraceId"], "ab".repeat(16));
    assert_eq!(item["metadata"]["masked"], json!({"email": 1}));
    assert_eq!(
        item.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["expectedOutput", "input", "metadata", "sourceTraceId"]
    );

    let out = export(&["--format", "langfuse", &quickstart()]);
    let items = json_lines(&out);
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[1]["expectedOutput"]["tool_calls"][0]["function"]["name"],
        "get_weather"
    );
    assert_eq!(
        items[1]["sourceTraceId"],
        "f70d9fb89659c004e5d1d3a76e8495ee"
    );
}

#[test]
fn gemini_and_responses_shapes_become_chat_messages() {
    let dir = tempdir();
    let gemini = record(json!({
        "request_id": "01a21c54-0000-7000-8000-00000000b001",
        "provider": "gcp.gemini", "request_model": "gemini-2.5-flash",
        "request": {
            "systemInstruction": {"parts": [{"text": "Be terse."}]},
            "contents": [
                {"role": "user", "parts": [{"text": "Weather in Rome?"}]},
                {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp": 21}}}]},
            ],
            "tools": [{"functionDeclarations": [{"name": "get_weather", "description": "Weather of a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]}],
            "generationConfig": {"temperature": 0},
        },
        "response": {"text": "21°C."},
    }));
    let responses = record(json!({
        "request_id": "01a21c54-0000-7000-8000-00000000b002",
        "started_at": "2026-11-27T09:00:01.000Z",
        "request": {"model": "gpt-4.1", "instructions": "Be terse.", "input": "Hello there"},
        "response": {"text": "Hi."},
    }));
    write_conversation(dir.path(), &gemini);
    write_conversation(dir.path(), &responses);
    let out = export(&["--format", "chat-jsonl", &dir.path().display().to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(
        lines[0],
        json!({"messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Weather in Rome?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_0", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}]},
            {"role": "tool", "tool_call_id": "get_weather", "content": "{\"temp\":21}"},
            {"role": "assistant", "content": "21°C."},
        ], "tools": openai_tools()})
    );
    assert_eq!(
        lines[1],
        json!({"messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Hello there"},
            {"role": "assistant", "content": "Hi."},
        ]})
    );
}

#[test]
fn csv_rows_keep_failed_calls_and_quote_cells() {
    let dir = tempdir();
    std::fs::write(
        dir.path().join("calls.jsonl"),
        std::fs::read(data("quickstart.jsonl")).unwrap(),
    )
    .unwrap();
    anthropic_call(dir.path());
    let mut odd = record(json!({
        "request_id": "01a21c54-0000-7000-8000-00000000c001",
        "name": "say, \"hi\"", "started_at": "2026-11-27T11:00:00.000Z",
    }));
    odd.user_id = Some("u1".into());
    write_conversation(dir.path(), &odd);
    let out = export(&["--format", "csv", &dir.path().display().to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let rows: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        rows[0],
        "request_id,file,started_at,name,function,provider,request_model,response_model,\
         input_tokens,output_tokens,total_tokens,cost_usd,latency_ms,status,error_type,\
         trace_id,session_id,user_id,tenant_id,masked"
    );
    // The three log calls (the failed one too), the Anthropic call, the odd one.
    assert_eq!(rows.len(), 6, "{text}");
    let log = dir.path().join("calls.jsonl").display().to_string();
    assert_eq!(
        rows[1],
        format!(
            "{PLAIN},{log}:1,2026-11-27T09:26:47.124000Z,ask,quickstart::ask,openai,gpt-4o,\
             gpt-4o-2024-08-06,16,10,26,0.00014,0.095979,ok,,71f00cfdcb569fe361b68839e15d59fc,,,,"
        )
    );
    assert!(
        rows[3].starts_with(&format!("{FAILED},{log}:3,"))
            && rows[3].contains(",error,context_length,"),
        "{}",
        rows[3]
    );
    assert!(rows[4].ends_with(",email=1"), "{}", rows[4]);
    assert!(
        rows[5].contains(",\"say, \"\"hi\"\"\",app::ask,"),
        "{}",
        rows[5]
    );
    assert!(rows[5].contains(",u1,"), "{}", rows[5]);
}

#[test]
fn logs_without_content_are_counted_and_duplicates_written_once() {
    let dir = tempdir();
    let mut bare = record(json!({"request_id": "01a21c54-0000-7000-8000-00000000d001"}));
    bare.response = None;
    write_log(&dir.path().join("calls.jsonl"), &[bare]);
    // The same calls in a log and in their files: written once each.
    let out = export(&[
        "--format",
        "openai-evals",
        &dir.path().join("calls.jsonl").display().to_string(),
        &quickstart(),
        &data("quickstart.jsonl").display().to_string(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json_lines(&out).len(), 1);
    assert!(
        stderr(&out).contains("skipped 1 record without content"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn filters_as_in_ls() {
    let q = quickstart();
    let out = export(&["--format", "csv", &q, "--errors"]);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains(FAILED));
    let out = export(&["--format", "csv", &q, "-n", "1"]);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains(FAILED), "the newest: {text}");
    let out = export(&["--format", "chat-jsonl", &q, "--trace", "f70d9f"]);
    assert_eq!(json_lines(&out).len(), 1);
    assert!(stdout(&out).contains("get_weather"));
    let out = export(&["--format", "csv", &q, "--model", "claude"]);
    assert_eq!(stdout(&out).lines().count(), 1);
    let out = export(&["--format", "csv", &q, "--since", "2026-11-28"]);
    assert_eq!(stdout(&out).lines().count(), 1);
    assert!(stdout(&export(&["--format", "csv", &q])).contains(TOOL));
}

#[test]
fn bad_input_and_usage() {
    let dir = tempdir();
    let out = export(&[
        "--format",
        "chat-jsonl",
        &dir.path().join("missing").display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("no such file or directory"));

    let out = export(&["--format", "csv", "--assert", "equals", &quickstart()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--assert applies to --format promptfoo only"));

    let out = export(&["--format", "yaml", &quickstart()]);
    assert_eq!(out.status.code(), Some(2));

    let log = dir.path().join("mixed.jsonl");
    let mut text = std::fs::read_to_string(data("quickstart.jsonl")).unwrap();
    text.push_str("not json\n{\"schema\": 9}\n");
    std::fs::write(&log, text).unwrap();
    let out = export(&["--format", "csv", &log.display().to_string()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 4);
    assert!(
        stderr(&out).contains("skipped 2 lines of") && stderr(&out).contains("first: line 4"),
        "{}",
        stderr(&out)
    );
}

//! `llm-traced show` on conversations written by the real runtime.

mod common;

use common::{cli, data, golden, record, stderr, stdout, tempdir, write_conversation};
use serde_json::json;

#[test]
fn golden_rendering_of_the_quickstart_conversations() {
    let output = cli()
        .current_dir(common::manifest_dir())
        .args(["show", "tests/data/conversations"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "wider than 80: {line:?}");
    }
    assert!(!text.contains('\x1b'), "no colours with NO_COLOR");
    golden("show_quickstart.txt", &text);
}

#[test]
fn shows_the_error_with_its_diagnosis() {
    let file =
        data("conversations/20261127T092647.125Z_ask_01a21c54-2855-7008-865d-49f07b0e472b.json");
    let output = cli()
        .arg("show")
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = stdout(&output);
    assert!(text.contains("[context_length] Error code: 400"), "{text}");
    assert!(text
        .contains("error.type = context_length (openai, HTTP 400, code context_length_exceeded)"));
    assert!(text.contains("retry: no, fix the cause first"));
}

#[test]
fn raw_prints_the_json_as_saved() {
    let file =
        data("conversations/20261127T092647.124Z_ask_01a21c54-2854-76d8-9cd8-c470c0b00ab6.json");
    let output = cli()
        .args(["show", "--raw"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let saved = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stdout(&output).trim_end(), saved.trim_end());
}

#[test]
fn finds_a_conversation_by_the_id_that_ls_shows() {
    let output = cli()
        .args(["show", "49f07b0e", "--dir"])
        .arg(data("conversations"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("request   01a21c54-2855-7008-865d-49f07b0e472b"));
}

#[test]
fn renders_tool_messages_content_parts_and_choices() {
    let dir = tempdir();
    let r = record(json!({
        "user_id": "u1", "session_id": "s1", "tenant_id": "acme", "tags": ["beta"],
        "request_model": "gpt-4o", "response_model": "gpt-4o-2024-08-06",
        "usage": {"input_tokens": 1200, "output_tokens": 30, "total_tokens": 1230, "cached_input_tokens": 1024},
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "What is in this image?"}, {"type": "image_url", "image_url": {"url": "data:..."}}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_9", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"cats\",\"limit\":3}"}}]},
            {"role": "tool", "tool_call_id": "call_9", "content": "    indented result\nsecond line"}
        ],
        "response": {"text": "A cat.", "choices": [{"index": 0, "text": "A cat.", "finish_reason": "stop"}, {"index": 1, "text": "Two cats.", "finish_reason": "stop"}]},
        "level": "warn", "warnings": ["slow"],
    }));
    let path = write_conversation(dir.path(), &r);
    let output = cli()
        .arg("show")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = stdout(&output);
    for want in [
        "  [user]\n    What is in this image?\n    [image_url]\n",
        "  [assistant]\n  lookup (call_9)\n    {\n      \"limit\": 3,\n      \"q\": \"cats\"\n    }\n",
        "  [tool for call_9]\n        indented result\n    second line\n",
        "  [choice 1 · stop]\n    Two cats.\n",
        "  tokens    1,200 in · 30 out · 1,230 total · 1,024 cached\n",
        "  context   user u1 · session s1 · tenant acme · tags beta\n",
        "  status    ok · level warn · slow\n",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

#[test]
fn files_that_are_not_records_are_findings_and_missing_ones_input_errors() {
    let dir = tempdir();
    std::fs::write(dir.path().join("other.json"), "{\"hello\": 1}")
        .unwrap_or_else(|e| panic!("{e}"));
    write_conversation(dir.path(), &record(json!({})));
    let output = cli()
        .arg("show")
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("not an llm-traced record"),
        "{}",
        stderr(&output)
    );
    assert!(stdout(&output).contains("── ask"));

    let output = cli()
        .args(["show", "/no/such/file.json"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(3));
    let output = cli().arg("show").output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(2), "a FILE is required");
}

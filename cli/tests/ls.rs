//! `llm-traced ls`: the table, its order, filters and `--json`.

mod common;

use common::{cli, record, stderr, stdout, tempdir, write_conversation};
use serde_json::{json, Value};

fn fixture() -> tempfile::TempDir {
    let dir = tempdir();
    let calls = [
        ("0001", "09:00", "gpt-4o", "ok", "t1aaaa", "s1", "alice"),
        (
            "0002",
            "09:10",
            "gpt-4o-mini",
            "error",
            "t1aaaa",
            "s1",
            "alice",
        ),
        (
            "0003",
            "10:00",
            "claude-sonnet-4-5",
            "ok",
            "t2bbbb",
            "s2",
            "bob",
        ),
        (
            "0004",
            "11:30",
            "gemini-2.5-flash",
            "cancelled",
            "t3cccc",
            "s2",
            "bob",
        ),
    ];
    for (n, at, model, status, trace, session, user) in calls {
        let mut fields = json!({
            "request_id": format!("01a21c54-0000-7000-8000-00000000{n}"),
            "name": format!("call{n}"),
            "request_model": model, "status": status, "trace_id": format!("{trace}{}", "0".repeat(26)),
            "session_id": session, "user_id": user,
            "started_at": format!("2026-11-27T{at}:00.000Z"), "ended_at": format!("2026-11-27T{at}:01.500Z"),
            "latency_ms": 1500.0,
        });
        if status == "ok" {
            fields["usage"] =
                json!({"input_tokens": 1000, "output_tokens": 234, "total_tokens": 1234});
        }
        if status == "error" {
            fields["error"] = json!({"message": "Rate limit reached", "type": "rate_limit"});
        }
        write_conversation(dir.path(), &record(fields));
    }
    dir
}

fn ls_json(dir: &std::path::Path, args: &[&str]) -> Vec<Value> {
    let output = cli()
        .arg("ls")
        .arg(dir)
        .args(args)
        .arg("--json")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| panic!("{e}"))
}

fn names(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|e| e["name"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn the_table_is_newest_first_and_fits_80_columns() {
    let dir = fixture();
    let output = cli()
        .arg("ls")
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    // 81 columns in full: the model column gives one.
    assert_eq!(
        text,
        "\
TIME (UTC)      NAME      MODEL             TOKENS  LATENCY  STATUS     ID
11-27 11:30:00  call0004  gemini-2.5-flash       -   1.50 s  cancelled  00000004
11-27 10:00:00  call0003  claude-sonnet-4…    1234   1.50 s  ok         00000003
11-27 09:10:00  call0002  gpt-4o-mini            -   1.50 s  error      00000002
11-27 09:00:00  call0001  gpt-4o              1234   1.50 s  ok         00000001
"
    );
}

#[test]
fn filters() {
    let dir = fixture();
    let d = dir.path();
    assert_eq!(
        names(&ls_json(d, &[])),
        ["call0004", "call0003", "call0002", "call0001"]
    );
    assert_eq!(
        names(&ls_json(d, &["--model", "gpt-4o"])),
        ["call0002", "call0001"]
    );
    assert_eq!(names(&ls_json(d, &["--model", "CLAUDE"])), ["call0003"]);
    assert_eq!(names(&ls_json(d, &["--errors"])), ["call0004", "call0002"]);
    assert_eq!(
        names(&ls_json(d, &["--since", "2026-11-27T09:30:00Z"])),
        ["call0004", "call0003"]
    );
    assert_eq!(
        names(&ls_json(d, &["--until", "2026-11-27 10:00"])),
        ["call0002", "call0001"]
    );
    assert_eq!(
        names(&ls_json(d, &["--trace", "t1aa"])),
        ["call0002", "call0001"]
    );
    assert_eq!(
        names(&ls_json(d, &["--session", "s2"])),
        ["call0004", "call0003"]
    );
    assert_eq!(
        names(&ls_json(d, &["--user", "alice", "--errors"])),
        ["call0002"]
    );
    assert_eq!(names(&ls_json(d, &["-n", "1"])), ["call0004"]);
    assert_eq!(
        names(&ls_json(d, &["--since", "2026-11-28"])),
        Vec::<String>::new()
    );
}

#[test]
fn json_has_the_details() {
    let dir = fixture();
    let all = ls_json(dir.path(), &[]);
    let e = &all[2];
    assert_eq!(e["status"], "error");
    assert_eq!(e["error_type"], "rate_limit");
    assert_eq!(e["started_at"], "2026-11-27T09:10:00.000000Z");
    assert_eq!(e["request_model"], "gpt-4o-mini");
    assert!(e["file"].as_str().is_some_and(|f| f.ends_with(".json")));
    assert_eq!(all[1]["total_tokens"], 1234);
}

#[test]
fn paths_feed_show() {
    let dir = fixture();
    let output = cli()
        .arg("ls")
        .arg(dir.path())
        .args(["--errors", "--paths"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let paths: Vec<String> = stdout(&output).lines().map(str::to_owned).collect();
    assert_eq!(paths.len(), 2);
    let output = cli()
        .arg("show")
        .args(&paths)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("[rate_limit] Rate limit reached"));
}

#[test]
fn missing_dir_non_records_and_no_match() {
    let output = cli()
        .args(["ls", "/no/such/dir"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(3));
    assert!(stderr(&output).contains("LLM_SAVE_CONVERSATIONS"));

    let dir = fixture();
    std::fs::write(dir.path().join("notes.json"), "[]").unwrap_or_else(|e| panic!("{e}"));
    let output = cli()
        .arg("ls")
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("notes.json"));

    let output = cli()
        .arg("ls")
        .arg(dir.path())
        .args(["--model", "llama"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(stdout(&output).starts_with("None of the 4 conversations in"));
}

#[test]
fn lists_the_real_runtime_conversations() {
    let output = cli()
        .arg("ls")
        .arg(common::data("conversations"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = stdout(&output);
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text
        .lines()
        .nth(1)
        .is_some_and(|l| l.contains("gpt-4o-mini") && l.contains("error")));

    // The directory the runtime was told to use is the default.
    let output = cli()
        .arg("ls")
        .env("LLM_CONVERSATIONS_DIR", common::data("conversations"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stdout(&output), text);
}

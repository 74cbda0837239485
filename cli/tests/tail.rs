//! `llm-traced tail`: the last records, then new ones, through a rotation.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use common::{log_line, record, tempdir};
use serde_json::json;

fn call(n: u32, status: &str) -> String {
    let mut fields = json!({
        "request_id": format!("01a21c54-0000-7000-8000-{n:012}"),
        "name": format!("call{n}"), "request_model": "gpt-4o", "status": status,
        "started_at": format!("2026-11-27T09:00:{n:02}.000Z"), "ended_at": format!("2026-11-27T09:00:{n:02}.250Z"),
        "latency_ms": 250.0, "cost_usd": 0.0021,
        "usage": {"input_tokens": 1000, "output_tokens": 200, "total_tokens": 1200},
    });
    if status == "error" {
        fields["error"] = json!({"message": "Rate limit reached for gpt-4o", "type": "rate_limit"});
        fields["usage"] = serde_json::Value::Null;
    }
    log_line(&record(fields))
}

struct Tail {
    child: Child,
    lines: Receiver<String>,
}

impl Tail {
    fn spawn(args: &[&str], log: &std::path::Path) -> Tail {
        let mut child = Command::new(env!("CARGO_BIN_EXE_llm-traced"))
            .env("NO_COLOR", "1")
            .env("COLUMNS", "80")
            .arg("tail")
            .args(args)
            .args(["--interval-ms", "20"])
            .arg(log)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let out = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Tail { child, lines }
    }

    fn next(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("no line from tail: {e}"))
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn append(path: &std::path::Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{e}"));
    f.write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn follows_new_lines_and_survives_rotation() {
    let dir = tempdir();
    let log = dir.path().join("calls.jsonl");
    append(
        &log,
        &format!("{}{}{}", call(1, "ok"), call(2, "ok"), call(3, "ok")),
    );
    let tail = Tail::spawn(&["-n", "2"], &log);
    assert!(tail.next().contains("call2"));
    let third = tail.next();
    assert_eq!(
        third,
        "09:00:03.000000 ok    gpt-4o         call3           250 ms  1200 tok $0.002100"
    );

    // A new line, written in two pieces.
    let line = call(4, "error");
    let (a, b) = line.split_at(40);
    append(&log, a);
    std::thread::sleep(Duration::from_millis(100));
    append(&log, b);
    let error = tail.next();
    assert!(
        error.contains("call4") && error.contains("error") && error.contains("rate_limit: Rate l"),
        "{error}"
    );

    // Rotation: renamed, then recreated.
    std::fs::rename(&log, dir.path().join("calls.20261127T090000000.jsonl"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_millis(100));
    append(&log, &call(5, "ok"));
    assert!(tail.next().contains("call5"));
    append(&log, "this is not json\n");
    assert!(tail.next().starts_with("(a line that is not a record"));
    append(&log, &call(6, "ok"));
    assert!(tail.next().contains("call6"));
}

#[test]
fn no_follow_prints_the_last_records_and_exits() {
    let dir = tempdir();
    let log = dir.path().join("calls.jsonl");
    append(
        &log,
        &format!("{}{}{}", call(1, "ok"), call(2, "error"), call(3, "ok")),
    );
    let output = common::cli()
        .args(["tail", "-n", "2", "--no-follow"])
        .arg(&log)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(0));
    let text = common::stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].contains("call2") && lines[0].contains("error"));
    assert!(lines[1].contains("call3"));
    for line in lines {
        assert!(line.chars().count() <= 80);
    }
}

#[test]
fn errors_are_red_only_when_colours_are_asked_for() {
    let dir = tempdir();
    let log = dir.path().join("calls.jsonl");
    append(&log, &call(1, "error"));
    let output = Command::new(env!("CARGO_BIN_EXE_llm-traced"))
        .env_remove("NO_COLOR")
        .args(["--color", "always", "tail", "--no-follow"])
        .arg(&log)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(common::stdout(&output).starts_with("\x1b[31m"));
    let output = Command::new(env!("CARGO_BIN_EXE_llm-traced"))
        .env("NO_COLOR", "1")
        .args(["--color", "always", "tail", "--no-follow"])
        .arg(&log)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!common::stdout(&output).contains('\x1b'), "NO_COLOR wins");
}

#[test]
fn waits_for_a_log_that_does_not_exist_yet() {
    let dir = tempdir();
    let log = dir.path().join("later.jsonl");
    let tail = Tail::spawn(&[], &log);
    std::thread::sleep(Duration::from_millis(100));
    append(&log, &call(7, "ok"));
    assert!(tail.next().contains("call7"));
}

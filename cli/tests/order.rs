//! Calls are listed in the order they ran, to the microsecond and beyond: a
//! trace of 1,000 steps of two alternating functions, several started in the
//! same microsecond, comes out `think, search_docs, think, …` in `ls
//! --trace`, `show`, `export` and the viewer's trace page, whatever their
//! file names and request ids say; and files written with millisecond times
//! before still read everywhere.

mod common;

use common::server::Server;
use common::{cli, record, stdout, tempdir, write_conversation};
use llm_traced_runtime::record::CallRecord;
use serde_json::{json, Value};

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const STEPS: u32 = 1_000;

/// A request id that sorts in no useful order (the low bits first).
fn scrambled_id(n: u32) -> String {
    let mixed = n.wrapping_mul(2_654_435_761);
    format!("{mixed:08x}-0000-7000-8000-{n:012x}")
}

fn step_name(i: u32) -> &'static str {
    if i.is_multiple_of(2) {
        "think"
    } else {
        "search_docs"
    }
}

/// The agent, then its steps: four start in each microsecond, and only
/// their `seq` tells them apart.
fn agent_trace(dir: &std::path::Path) -> Vec<CallRecord> {
    let agent = record(json!({
        "request_id": scrambled_id(100_000),
        "trace_id": TRACE,
        "span_id": "a000000000000001",
        "kind": "agent",
        "name": "agent",
        "function": "app::agent",
        "started_at": "2026-12-01T10:00:00.000000Z",
        "ended_at": "2026-12-01T10:00:00.300000Z",
        "latency_ms": 300.0,
        "seq": 0,
    }));
    let mut all = vec![agent];
    for i in 0..STEPS {
        let micros = 10 + i / 4;
        all.push(record(json!({
            "request_id": scrambled_id(i),
            "trace_id": TRACE,
            "span_id": format!("b{:015x}", i + 1),
            "parent_span_id": "a000000000000001",
            "kind": "tool",
            "name": step_name(i),
            "function": format!("app::{}", step_name(i)),
            "started_at": format!("2026-12-01T10:00:00.{micros:06}Z"),
            "ended_at": format!("2026-12-01T10:00:00.{micros:06}Z"),
            "latency_ms": 0.0,
            "seq": i + 1,
        })));
    }
    for r in &all {
        write_conversation(dir, r);
    }
    all
}

/// The names of the steps as they ran.
fn ran() -> Vec<String> {
    (0..STEPS).map(|i| step_name(i).to_owned()).collect()
}

/// Steps only, from a list of names.
fn steps(names: Vec<String>) -> Vec<String> {
    names.into_iter().filter(|n| n != "agent").collect()
}

#[test]
fn a_trace_of_steps_four_to_a_microsecond_lists_in_the_order_they_ran() {
    let dir = tempdir();
    agent_trace(dir.path());
    let d = dir.path().to_str().unwrap();

    // ls --trace: newest first, so the reverse of the run.
    let out = cli()
        .args(["ls", "--json", "--trace", TRACE, d])
        .output()
        .unwrap();
    let entries: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let mut names: Vec<String> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    names.reverse();
    assert_eq!(names[0], "agent");
    assert_eq!(steps(names), ran(), "ls --trace");
    assert_eq!(
        entries.last().unwrap()["started_at"],
        "2026-12-01T10:00:00.000000Z",
        "microseconds in ls --json"
    );

    // show DIR --raw: oldest first.
    let out = cli().args(["show", "--raw", d]).output().unwrap();
    let shown: Vec<String> = serde_json::Deserializer::from_str(&stdout(&out))
        .into_iter::<Value>()
        .map(|v| v.unwrap()["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(steps(shown), ran(), "show");

    // show DIR, rendered: the times carry their microseconds.
    let out = cli().args(["show", d]).output().unwrap();
    assert!(
        stdout(&out).contains("2026-12-01 10:00:00.000010 UTC"),
        "show prints microseconds"
    );

    // export: oldest first too.
    let out = cli()
        .args(["export", "--format", "csv", "--trace", TRACE, d])
        .output()
        .unwrap();
    let text = stdout(&out);
    let exported: Vec<String> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap().to_owned())
        .collect();
    assert_eq!(steps(exported), ran(), "export");
    assert!(
        text.contains(",2026-12-01T10:00:00.000010Z,"),
        "{}",
        &text[..400]
    );

    // The viewer's trace page: the agent, then its steps in order.
    let server = Server::start(&[d]);
    let body = server.page(&format!("/traces/{TRACE}"));
    let rows: Vec<String> = body
        .split("<tr class=\"node")
        .skip(1)
        .filter_map(|r| r.split("<td class=\"tree d").nth(1))
        .filter_map(|r| r.split("\">").nth(2))
        .filter_map(|r| r.split("</a>").next())
        .map(str::to_owned)
        .collect();
    assert_eq!(rows.len(), STEPS as usize + 1, "every call is a row");
    assert_eq!(rows[0], "agent");
    assert_eq!(steps(rows), ran(), "the trace page");
}

#[test]
fn files_with_millisecond_times_still_read_everywhere() {
    let dir = tempdir();
    // As earlier versions wrote them: milliseconds, no `seq`, in the old
    // file name form.
    let text = serde_json::to_string_pretty(&serde_json::json!({
        "schema": 1,
        "request_id": "01a21c54-0000-7000-8000-00000000aaaa",
        "trace_id": TRACE,
        "kind": "llm",
        "name": "before",
        "function": "app::before",
        "operation": "chat",
        "started_at": "2026-11-27T09:00:00.123Z",
        "ended_at": "2026-11-27T09:00:00.456Z",
        "latency_ms": 303.74224399999997,
        "status": "ok",
        "level": "info",
    }))
    .unwrap();
    std::fs::write(
        dir.path()
            .join("20261127T090000.123Z_before_01a21c54-0000-7000-8000-00000000aaaa.json"),
        text,
    )
    .unwrap();
    let new = record(json!({
        "request_id": "01a21c54-0000-7000-8000-00000000bbbb",
        "trace_id": TRACE,
        "name": "after",
        "started_at": "2026-11-27T09:00:00.123400Z",
        "ended_at": "2026-11-27T09:00:00.123900Z",
        "latency_ms": 0.5,
        "seq": 7,
    }));
    let path = write_conversation(dir.path(), &new);
    assert!(
        path.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("20261127T090000.123400Z_after_"),
        "{}",
        path.display()
    );
    let d = dir.path().to_str().unwrap();

    let out = cli().args(["ls", "--json", d]).output().unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let entries: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let names: Vec<&str> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["after", "before"], "newest first, by microsecond");
    assert_eq!(entries[1]["started_at"], "2026-11-27T09:00:00.123000Z");

    let out = cli().args(["show", d]).output().unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let shown = stdout(&out);
    assert!(shown.find("before").unwrap() < shown.find("after").unwrap());

    let out = cli()
        .args(["export", "--format", "csv", d])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 3);

    let server = Server::start(&[d]);
    assert!(
        server.banner.contains("2 calls indexed"),
        "{}",
        server.banner
    );
    let body = server.page(&format!("/traces/{TRACE}"));
    assert!(body.find(">before</a>").unwrap() < body.find(">after</a>").unwrap());
    let body = server.page(&format!("/calls/{}", new.request_id));
    assert!(
        body.contains("2026-11-27 09:00:00.123400"),
        "the call page's time"
    );
}

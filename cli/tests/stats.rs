//! `llm-traced stats`: exact numbers against a log computed by hand, golden
//! text, malformed input, filters, several inputs, and agreement with a
//! naive computation on a generated log.

mod common;

use std::io::Write;
use std::path::Path;

use common::{cli, golden, record, stdout, tempdir, write_log};
use llm_traced_runtime::record::CallRecord;
use serde_json::{json, Value};

/// Ten calls whose figures are worked out by hand in the tests below.
///
/// | # | start | model             | function       | tenant | status    | ms   | in  | out | cost    |
/// |---|-------|-------------------|----------------|--------|-----------|------|-----|-----|---------|
/// | 1 | 09:05 | gpt-4o            | app::ask       | acme   | ok        | 120  | 100 | 10  | 0.001   |
/// | 2 | 09:15 | gpt-4o            | app::ask       | acme   | ok        | 80   | 200 | 20  | 0.002   |
/// | 3 | 09:25 | claude-sonnet-4-5 | app::summarize | globex | ok        | 300  | 300 | 30  | 0.0005  |
/// | 4 | 09:35 | gpt-4o            | app::ask       | acme   | error     | 45.5 | -   | -   | -       |
/// | 5 | 10:05 | claude-sonnet-4-5 | app::summarize | globex | ok        | 1000 | 400 | 40  | 0.0125  |
/// | 6 | 10:15 | gemini-2.5-flash  | app::ask       | acme   | ok        | 220  | 500 | 50  | 0.003   |
/// | 7 | 10:25 | gemini-2.5-flash  | app::ask       | globex | ok        | 95   | 600 | 60  | 0.0001  |
/// | 8 | 10:45 | claude-sonnet-4-5 | app::summarize | acme   | cancelled | 610  | -   | -   | -       |
/// | 9 | 11:05 | gpt-4o            | app::ask       | acme   | ok        | 150  | 700 | 70  | 0.00004 |
/// |10 | 11:55 | gemini-2.5-flash  | app::ask       | globex | ok        | 2500 | 800 | 80  | -       |
fn ten_calls() -> Vec<CallRecord> {
    let ok = |n: u32,
              at: &str,
              model: &str,
              function: &str,
              tenant: &str,
              ms: f64,
              tokens: u64,
              cost: Option<f64>| {
        let mut r = json!({
            "request_id": format!("01a21c54-0000-7000-8000-{n:012}"),
            "function": function, "tenant_id": tenant,
            "request_model": model, "response_model": format!("{model}-2025"),
            "started_at": format!("2026-11-27T{at}:00.000Z"), "ended_at": format!("2026-11-27T{at}:01.000Z"),
            "latency_ms": ms,
            "usage": {"input_tokens": tokens, "output_tokens": tokens / 10, "total_tokens": tokens + tokens / 10},
            "finish_reasons": ["stop"],
        });
        if let Some(c) = cost {
            r["cost_usd"] = json!(c);
        }
        record(r)
    };
    vec![
        ok(
            1,
            "09:05",
            "gpt-4o",
            "app::ask",
            "acme",
            120.0,
            100,
            Some(0.001),
        ),
        ok(
            2,
            "09:15",
            "gpt-4o",
            "app::ask",
            "acme",
            80.0,
            200,
            Some(0.002),
        ),
        ok(
            3,
            "09:25",
            "claude-sonnet-4-5",
            "app::summarize",
            "globex",
            300.0,
            300,
            Some(0.0005),
        ),
        record(json!({
            "request_id": "01a21c54-0000-7000-8000-000000000004",
            "function": "app::ask", "tenant_id": "acme", "request_model": "gpt-4o",
            "started_at": "2026-11-27T09:35:00.000Z", "ended_at": "2026-11-27T09:35:00.046Z",
            "latency_ms": 45.5, "status": "error", "level": "error",
            "error": {"message": "Rate limit reached for gpt-4o", "type": "rate_limit",
                      "http_status": 429, "retryable": true, "retry_after_ms": 2000},
        })),
        ok(
            5,
            "10:05",
            "claude-sonnet-4-5",
            "app::summarize",
            "globex",
            1000.0,
            400,
            Some(0.0125),
        ),
        ok(
            6,
            "10:15",
            "gemini-2.5-flash",
            "app::ask",
            "acme",
            220.0,
            500,
            Some(0.003),
        ),
        ok(
            7,
            "10:25",
            "gemini-2.5-flash",
            "app::ask",
            "globex",
            95.0,
            600,
            Some(0.0001),
        ),
        record(json!({
            "request_id": "01a21c54-0000-7000-8000-000000000008",
            "function": "app::summarize", "tenant_id": "acme", "request_model": "claude-sonnet-4-5",
            "started_at": "2026-11-27T10:45:00.000Z", "ended_at": "2026-11-27T10:45:00.610Z",
            "latency_ms": 610.0, "status": "cancelled",
        })),
        ok(
            9,
            "11:05",
            "gpt-4o",
            "app::ask",
            "acme",
            150.0,
            700,
            Some(0.00004),
        ),
        ok(
            10,
            "11:55",
            "gemini-2.5-flash",
            "app::ask",
            "globex",
            2500.0,
            800,
            None,
        ),
    ]
}

fn json_stats(dir: &Path, args: &[&str]) -> Value {
    let output = cli()
        .current_dir(dir)
        .arg("stats")
        .args(args)
        .arg("--json")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        output.status.code().is_some_and(|c| c <= 1),
        "{}",
        common::stderr(&output)
    );
    serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&output)))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn close(a: &Value, b: f64) {
    assert!((f(a) - b).abs() < 1e-9, "{a} != {b}");
}

fn group<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .and_then(|l| l.iter().find(|g| g["name"] == name))
        .unwrap_or_else(|| panic!("no group {name} in {list}"))
}

#[test]
fn exact_numbers_of_a_hand_computed_log() {
    let dir = tempdir();
    write_log(&dir.path().join("calls.jsonl"), &ten_calls());
    let r = json_stats(dir.path(), &["calls.jsonl", "--by", "hour"]);

    assert_eq!(r["records"], 10);
    assert_eq!(r["bad_lines"], 0);
    assert_eq!(r["first_started_at"], "2026-11-27T09:05:00.000000Z");
    assert_eq!(r["last_started_at"], "2026-11-27T11:55:00.000000Z");
    // Tokens: the 8 calls with usage; in 100..800 step 100, out a tenth.
    assert_eq!(r["tokens"]["calls_with_usage"], 8);
    assert_eq!(r["tokens"]["input_total"], 3600);
    close(&r["tokens"]["input_mean"], 450.0);
    assert_eq!(r["tokens"]["output_total"], 360);
    close(&r["tokens"]["output_mean"], 45.0);
    // Cost: .001 + .002 + .0005 + .0125 + .003 + .0001 + .00004.
    close(&r["cost"]["total_usd"], 0.01914);
    assert_eq!(r["cost"]["calls_with_cost"], 7);
    assert_eq!(r["cost"]["calls_without_cost"], 3);
    // Latency, sorted: 45.5 80 95 120 150 220 300 610 1000 2500 (sum 5120.5).
    // Nearest rank: p50 is the 5th, p95 and p99 the 10th.
    let l = &r["latency_ms"];
    close(&l["mean"], 512.05);
    close(&l["p50"], 150.0);
    close(&l["p95"], 2500.0);
    close(&l["p99"], 2500.0);
    close(&l["max"], 2500.0);
    // Errors: one rate limit, one cancelled.
    assert_eq!(r["errors"]["count"], 2);
    close(&r["errors"]["rate"], 0.2);
    assert_eq!(
        r["errors"]["by_type"],
        json!([{"type": "cancelled", "count": 1}, {"type": "rate_limit", "count": 1}])
    );

    // By model, most calls first, then by name.
    let names: Vec<&str> = r["by_model"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert_eq!(names, ["gpt-4o", "claude-sonnet-4-5", "gemini-2.5-flash"]);
    // gpt-4o: #1 #2 #4 #9, latencies 45.5 80 120 150: p50 the 2nd, p95 the 4th.
    let g = group(&r["by_model"], "gpt-4o");
    assert_eq!(
        (g["count"].clone(), g["errors"].clone()),
        (json!(4), json!(1))
    );
    assert_eq!(
        (g["input_tokens"].clone(), g["output_tokens"].clone()),
        (json!(1000), json!(100))
    );
    close(&g["cost_usd"], 0.00304);
    close(&g["p50_ms"], 80.0);
    close(&g["p95_ms"], 150.0);
    // claude: #3 #5 #8, latencies 300 610 1000.
    let g = group(&r["by_model"], "claude-sonnet-4-5");
    assert_eq!(g["count"], 3);
    close(&g["cost_usd"], 0.013);
    close(&g["p50_ms"], 610.0);
    close(&g["p95_ms"], 1000.0);
    // gemini: #6 #7 #10, latencies 95 220 2500.
    let g = group(&r["by_model"], "gemini-2.5-flash");
    assert_eq!(
        (g["input_tokens"].clone(), g["errors"].clone()),
        (json!(1900), json!(0))
    );
    close(&g["p50_ms"], 220.0);
    close(&g["p95_ms"], 2500.0);
    // By function: app::ask has 7 calls, latencies 45.5 80 95 120 150 220 2500:
    // p50 the 4th (120), p95 the 7th.
    let g = group(&r["by_function"], "app::ask");
    assert_eq!(g["count"], 7);
    close(&g["p50_ms"], 120.0);
    close(&g["p95_ms"], 2500.0);

    // By hour: 09 (#1-#4), 10 (#5-#8), 11 (#9 #10).
    let b = &r["by_time"];
    assert_eq!(b["unit"], "hour");
    let buckets = b["buckets"].as_array().cloned().unwrap_or_default();
    assert_eq!(buckets.len(), 3);
    let expect = [
        ("2026-11-27T09:00:00.000Z", 4, 1, 660, 0.0035, 80.0, 300.0),
        (
            "2026-11-27T10:00:00.000Z",
            4,
            1,
            1650,
            0.0156,
            220.0,
            1000.0,
        ),
        (
            "2026-11-27T11:00:00.000Z",
            2,
            0,
            1650,
            0.00004,
            150.0,
            2500.0,
        ),
    ];
    for (b, (start, count, errors, tokens, cost, p50, p95)) in buckets.iter().zip(expect) {
        assert_eq!(b["start"], start);
        assert_eq!(b["count"], count);
        assert_eq!(b["errors"], errors);
        assert_eq!(b["tokens"], tokens);
        close(&b["cost_usd"], cost);
        close(&b["p50_ms"], p50);
        close(&b["p95_ms"], p95);
    }
}

#[test]
fn filters_by_time_and_tenant() {
    let dir = tempdir();
    write_log(&dir.path().join("calls.jsonl"), &ten_calls());
    let r = json_stats(dir.path(), &["calls.jsonl", "--tenant", "globex"]);
    assert_eq!(r["records"], 4); // #3 #5 #7 #10
    assert_eq!(r["filtered_out"], 6);
    let r = json_stats(
        dir.path(),
        &[
            "calls.jsonl",
            "--since",
            "2026-11-27T10:00:00Z",
            "--until",
            "2026-11-27 11:00",
        ],
    );
    assert_eq!(r["records"], 4); // #5 to #8
    close(&r["latency_ms"]["p50"], 220.0);
    assert_eq!(
        r["errors"]["by_type"],
        json!([{"type": "cancelled", "count": 1}])
    );
    let r = json_stats(dir.path(), &["calls.jsonl", "--since", "2026-11-28"]);
    assert_eq!(r["records"], 0);
    assert_eq!(r["latency_ms"], Value::Null);
}

#[test]
fn golden_text_report() {
    let dir = tempdir();
    write_log(&dir.path().join("calls.jsonl"), &ten_calls());
    let output = cli()
        .current_dir(dir.path())
        .args(["stats", "calls.jsonl", "--by", "hour"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "wider than 80: {line:?}");
    }
    golden("stats_ten_calls.txt", &text);
}

#[test]
fn golden_report_of_the_real_runtime_log() {
    let output = cli()
        .current_dir(common::manifest_dir())
        .args(["stats", "tests/data/quickstart.jsonl"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(0));
    golden("stats_quickstart.txt", &stdout(&output));
}

#[test]
fn malformed_lines_are_counted_with_their_numbers() {
    let dir = tempdir();
    let calls = ten_calls();
    let mut text = Vec::new();
    text.extend(common::log_line(&calls[0]).as_bytes()); // 1
    text.extend(b"{\"schema\":1, \"broken\"\n"); // 2
    text.extend(common::log_line(&calls[1]).as_bytes()); // 3
    text.extend(b"\x00\xff\xfe\x01binary\x9c garbage\n"); // 4
    text.extend(b"\n"); // 5: blank, ignored
    text.extend(b"{\"schema\":1}\n"); // 6: JSON, not a record
    text.extend(b"[1,2,3]\n"); // 7
    text.extend(common::log_line(&calls[2]).as_bytes()); // 8
    let last = common::log_line(&calls[4]);
    text.extend(&last.as_bytes()[..last.len() / 2]); // 9: truncated, no newline
    std::fs::write(dir.path().join("bad.jsonl"), &text).unwrap_or_else(|e| panic!("{e}"));

    let r = json_stats(dir.path(), &["bad.jsonl"]);
    assert_eq!(r["records"], 3);
    assert_eq!(r["bad_lines"], 5);
    assert_eq!(
        r["bad_line_examples"],
        json!([
            "bad.jsonl:2",
            "bad.jsonl:4",
            "bad.jsonl:6",
            "bad.jsonl:7",
            "bad.jsonl:9"
        ])
    );

    let output = cli()
        .current_dir(dir.path())
        .args(["stats", "bad.jsonl"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(1), "skipped lines are a finding");
    let text = stdout(&output);
    assert!(
        text.contains("Skipped 5 line(s) that are not records; first at bad.jsonl:2,"),
        "{text}"
    );
}

#[test]
fn bad_line_numbers_are_right_across_chunks_and_files() {
    let dir = tempdir();
    let line = common::log_line(&ten_calls()[0]);
    let mut text = String::new();
    for i in 1..=20_000 {
        text.push_str(if i == 7_777 || i == 19_999 {
            "not json\n"
        } else {
            &line
        });
    }
    std::fs::write(dir.path().join("a.jsonl"), &text).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("b.jsonl"), "oops\n").unwrap_or_else(|e| panic!("{e}"));
    // 1 MiB chunks: the file is several chunks long.
    let r = json_stats(
        dir.path(),
        &["a.jsonl", "b.jsonl", "--chunk-mb", "1", "--threads", "2"],
    );
    assert_eq!(r["records"], 19_998);
    assert_eq!(
        r["bad_line_examples"],
        json!(["a.jsonl:7777", "a.jsonl:19999", "b.jsonl:1"])
    );
}

#[test]
fn empty_input_is_a_clear_no_records_report() {
    let dir = tempdir();
    std::fs::write(dir.path().join("empty.jsonl"), "").unwrap_or_else(|e| panic!("{e}"));
    let output = cli()
        .current_dir(dir.path())
        .args(["stats", "empty.jsonl"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "No records in empty.jsonl.\n");
    let r = json_stats(dir.path(), &["empty.jsonl"]);
    assert_eq!(r["records"], 0);
    assert_eq!(r["by_model"], json!([]));

    let output = cli()
        .args(["stats", "-"])
        .write_stdin("")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "No records in <stdin>.\n");
}

#[test]
fn reads_stdin_several_files_and_rotated_ones() {
    let dir = tempdir();
    let calls = ten_calls();
    write_log(&dir.path().join("calls.jsonl"), &calls[6..]);
    write_log(
        &dir.path().join("calls.20261127T100000000.jsonl"),
        &calls[3..6],
    );
    write_log(
        &dir.path().join("calls.20261127T090000000.jsonl"),
        &calls[..3],
    );
    let r = json_stats(dir.path(), &["--rotated", "calls.jsonl"]);
    assert_eq!(r["records"], 10);
    assert_eq!(
        r["inputs"],
        json!([
            "./calls.20261127T090000000.jsonl",
            "./calls.20261127T100000000.jsonl",
            "calls.jsonl"
        ])
    );
    close(&r["latency_ms"]["p50"], 150.0);
    // Without --rotated, only the file named.
    assert_eq!(json_stats(dir.path(), &["calls.jsonl"])["records"], 4);
    // A directory: its *.jsonl files.
    assert_eq!(json_stats(dir.path(), &["."])["records"], 10);

    let all: String = calls.iter().map(common::log_line).collect();
    let output = cli()
        .args(["stats", "-", "--json"])
        .write_stdin(all)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let r: Value = serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r["records"], 10);
    close(&r["cost"]["total_usd"], 0.01914);
}

#[test]
fn unreadable_input_exits_3_and_usage_errors_2() {
    let output = cli()
        .args(["stats", "/no/such/file.jsonl"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(3));
    assert!(common::stderr(&output).contains("/no/such/file.jsonl"));
    let output = cli()
        .args(["stats", "x.jsonl", "--since", "yesterday-ish"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(2));
    let output = cli()
        .args(["stats", "x.jsonl", "--by", "week"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn max_error_rate_is_a_finding() {
    let dir = tempdir();
    write_log(&dir.path().join("calls.jsonl"), &ten_calls());
    let run = |rate: &str| {
        cli()
            .current_dir(dir.path())
            .args(["stats", "calls.jsonl", "--max-error-rate", rate])
            .output()
            .map(|o| o.status.code())
    };
    assert_eq!(run("25").ok().flatten(), Some(0));
    assert_eq!(run("10").ok().flatten(), Some(1));
}

/// The generator's log, and a naive computation of the same figures.
#[test]
fn agrees_with_a_naive_computation_on_a_generated_log() {
    let dir = tempdir();
    let path = dir.path().join("gen.jsonl");
    let status = common::generator()
        .args(["--records", "3000", "--seed", "7", "--out"])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.status.success());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));

    let mut latencies: Vec<f64> = Vec::new();
    let (mut input, mut output, mut errors, mut cost) = (0u64, 0u64, 0u64, 0f64);
    let mut per_model: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}"));
        // Every generated line is a valid record.
        CallRecord::from_json(line).unwrap_or_else(|e| panic!("{e}"));
        let ms = f(&v["latency_ms"]);
        latencies.push(ms);
        input += v["usage"]["input_tokens"].as_u64().unwrap_or(0);
        output += v["usage"]["output_tokens"].as_u64().unwrap_or(0);
        errors += u64::from(v["status"] != "ok");
        cost += v["cost_usd"].as_f64().unwrap_or(0.0);
        let model = v["request_model"].as_str().unwrap_or("(none)").to_owned();
        per_model.entry(model).or_default().push(ms);
    }
    let nearest_rank = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        let k = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
        v[k - 1]
    };

    let mut runs = Vec::new();
    for extra in [
        &["--threads", "1"][..],
        &["--threads", "2", "--chunk-mb", "1"],
    ] {
        let mut args = vec!["gen.jsonl"];
        args.extend_from_slice(extra);
        runs.push(json_stats(dir.path(), &args));
    }
    assert_eq!(
        runs[0], runs[1],
        "the result does not depend on threads or chunks"
    );
    let r = &runs[0];
    assert_eq!(r["records"], 3000);
    assert_eq!(r["tokens"]["input_total"], input);
    assert_eq!(r["tokens"]["output_total"], output);
    assert_eq!(r["errors"]["count"], errors);
    assert!((f(&r["cost"]["total_usd"]) - cost).abs() < 1e-6);
    for p in [50.0, 95.0, 99.0] {
        let key = format!("p{p}");
        close(&r["latency_ms"][&key], nearest_rank(&mut latencies, p));
    }
    for (model, mut lat) in per_model {
        let g = group(&r["by_model"], &model);
        assert_eq!(g["count"], lat.len());
        let want = nearest_rank(&mut lat, 95.0);
        assert!(
            (f(&g["p95_ms"]) - want).abs() <= want * 1e-7,
            "{model}: {} != {want}",
            g["p95_ms"]
        );
    }
}

#[test]
fn the_generator_is_deterministic() {
    let run = |seed: &str| {
        common::generator()
            .args(["--records", "200", "--seed", seed])
            .output()
            .map(|o| o.stdout)
            .unwrap_or_default()
    };
    assert_eq!(run("1"), run("1"));
    assert_ne!(run("1"), run("2"));
    let text = String::from_utf8(run("1")).unwrap_or_default();
    assert_eq!(text.lines().count(), 200);
}

#[test]
fn stdin_chunks_arrive_in_order() {
    // A line longer than a chunk still parses.
    let mut long = ten_calls()[0].clone();
    long.metadata
        .insert("blob".into(), Value::String("x".repeat(3 << 20)));
    let mut input = Vec::new();
    input
        .write_all(common::log_line(&long).as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    input
        .write_all(common::log_line(&ten_calls()[1]).as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let output = cli()
        .args(["stats", "-", "--json", "--chunk-mb", "1"])
        .write_stdin(input)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let r: Value = serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r["records"], 2);
    assert_eq!(r["bad_lines"], 0);
}

#[test]
fn huge_valid_numbers_saturate_instead_of_overflowing() {
    // Valid JSON whose sums overflow u64 tokens and u128 nanoseconds and
    // picodollars: the totals saturate, nothing panics (tests run a debug
    // build, which checks for overflow).
    let dir = tempdir();
    let line = |hour: u32, tokens: &str, ms: &str, cost: &str| {
        format!(
            r#"{{"function":"f","request_model":"m","started_at":"2026-11-27T{hour:02}:00:00Z","latency_ms":{ms},"status":"ok","usage":{{"input_tokens":{tokens},"output_tokens":{tokens}}},"cost_usd":{cost}}}"#
        )
    };
    let mut text = String::new();
    for i in 0..4 {
        text.push_str(&line(9, "9999999999999999999", "1e300", "1e300"));
        text.push('\n');
        text.push_str(&line(10 + i, "18446744073709551615", "1.5", "1e30"));
        text.push('\n');
    }
    std::fs::write(dir.path().join("huge.jsonl"), &text).unwrap_or_else(|e| panic!("{e}"));
    for threads in ["1", "2"] {
        let r = json_stats(
            dir.path(),
            &["huge.jsonl", "--by", "hour", "--threads", threads],
        );
        assert_eq!(r["records"], 8);
        assert_eq!(r["bad_lines"], 0);
        assert_eq!(r["tokens"]["input_total"], u64::MAX);
        assert_eq!(r["tokens"]["output_total"], u64::MAX);
        assert_eq!(r["latency_ms"]["max"], 1e300);
        assert_eq!(r["latency_ms"]["p50"], 1.5);
        assert!(f(&r["latency_ms"]["mean"]).is_finite());
        assert!(f(&r["cost"]["total_usd"]).is_finite());
        assert_eq!(r["by_time"]["buckets"][0]["tokens"], u64::MAX);
        let output = cli()
            .current_dir(dir.path())
            .args(["stats", "huge.jsonl", "--by", "hour", "--threads", threads])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(output.status.code(), Some(0), "{}", common::stderr(&output));
    }
}

#[test]
fn latencies_are_read_exactly_on_the_fast_path_and_through_serde() {
    // 0.055182999999999996 is misread by serde_json without its
    // `float_roundtrip` feature; the escaped key sends the second line
    // through serde, the first takes the fast path.
    let dir = tempdir();
    let fast =
        r#"{"started_at":"2026-11-27T09:26:47Z","latency_ms":0.055182999999999996,"status":"ok"}"#;
    let serde = r#"{"started_at":"2026-11-27T09:26:47Z","latency_ms":0.055182999999999996,"st\u0061tus":"ok"}"#;
    std::fs::write(dir.path().join("fast.jsonl"), format!("{fast}\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("serde.jsonl"), format!("{serde}\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    // The printed text is compared, not parsed again by the test.
    let p50 = |file: &str| {
        let output = cli()
            .current_dir(dir.path())
            .args(["stats", file, "--json"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(output.status.code(), Some(0), "{}", common::stderr(&output));
        let text = stdout(&output);
        let latency = &text[text.find("\"latency_ms\"").unwrap_or(0)..];
        latency
            .lines()
            .find(|l| l.trim_start().starts_with("\"p50\""))
            .map(|l| l.trim().to_owned())
            .unwrap_or_else(|| panic!("no p50 in {text}"))
    };
    assert_eq!(p50("fast.jsonl"), "\"p50\": 0.055182999999999996,");
    assert_eq!(p50("serde.jsonl"), "\"p50\": 0.055182999999999996,");
}

#[test]
fn threads_are_at_most_64() {
    let help = cli()
        .args(["stats", "--help"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(stdout(&help).contains("at most 64"), "{}", stdout(&help));
    // A million workers would be a million threads and buffers.
    let dir = tempdir();
    write_log(&dir.path().join("calls.jsonl"), &ten_calls());
    let r = json_stats(dir.path(), &["calls.jsonl", "--threads", "1000000"]);
    assert_eq!(r["records"], 10);
}

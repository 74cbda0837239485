//! `llm-traced score`, and the scores `show`, `ls` and `stats` read: what a
//! user sees after scoring saved calls from outside, several at once.

mod common;

use common::{cli, record, write_conversation, write_log};
use serde_json::{json, Value};

#[test]
fn scores_from_outside_reach_show_ls_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    let first = record(json!({
        "request_id": "019a0001-0000-7000-8000-000000000001",
        "request_model": "gpt-4o", "response_model": "gpt-4o-2024-08-06"
    }));
    let second = record(json!({
        "request_id": "019a0002-0000-7000-8000-000000000002",
        "name": "summarise", "function": "app::summarise",
        "request_model": "claude-sonnet-4-5",
        "started_at": "2026-11-27T09:01:00.000Z", "ended_at": "2026-11-27T09:01:01.000Z"
    }));
    write_conversation(dir.path(), &first);
    let path = write_conversation(dir.path(), &second);
    write_log(&log, &[first.clone(), second.clone()]);

    // Eight reviewers at once on the first call: every line whole.
    let children: Vec<_> = (0..8)
        .map(|i| {
            std::process::Command::new(env!("CARGO_BIN_EXE_llm-traced"))
                .args(["score", "019a0001", "helpfulness", &format!("0.{}", i + 1)])
                .args(["--author", &format!("rater-{i}"), "--dir"])
                .arg(dir.path())
                .arg("--log")
                .arg(&log)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    cli()
        .args([
            "score",
            "019a0002",
            "verdict",
            "off-topic",
            "--comment",
            "asked about billing",
        ])
        .arg("--dir")
        .arg(dir.path())
        .arg("--log")
        .arg(&log)
        .assert()
        .success();
    cli()
        .args(["score", "019a0002", "thumbs_up", "false", "--dir"])
        .arg(dir.path())
        .arg("--log")
        .arg(&log)
        .assert()
        .success();
    // An id no conversation has is a usage error.
    cli()
        .args(["score", "ffffffff", "x", "1", "--dir"])
        .arg(dir.path())
        .assert()
        .code(2);

    let beside = llm_traced_runtime::score::read_scores(
        &dir.path()
            .join(llm_traced_runtime::conversation_file_name(&first)),
    );
    assert_eq!(beside.len(), 8, "eight whole lines: {beside:#?}");
    assert!(beside
        .iter()
        .all(|s| s.function.as_deref() == Some("app::ask")));

    let show = cli().arg("show").arg(&path).assert().success();
    let text = String::from_utf8(show.get_output().stdout.clone()).unwrap();
    assert!(text.contains("scores"), "{text}");
    assert!(text.contains("verdict = off-topic"), "{text}");
    assert!(text.contains("asked about billing"), "{text}");
    assert!(text.contains("thumbs_up = false"), "{text}");

    let ls = cli()
        .args(["ls", "--wide"])
        .arg(dir.path())
        .assert()
        .success();
    let text = String::from_utf8(ls.get_output().stdout.clone()).unwrap();
    assert!(text.contains("SCORES"), "{text}");
    assert!(
        text.contains("helpfulness=0.45"),
        "the mean of 0.1..0.8: {text}"
    );

    // `stats` reads the ten score lines as scores, not as bad lines.
    let stats = cli().args(["stats", "--json"]).arg(&log).assert().success();
    let report: Value = serde_json::from_slice(&stats.get_output().stdout).unwrap();
    assert_eq!(report["records"], 2);
    assert_eq!(report["bad_lines"], 0);
    let scores = report["scores"].as_array().unwrap();
    let find = |name: &str| scores.iter().find(|s| s["name"] == name).unwrap().clone();
    let helpfulness = find("helpfulness");
    assert_eq!(helpfulness["model"], "gpt-4o-2024-08-06");
    assert_eq!(helpfulness["count"], 8);
    assert!((helpfulness["mean"].as_f64().unwrap() - 0.45).abs() < 1e-9);
    assert_eq!(find("thumbs_up")["mean"], 0.0);
    assert_eq!(find("verdict")["mean"], Value::Null);
    assert_eq!(find("verdict")["model"], "claude-sonnet-4-5");
    let table = cli().arg("stats").arg(&log).assert().success();
    let text = String::from_utf8(table.get_output().stdout.clone()).unwrap();
    assert!(text.contains("Scores"), "{text}");
    assert!(text.contains("helpfulness"), "{text}");
}

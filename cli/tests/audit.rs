//! `llm-traced audit verify` on a log written by the real library: exit 0 when
//! the chain holds, 1 with the first bad entry named when it does not.

use assert_cmd::Command;
use llm_traced_runtime::audit::{AuditLog, FileOptions};
use serde_json::json;

fn cli() -> Command {
    let mut cmd = Command::cargo_bin("llm-traced").unwrap();
    cmd.env("NO_COLOR", "1").env_remove("LLM_AUDIT_KEY");
    cmd
}

fn write_log(path: &std::path::Path, key: Option<&[u8]>) -> String {
    let mut log = AuditLog::open_file(path, FileOptions::new()).unwrap();
    if let Some(key) = key {
        log = log.with_key(key.to_vec());
    }
    log.query("u-1", "gpt-4o", "What is my balance?", json!({}))
        .unwrap();
    log.data_access("u-1", "accounts-db", "balance of u-1", 1)
        .unwrap();
    let head = log
        .completion("u-1", "gpt-4o", "Your balance is 12.", json!({}))
        .unwrap();
    head.to_string()
}

#[test]
fn an_intact_log_verifies_and_a_tampered_one_names_the_first_bad_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let head = write_log(&path, Some(b"secret key"));
    let out = cli()
        .args(["audit", "verify", path.to_str().unwrap(), "--head", &head])
        .env("LLM_AUDIT_KEY", "secret key")
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.starts_with("OK: 3 entries"), "{stdout}");
    assert!(
        stdout.contains("signatures checked") && stdout.contains("head kept apart checked"),
        "{stdout}"
    );

    // Edit the second entry's user.
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[1] = lines[1].replace("\"u-1\"", "\"u-2\"");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let out = cli()
        .args(["audit", "verify", path.to_str().unwrap(), "--json"])
        .assert()
        .code(1);
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["entries"], 1, "one sound entry before the damage");
    assert!(report["damage"].as_str().unwrap().contains('2'), "{report}");
}

#[test]
fn a_truncated_tail_is_caught_against_the_head_kept_apart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let head = write_log(&path, None);
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text.lines().take(2).collect();
    std::fs::write(&path, kept.join("\n") + "\n").unwrap();
    cli()
        .args(["audit", "verify", path.to_str().unwrap()])
        .assert()
        .success();
    cli()
        .args(["audit", "verify", path.to_str().unwrap(), "--head", &head])
        .assert()
        .code(1);
}

#[test]
fn an_unreadable_log_is_exit_code_3() {
    cli()
        .args(["audit", "verify", "/nonexistent/audit.jsonl"])
        .assert()
        .code(3);
}

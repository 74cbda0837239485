//! `llm-traced diagnose` and the help texts.

mod common;

use common::{cli, stdout};
use serde_json::Value;

fn rate_limit_fixture() -> String {
    let path = common::manifest_dir()
        .join("../core/tests/fixtures/openai_error_429_rate_limit_exceeded_tpm.json");
    let body = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    format!("Error code: 429 - {}", body.trim())
}

#[test]
fn diagnoses_the_rate_limit_fixture() {
    let output = cli()
        .arg("diagnose")
        .arg(rate_limit_fixture())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(
        text.starts_with("error.type = rate_limit (openai, HTTP 429, code rate_limit_exceeded)\n"),
        "{text}"
    );
    assert!(text.contains("retry: yes"), "{text}");
    assert!(text.contains("Rate limit reached for gpt-4"));
    // The same as the runtime renders it.
    let expected = llm_traced_runtime::diagnose_text(&rate_limit_fixture()).render();
    assert_eq!(text, expected);
}

#[test]
fn reads_stdin_and_prints_json() {
    let output = cli()
        .args(["diagnose", "-", "--json"])
        .write_stdin(rate_limit_fixture())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let v: Value = serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["class"], "rate_limit");
    assert_eq!(v["retryable"], true);
    assert_eq!(v["retry_after_ms"], 26604);

    let output = cli()
        .args(["diagnose", "-"])
        .write_stdin("   ")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn help_teaches_with_examples_and_exit_codes() {
    let output = cli()
        .arg("--help")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = stdout(&output);
    for want in [
        "Examples:",
        "Exit codes:",
        "NO_COLOR",
        "stats",
        "tail",
        "diagnose",
    ] {
        assert!(text.contains(want), "missing {want} in\n{text}");
    }
    for sub in ["show", "ls", "stats", "tail", "diagnose"] {
        let output = cli()
            .args([sub, "--help"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let text = stdout(&output);
        assert!(
            text.contains("Examples:") && text.contains("Exit codes:"),
            "{sub}:\n{text}"
        );
    }
    let output = cli()
        .arg("frobnicate")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(2));
}

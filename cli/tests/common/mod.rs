//! Helpers shared by the CLI tests: the binary with a fixed environment,
//! records made with the runtime's own types, golden files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use llm_traced_runtime::record::CallRecord;
use serde_json::Value;

/// The `llm-traced` binary, with colours off and 80 columns.
pub fn cli() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_llm-traced"));
    cmd.env("NO_COLOR", "1")
        .env("COLUMNS", "80")
        .env_remove("RUST_LOG")
        .env_remove("LLM_CONVERSATIONS_DIR");
    cmd
}

/// `llm-traced gen`, the hidden generator of synthetic data.
pub fn generator() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_llm-traced"));
    cmd.arg("gen");
    cmd
}

/// `cli/`.
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `cli/tests/data/…`.
pub fn data(name: &str) -> PathBuf {
    manifest_dir().join("tests/data").join(name)
}

/// A record from the fields given, every other field at its default: built
/// through the runtime's own `CallRecord`, so it is exactly what the runtime
/// writes.
pub fn record(fields: Value) -> CallRecord {
    let mut base = serde_json::json!({
        "schema": 1,
        "request_id": "01a21c54-0000-7000-8000-000000000000",
        "kind": "llm",
        "name": "ask",
        "function": "app::ask",
        "operation": "chat",
        "provider": "openai",
        "started_at": "2026-11-27T09:00:00.000Z",
        "ended_at": "2026-11-27T09:00:00.000Z",
        "latency_ms": 1.0,
        "status": "ok",
        "level": "info"
    });
    if let (Value::Object(base), Value::Object(fields)) = (&mut base, fields) {
        base.extend(fields);
    }
    serde_json::from_value(base).unwrap_or_else(|e| panic!("not a record: {e}"))
}

/// One log line, serialised as the runtime's log writer does.
pub fn log_line(record: &CallRecord) -> String {
    let mut line = serde_json::to_string(record).unwrap_or_else(|e| panic!("{e}"));
    line.push('\n');
    line
}

/// Writes a log of these records.
pub fn write_log(path: &Path, records: &[CallRecord]) {
    let text: String = records.iter().map(log_line).collect();
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Writes a saved conversation (pretty JSON, as the runtime does: to a
/// hidden file renamed into place, so that a viewer polling the directory
/// never reads half of it).
pub fn write_conversation(dir: &Path, record: &CallRecord) -> PathBuf {
    let name = llm_traced_runtime::conversation_file_name(record);
    let path = dir.join(&name);
    let temp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&temp, record.to_json_pretty()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&temp, &path).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// Compares `actual` with `tests/golden/<name>`; `UPDATE_GOLDEN=1` rewrites it.
pub fn golden(name: &str, actual: &str) {
    let path = manifest_dir().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).unwrap_or_else(|e| panic!("{e}"));
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (create it with UPDATE_GOLDEN=1)", path.display()));
    if expected != actual {
        panic!(
            "{} differs (UPDATE_GOLDEN=1 rewrites it)\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        );
    }
}

/// Standard output as text.
pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap_or_else(|e| panic!("{e}"))
}

/// Standard error as text.
pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
}

pub mod server;
pub mod webdriver;

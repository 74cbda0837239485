//! Shared test harness: one configuration per test binary, installed once,
//! so that the tests work under `cargo nextest` (a process per test) and
//! `cargo test` (threads in one process) alike. Each test uses functions of
//! its own and finds its records by their name.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use llm_traced::{CallRecord, Config};

/// A `Write` into a shared buffer, for capturing debug blocks.
#[derive(Clone, Default)]
pub struct SharedBuf(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedBuf {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("debug output is UTF-8")
    }
}

pub struct Harness {
    pub dir: PathBuf,
    pub debug: SharedBuf,
    _temp: tempfile::TempDir,
}

/// Everything on: debug (into a buffer), prompts, responses, saved files.
pub fn everything_on() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("conversations");
        let debug = SharedBuf::default();
        Config::default()
            .debug(true)
            .log_prompts(true)
            .log_responses(true)
            .save_conversations(true)
            .conversations_dir(&dir)
            .debug_max_chars(40)
            .debug_to(debug.clone())
            .install()
            .expect("one configuration per test binary");
        Harness {
            dir,
            debug,
            _temp: temp,
        }
    })
}

/// Every saved record in `dir` whose `name` is `name`, oldest first.
pub fn records_named(dir: &Path, name: &str) -> Vec<CallRecord> {
    assert!(llm_traced::flush(), "the background writers did not flush");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => return Vec::new(),
    };
    files.sort();
    files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            llm_traced::read_conversation(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        })
        .filter(|r| r.name == name)
        .collect()
}

/// The one record named `name`.
pub fn one_record(dir: &Path, name: &str) -> CallRecord {
    let mut records = records_named(dir, name);
    assert_eq!(records.len(), 1, "expected one record named {name}");
    records.remove(0)
}

/// The debug block that mentions `needle`.
pub fn debug_block(buf: &SharedBuf, needle: &str) -> String {
    let text = buf.text();
    text.split("\n\n")
        .find(|block| block.contains(needle))
        .unwrap_or_else(|| panic!("no debug block mentions {needle:?} in:\n{text}"))
        .to_owned()
}

/// `core/tests/fixtures` (the tests are built by the
/// `integration` package, one folder below it).
pub fn fixtures_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures")
}

/// A recorded payload from `core/tests/fixtures`, as it is written.
pub fn fixture_text(name: &str) -> String {
    let path = fixtures_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A recorded payload from `core/tests/fixtures`.
pub fn fixture(name: &str) -> serde_json::Value {
    serde_json::from_str(&fixture_text(name)).unwrap()
}

/// The `data:` payloads of a recorded SSE stream in `core/tests/fixtures/raw_sse`,
/// `[DONE]` left out.
pub fn sse_events(name: &str) -> Vec<serde_json::Value> {
    let path = fixtures_dir().join("raw_sse").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

/// Runs test `name` of this test binary in a child process with `env` set,
/// and `LLM_TRACED_CHILD=1` so that the test knows it is the child. Returns
/// the child's output. Lets a test read what the process prints on stderr and
/// set the environment without racing other tests.
pub fn run_child(name: &str, env: &[(&str, &str)]) -> std::process::Output {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = std::process::Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"]);
    for (var, _) in std::env::vars() {
        // The child's switches and OpenTelemetry settings are the test's.
        if var.starts_with("LLM_") || var.starts_with("OTEL_") {
            cmd.env_remove(var);
        }
    }
    cmd.envs(env.iter().copied()).env("LLM_TRACED_CHILD", "1");
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "child {name} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Whether this process is a child started by [`run_child`].
pub fn is_child() -> bool {
    std::env::var_os("LLM_TRACED_CHILD").is_some()
}

/// Every line of a JSON-lines file, parsed; panics on a line that is not JSON.
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}: {line}", path.display(), i + 1))
        })
        .collect()
}

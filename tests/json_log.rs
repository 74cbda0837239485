//! The structured log: one JSON object per call per line, written in the
//! background; levels, cost, redaction, sampling, rotation, tenants. Each
//! scenario runs in a child process with its own environment.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use common::{is_child, json_lines, run_child};
use llm_traced::context::Context;
use llm_traced::llm_traced;
use serde_json::{json, Value};

fn reply(model: &str, prompt_tokens: u64, finish: &str) -> Value {
    json!({"id": "chatcmpl-1", "model": model,
        "choices": [{"index": 0, "finish_reason": finish, "message": {"role": "assistant",
            "content": "Sure: write to jane.doe@example.com or call 555-123-4567."}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 20, "total_tokens": prompt_tokens + 20,
            "prompt_tokens_details": {"cached_tokens": 0}}})
}

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn chat(messages: Vec<Value>, prompt_tokens: u64) -> Value {
    reply("gpt-4o-2024-08-06", prompt_tokens, "stop")
}

fn user(text: &str) -> Vec<Value> {
    vec![json!({"role": "user", "content": text})]
}

fn dir_of(out: &tempfile::TempDir) -> &Path {
    out.path()
}

/// Runs child test `child` with the log at `<temp dir>/calls.jsonl` and
/// `env`; returns the temp dir (kept alive), the log's path and the output.
fn run_logged(
    child: &str,
    env: &[(&str, &str)],
) -> (tempfile::TempDir, std::path::PathBuf, std::process::Output) {
    let temp = tempfile::tempdir().unwrap();
    let log = temp.path().join("calls.jsonl");
    let mut all = vec![("LLM_LOG_FILE", log.to_str().unwrap())];
    all.extend_from_slice(env);
    let out = run_child(child, &all);
    (temp, log, out)
}

/// Runs `work` on a two-worker multi-thread runtime (in a child test).
fn multi_thread<F: std::future::Future>(work: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
        .block_on(work)
}

// ---------------------------------------------------------------------------

#[test]
fn child_many_tasks() {
    if !is_child() {
        return;
    }
    multi_thread(async {
        let tasks: Vec<_> = (0..64)
            .map(|t| {
                tokio::spawn(async move {
                    for i in 0..10_000u64 {
                        chat(Vec::new(), t * 100_000 + i).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    // No flush, no guard: the process exits right after its last call.
}

#[test]
fn sixty_four_tasks_times_ten_thousand_calls_give_exactly_640000_valid_lines() {
    let (_temp, log, _) = run_logged("child_many_tasks", &[]);
    let text = std::fs::read_to_string(&log).unwrap();
    let mut ids = HashSet::with_capacity(640_000);
    let mut tokens = HashSet::with_capacity(640_000);
    let mut lines = 0;
    for line in text.lines() {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {lines}: {e}: {line}"));
        assert!(
            ids.insert(v["request_id"].as_str().unwrap().to_owned()),
            "duplicate id"
        );
        tokens.insert(v["usage"]["input_tokens"].as_u64().unwrap());
        lines += 1;
    }
    assert_eq!(lines, 640_000);
    assert_eq!(tokens.len(), 640_000, "every call's own line");
}

// ---------------------------------------------------------------------------

#[test]
fn child_tenants() {
    if !is_child() {
        return;
    }
    multi_thread(async {
        let mut tasks = Vec::new();
        for t in 0..100 {
            let ctx = Context::new_trace().with_tenant(format!("tenant-{t}"));
            tasks.push(tokio::spawn(ctx.scope(async move {
                for i in 0..20 {
                    chat(Vec::new(), t * 1000 + i).await;
                }
            })));
        }
        for hostile in [
            "../escape",
            "/etc/passwd",
            "..",
            "nul\0byte",
            &"x".repeat(10_000),
        ] {
            Context::new_trace()
                .with_tenant(hostile)
                .scope(chat(Vec::new(), 999_999))
                .await;
        }
        chat(Vec::new(), 888_888).await; // no tenant
        for task in tasks {
            task.await.unwrap();
        }
    });
}

#[test]
fn each_tenant_gets_its_own_file_and_no_id_escapes_the_directory() {
    let temp = tempfile::tempdir().unwrap();
    let logs = dir_of(&temp).join("logs");
    let template = logs.join("{tenant}.jsonl");
    run_child(
        "child_tenants",
        &[("LLM_LOG_FILE", template.to_str().unwrap())],
    );
    let files: Vec<_> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 100 + 5 + 1, "{files:?}");
    for t in 0..100 {
        let lines = json_lines(&logs.join(format!("tenant-{t}.jsonl")));
        assert_eq!(lines.len(), 20);
        assert!(
            lines
                .iter()
                .all(|l| l["tenant_id"] == format!("tenant-{t}")),
            "only its own records"
        );
    }
    assert_eq!(json_lines(&logs.join("_default.jsonl")).len(), 1);
    // Nothing was written outside the directory.
    let siblings: Vec<_> = std::fs::read_dir(dir_of(&temp))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(siblings, ["logs"]);
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(!name.starts_with('.') && name.len() <= 80, "{name}");
    }
}

// ---------------------------------------------------------------------------

#[test]
fn child_rotation() {
    if !is_child() {
        return;
    }
    futures::executor::block_on(async {
        for i in 0..400 {
            chat(Vec::new(), i).await;
        }
    });
    assert!(llm_traced::log::flush());
}

#[test]
fn size_rotation_keeps_n_files_each_under_the_limit() {
    let (_temp, log, _) = run_logged(
        "child_rotation",
        &[("LLM_LOG_MAX_BYTES", "20000"), ("LLM_LOG_KEEP", "3")],
    );
    let mut rotated = llm_traced::log::rotated_files(&log).unwrap();
    rotated.sort();
    assert_eq!(rotated.len(), 3, "{rotated:?}");
    let mut last_tokens = Vec::new();
    for file in rotated.iter().chain(std::iter::once(&log)) {
        assert!(
            std::fs::metadata(file).unwrap().len() <= 20_000,
            "{}",
            file.display()
        );
        last_tokens.extend(
            json_lines(file)
                .iter()
                .map(|l| l["usage"]["input_tokens"].as_u64().unwrap()),
        );
    }
    // The kept files hold the newest records, in order, ending with the last.
    assert_eq!(*last_tokens.last().unwrap(), 399);
    assert!(
        last_tokens.windows(2).all(|w| w[1] == w[0] + 1),
        "no gap, no reordering"
    );
}

#[test]
fn child_daily() {
    if !is_child() {
        return;
    }
    let log = std::env::var("LLM_LOG_FILE").unwrap();
    std::fs::write(&log, "{\"yesterday\":true}\n").unwrap();
    let file = std::fs::File::options().write(true).open(&log).unwrap();
    file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86_400))
        .unwrap();
    drop(file);
    futures::executor::block_on(chat(Vec::new(), 7));
    assert!(llm_traced::log::flush());
}

#[test]
fn daily_rotation_starts_a_new_file_on_a_new_day() {
    let (_temp, log, _) = run_logged("child_daily", &[("LLM_LOG_ROTATE_DAILY", "1")]);
    let rotated = llm_traced::log::rotated_files(&log).unwrap();
    assert_eq!(rotated.len(), 1);
    assert_eq!(json_lines(&rotated[0]), [json!({"yesterday": true})]);
    let today = json_lines(&log);
    assert_eq!(today.len(), 1);
    assert_eq!(today[0]["usage"]["input_tokens"], 7);
}

// ---------------------------------------------------------------------------

#[test]
fn child_lossy() {
    if !is_child() {
        return;
    }
    for i in 0..20_000 {
        futures::executor::block_on(chat(Vec::new(), i));
    }
    assert!(llm_traced::log::flush());
    println!(
        "dropped={} written={}",
        llm_traced::log::dropped(),
        llm_traced::log::written()
    );
}

#[test]
fn lossy_mode_drops_counts_and_reports() {
    let (_temp, log, out) = run_logged(
        "child_lossy",
        &[("LLM_LOG_LOSSY", "1"), ("LLM_LOG_QUEUE", "1")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let at = stdout
        .find("dropped=")
        .expect("the child prints its counters");
    let line = stdout[at..].lines().next().unwrap();
    let (dropped, written) = line.split_once(' ').unwrap();
    let dropped: u64 = dropped["dropped=".len()..].parse().unwrap();
    let written: u64 = written["written=".len()..].parse().unwrap();
    assert_eq!(dropped + written, 20_000);
    assert_eq!(json_lines(&log).len() as u64, written);
    if dropped > 0 {
        assert!(String::from_utf8_lossy(&out.stderr).contains("record(s) dropped"));
    }
}

// ---------------------------------------------------------------------------

const KEY: &str = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn leaky(messages: Vec<Value>) -> Result<Value, String> {
    if messages.len() > 1 {
        return Err(format!("Incorrect API key provided: {KEY}"));
    }
    let mut r = reply("gpt-4o-2024-08-06", 10, "stop");
    r["choices"][0]["message"]["content"] =
        json!(format!("your key is {KEY}, mail a.b@corp.example"));
    Ok(r)
}

#[test]
fn child_content() {
    if !is_child() {
        return;
    }
    futures::executor::block_on(async {
        leaky(user(&format!(
            "my key is {KEY}, email jane.doe@example.com, {}",
            "long ".repeat(100)
        )))
        .await
        .unwrap();
        leaky(vec![
            json!({"role": "user", "content": "x"}),
            json!({"role": "user", "content": "y"}),
        ])
        .await
        .unwrap_err();
        chat(user("metadata only"), 5).await;
    });
}

fn content_run(extra: &[(&str, &str)]) -> (Vec<Value>, String, String) {
    let temp = tempfile::tempdir().unwrap();
    let log = dir_of(&temp).join("calls.jsonl");
    let convs = dir_of(&temp).join("convs");
    let mut env = vec![
        ("LLM_LOG_FILE", log.to_str().unwrap()),
        ("LLM_CONVERSATIONS_DIR", convs.to_str().unwrap()),
    ];
    env.extend_from_slice(extra);
    let out = run_child("child_content", &env);
    assert!(llm_traced::flush());
    let saved = std::fs::read_dir(&convs)
        .map(|d| {
            d.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                .collect::<String>()
        })
        .unwrap_or_default();
    (
        json_lines(&log),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        saved,
    )
}

#[test]
fn content_is_absent_by_default() {
    let (lines, _, _) = content_run(&[]);
    assert_eq!(lines.len(), 3);
    for line in &lines {
        assert!(
            line.get("messages").is_none() && line.get("response").is_none(),
            "{line}"
        );
        assert_eq!(line["schema"], 1);
        for field in [
            "request_id",
            "trace_id",
            "span_id",
            "function",
            "operation",
            "provider",
            "level",
            "latency_ms",
            "started_at",
        ] {
            assert!(line.get(field).is_some(), "{field} missing in {line}");
        }
    }
    let failed = lines.iter().find(|l| l["status"] == "error").unwrap();
    assert_eq!(failed["level"], "error");
    assert_eq!(failed["error"]["type"], "authentication");
    assert_eq!(failed["error"]["retryable"], false);
    assert!(
        failed["error"].get("diagnosis").is_none(),
        "log lines keep the diagnosis short"
    );
}

#[test]
fn content_when_enabled_is_redacted_and_capped() {
    let (lines, _, _) = content_run(&[
        ("LLM_LOG_PROMPTS", "1"),
        ("LLM_LOG_RESPONSES", "1"),
        ("LLM_MAX_CONTENT_CHARS", "60"),
    ]);
    let first = &lines[0];
    let prompt = first["messages"][0]["content"].as_str().unwrap();
    assert!(
        prompt.contains("[API_KEY]") && prompt.contains("[EMAIL]"),
        "{prompt}"
    );
    assert!(prompt.contains("… [+"), "capped with a marker: {prompt}");
    let answer = first["response"]["text"].as_str().unwrap();
    assert!(
        answer.contains("[API_KEY]") && answer.contains("[EMAIL]"),
        "{answer}"
    );
}

#[test]
fn a_key_in_a_prompt_never_reaches_any_output_even_with_everything_on() {
    let (lines, stderr, saved) = content_run(&[
        ("LLM_LOG_PROMPTS", "1"),
        ("LLM_LOG_RESPONSES", "1"),
        ("LLM_DEBUG", "1"),
        ("LLM_SAVE_CONVERSATIONS", "1"),
        ("LLM_REDACT", "false"),
    ]);
    let log = lines.iter().map(Value::to_string).collect::<String>();
    for (name, output) in [("log", &log), ("debug", &stderr), ("conversations", &saved)] {
        assert!(!output.contains(KEY), "the key reached the {name}");
        assert!(output.contains("[API_KEY]"), "{name}");
    }
    // With LLM_REDACT=false, personal data is kept; secrets never are.
    assert!(log.contains("jane.doe@example.com"));
}

#[test]
fn sampling_keeps_metadata_and_drops_content() {
    let (lines, _, _) = content_run(&[
        ("LLM_LOG_PROMPTS", "1"),
        ("LLM_LOG_RESPONSES", "1"),
        ("LLM_SAMPLE_RATE", "0"),
    ]);
    assert_eq!(lines.len(), 3);
    for line in &lines {
        assert!(line.get("messages").is_none() && line.get("response").is_none());
        assert!(line.get("usage").is_some() || line["status"] == "error");
    }
}

// ---------------------------------------------------------------------------

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn slow_call() -> Value {
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    reply("gpt-4o-2024-08-06", 10, "stop")
}

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn cut_call(prompt_tokens: u64) -> Value {
    reply("gpt-4o-2024-08-06", prompt_tokens, "length")
}

#[llm_traced(provider = "acme", model = "acme-llm-1")]
async fn unknown_model() -> Value {
    reply("acme-llm-1", 10, "stop")
}

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn refused() -> Value {
    common::fixture("openai_chat_completion_refusal.json")
}

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn flaky(fail: bool) -> Result<Value, String> {
    if fail {
        Err("HTTP 503 Service Unavailable".to_owned())
    } else {
        Ok(reply("gpt-4o-2024-08-06", 1000, "stop"))
    }
}

#[test]
fn child_levels() {
    if !is_child() {
        return;
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            slow_call().await;
            cut_call(120_000).await;
            unknown_model().await;
            refused().await;
            Context::new_trace()
                .scope(async {
                    flaky(true).await.unwrap_err();
                    flaky(false).await.unwrap();
                })
                .await;
            for _ in 0..5 {
                chat(Vec::new(), 100_000).await;
            }
        });
}

#[test]
fn levels_warnings_cost_and_budget() {
    let (_temp, log, out) = run_logged(
        "child_levels",
        &[("LLM_SLOW_MS", "20"), ("LLM_COST_BUDGET_USD", "0.5")],
    );
    let lines = json_lines(&log);
    let by_fn: HashMap<&str, Vec<&Value>> = lines.iter().fold(HashMap::new(), |mut m, l| {
        m.entry(l["name"].as_str().unwrap()).or_default().push(l);
        m
    });
    let slow = by_fn["slow_call"][0];
    assert_eq!(
        (slow["level"].as_str(), slow["warnings"].clone()),
        (Some("warn"), json!(["slow"]))
    );
    let cut = by_fn["cut_call"][0];
    assert_eq!(cut["level"], "warn");
    assert_eq!(
        cut["warnings"],
        json!(["truncated", "near_context_limit"]),
        "120k of gpt-4o's 128k window"
    );
    assert!(
        by_fn["unknown_model"][0].get("cost_usd").is_none(),
        "unknown model: no cost, not 0"
    );
    let refused = by_fn["refused"][0];
    assert_eq!(refused["level"], "warn");
    assert_eq!(
        refused["warnings"],
        json!(["content_filtered"]),
        "a refusal is filtered output"
    );
    let flaky = &by_fn["flaky"];
    assert_eq!(flaky[0]["level"], "error");
    assert_eq!(flaky[0]["error"]["type"], "server_error");
    assert_eq!(
        flaky[1]["warnings"],
        json!(["retry"]),
        "the same function again in one trace after a failure"
    );
    // gpt-4o: 100,000 input tokens at $2.50/M + 20 output at $10/M.
    let chats = &by_fn["chat"];
    let cost = chats[0]["cost_usd"].as_f64().unwrap();
    assert!(
        (cost - (100_000.0 * 2.5 + 20.0 * 10.0) / 1e6).abs() < 1e-9,
        "{cost}"
    );
    let crossed: Vec<_> = chats
        .iter()
        .filter(|l| {
            l["warnings"]
                .as_array()
                .is_some_and(|w| w.contains(&json!("budget_exceeded")))
        })
        .collect();
    assert_eq!(crossed.len(), 1, "the budget is reported once");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("cost budget exceeded").count(),
        1,
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------

#[test]
fn child_pricing() {
    if !is_child() {
        return;
    }
    futures::executor::block_on(async {
        unknown_model().await;
        chat(Vec::new(), 1_000_000).await;
    });
}

#[test]
fn a_pricing_file_overrides_and_extends_the_table() {
    let temp = tempfile::tempdir().unwrap();
    let prices = temp.path().join("prices.json");
    std::fs::write(
        &prices,
        r#"{"models": [
            {"model": "acme-llm-1", "input": 1.0, "output": 2.0, "context_window": 8000},
            {"model": "gpt-4o", "input": 10.0, "cached_input": 5.0, "output": 20.0, "context_window": 128000}
        ]}"#,
    )
    .unwrap();
    let (_temp, log, _) = run_logged(
        "child_pricing",
        &[("LLM_PRICING_FILE", prices.to_str().unwrap())],
    );
    let lines = json_lines(&log);
    let acme = lines.iter().find(|l| l["name"] == "unknown_model").unwrap();
    // 10 input tokens at $1/M + 20 output at $2/M.
    assert!(
        (acme["cost_usd"].as_f64().unwrap() - 50.0 / 1e6).abs() < 1e-12,
        "{acme}"
    );
    let gpt = lines.iter().find(|l| l["name"] == "chat").unwrap();
    assert!(
        (gpt["cost_usd"].as_f64().unwrap() - (1e6 * 10.0 + 20.0 * 20.0) / 1e6).abs() < 1e-9,
        "{gpt}"
    );
}

#[test]
fn a_broken_pricing_file_warns_once_and_keeps_the_built_in_prices() {
    let temp = tempfile::tempdir().unwrap();
    let prices = temp.path().join("prices.json");
    std::fs::write(&prices, "{not json").unwrap();
    let (_temp, log, out) = run_logged(
        "child_pricing",
        &[("LLM_PRICING_FILE", prices.to_str().unwrap())],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("LLM_PRICING_FILE").count(), 1, "{stderr}");
    let lines = json_lines(&log);
    assert!(lines
        .iter()
        .find(|l| l["name"] == "chat")
        .unwrap()
        .get("cost_usd")
        .is_some());
}

#[cfg(feature = "subscriber")]
#[test]
fn child_subscriber() {
    if !is_child() {
        return;
    }
    let _guard = llm_traced::init().unwrap();
    Context::new_trace()
        .with_user("u-json")
        .with_tenant("acme")
        .with_metadata("api_key", "s3cr3t-bound-value")
        .with_tag(format!(
            "ghp_{}",
            "a1B2c3D4e5".repeat(4).get(..36).unwrap_or_default()
        ))
        .in_scope(|| {
            tracing::info!(answer = 42, "app_event");
        });
    futures::executor::block_on(chat(Vec::new(), 3));
}

#[cfg(feature = "subscriber")]
#[test]
fn the_json_subscriber_puts_the_bound_context_on_every_line() {
    let out = run_child("child_subscriber", &[("RUST_LOG", "info")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l.trim_start_matches(|c| c != '{')).ok())
        .collect();
    let app = lines
        .iter()
        .find(|l| l["event"] == "app_event")
        .expect("the app's event as JSON");
    assert_eq!(app["level"], "info");
    assert_eq!(app["answer"], 42);
    assert_eq!(app["user_id"], "u-json");
    assert_eq!(app["tenant_id"], "acme");
    // Bound values lose their secrets on these lines too.
    assert_eq!(app["metadata"]["api_key"], "[REDACTED]", "{app}");
    assert_eq!(app["tags"][0], "[GITHUB_TOKEN]", "{app}");
    assert_eq!(app["trace_id"].as_str().unwrap().len(), 32);
    assert!(app["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(app["target"].as_str().unwrap().starts_with("json_log"));
    let ours = lines
        .iter()
        .find(|l| l["event"] == "llm_request")
        .expect("the call's event");
    assert_eq!(ours["gen_ai.request.model"], "gpt-4o");
    assert_eq!(ours["target"], "llm_traced");
}

// ---------------------------------------------------------------------------
// Conversation files, written in the background, and the exit

#[test]
fn child_burst_then_exit() {
    if !is_child() {
        return;
    }
    let messages = user("What is the capital of France? Answer in one word.");
    for i in 0..20_000 {
        futures::executor::block_on(chat(messages.clone(), i));
    }
    // No flush: returning from the test exits the process, and the exit
    // handler drains the writer.
}

#[test]
fn no_conversation_is_lost_when_the_process_exits_right_after_a_burst() {
    let temp = tempfile::tempdir().unwrap();
    let convs = temp.path().join("convs");
    let log = temp.path().join("calls.jsonl");
    run_child(
        "child_burst_then_exit",
        &[
            ("LLM_SAVE_CONVERSATIONS", "1"),
            ("LLM_CONVERSATIONS_DIR", convs.to_str().unwrap()),
            ("LLM_LOG_FILE", log.to_str().unwrap()),
        ],
    );
    let mut tokens = HashSet::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&convs).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(!name.starts_with('.'), "a temporary file was left: {name}");
        let record = llm_traced::read_conversation(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        tokens.insert(record.usage.unwrap().input_tokens.unwrap());
        files += 1;
    }
    assert_eq!(files, 20_000);
    assert_eq!(tokens.len(), 20_000, "one file per call");
    assert_eq!(json_lines(&log).len(), 20_000);
}

//! Secrets never leave the process: a labelled corpus, generated when the
//! tests run (no realistic-looking token is committed), of every secret
//! format the scanner knows in every embedding a user's text gives it
//! (prose, JSON-escaped, quoted, in a URL, at a line end, next to
//! punctuation), with the near-misses that must survive; then every output
//! of a real call with all of them in its content, bound context and error.

mod common;
#[path = "corpus/mod.rs"]
mod corpus;

use std::borrow::Cow;
use std::collections::BTreeMap;

use corpus::{bound_secrets, embed, formats, leaks, near_misses, run_secrets, Rng, EMBEDDINGS};
use llm_traced::redaction::{redact_with, Mode};

const ROUNDS: usize = 25;

#[test]
fn recall_is_one_for_every_format_in_every_embedding() {
    let mut report = BTreeMap::new();
    let mut failures = Vec::new();
    for (k, (name, generate)) in formats().into_iter().enumerate() {
        let mut rng =
            Rng(0x9E37_79B9_7F4A_7C15 ^ (k as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
        let (mut found, mut total) = (0, 0);
        for _ in 0..ROUNDS {
            let case = generate(&mut rng);
            for how in EMBEDDINGS {
                let text = embed(how, &case.text);
                assert!(
                    leaks(&text, &case.secret),
                    "{name}: the sample holds its secret"
                );
                for mode in [Mode::All, Mode::SecretsOnly] {
                    total += 1;
                    let out = redact_with(&text, mode);
                    if leaks(&out, &case.secret) {
                        if failures.len() < 20 {
                            failures
                                .push(format!("{name} / {how} / {mode:?}:\n  {text}\n  -> {out}"));
                        }
                    } else {
                        found += 1;
                    }
                }
            }
        }
        report.insert(name, (found, total));
    }
    for (name, (found, total)) in &report {
        eprintln!("{name:40} {found:4}/{total:4}");
    }
    let below: Vec<String> = report
        .iter()
        .filter(|(_, (found, total))| found < total)
        .map(|(name, (found, total))| {
            format!("{name}: recall {:.3}", *found as f64 / *total as f64)
        })
        .collect();
    assert!(
        below.is_empty(),
        "{}\n\nfirst failures:\n{}",
        below.join("\n"),
        failures.join("\n")
    );
    assert!(report.len() >= 40, "{} formats", report.len());
}

#[test]
fn no_near_miss_is_masked_in_any_embedding() {
    let mut rng = Rng(0x0DDB_1A5E_5BAD_5EED);
    let mut masked = Vec::new();
    for _ in 0..5 {
        for miss in near_misses(&mut rng) {
            for how in EMBEDDINGS {
                let text = embed(how, &miss);
                if let Cow::Owned(out) = redact_with(&text, Mode::SecretsOnly) {
                    masked.push(format!("{how}: {text:?}\n  -> {out:?}"));
                }
                // Nor by the personal-data detectors, unless it is personal data.
                let personal = miss.contains('@') || miss.starts_with('+');
                if let (false, Cow::Owned(out)) = (personal, redact_with(&text, Mode::All)) {
                    masked.push(format!("{how}, all kinds: {text:?}\n  -> {out:?}"));
                }
            }
        }
    }
    assert!(masked.is_empty(), "masked:\n{}", masked.join("\n"));
}

/// Every format among random words and separators (some of them the
/// scanner's own triggers: `=`, `: `, `\n`, quotes, `Bearer`, `password`).
#[test]
fn inserted_among_random_words_no_secret_survives() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let words: Vec<&str> = "the model said café 2024-01-15 v1.2.3 $1,234.56 std::io::Error @bob \
                            order 1234567890 → e s g A key token password Bearer basic \
                            https:// 10:30 a@b.co 555-123-4567 - -- == => x= y: \\ {} []"
        .split(' ')
        .collect();
    let separators = [
        " ", "\n", ", ", "\t", " \"", "\" ", "=", ": ", "(", ")", "'", r"\n", ". ", "/", "?", "&",
        ";", "<", ">",
    ];
    let formats = formats();
    let mut failures = Vec::new();
    for round in 0..4000 {
        let (name, generate) = &formats[round % formats.len()];
        let case = generate(&mut rng);
        let mut parts: Vec<&str> = (0..rng.below(30)).map(|_| rng.pick(&words)).collect();
        parts.insert(rng.below(parts.len() + 1), &case.text);
        let mut text = String::new();
        for (k, part) in parts.iter().enumerate() {
            if k > 0 {
                text.push_str(rng.pick(&separators));
            }
            text.push_str(part);
        }
        for mode in [Mode::All, Mode::SecretsOnly] {
            let out = redact_with(&text, mode);
            if leaks(&out, &case.secret) && failures.len() < 10 {
                failures.push(format!("{name} / {mode:?}: {text:?}\n  -> {out:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Random JSON (tool-call arguments, a tool's result): every format under
/// any key, and any value under a secret key, is gone; the text stays JSON
/// and everything else stays as it was.
#[test]
fn random_json_loses_its_secrets_and_stays_json() {
    use llm_traced::redaction::Rules;
    let mut rng = Rng(0x1357_9BDF_2468_ACE0);
    let formats = formats();
    let rules = Rules::new();
    let secret_keys = [
        "password",
        "api_key",
        "clientSecret",
        "X-Api-Key",
        "access_token",
    ];
    let plain_keys = [
        "query",
        "note",
        "max_tokens",
        "token_count",
        "author",
        "items",
    ];
    fn build(
        rng: &mut Rng,
        depth: usize,
        formats: &[corpus::Format],
        secret_keys: &[&str],
        plain_keys: &[&str],
        secrets: &mut Vec<String>,
        plain: &mut Vec<String>,
    ) -> Value {
        match rng.below(if depth > 2 { 3 } else { 5 }) {
            0 => {
                let (_, generate) = &formats[rng.below(formats.len())];
                let case = generate(rng);
                secrets.push(case.secret);
                Value::String(case.text)
            }
            1 => {
                let word = format!("plain{}", rng.below(1_000_000));
                plain.push(word.clone());
                Value::String(word)
            }
            2 => json!(rng.below(10_000)),
            3 => Value::Array(
                (0..rng.below(4))
                    .map(|_| {
                        build(
                            rng,
                            depth + 1,
                            formats,
                            secret_keys,
                            plain_keys,
                            secrets,
                            plain,
                        )
                    })
                    .collect(),
            ),
            _ => {
                let mut map = serde_json::Map::new();
                for n in 0..rng.below(5) {
                    // A distinct word after each key keeps the keys apart.
                    if rng.below(3) == 0 {
                        let key = format!("{}_{n}", rng.pick(secret_keys));
                        let value = rng.chars(corpus::PASSWORD, 12);
                        secrets.push(value.clone());
                        map.insert(key, Value::String(value));
                    } else {
                        let key = format!("{}_{n}", rng.pick(plain_keys));
                        let value = build(
                            rng,
                            depth + 1,
                            formats,
                            secret_keys,
                            plain_keys,
                            secrets,
                            plain,
                        );
                        map.insert(key, value);
                    }
                }
                Value::Object(map)
            }
        }
    }
    for round in 0..1500 {
        let (mut secrets, mut plain) = (Vec::new(), Vec::new());
        let mut map = serde_json::Map::new();
        for k in 0..4 {
            let value = build(
                &mut rng,
                0,
                &formats,
                &secret_keys,
                &plain_keys,
                &mut secrets,
                &mut plain,
            );
            map.insert(format!("field{k}"), value);
        }
        let original = Value::Object(map).to_string();
        let mut text = original.clone();
        rules.scrub_string(&mut text, Mode::SecretsOnly);
        let parsed: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("round {round}: not JSON ({e}): {text}"));
        for secret in &secrets {
            assert!(!leaks(&text, secret), "round {round}: {secret:?} in {text}");
        }
        for word in &plain {
            assert!(
                text.contains(word.as_str()),
                "round {round}: {word} lost in {text}"
            );
        }
        assert!(parsed.is_object());
    }
}

#[test]
fn named_values_keep_the_shape_and_schemas_stay() {
    assert_eq!(
        redact_with(
            r#"{"password": "hunter2", "api_key": "abc123", "max_tokens": 4096}"#,
            Mode::SecretsOnly
        ),
        r#"{"password": "[REDACTED]", "api_key": "[REDACTED]", "max_tokens": 4096}"#
    );
    assert_eq!(
        redact_with(
            "login with password: hunter2, then retry",
            Mode::SecretsOnly
        ),
        "login with password: [REDACTED], then retry"
    );
    assert_eq!(
        redact_with(
            "postgres://app:s3cret@db:5432/app and https://admin:pw@host/x",
            Mode::SecretsOnly
        ),
        "postgres://app:[PASSWORD]@db:5432/app and https://admin:[PASSWORD]@host/x"
    );
    assert_eq!(
        redact_with(
            "GET /v1/models?key=abcdef123456&alt=json",
            Mode::SecretsOnly
        ),
        "GET /v1/models?key=[REDACTED]&alt=json"
    );
    // A format the value matches keeps its placeholder.
    let key = format!("sk-proj-{}", "Ab1".repeat(12));
    assert_eq!(
        redact_with(&format!(r#"{{"api_key": "{key}"}}"#), Mode::SecretsOnly),
        r#"{"api_key": "[API_KEY]"}"#
    );
    let schema = r#"{"password": {"type": "string"}, "token": null}"#;
    assert_eq!(redact_with(schema, Mode::SecretsOnly), schema);
}

// ---------------------------------------------------------------------------
// Every output of a real call.

use common::{is_child, json_lines, run_child};
use llm_traced::context::Context;
use llm_traced::llm_traced;
use serde_json::{json, Value};

#[llm_traced(provider = "openai", model = "gpt-4o", audit)]
async fn leaky_call(
    messages: Vec<Value>,
    answer: String,
    fail: Option<String>,
) -> Result<Value, String> {
    if let Some(message) = fail {
        return Err(message);
    }
    let (tag, metadata_key, _) = bound_secrets();
    let arguments =
        json!({"password": metadata_key, "api_key": tag, "query": "weather"}).to_string();
    Ok(json!({"id": "chatcmpl-1", "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant",
            "content": answer,
            "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "lookup", "arguments": arguments}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}}))
}

/// Writes every `tracing` event's fields and every span field (those set
/// when a call starts too) to stderr, one line each, so that the parent sees
/// them among the bytes written.
struct EventsToStderr;

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push_str(&format!(" {}={value}", field.name()));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for EventsToStderr {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        eprintln!("EVENT{}", fields.0);
    }

    fn on_record(
        &self,
        _: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut fields = Fields(String::new());
        values.record(&mut fields);
        eprintln!("SPAN{}", fields.0);
    }
}

#[test]
fn child_leaky_calls() {
    if !is_child() {
        return;
    }
    use tracing_subscriber::layer::SubscriberExt;
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(EventsToStderr))
        .unwrap();
    let secrets = run_secrets();
    let (tag, metadata_key, user) = bound_secrets();
    let prose: String = secrets
        .iter()
        .enumerate()
        .map(|(k, case)| embed(EMBEDDINGS[k % EMBEDDINGS.len()], &case.text) + "\n")
        .chain(["Reach me at jane.doe@example.com.\n".to_owned()])
        .collect();
    let tool_result = json!({"password": secrets[0].secret, "rows": 3}).to_string();
    let messages = vec![
        json!({"role": "system", "content": "You help with builds."}),
        json!({"role": "user", "content": prose}),
        json!({"role": "tool", "tool_call_id": "call_0", "content": tool_result}),
    ];
    futures::executor::block_on(
        Context::current()
            .with_user(user.clone())
            .with_session(format!("chat-{user}"))
            .with_tenant("acme")
            .with_tag(tag.clone())
            .with_metadata("api_key", metadata_key.clone())
            .with_metadata(
                "config",
                json!({"db": {"password": metadata_key}, "replicas": 2}),
            )
            .scope(async {
                leaky_call(messages.clone(), prose.clone(), None)
                    .await
                    .unwrap();
                let error = format!(
                    "request failed: {}",
                    secrets
                        .iter()
                        .map(|c| c.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" | ")
                );
                leaky_call(messages, String::new(), Some(error))
                    .await
                    .unwrap_err();
            }),
    );
    assert!(llm_traced::flush());
}

/// Every byte the child wrote: stderr (debug blocks, events, span fields),
/// saved conversations, the log, the audit log.
fn everything_written(extra: &[(&str, &str)]) -> (String, Vec<Value>) {
    let temp = tempfile::tempdir().unwrap();
    let log = temp.path().join("calls.jsonl");
    let convs = temp.path().join("convs");
    let audit = temp.path().join("audit.jsonl");
    let mut env = vec![
        ("LLM_AUDIT_FILE", audit.to_str().unwrap()),
        ("LLM_DEBUG", "1"),
        ("LLM_LOG_PROMPTS", "1"),
        ("LLM_LOG_RESPONSES", "1"),
        ("LLM_SAVE_CONVERSATIONS", "1"),
        ("LLM_LOG_FILE", log.to_str().unwrap()),
        ("LLM_CONVERSATIONS_DIR", convs.to_str().unwrap()),
        ("LLM_MAX_CONTENT_CHARS", "100000"),
    ];
    env.extend_from_slice(extra);
    let out = run_child("child_leaky_calls", &env);
    let mut all = String::from_utf8_lossy(&out.stderr).into_owned();
    all.push_str(&String::from_utf8_lossy(&out.stdout));
    let mut saved = 0;
    for entry in std::fs::read_dir(&convs).unwrap() {
        all.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
        saved += 1;
    }
    assert_eq!(saved, 2, "two conversation files");
    let lines = json_lines(&log);
    assert_eq!(lines.len(), 2, "two log lines");
    all.push_str(&std::fs::read_to_string(&log).unwrap());
    let audited = json_lines(&audit);
    assert_eq!(audited.len(), 4, "a query and an outcome entry per call");
    all.push_str(&std::fs::read_to_string(&audit).unwrap());
    (all, lines)
}

fn assert_no_secret_in(all: &str) {
    let (tag, metadata_key, user) = bound_secrets();
    let mut leaked = Vec::new();
    for (k, case) in run_secrets().iter().enumerate() {
        if leaks(all, &case.secret) {
            leaked.push(format!("{} ({:?})", formats()[k].0, case.secret));
        }
    }
    for secret in [&tag, &metadata_key, &user] {
        if leaks(all, secret) {
            leaked.push(format!("bound value {secret:?}"));
        }
    }
    assert!(leaked.is_empty(), "leaked into an output: {leaked:?}");
}

#[test]
fn no_secret_reaches_any_byte_written_with_every_output_on() {
    let (all, lines) = everything_written(&[]);
    assert_no_secret_in(&all);
    let events = all.lines().filter(|l| l.starts_with("EVENT")).count();
    assert!(events >= 2, "the tracing events were seen: {events}");
    let spans = all.lines().filter(|l| l.starts_with("SPAN")).count();
    assert!(spans >= 2, "the span fields were seen: {spans}");
    assert!(all.contains("[REDACTED]") || all.contains("_TOKEN]"));
    // What the user sees instead: the shape is kept.
    let first = &lines[0];
    assert_eq!(first["metadata"]["api_key"], "[REDACTED]", "{first}");
    assert_eq!(first["metadata"]["config"]["db"]["password"], "[REDACTED]");
    assert_eq!(first["metadata"]["config"]["replicas"], 2);
    assert_eq!(first["tenant_id"], "acme");
    assert_eq!(first["tags"][0], "[GITHUB_TOKEN]");
    let arguments: Value =
        serde_json::from_str(first["tool_calls"][0]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments["password"], "[REDACTED]");
    assert_eq!(arguments["query"], "weather");
    assert!(all.contains("[API_KEY]") && all.contains("[PRIVATE_KEY]"));
    assert!(!all.contains("jane.doe@example.com") && all.contains("[EMAIL]"));
}

#[test]
fn no_secret_reaches_any_byte_written_with_redaction_off() {
    let (all, lines) = everything_written(&[("LLM_REDACT", "0")]);
    assert_no_secret_in(&all);
    // Personal data is kept when asked, and ids are never masked.
    assert!(all.contains("jane.doe@example.com") && !all.contains("[EMAIL]"));
    assert_eq!(lines[0]["tenant_id"], "acme");
}

// ---------------------------------------------------------------------------
// User patterns and key names from the environment.

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn internal_call(messages: Vec<Value>) -> Value {
    json!({"id": "chatcmpl-2", "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant",
            "content": "Ticket PRJ-ABC-1234 is assigned to EMP-123456."}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}})
}

#[test]
fn child_user_rules() {
    if !is_child() {
        return;
    }
    futures::executor::block_on(
        Context::current()
            .with_metadata("vault_ref", "vr-8842")
            .scope(async {
                internal_call(vec![json!({"role": "user",
                    "content": "Who has EMP-123456? employee_pin: 4321, project PRJ-ABC-1234"})])
                .await;
            }),
    );
    assert!(llm_traced::log::flush());
}

#[test]
fn user_patterns_and_keys_apply_everywhere_and_a_bad_line_warns_once() {
    let temp = tempfile::tempdir().unwrap();
    let patterns = temp.path().join("patterns.txt");
    std::fs::write(
        &patterns,
        "# our formats\nemployee_id: EMP-[0-9]{6}\nPRJ-(unclosed\nPRJ-[A-Z]{3}-[0-9]{4}\n",
    )
    .unwrap();
    let log = temp.path().join("calls.jsonl");
    let out = run_child(
        "child_user_rules",
        &[
            ("LLM_LOG_FILE", log.to_str().unwrap()),
            ("LLM_LOG_PROMPTS", "1"),
            ("LLM_LOG_RESPONSES", "1"),
            ("LLM_DEBUG", "1"),
            ("LLM_REDACT", "0"),
            ("LLM_REDACT_PATTERNS", patterns.to_str().unwrap()),
            ("LLM_REDACT_KEYS", "employee_pin, vault_ref"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("redaction pattern"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("line 3 of") && warnings[0].contains("patterns.txt"),
        "{}",
        warnings[0]
    );
    let written = format!("{stderr}{}", std::fs::read_to_string(&log).unwrap());
    for secret in ["EMP-123456", "PRJ-ABC-1234", "4321", "vr-8842"] {
        assert!(!written.contains(secret), "{secret} reached an output");
    }
    let line = &json_lines(&log)[0];
    assert_eq!(
        line["messages"][0]["content"],
        "Who has [EMPLOYEE_ID]? employee_pin: [REDACTED], project [REDACTED]"
    );
    assert_eq!(line["metadata"]["vault_ref"], "[REDACTED]");
    assert_eq!(
        line["response"]["text"],
        "Ticket [REDACTED] is assigned to [EMPLOYEE_ID]."
    );
}

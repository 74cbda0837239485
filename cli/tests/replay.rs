//! `llm-traced replay` against real HTTP servers on 127.0.0.1 that answer
//! in the OpenAI, Anthropic, Gemini and Azure OpenAI wire formats with
//! recorded payloads (`core/tests/fixtures`): what is sent (path, headers, body),
//! what is printed, what is recorded, and that the key appears nowhere.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Router;
use common::{cli, record, stderr, stdout, tempdir, write_conversation};
use llm_traced_runtime::record::CallRecord;
use serde_json::{json, Value};

const KEY: &str = "sk-proj-replayTestKey0123456789abcdefXYZ";
const ORIGINAL: &str = "01a21c54-0000-7000-8000-00000000e001";
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";

/// One request the stand-in received.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn fixture(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The stand-in for the models: the path picks the protocol, the model and
/// `stream` pick the recorded answer.
async fn answer(State(log): State<Log>, request: Request) -> Response {
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let headers = request
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    log.lock().unwrap().push(Seen {
        path: path.clone(),
        headers,
        body: body.clone(),
    });
    let stream = body["stream"] == json!(true);
    let model = body["model"].as_str().unwrap_or("");
    let (status, sse, text) = if path.starts_with("/v1/chat/completions")
        || (path.starts_with("/openai/deployments/") && path.contains("/chat/completions"))
    {
        match (model, stream) {
            ("rate-limited", _) => (
                429,
                false,
                fixture("openai_error_429_rate_limit_exceeded_tpm.json"),
            ),
            ("tools", _) => (
                200,
                false,
                fixture("openai_chat_completion_parallel_tool_calls.json"),
            ),
            (_, true) => (
                200,
                true,
                fixture("raw_sse/openai_chat_stream_include_usage_text.sse"),
            ),
            (_, false) => (200, false, fixture("openai_chat_completion_text_stop.json")),
        }
    } else if path == "/v1/embeddings"
        || (path.starts_with("/openai/deployments/") && path.contains("/embeddings?"))
    {
        (200, false, fixture("openai_embeddings.json"))
    } else if path == "/v1/responses" || path == "/openai/v1/responses" {
        if stream {
            (
                200,
                true,
                fixture("raw_sse/openai_responses_stream_text.sse"),
            )
        } else {
            (200, false, fixture("openai_responses_text.json"))
        }
    } else if path == "/v1/messages" {
        if stream {
            (200, true, fixture("raw_sse/anthropic_stream_text.sse"))
        } else {
            (200, false, fixture("anthropic_message_end_turn.json"))
        }
    } else if path.contains(":streamGenerateContent?alt=sse") {
        (
            200,
            true,
            fixture("raw_sse/gemini_stream_search_grounding.sse"),
        )
    } else if path.contains(":generateContent") {
        (
            200,
            false,
            fixture("gemini_generate_content_recitation.json"),
        )
    } else {
        (404, false, "{\"error\": \"no such path\"}".to_owned())
    };
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header(
            "content-type",
            if sse {
                "text/event-stream"
            } else {
                "application/json"
            },
        )
        .body(Body::from(text))
        .unwrap()
}

/// A stand-in running on its own thread, for the test's life.
fn stand_in() -> (SocketAddr, Log) {
    let log: Log = Arc::default();
    let (tx, rx) = std::sync::mpsc::channel();
    let state = log.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = Router::new().fallback(answer).with_state(state);
            axum::serve(listener, app).await.unwrap();
        });
    });
    (rx.recv().unwrap(), log)
}

/// The original call: an OpenAI chat request with parameters, in a trace.
fn original(fields: Value) -> CallRecord {
    let mut base = json!({
        "request_id": ORIGINAL,
        "trace_id": TRACE, "span_id": SPAN, "session_id": "s1",
        "provider": "openai", "request_model": "gpt-4o", "response_model": "gpt-4o-2024-08-06",
        "latency_ms": 1200.0,
        "request": {"model": "gpt-4o", "temperature": 0.7, "max_tokens": 100,
                    "messages": [{"role": "user", "content": "Weather in San Francisco?"}]},
        "messages": [{"role": "user", "content": "Weather in San Francisco?"}],
        "response": {"text": "It is sunny in San Francisco today."},
        "finish_reasons": ["stop"],
        "usage": {"input_tokens": 14, "output_tokens": 8, "total_tokens": 22},
    });
    if let (Value::Object(b), Value::Object(f)) = (&mut base, fields) {
        b.extend(f);
    }
    record(base)
}

fn replay(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = cli();
    cmd.arg("replay")
        .args(args)
        .arg("--dir")
        .arg(dir)
        .env("OPENAI_API_KEY", KEY)
        .env("ANTHROPIC_API_KEY", KEY)
        .env("GEMINI_API_KEY", KEY)
        .env("AZURE_OPENAI_API_KEY", KEY);
    for var in [
        "OPENAI_BASE_URL",
        "ANTHROPIC_BASE_URL",
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_API_VERSION",
        "LLM_LOG_FILE",
        "LLM_DEBUG",
        "LLM_SAVE_CONVERSATIONS",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("{e}"));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!all.contains(KEY), "the key was printed:\n{all}");
    out
}

/// The records in `dir` that replay the original, oldest first.
fn replays(dir: &Path) -> Vec<CallRecord> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|p| llm_traced_runtime::read_conversation(p).ok())
        .filter(|r| r.replay_of.as_deref() == Some(ORIGINAL))
        .collect()
}

fn seen(log: &Log) -> Vec<Seen> {
    log.lock().unwrap().clone()
}

#[test]
fn openai_plain_with_overrides_recorded_in_the_original_trace() {
    let (addr, log) = stand_in();
    let dir = tempdir();
    write_conversation(dir.path(), &original(json!({})));
    let base = format!("http://{addr}/v1");
    let out = replay(
        dir.path(),
        &[
            "e001",
            "--base-url",
            &base,
            "--model",
            "gpt-4o-mini",
            "--set",
            "temperature=0",
            "--set",
            "max_tokens=50",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sent = seen(&log);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/v1/chat/completions");
    assert_eq!(
        sent[0].header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
    assert_eq!(
        sent[0].body,
        json!({"model": "gpt-4o-mini", "temperature": 0, "max_tokens": 50,
               "messages": [{"role": "user", "content": "Weather in San Francisco?"}]})
    );
    let text = stdout(&out);
    assert!(
        text.starts_with("replay of 0000e001 (openai gpt-4o → gpt-4o-mini): saved "),
        "{text}"
    );
    // The word diff: the common words stay, the rest is marked.
    assert!(text.contains("[-It is sunny-]"), "{text}");
    assert!(text.contains("in San [-Francisco today.-]"), "{text}");
    assert!(
        text.contains("{+I'm unable to provide real-time weather"),
        "{text}"
    );
    assert!(text.contains("finish:      stop\n"), "{text}");
    assert!(
        text.contains("tokens:      22 (in 14, out 8) → 51 (in 14, out 37)"),
        "{text}"
    );
    assert!(text.contains("latency:     1.20 s → "), "{text}");
    let new = replays(dir.path());
    assert_eq!(new.len(), 1);
    let r = &new[0];
    assert_eq!(r.trace_id.as_deref(), Some(TRACE));
    assert_eq!(r.parent_span_id.as_deref(), Some(SPAN));
    assert_eq!(r.session_id.as_deref(), Some("s1"));
    assert_eq!(r.request_model.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(r.provider.as_deref(), Some("openai"));
    assert_eq!(r.request.as_ref().unwrap()["temperature"], json!(0));
    assert_eq!(r.usage.as_ref().unwrap().total_tokens, Some(51));
    assert!(r.cost_usd.is_some());
}

#[test]
fn a_streamed_call_is_replayed_streaming() {
    let (addr, log) = stand_in();
    let dir = tempdir();
    let original = original(json!({
        "stream": {"chunks": 12, "completed": true}, "time_to_first_chunk_ms": 250.0,
    }));
    write_conversation(dir.path(), &original);
    let base = format!("http://{addr}/v1");
    let out = replay(dir.path(), &["e001", "--base-url", &base]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let body = &seen(&log)[0].body;
    assert_eq!(body["stream"], json!(true));
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    let text = stdout(&out);
    assert!(text.contains("first chunk: 250 ms → "), "{text}");
    let r = &replays(dir.path())[0];
    assert!(r.stream.is_some_and(|s| s.completed && s.chunks > 1));
    assert!(r.time_to_first_chunk_ms.is_some());
    assert!(r
        .response
        .as_ref()
        .and_then(|c| c.text.as_deref())
        .is_some_and(|t| t.starts_with("I'm unable to provide real-time weather")));
}

#[test]
fn anthropic_plain_and_streamed() {
    let (addr, log) = stand_in();
    let dir = tempdir();
    let base = format!("http://{addr}");
    let request = json!({"model": "claude-haiku-4-5", "max_tokens": 256, "system": "Be brief.",
                         "messages": [{"role": "user", "content": "Weather in SF?"}]});
    write_conversation(
        dir.path(),
        &original(
            json!({"provider": "anthropic", "request_model": "claude-haiku-4-5",
                         "request": request}),
        ),
    );
    let out = replay(dir.path(), &["e001", "--base-url", &base]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sent = seen(&log);
    assert_eq!(sent[0].path, "/v1/messages");
    assert_eq!(sent[0].header("x-api-key"), Some(KEY));
    assert_eq!(sent[0].header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent[0].header("authorization"), None);
    assert_eq!(sent[0].body, request);
    assert!(
        stdout(&out).contains("[-It-] {+The weather in SF+} is"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("→ 730 (in 705, out 25)"),
        "{}",
        stdout(&out)
    );

    // Streamed.
    let dir = tempdir();
    write_conversation(
        dir.path(),
        &original(
            json!({"provider": "anthropic", "request_model": "claude-haiku-4-5",
                         "request": request, "stream": {"chunks": 3, "completed": true}}),
        ),
    );
    let out = replay(dir.path(), &["e001", "--base-url", &base]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(seen(&log)[1].body["stream"], json!(true));
    let r = &replays(dir.path())[0];
    assert_eq!(
        r.response.as_ref().unwrap().text.as_deref(),
        Some("Hello there!")
    );
    assert_eq!(r.provider.as_deref(), Some("anthropic"));
}

/// A Responses-API call (`input`, no `messages`) goes to `/v1/responses`,
/// plain and streamed; the streamed replay reads the Responses events.
#[test]
fn openai_responses_plain_and_streamed() {
    let (addr, log) = stand_in();
    let base = format!("http://{addr}/v1");
    let request = json!({"model": "gpt-4.1", "input": "Tell me a one-sentence story.",
                         "temperature": 0.3});
    let responses = |stream: bool| {
        let mut fields = json!({"provider": "openai", "request_model": "gpt-4.1",
                                "request": request, "messages": null});
        if stream {
            fields["stream"] = json!({"chunks": 10, "completed": true});
        }
        original(fields)
    };
    let dir = tempdir();
    write_conversation(dir.path(), &responses(false));
    let out = replay(dir.path(), &["e001", "--base-url", &base]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sent = seen(&log);
    assert_eq!(sent[0].path, "/v1/responses");
    assert_eq!(sent[0].body, request);
    let r = &replays(dir.path())[0];
    assert!(
        r.response
            .as_ref()
            .and_then(|c| c.text.as_deref())
            .is_some_and(|t| t.starts_with("In a peaceful grove")),
        "{r:?}"
    );

    let dir = tempdir();
    write_conversation(dir.path(), &responses(true));
    let out = replay(dir.path(), &["e001", "--base-url", &base]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sent = seen(&log);
    assert_eq!(sent[1].path, "/v1/responses");
    assert_eq!(sent[1].body["stream"], json!(true));
    assert_eq!(
        sent[1].body.get("stream_options"),
        None,
        "the Responses API takes no stream_options"
    );
    let r = &replays(dir.path())[0];
    assert_eq!(
        r.response.as_ref().and_then(|c| c.text.as_deref()),
        Some("Hi there!")
    );
    assert!(r
        .stream
        .as_ref()
        .is_some_and(|s| s.completed && s.chunks >= 2));
    assert_eq!(r.usage.as_ref().and_then(|u| u.output_tokens), Some(11));
    assert_eq!(r.replay_of.as_deref(), Some(ORIGINAL));
}

#[test]
fn gemini_plain_and_streamed() {
    let (addr, log) = stand_in();
    let base = format!("http://{addr}");
    let request = json!({"contents": [{"role": "user", "parts": [{"text": "GOOG price?"}]}],
                         "generationConfig": {"temperature": 0.5}});
    let gemini = |stream: bool| {
        let mut fields = json!({"provider": "gcp.gemini", "request_model": "gemini-1.5-flash",
                                "request": request, "finish_reasons": ["STOP"]});
        if stream {
            fields["stream"] = json!({"chunks": 4, "completed": true});
        }
        original(fields)
    };
    let dir = tempdir();
    write_conversation(dir.path(), &gemini(false));
    let out = replay(
        dir.path(),
        &[
            "e001",
            "--base-url",
            &base,
            "--set",
            "generationConfig.temperature=0",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sent = seen(&log);
    assert_eq!(
        sent[0].path,
        "/v1beta/models/gemini-1.5-flash:generateContent"
    );
    assert_eq!(sent[0].header("x-goog-api-key"), Some(KEY));
    assert_eq!(
        sent[0].body,
        json!({"contents": [{"role": "user", "parts": [{"text": "GOOG price?"}]}],
               "generationConfig": {"temperature": 0}})
    );
    let text = stdout(&out);
    assert!(text.contains("finish:      STOP → "), "{text}");
    assert!(text.to_lowercase().contains("recitation"), "{text}");

    let dir = tempdir();
    write_conversation(dir.path(), &gemini(true));
    let out = replay(dir.path(), &["e001", "--base-url", &base]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        seen(&log)[1].path,
        "/v1beta/models/gemini-1.5-flash:streamGenerateContent?alt=sse"
    );
    let r = &replays(dir.path())[0];
    let answer = r.response.as_ref().unwrap().text.clone().unwrap();
    assert!(
        answer.starts_with("The current stock price for Alphabet Inc."),
        "{answer}"
    );
    assert_eq!(r.usage.as_ref().unwrap().total_tokens, Some(114));
}

#[test]
fn azure_deployment_key_header_and_api_version() {
    let (addr, log) = stand_in();
    let dir = tempdir();
    write_conversation(
        dir.path(),
        &original(json!({"provider": "azure.ai.openai", "request_model": "my-gpt4o"})),
    );
    let base = format!("http://{addr}");
    let out = replay(dir.path(), &["e001", "--base-url", &base]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sent = seen(&log);
    assert_eq!(
        sent[0].path,
        "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(sent[0].header("api-key"), Some(KEY));
    assert_eq!(sent[0].header("authorization"), None);
    // The deployment is in the path, not the body.
    assert!(sent[0].body.get("model").is_none());

    // Without an endpoint: refused, nothing sent.
    let out = replay(dir.path(), &["e001"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("AZURE_OPENAI_ENDPOINT"),
        "{}",
        stderr(&out)
    );
}

/// An Azure Responses-API call goes to the v1 surface, the deployment in
/// the body, plain and streamed.
#[test]
fn azure_responses_on_the_v1_surface() {
    let (addr, log) = stand_in();
    let base = format!("http://{addr}");
    let request = json!({"model": "my-deployment", "input": "Tell me a one-sentence story."});
    let azure = |stream: bool| {
        let mut fields = json!({"provider": "azure.ai.openai", "request_model": "my-deployment",
                                "request": request, "messages": null});
        if stream {
            fields["stream"] = json!({"chunks": 10, "completed": true});
        }
        original(fields)
    };
    let dir = tempdir();
    write_conversation(dir.path(), &azure(false));
    let out = replay(dir.path(), &["e001", "--base-url", &base]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sent = seen(&log);
    assert_eq!(sent[0].path, "/openai/v1/responses");
    assert_eq!(sent[0].header("api-key"), Some(KEY));
    assert_eq!(
        sent[0].body, request,
        "the deployment stays the body's model"
    );
    let r = &replays(dir.path())[0];
    assert_eq!(r.provider.as_deref(), Some("azure.ai.openai"));
    assert!(r
        .response
        .as_ref()
        .and_then(|c| c.text.as_deref())
        .is_some_and(|t| t.starts_with("In a peaceful grove")));

    let dir = tempdir();
    write_conversation(dir.path(), &azure(true));
    let out = replay(dir.path(), &["e001", "--base-url", &base]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sent = seen(&log);
    assert_eq!(sent[1].path, "/openai/v1/responses");
    assert_eq!(sent[1].body["stream"], json!(true));
    assert_eq!(sent[1].body.get("stream_options"), None);
    let r = &replays(dir.path())[0];
    assert_eq!(
        r.response.as_ref().and_then(|c| c.text.as_deref()),
        Some("Hi there!")
    );
}

/// An embeddings call goes to the embeddings endpoint (OpenAI's, and an
/// Azure deployment's) and is recorded as `embeddings`, with its usage.
#[test]
fn embeddings_on_openai_and_azure() {
    let (addr, log) = stand_in();
    let request = json!({"model": "text-embedding-3-small", "input": "The food was delicious."});
    let embeddings = |provider: &str| {
        original(json!({"provider": provider, "operation": "embeddings",
                        "request_model": "text-embedding-3-small", "request": request,
                        "messages": null, "response": null, "finish_reasons": []}))
    };
    for (provider, base, path) in [
        (
            "openai",
            format!("http://{addr}/v1"),
            "/v1/embeddings".to_owned(),
        ),
        (
            "azure.ai.openai",
            format!("http://{addr}"),
            "/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21"
                .to_owned(),
        ),
    ] {
        let dir = tempdir();
        write_conversation(dir.path(), &embeddings(provider));
        let out = replay(dir.path(), &["e001", "--base-url", &base]);
        assert_eq!(out.status.code(), Some(0), "{provider}: {}", stderr(&out));
        let sent = seen(&log);
        assert_eq!(sent.last().unwrap().path, path);
        let r = &replays(dir.path())[0];
        assert_eq!(r.operation, "embeddings", "{provider}");
        assert_eq!(r.provider.as_deref(), Some(provider));
        assert_eq!(
            r.usage.as_ref().and_then(|u| u.input_tokens),
            Some(8),
            "{r:?}"
        );
    }
}

#[test]
fn runs_k_times_and_expect_turns_differences_into_exit_1() {
    let (addr, log) = stand_in();
    let dir = tempdir();
    let same = "I'm unable to provide real-time weather updates. To get the current weather in \
                San Francisco, I recommend checking a reliable weather website or app like the \
                Weather Channel or a local news station.";
    write_conversation(dir.path(), &original(json!({"response": {"text": same}})));
    let base = format!("http://{addr}/v1");
    let out = replay(
        dir.path(),
        &[
            "e001",
            "--base-url",
            &base,
            "-n",
            "3",
            "--expect",
            "same-text",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(seen(&log).len(), 3);
    assert_eq!(replays(dir.path()).len(), 3);
    let text = stdout(&out);
    assert!(text.contains("run 3 of 3"), "{text}");
    assert!(text.contains("text:        same (33 words)"), "{text}");

    // A different answer fails the expectation.
    let out = replay(
        dir.path(),
        &[
            "e001",
            "--base-url",
            &base,
            "--model",
            "tools",
            "--expect",
            "same-text",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("expected the same text: it differs"));

    // Tool calls: names, then the arguments.
    let dir = tempdir();
    write_conversation(
        dir.path(),
        &original(json!({"response": null, "tool_calls": [
            {"id": "c1", "name": "GetWeatherArgs", "arguments": "{\"city\": \"Paris\", \"country\": \"FR\", \"units\": \"c\"}"}]})),
    );
    let out = replay(
        dir.path(),
        &[
            "e001",
            "--base-url",
            &base,
            "--model",
            "tools",
            "--expect",
            "same-tools",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("tool calls:  GetWeatherArgs → GetWeatherArgs, get_stock_price"),
        "{text}"
    );
    assert!(
        text.contains("GetWeatherArgs: ~ city: \"Paris\" → \"Edinburgh\""),
        "{text}"
    );
    assert!(
        text.contains("expected the same tool calls: they differ"),
        "{text}"
    );
}

#[test]
fn dry_run_prints_the_request_and_curl_and_sends_nothing() {
    let (addr, log) = stand_in();
    let dir = tempdir();
    write_conversation(dir.path(), &original(json!({})));
    let base = format!("http://{addr}/v1");
    let out = replay(
        dir.path(),
        &["e001", "--dry-run", "--base-url", &base, "--set", "seed=7"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(seen(&log).is_empty());
    let text = stdout(&out);
    let url = format!("http://{addr}/v1/chat/completions");
    assert!(text.starts_with("# 0000e001 ("), "{text}");
    assert!(text.contains(&format!("): POST {url}\n")), "{text}");
    let json_end = text.find("\n\ncurl").unwrap();
    let body: Value = serde_json::from_str(&text[text.find('{').unwrap()..json_end]).unwrap();
    assert_eq!(body["seed"], json!(7));
    assert_eq!(body["temperature"], json!(0.7));
    assert!(
        text.contains(&format!(
            "curl '{url}' \\\n  -H \"authorization: Bearer $OPENAI_API_KEY\" \\\n  -H 'content-type: application/json' \\\n  -d '{{"
        )),
        "{text}"
    );
    // Another variable named: the command reads that one.
    let out = replay(
        dir.path(),
        &["e001", "--dry-run", "--api-key-env", "MY_KEY"],
    );
    assert!(stdout(&out).contains("Bearer $MY_KEY"));
    assert!(stdout(&out).contains("https://api.openai.com/v1/chat/completions"));
}

#[test]
fn refusals_and_warnings() {
    let (addr, log) = stand_in();
    let base = format!("http://{addr}/v1");

    // No request: refused, then replayed from the messages with a warning.
    let dir = tempdir();
    let mut old = original(json!({}));
    old.request = None;
    write_conversation(dir.path(), &old);
    let out = replay(dir.path(), &["e001", "--base-url", &base]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("refused: the record has no request")
            && stderr(&out).contains("--from-messages"),
        "{}",
        stderr(&out)
    );
    assert!(seen(&log).is_empty());
    let out = replay(
        dir.path(),
        &["e001", "--base-url", &base, "--from-messages"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("replaying the messages alone"));
    assert!(stderr(&out).contains("tools and tool choice"));
    assert_eq!(
        seen(&log)[0].body,
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "Weather in San Francisco?"}]})
    );

    // Masked content: a warning naming the kinds; --strict refuses.
    let dir = tempdir();
    write_conversation(
        dir.path(),
        &original(json!({"masked": {"email": 2, "api_key": 1}})),
    );
    let out = replay(dir.path(), &["e001", "--base-url", &base]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("its content was masked (api_key ×1, email ×2)"),
        "{}",
        stderr(&out)
    );
    let before = seen(&log).len();
    let out = replay(dir.path(), &["e001", "--base-url", &base, "--strict"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("refused (--strict)"));
    assert_eq!(seen(&log).len(), before);

    // No key: refused before anything is sent, the variable named.
    let out = replay(
        dir.path(),
        &[
            "e001",
            "--base-url",
            &base,
            "--api-key-env",
            "NO_SUCH_KEY_VAR",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("NO_SUCH_KEY_VAR is not set"));
    assert_eq!(seen(&log).len(), before);

    // Unknown ID, bad --set.
    let out = replay(dir.path(), &["ffffffff"]);
    assert_eq!(out.status.code(), Some(3));
    let out = replay(dir.path(), &["e001", "--set", "stop=END"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not JSON"));
}

#[test]
fn a_provider_error_is_recorded_and_exits_1() {
    let (addr, _log) = stand_in();
    let dir = tempdir();
    write_conversation(dir.path(), &original(json!({})));
    let base = format!("http://{addr}/v1");
    let out = replay(
        dir.path(),
        &["e001", "--base-url", &base, "--model", "rate-limited"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("failed: HTTP 429"),
        "{}",
        stdout(&out)
    );
    let r = &replays(dir.path())[0];
    assert_eq!(r.error.as_ref().unwrap().error_type, "rate_limit");
    assert_eq!(r.error.as_ref().unwrap().http_status, Some(429));
}

#[test]
fn saved_in_llm_conversations_dir_when_set() {
    let (addr, _log) = stand_in();
    let dir = tempdir();
    let elsewhere = tempdir();
    let content = "Mail bob@example.com about San Francisco";
    write_conversation(
        dir.path(),
        &original(json!({
            "request": {"model": "gpt-4o", "messages": [{"role": "user", "content": content}]},
            "messages": [{"role": "user", "content": content}],
        })),
    );
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let base = format!("http://{addr}/v1");
    let out = cli()
        .arg("replay")
        .arg(&file)
        .args(["--base-url", &base])
        .env("OPENAI_API_KEY", KEY)
        .env("LLM_CONVERSATIONS_DIR", elsewhere.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(replays(elsewhere.path()).len(), 1);
    assert_eq!(replays(dir.path()).len(), 0);
    // The replayed call was recorded by the runtime like any other: its
    // content masked, and what was masked counted once.
    let r = &replays(elsewhere.path())[0];
    assert_eq!(
        r.messages.as_ref().unwrap()[0]["content"],
        "Mail [EMAIL] about San Francisco"
    );
    assert_eq!(
        serde_json::to_value(&r.masked).unwrap(),
        json!({"email": 1})
    );
}

#[test]
fn files_written_before_requests_were_recorded_replay_from_their_messages() {
    let (addr, log) = stand_in();
    let out_dir = tempdir();
    let file = common::data("conversations")
        .join("20261127T092647.124Z_ask_01a21c54-2854-76d8-9cd8-c470c0b00ab6.json");
    let base = format!("http://{addr}/v1");
    let run = |extra: &[&str]| {
        let out = cli()
            .arg("replay")
            .arg(&file)
            .args(["--base-url", &base])
            .args(extra)
            .env("OPENAI_API_KEY", KEY)
            .env("LLM_CONVERSATIONS_DIR", out_dir.path())
            .output()
            .unwrap();
        assert!(!format!("{}{}", stdout(&out), stderr(&out)).contains(KEY));
        out
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("c0b00ab6: refused: the record has no request"));
    let out = run(&["--from-messages"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        seen(&log)[0].body,
        json!({"model": "gpt-4o", "messages": [
            {"role": "system", "content": "You are a concise assistant."},
            {"role": "user", "content": "What is tracing?"}]})
    );
    assert!(stdout(&out).contains("replay of c0b00ab6 (openai gpt-4o → gpt-4o): saved "));
    let saved: Vec<_> = std::fs::read_dir(out_dir.path()).unwrap().collect();
    assert_eq!(saved.len(), 1);
}

#[test]
fn https_goes_through_tls() {
    // A server that does not speak TLS: the handshake fails, so the request
    // went out over TLS (a plain-HTTP client would have read its answer).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
            );
        }
    });
    let dir = tempdir();
    write_conversation(dir.path(), &original(json!({})));
    let base = format!("https://{addr}/v1");
    let out = replay(dir.path(), &["e001", "--base-url", &base]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    // rustls's own words: it read a plain-HTTP answer where a TLS record was due.
    assert!(
        text.contains("failed: ") && text.contains("received corrupt message"),
        "{text}"
    );
    assert!(
        text.contains(&format!("https://{addr}/v1/chat/completions")),
        "{text}"
    );
    let r = &replays(dir.path())[0];
    let error = r.error.as_ref().unwrap();
    assert_eq!(error.http_status, None);
}

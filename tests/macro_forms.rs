//! Every form `#[llm_traced]` accepts, checked through what the user sees: the
//! saved conversation of each call.

mod common;

use std::sync::Arc;

use common::{everything_on, one_record};
use llm_traced::llm_traced;
use serde::Serialize;
use serde_json::{json, Value};

#[derive(Serialize, Clone, Debug)]
struct Msg {
    role: String,
    content: String,
}

fn msg(content: &str) -> Msg {
    Msg {
        role: "user".into(),
        content: content.into(),
    }
}

fn reply(text: &str) -> Value {
    json!({"id": "r1", "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}})
}

#[llm_traced]
async fn bare(messages: Vec<Msg>) -> Value {
    reply(&messages[0].content)
}

#[tokio::test]
async fn defaults_name_operation_and_messages_argument() {
    let h = everything_on();
    bare(vec![msg("hi")]).await;
    let r = one_record(&h.dir, "bare");
    assert_eq!(r.operation, "chat");
    assert_eq!(r.function, "macro_forms::bare");
    assert_eq!(r.provider, None);
    assert_eq!(r.request_model, None);
    assert_eq!(r.response_model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert_eq!(r.messages, Some(json!([{"role": "user", "content": "hi"}])));
}

#[llm_traced(
    name = "renamed_call",
    model = "gpt-4o-mini",
    provider = "openai",
    operation = "text_completion"
)]
async fn literal_args(prompt: String) -> String {
    format!("echo {prompt}")
}

#[tokio::test]
async fn literal_arguments() {
    let h = everything_on();
    assert_eq!(literal_args("x".into()).await, "echo x");
    let r = one_record(&h.dir, "renamed_call");
    assert_eq!(r.operation, "text_completion");
    assert_eq!(r.provider.as_deref(), Some("openai"));
    assert_eq!(r.request_model.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(r.response.unwrap().text.as_deref(), Some("echo x"));
    // No argument named `messages` and no `messages = …`: nothing captured.
    assert_eq!(r.messages, None);
}

struct Request {
    model: String,
    history: Vec<Msg>,
}

#[llm_traced(model = req.model, messages = &req.history, provider = "anthropic")]
async fn expressions(req: &Request, api_key: &str) -> Result<Value, std::io::Error> {
    assert!(!api_key.is_empty());
    Ok(
        json!({"type": "message", "model": "claude-x", "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn"}),
    )
}

#[tokio::test]
async fn expressions_over_arguments_and_secrets_never_recorded() {
    let h = everything_on();
    let req = Request {
        model: "claude-sonnet-4-5".into(),
        history: vec![msg("one"), msg("two")],
    };
    expressions(&req, "sk-ant-SECRET-never-logged")
        .await
        .unwrap();
    let r = one_record(&h.dir, "expressions");
    assert_eq!(r.request_model.as_deref(), Some("claude-sonnet-4-5"));
    assert_eq!(r.messages.as_ref().unwrap().as_array().unwrap().len(), 2);
    assert!(llm_traced::flush());
    let saved = std::fs::read_dir(&h.dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    assert!(
        !saved.contains("SECRET"),
        "an argument other than messages was recorded"
    );
    assert!(!h.debug.text().contains("SECRET"));
}

mod renamed {
    pub use llm_traced as my_tracing;
}

#[llm_traced(crate = "renamed::my_tracing", name = "via_renamed_crate")]
fn renamed_crate() -> &'static str {
    "ok"
}

#[test]
fn crate_argument_for_renamed_dependency() {
    let h = everything_on();
    assert_eq!(renamed_crate(), "ok");
    assert_eq!(
        one_record(&h.dir, "via_renamed_crate").status,
        llm_traced::Status::Ok
    );
}

struct Client {
    model: String,
    calls: u32,
}

impl Client {
    #[llm_traced(name = "method_ref", model = self.model)]
    async fn by_ref(&self, messages: &[Msg]) -> String {
        format!("{} {}", self.model, messages.len())
    }

    #[llm_traced(name = "method_mut")]
    async fn by_mut(&mut self) -> String {
        self.calls += 1;
        format!("call {}", self.calls)
    }

    #[llm_traced(name = "method_arc", model = self.model.as_str())]
    async fn by_arc(self: Arc<Self>) -> String {
        self.model.clone()
    }

    #[llm_traced(name = "method_value")]
    fn by_value(self) -> String {
        self.model
    }
}

#[tokio::test]
async fn methods_with_every_receiver() {
    let h = everything_on();
    let mut client = Client {
        model: "m1".into(),
        calls: 0,
    };
    assert_eq!(client.by_ref(&[msg("a")]).await, "m1 1");
    assert_eq!(client.by_mut().await, "call 1");
    assert_eq!(client.calls, 1);
    let shared = Arc::new(Client {
        model: "m2".into(),
        calls: 0,
    });
    assert_eq!(shared.by_arc().await, "m2");
    assert_eq!(
        Client {
            model: "m3".into(),
            calls: 0
        }
        .by_value(),
        "m3"
    );

    let r = one_record(&h.dir, "method_ref");
    assert_eq!(r.request_model.as_deref(), Some("m1"));
    assert!(r.function.ends_with("by_ref"), "{}", r.function);
    assert!(r.function.contains("Client"), "{}", r.function);
    assert_eq!(
        one_record(&h.dir, "method_arc").request_model.as_deref(),
        Some("m2")
    );
    assert_eq!(
        one_record(&h.dir, "method_mut")
            .response
            .unwrap()
            .text
            .as_deref(),
        Some("call 1")
    );
    assert_eq!(
        one_record(&h.dir, "method_value")
            .response
            .unwrap()
            .text
            .as_deref(),
        Some("m3")
    );
}

trait Prompt {
    fn text(&self) -> String;
}

impl Prompt for &str {
    fn text(&self) -> String {
        (*self).to_owned()
    }
}

#[llm_traced(name = "generic_fn", messages = prompts.iter().map(|p| p.text()).collect::<Vec<_>>())]
async fn generic<'a, P, M>(
    prompts: &'a [P],
    model: M,
    extra: impl std::fmt::Display + Send,
) -> Result<String, String>
where
    P: Prompt + Sync,
    M: AsRef<str> + Send,
{
    if prompts.is_empty() {
        return Err("no prompts".to_owned());
    }
    let first = prompts.first().ok_or("unreachable")?;
    Ok(format!("{} {} {}", first.text(), model.as_ref(), extra))
}

#[tokio::test]
async fn generics_lifetimes_where_clauses_impl_trait_question_mark_and_early_return() {
    let h = everything_on();
    assert_eq!(generic(&["p"], "m", 7).await, Ok("p m 7".to_owned()));
    let empty: [&str; 0] = [];
    assert_eq!(generic(&empty, "m", 7).await, Err("no prompts".to_owned()));
    let records = common::records_named(&h.dir, "generic_fn");
    assert_eq!(records.len(), 2);
    let ok = records
        .iter()
        .find(|r| r.status == llm_traced::Status::Ok)
        .unwrap();
    assert_eq!(ok.messages, Some(json!(["p"])));
    let err = records
        .iter()
        .find(|r| r.status == llm_traced::Status::Error)
        .unwrap();
    assert_eq!(err.error.as_ref().unwrap().message, "no prompts");
    assert_eq!(err.error.as_ref().unwrap().error_type, "unknown");
    assert_eq!(
        err.error.as_ref().unwrap().type_name.as_deref(),
        Some("alloc::string::String")
    );
}

#[derive(Debug)]
struct ParseError;

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bad number")
    }
}

impl From<std::num::ParseIntError> for ParseError {
    fn from(_: std::num::ParseIntError) -> Self {
        ParseError
    }
}

#[llm_traced(name = "sync_question_mark")]
fn sync_fn(input: &str) -> Result<String, ParseError> {
    let n: i64 = input.parse()?;
    if n < 0 {
        return Ok("negative".to_owned());
    }
    Ok(format!("{}", n * 2))
}

#[test]
fn plain_fn_with_question_mark_and_early_return() {
    let h = everything_on();
    assert_eq!(sync_fn("21").unwrap(), "42");
    assert_eq!(sync_fn("-1").unwrap(), "negative");
    assert!(sync_fn("x").is_err());
    let records = common::records_named(&h.dir, "sync_question_mark");
    assert_eq!(records.len(), 3);
    let failed: Vec<_> = records
        .iter()
        .filter(|r| r.status == llm_traced::Status::Error)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].error.as_ref().unwrap().error_type, "unknown");
    assert_eq!(
        failed[0].error.as_ref().unwrap().type_name.as_deref(),
        Some("macro_forms::ParseError")
    );
    assert_eq!(failed[0].error.as_ref().unwrap().message, "bad number");
}

/// The doc comment and other attributes stay on the function.
#[llm_traced(name = "kept_attributes")]
#[must_use = "the answer matters"]
#[inline(never)]
async fn with_attributes() -> String {
    "kept".into()
}

#[llm_traced]
async fn in_spawned_task(text: String) -> String {
    tokio::task::yield_now().await;
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attributes_stay_and_future_is_send() {
    let _ = everything_on();
    fn assert_send<T: Send>(t: T) -> T {
        t
    }
    let answer = assert_send(with_attributes()).await;
    assert_eq!(answer, "kept");
    let h = everything_on();
    let spawned = tokio::spawn(in_spawned_task("sp".to_owned()));
    assert_eq!(spawned.await.unwrap(), "sp");
    assert!(one_record(&h.dir, "in_spawned_task")
        .function
        .contains("in_spawned_task"));
}

// ---------------------------------------------------------------------------
// The whole request

/// A request type of the user's own.
#[derive(Serialize)]
struct AskRequest {
    model: String,
    messages: Vec<Msg>,
    temperature: f32,
    max_tokens: u32,
}

#[llm_traced(provider = "openai")]
async fn with_request(request: AskRequest) -> Value {
    reply(&request.messages[0].content)
}

/// Not `Serialize`: an HTTP request, an extractor… left alone, no error.
struct HttpRequest {
    body: Value,
}

#[llm_traced(provider = "anthropic", model = "claude-sonnet-4-5", request = req.body)]
async fn explicit_request(req: HttpRequest) -> Value {
    let _ = &req.body;
    reply("ok")
}

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn opaque_request(request: HttpRequest, messages: Vec<Msg>) -> Value {
    let _ = (&request.body, &messages);
    reply("ok")
}

#[llm_traced(
    provider = "gcp.gemini",
    model = "gemini-2.5-flash",
    operation = "generate_content"
)]
fn gemini_request(request: &Value) -> Value {
    let _ = request;
    json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP"}]})
}

#[tokio::test]
async fn a_serialize_argument_named_request_is_recorded_whole() {
    let h = everything_on();
    with_request(AskRequest {
        model: "gpt-4o-mini".into(),
        messages: vec![msg("from the request")],
        temperature: 0.5,
        max_tokens: 64,
    })
    .await;
    let r = one_record(&h.dir, "with_request");
    let request = r.request.as_ref().expect("request recorded");
    assert_eq!(request["temperature"], 0.5);
    assert_eq!(request["max_tokens"], 64);
    assert_eq!(
        r.request_model.as_deref(),
        Some("gpt-4o-mini"),
        "model from the request"
    );
    assert_eq!(
        r.messages.as_ref().unwrap(),
        &json!([{"role": "user", "content": "from the request"}]),
        "messages from the request"
    );
}

#[tokio::test]
async fn request_expressions_and_opaque_request_arguments() {
    let h = everything_on();
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 1024, "system": "Be brief.",
        "messages": [{"role": "user", "content": "hello"}]});
    explicit_request(HttpRequest { body: body.clone() }).await;
    let r = one_record(&h.dir, "explicit_request");
    assert_eq!(r.request.as_ref(), Some(&body));
    assert_eq!(r.messages.as_ref(), Some(&body["messages"]));

    opaque_request(HttpRequest { body: json!({}) }, vec![msg("kept")]).await;
    let r = one_record(&h.dir, "opaque_request");
    assert!(
        r.request.is_none(),
        "a request that is not Serialize is left alone"
    );
    assert_eq!(r.messages.as_ref().unwrap()[0]["content"], "kept");

    let gemini = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"temperature": 0.1, "maxOutputTokens": 50}});
    gemini_request(&gemini);
    let r = one_record(&h.dir, "gemini_request");
    assert_eq!(r.request.as_ref(), Some(&gemini));
    assert_eq!(
        r.messages.as_ref(),
        Some(&gemini["contents"]),
        "Gemini contents"
    );
}

#[test]
fn files_written_before_the_request_field_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.json");
    std::fs::write(
        &path,
        r#"{"schema":1,"request_id":"019a0000-0000-7000-8000-000000000001","kind":"llm","name":"ask","function":"app::ask","operation":"chat","started_at":"2026-11-27T08:35:16.123Z","ended_at":"2026-11-27T08:35:16.456Z","latency_ms":333.0,"status":"ok","messages":[{"role":"user","content":"hi"}],"tool_calls":[],"finish_reasons":["stop"],"level":"info","warnings":[]}"#,
    )
    .unwrap();
    let r = llm_traced::read_conversation(&path).unwrap();
    assert!(r.request.is_none());
    assert_eq!(r.name, "ask");
}

// ---------------------------------------------------------------------------
// Tool steps: call id, arguments and result

/// Not `Serialize`: left out of the default arguments.
struct Connection;

#[derive(Serialize)]
struct Forecast {
    city: String,
    celsius: f32,
}

struct WeatherTool {
    unit: String,
}

impl WeatherTool {
    /// Looks up the weather
    /// in one city.
    ///
    /// A second paragraph, not part of the description.
    #[llm_traced(kind = "tool", tool_call_id = call_id)]
    async fn weather(
        &self,
        call_id: &str,
        city: &str,
        _db: &Connection,
        days: u8,
    ) -> Result<Forecast, std::io::Error> {
        Ok(Forecast {
            city: format!("{city} ({}, {days} days)", self.unit),
            celsius: 21.5,
        })
    }
}

#[tokio::test]
async fn tool_default_arguments_skip_self_and_what_is_not_serialize() {
    let h = everything_on();
    let tool = WeatherTool { unit: "C".into() };
    tool.weather("call_w1", "Paris", &Connection, 3)
        .await
        .unwrap();
    let r = one_record(&h.dir, "weather");
    assert_eq!(r.kind, "tool");
    assert_eq!(r.tool_call_id.as_deref(), Some("call_w1"));
    assert_eq!(
        r.tool_arguments,
        Some(json!({"call_id": "call_w1", "city": "Paris", "days": 3}))
    );
    assert_eq!(
        r.tool_result,
        Some(json!({"city": "Paris (C, 3 days)", "celsius": 21.5}))
    );
    // The description goes to OpenTelemetry only; the file does not repeat it.
    let text = std::fs::read_to_string(latest_file(&h.dir, "weather")).unwrap();
    assert!(!text.contains("Looks up"), "{text}");
}

#[derive(Serialize)]
struct Query<'a> {
    q: &'a str,
}

#[llm_traced(kind = "tool", tool_call_id = format!("call_{n}"), arguments = Query { q: text })]
fn search_sync(text: &str, n: u32) -> Vec<String> {
    vec![format!("{text}-{n}")]
}

#[llm_traced(kind = "tool", arguments = json!({"path": path}))]
fn read_file(path: &str) -> Result<String, std::io::Error> {
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("{path}: no such file"),
    ))
}

#[llm_traced(kind = "tool")]
async fn opaque_output(a: u32) -> impl std::fmt::Display {
    a + 1
}

#[test]
fn tool_arguments_expression_overrides_and_sync_results_are_recorded() {
    let h = everything_on();
    assert_eq!(search_sync("rust", 7), vec!["rust-7".to_owned()]);
    let r = one_record(&h.dir, "search_sync");
    assert_eq!(r.tool_call_id.as_deref(), Some("call_7"));
    assert_eq!(r.tool_arguments, Some(json!({"q": "rust"})));
    assert_eq!(r.tool_result, Some(json!(["rust-7"])));
}

#[test]
fn tool_error_is_recorded_with_no_result() {
    let h = everything_on();
    assert!(read_file("/nope").is_err());
    let r = one_record(&h.dir, "read_file");
    assert_eq!(r.status, llm_traced::Status::Error);
    assert_eq!(r.error.unwrap().message, "/nope: no such file");
    assert_eq!(r.tool_arguments, Some(json!({"path": "/nope"})));
    assert_eq!(r.tool_result, None);
    assert_eq!(r.tool_call_id, None);
}

#[tokio::test]
async fn tool_with_impl_trait_output_records_arguments_and_no_result() {
    let h = everything_on();
    assert_eq!(opaque_output(1).await.to_string(), "2");
    let r = one_record(&h.dir, "opaque_output");
    assert_eq!(r.tool_arguments, Some(json!({"a": 1})));
    assert_eq!(r.tool_result, None);
}

/// The saved file of the one call named `name`.
fn latest_file(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    assert!(llm_traced::flush());
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .contains(&format!("_{name}_"))
        })
        .unwrap()
}

#[llm_traced(kind = "tool")]
fn generic_tool<S: Serialize, O>(known: S, unknown: O, (a, b): (u32, u32)) -> u32 {
    drop(unknown);
    let _ = known;
    a + b
}

#[test]
fn tool_generic_arguments_by_their_bounds_and_patterns_left_out() {
    let h = everything_on();
    assert_eq!(generic_tool("k", Connection, (1, 2)), 3);
    let r = one_record(&h.dir, "generic_tool");
    assert_eq!(r.tool_arguments, Some(json!({"known": "k"})));
    assert_eq!(r.tool_result, Some(json!(3)));
}

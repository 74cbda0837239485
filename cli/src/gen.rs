//! `llm-traced gen` (hidden): realistic synthetic JSON-lines logs, for
//! benchmarks and demos. Deterministic for a given `--seed`.
//!
//! Every line is a real [`CallRecord`] serialised exactly as the runtime's
//! log writer does: several OpenAI, Anthropic and Google models (dated
//! snapshot names) and one self-hosted model without a price; log-normal
//! token counts per function; latencies that follow the output length and
//! slowly grow over the period; about 2% errors of several types with the
//! providers' messages; a handful of tenants, users and sessions; trace ids
//! shared by the calls of one request; costs from the runtime's price table.
//!
//! With `--conversations DIR` it writes saved conversations instead, one
//! pretty-printed file per call named as the runtime names them, with
//! messages, responses and tool-call arguments, and the later calls of a
//! trace children of its first (for the viewer's benchmark and demos).

use std::borrow::Cow;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Args;
use llm_traced_runtime::record::{CallRecord, ErrorRecord, Status, SCHEMA_VERSION};
use llm_traced_runtime::{ToolCall, Usage};

/// `gen --help`'s examples.
pub(crate) const HELP: &str =
    "Examples:\n  llm-traced gen --records 1000000 --out /tmp/calls.jsonl\n  \
    llm-traced gen --records 1000 --seed 7 | llm-traced stats -\n  \
    llm-traced gen --records 100000 --conversations /tmp/conversations";

/// Write realistic synthetic llm-traced JSON-lines logs, or saved
/// conversations.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// How many records.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// The same seed gives the same file.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE", conflicts_with = "conversations")]
    out: Option<PathBuf>,
    /// Write one saved conversation file per call into this directory
    /// (created if missing) instead of a log.
    #[arg(long, value_name = "DIR")]
    conversations: Option<PathBuf>,
    /// First call's time.
    #[arg(long, default_value = "2026-11-01T00:00:00Z")]
    start: String,
    /// How many days the calls span.
    #[arg(long, default_value_t = 7.0)]
    days: f64,
    /// Conversations: add a pasted document of about this many KiB to each
    /// call's messages (saved conversations of real chats are often 10 to
    /// 50 KiB).
    #[arg(
        long,
        default_value_t = 0,
        value_name = "KIB",
        requires = "conversations"
    )]
    body_kib: usize,
}

/// `fastrand`'s seeded generator, with the distributions the data needs.
struct Rng(fastrand::Rng);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.u64(..)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0.f64()
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0.u64(..n.max(1))
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Log-normal with this median and spread (sigma of the log).
    fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    fn pick<'a, T>(&mut self, items: &'a [(T, u32)]) -> &'a T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.below(u64::from(total)) as u32;
        for (item, w) in items {
            if x < *w {
                return item;
            }
            x -= w;
        }
        &items[items.len() - 1].0
    }

    fn hex(&mut self, digits: usize) -> String {
        let mut s = String::with_capacity(digits);
        while s.len() < digits {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(digits);
        s
    }

    fn alnum(&mut self, n: usize) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..n)
            .map(|_| char::from(CHARS[self.below(CHARS.len() as u64) as usize]))
            .collect()
    }
}

struct Model {
    provider: &'static str,
    request: &'static str,
    response: &'static str,
    /// Time to first token, ms (median).
    ttft_ms: f64,
    /// Per output token, ms.
    per_token_ms: f64,
    context_window: u64,
    reasoning: bool,
}

const MODELS: &[(Model, u32)] = &[
    (
        m(
            "openai",
            "gpt-4o",
            "gpt-4o-2024-08-06",
            450.0,
            11.0,
            128_000,
            false,
        ),
        22,
    ),
    (
        m(
            "openai",
            "gpt-4o-mini",
            "gpt-4o-mini-2024-07-18",
            300.0,
            7.0,
            128_000,
            false,
        ),
        28,
    ),
    (
        m(
            "openai",
            "gpt-4.1",
            "gpt-4.1-2025-04-14",
            500.0,
            12.0,
            1_047_576,
            false,
        ),
        7,
    ),
    (
        m(
            "openai",
            "o3-mini",
            "o3-mini-2025-01-31",
            900.0,
            9.0,
            200_000,
            true,
        ),
        4,
    ),
    (
        m(
            "anthropic",
            "claude-sonnet-4-5",
            "claude-sonnet-4-5-20250929",
            700.0,
            14.0,
            200_000,
            false,
        ),
        14,
    ),
    (
        m(
            "anthropic",
            "claude-3-5-haiku-latest",
            "claude-3-5-haiku-20241022",
            400.0,
            8.0,
            200_000,
            false,
        ),
        8,
    ),
    (
        m(
            "google",
            "gemini-2.5-flash",
            "gemini-2.5-flash",
            350.0,
            5.0,
            1_048_576,
            false,
        ),
        11,
    ),
    (
        m(
            "google",
            "gemini-2.0-flash",
            "gemini-2.0-flash-001",
            300.0,
            4.5,
            1_048_576,
            false,
        ),
        4,
    ),
    (
        m(
            "vllm",
            "llama-3.1-70b-instruct",
            "meta-llama/Llama-3.1-70B-Instruct",
            250.0,
            18.0,
            131_072,
            false,
        ),
        2,
    ),
];

#[allow(clippy::too_many_arguments)]
const fn m(
    provider: &'static str,
    request: &'static str,
    response: &'static str,
    ttft_ms: f64,
    per_token_ms: f64,
    context_window: u64,
    reasoning: bool,
) -> Model {
    Model {
        provider,
        request,
        response,
        ttft_ms,
        per_token_ms,
        context_window,
        reasoning,
    }
}

struct Function {
    path: &'static str,
    name: &'static str,
    input_median: f64,
    output_median: f64,
    tools: &'static [&'static str],
}

const FUNCTIONS: &[(Function, u32)] = &[
    (f("app::chat::answer", "answer", 900.0, 180.0, &[]), 40),
    (
        f("app::rag::summarize", "summarize", 3500.0, 350.0, &[]),
        15,
    ),
    (
        f(
            "app::agents::plan",
            "plan",
            2200.0,
            220.0,
            &["search_docs", "get_order", "create_ticket"],
        ),
        12,
    ),
    (
        f(
            "app::extract::invoice_fields",
            "invoice_fields",
            1600.0,
            120.0,
            &[],
        ),
        10,
    ),
    (
        f(
            "app::support::classify_ticket",
            "classify_ticket",
            350.0,
            8.0,
            &[],
        ),
        15,
    ),
    (f("app::search::rerank", "rerank", 1200.0, 40.0, &[]), 8),
];

const fn f(
    path: &'static str,
    name: &'static str,
    input_median: f64,
    output_median: f64,
    tools: &'static [&'static str],
) -> Function {
    Function {
        path,
        name,
        input_median,
        output_median,
        tools,
    }
}

const TENANTS: &[(&str, u32)] = &[
    ("acme", 40),
    ("globex", 25),
    ("initech", 15),
    ("umbrella", 12),
    ("hooli", 8),
];

struct Failure {
    kind: &'static str,
    status: Option<u16>,
    code: Option<&'static str>,
    type_name: &'static str,
}

const FAILURES: &[(Failure, u32)] = &[
    (e("rate_limit", Some(429), Some("rate_limit_exceeded")), 40),
    (e("timeout", None, None), 18),
    (e("server_error", Some(500), None), 14),
    (e("overloaded", Some(529), Some("overloaded_error")), 10),
    (
        e("context_length", Some(400), Some("context_length_exceeded")),
        10,
    ),
    (
        e("invalid_request", Some(400), Some("invalid_request_error")),
        6,
    ),
    (e("authentication", Some(401), Some("invalid_api_key")), 2),
];

const fn e(kind: &'static str, status: Option<u16>, code: Option<&'static str>) -> Failure {
    Failure {
        kind,
        status,
        code,
        type_name: "app::llm::ClientError",
    }
}

struct Generator {
    rng: Rng,
    start_ms: i64,
    span_ms: f64,
    total: u64,
    trace: String,
    /// The span of the trace's first call (conversations: the later calls' parent).
    root_span: Option<String>,
    /// The start (ms) and latency of the trace's first call.
    root: (i64, f64),
    /// Whether to record content (messages, response, tool arguments).
    content: bool,
    template: CallRecord,
}

impl Generator {
    fn record(&mut self, i: u64) -> CallRecord {
        let rng = &mut self.rng;
        let progress = i as f64 / self.total.max(1) as f64;
        let started_ms = self.start_ms + (progress * self.span_ms) as i64 + rng.below(1000) as i64;
        let model = rng.pick(MODELS);
        let function = rng.pick(FUNCTIONS);
        let tenant = *rng.pick(TENANTS);
        let user = rng.below(60);
        let session = rng.below(8);
        let new_trace = i == 0 || rng.chance(0.55);
        if new_trace {
            self.trace = rng.hex(32);
        }
        let input = rng
            .log_normal(function.input_median, 0.6)
            .clamp(5.0, 120_000.0) as u64;
        let mut output = rng
            .log_normal(function.output_median, 0.7)
            .clamp(1.0, 8_000.0) as u64;
        let reasoning = model
            .reasoning
            .then(|| (output as f64 * rng.log_normal(3.0, 0.5)) as u64);
        if let Some(r) = reasoning {
            output += r;
        }
        let slowdown = 1.0 + 0.35 * progress;
        let mut latency = (rng.log_normal(model.ttft_ms, 0.35)
            + output as f64 * model.per_token_ms)
            * slowdown
            * rng.log_normal(1.0, 0.2);

        let failure = rng.chance(0.02).then(|| rng.pick(FAILURES));
        let failure = match failure {
            Some(f) if f.kind == "overloaded" && model.provider != "anthropic" => {
                Some(&FAILURES[2].0) // others report a server error
            }
            other => other,
        };
        let (status, error, usage, finish, level) = match failure {
            None => {
                let cached = (model.provider == "openai" && rng.chance(0.3))
                    .then(|| (input as f64 * 0.6) as u64 / 128 * 128);
                let usage = Usage {
                    input_tokens: Some(input),
                    output_tokens: Some(output),
                    total_tokens: Some(input + output),
                    cached_input_tokens: cached,
                    reasoning_tokens: reasoning,
                    ..Usage::default()
                };
                let finish = if rng.chance(0.02) { "length" } else { "stop" };
                (Status::Ok, None, Some(usage), finish, "info")
            }
            Some(f) => {
                latency = match f.kind {
                    "timeout" => rng.log_normal(60_000.0, 0.02),
                    "rate_limit" | "authentication" | "invalid_request" => {
                        rng.log_normal(180.0, 0.4)
                    }
                    _ => rng.log_normal(1200.0, 0.6),
                };
                let message = failure_message(f, model, input, rng);
                let error = ErrorRecord {
                    message,
                    error_type: f.kind.to_owned(),
                    type_name: Some(f.type_name.to_owned()),
                    http_status: f.status,
                    retryable: Some(matches!(
                        f.kind,
                        "rate_limit" | "timeout" | "server_error" | "overloaded"
                    )),
                    retry_after_ms: (f.kind == "rate_limit").then(|| 1000 + rng.below(20) * 500),
                    code: f.code.map(str::to_owned),
                    diagnosis: None,
                };
                (Status::Error, Some(error), None, "", "error")
            }
        };
        let tool_calls: Vec<ToolCall> =
            if status == Status::Ok && !function.tools.is_empty() && rng.chance(0.35) {
                let tool = function.tools[rng.below(function.tools.len() as u64) as usize];
                let arguments = if self.content {
                    format!(
                        "{{\"query\":\"{}\",\"limit\":{}}}",
                        words(rng, 3),
                        1 + rng.below(10)
                    )
                } else {
                    String::new()
                };
                vec![ToolCall {
                    id: Some(format!("call_{}", rng.alnum(24))),
                    name: tool.to_owned(),
                    arguments,
                }]
            } else {
                Vec::new()
            };
        let finish = if tool_calls.is_empty() {
            finish
        } else {
            "tool_calls"
        };
        let mut warnings = Vec::new();
        if status == Status::Ok && latency > 30_000.0 {
            warnings.push("slow".to_owned());
        }
        if finish == "length" {
            warnings.push("truncated".to_owned());
        }
        let level = if level == "info" && !warnings.is_empty() {
            "warn"
        } else {
            level
        };
        let cost = usage.and_then(|u| {
            llm_traced_runtime::pricing::lookup(model.request).and_then(|p| p.cost(&u))
        });
        let response_id = (status == Status::Ok).then(|| match model.provider {
            "openai" => format!("chatcmpl-{}", rng.alnum(29)),
            "anthropic" => format!("msg_01{}", rng.alnum(22)),
            _ => rng.alnum(20),
        });
        // Conversations: the later calls of a trace run inside its first.
        let started_ms = if !self.content {
            started_ms
        } else if new_trace {
            self.root = (started_ms, latency);
            started_ms
        } else {
            self.root.0 + (rng.unit() * self.root.1 * 0.7) as i64
        };
        let started = from_millis(started_ms);
        let ended = from_millis(started_ms + latency.round() as i64);
        let seq = rng.next();
        // Fields are set one by one on a template, so that fields added to
        // the schema later keep their defaults.
        let mut r = self.template.clone();
        r.request_id = uuid_v7(started_ms, seq);
        r.trace_id = Some(self.trace.clone());
        r.span_id = Some(rng.hex(16));
        if self.content {
            if new_trace {
                self.root_span = r.span_id.clone();
            } else {
                r.parent_span_id = self.root_span.clone();
            }
            let n = 4 + rng.below(30) as usize;
            let question = format!(
                "{} {}?",
                QUESTIONS[rng.below(QUESTIONS.len() as u64) as usize],
                words(rng, n)
            );
            r.messages = Some(serde_json::json!([
                {"role": "system", "content": format!("You are the {} assistant of {tenant}. Answer briefly and cite the documents.", function.name)},
                {"role": "user", "content": question},
            ]));
            if status == Status::Ok {
                let n = 10 + rng.below(120) as usize;
                r.response = Some(llm_traced_runtime::record::ResponseContent {
                    text: Some(words(rng, n)),
                    ..Default::default()
                });
            }
        }
        r.user_id = Some(format!("u{}", 1000 + user));
        r.session_id = Some(format!("s{}-{}", 1000 + user, session));
        r.tenant_id = Some(tenant.to_owned());
        r.name = Cow::Borrowed(function.name);
        r.function = Cow::Borrowed(function.path);
        r.provider = Some(Cow::Borrowed(model.provider));
        r.request_model = Some(model.request.to_owned());
        r.response_model = (status == Status::Ok).then(|| model.response.to_owned());
        r.response_id = response_id;
        r.started_at = started;
        r.ended_at = ended;
        r.seq = Some(i);
        r.latency_ms = (latency * 1000.0).round() / 1000.0;
        r.status = status;
        r.tool_calls = tool_calls;
        r.usage = usage;
        r.finish_reasons = if finish.is_empty() {
            Vec::new()
        } else {
            vec![finish.to_owned()]
        };
        r.error = error;
        r.cost_usd = cost;
        r.level = Cow::Borrowed(level);
        r.warnings = warnings;
        r
    }
}

const QUESTIONS: &[&str] = &[
    "How do I reset my password for",
    "Summarise the attached contract about",
    "Which invoices are overdue for",
    "Classify this support ticket about",
    "What is the refund policy for",
    "Find the documents that mention",
];

const WORDS: &[&str] = &[
    "account",
    "billing",
    "invoice",
    "order",
    "shipment",
    "delivery",
    "warranty",
    "contract",
    "renewal",
    "discount",
    "customer",
    "ticket",
    "priority",
    "escalation",
    "policy",
    "region",
    "subscription",
    "payment",
    "card",
    "transfer",
    "balance",
    "report",
    "quarter",
    "revenue",
    "forecast",
    "inventory",
    "supplier",
    "product",
    "feature",
    "release",
    "bug",
    "latency",
    "outage",
    "migration",
    "database",
    "backup",
    "security",
    "access",
    "password",
    "login",
    "the",
    "a",
    "of",
    "and",
    "for",
    "with",
    "in",
    "on",
    "to",
    "from",
    "about",
    "after",
];

fn words(rng: &mut Rng, n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
    }
    out
}

fn failure_message(f: &Failure, model: &Model, input: u64, rng: &mut Rng) -> String {
    match (f.kind, model.provider) {
        ("rate_limit", "anthropic") => "Error code: 429 - {'type': 'error', 'error': {'type': 'rate_limit_error', \
             'message': 'This request would exceed the rate limit for your organization of 80,000 input tokens per minute.'}}"
            .to_owned(),
        ("rate_limit", _) => format!(
            "Rate limit reached for {} in organization org-{} on tokens per min (TPM): Limit 200000, Used {}, Requested {}. Please try again in {}ms.",
            model.request,
            rng.alnum(12),
            190_000 + rng.below(10_000),
            input,
            200 + rng.below(2000)
        ),
        ("timeout", _) => "request timed out after 60s".to_owned(),
        ("server_error", _) => "The server had an error while processing your request. Sorry about that!".to_owned(),
        ("overloaded", _) => "Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error', 'message': 'Overloaded'}}".to_owned(),
        ("context_length", _) => format!(
            "This model's maximum context length is {} tokens. However, your messages resulted in {} tokens.",
            model.context_window,
            model.context_window + 1 + rng.below(5000)
        ),
        ("invalid_request", _) => "Invalid schema for response_format 'invoice': 'additionalProperties' is required to be supplied and to be false".to_owned(),
        _ => "Incorrect API key provided: sk-proj-****************abcd. You can find your API key at https://platform.openai.com/account/api-keys.".to_owned(),
    }
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A UUID v7: the millisecond time, then random bits.
fn uuid_v7(ms: i64, random: u64) -> String {
    let t = ms as u64 & 0xffff_ffff_ffff;
    format!(
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        t >> 16,
        t & 0xffff,
        (random >> 52) & 0xfff,
        0x8000 | ((random >> 36) & 0x3fff),
        random & 0xffff_ffff_ffff
    )
}

/// Runs `gen`.
pub fn run(args: &GenArgs) -> ExitCode {
    let start_ms = match DateTime::parse_from_rfc3339(&args.start) {
        Ok(t) => t.timestamp_millis(),
        Err(e) => {
            eprintln!("llm-traced gen: --start {}: {e}", args.start);
            return ExitCode::from(2);
        }
    };
    let out: Box<dyn Write> = match (&args.out, &args.conversations) {
        (_, Some(_)) => Box::new(std::io::sink()),
        (Some(path), None) => match std::fs::File::create(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("llm-traced gen: cannot create {}: {e}", path.display());
                return ExitCode::from(3);
            }
        },
        (None, None) => Box::new(std::io::stdout().lock()),
    };
    let template = serde_json::json!({
        "schema": SCHEMA_VERSION, "request_id": "", "kind": "llm", "name": "", "function": "",
        "operation": "chat", "started_at": "2026-11-01T00:00:00Z", "ended_at": "2026-11-01T00:00:00Z",
        "latency_ms": 0.0, "status": "ok", "level": "info",
    });
    let template: CallRecord = match serde_json::from_value(template) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("llm-traced gen: the record schema changed: {e}");
            return ExitCode::from(3);
        }
    };
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let mut generator = Generator {
        rng: Rng(fastrand::Rng::with_seed(args.seed)),
        start_ms,
        span_ms: args.days.max(0.0) * 86_400_000.0,
        total: args.records,
        trace: String::new(),
        root_span: None,
        root: (0, 0.0),
        content: args.conversations.is_some(),
        template,
    };
    if let Some(dir) = &args.conversations {
        return write_conversations(&mut generator, args.records, dir, args.body_kib);
    }
    let mut line = Vec::with_capacity(1024);
    for i in 0..args.records {
        let record = generator.record(i);
        line.clear();
        if serde_json::to_writer(&mut line, &record).is_err() {
            continue;
        }
        line.push(b'\n');
        if let Err(e) = out.write_all(&line) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("llm-traced gen: cannot write: {e}");
            return ExitCode::from(3);
        }
    }
    if let Err(e) = out.flush() {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("llm-traced gen: cannot write: {e}");
            return ExitCode::from(3);
        }
    }
    ExitCode::SUCCESS
}

/// Writes one saved conversation per call into `dir`, as the runtime does.
fn write_conversations(
    generator: &mut Generator,
    records: u64,
    dir: &std::path::Path,
    body_kib: usize,
) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("llm-traced gen: cannot create {}: {e}", dir.display());
        return ExitCode::from(3);
    }
    const PARAGRAPH: &str = "The quarterly review covered revenue, hiring and the roadmap; \
        each team lead summarised open risks and the decisions still pending. ";
    let document = PARAGRAPH.repeat((body_kib * 1024).div_ceil(PARAGRAPH.len()));
    for i in 0..records {
        let mut record = generator.record(i);
        if body_kib > 0 {
            let pasted = serde_json::json!({"role": "user", "content": document});
            match &mut record.messages {
                Some(serde_json::Value::Array(messages)) => messages.insert(0, pasted),
                _ => record.messages = Some(serde_json::Value::Array(vec![pasted])),
            }
        }
        let path = dir.join(llm_traced_runtime::conversation_file_name(&record));
        let body = match serde_json::to_vec_pretty(&record) {
            Ok(b) => b,
            Err(_) => continue,
        };
        if let Err(e) = std::fs::write(&path, body) {
            eprintln!("llm-traced gen: cannot write {}: {e}", path.display());
            return ExitCode::from(3);
        }
    }
    ExitCode::SUCCESS
}

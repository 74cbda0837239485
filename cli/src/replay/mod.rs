//! `replay`: a recorded call sent again, as it was or with changes, and
//! what changed. The request is rebuilt from the record's `request` (or,
//! with `--from-messages`, from its messages alone) in the provider's own
//! protocol ([`wire`]); the call goes through `#[llm_traced]` functions
//! ([`call`]) so it is recorded like any other, with `replay_of` in its
//! metadata and in the original's trace; the comparison is [`diff`]'s.

mod call;
mod diff;
mod wire;

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use llm_traced_runtime::context::TraceParent;
use llm_traced_runtime::record::CallRecord;
use llm_traced_runtime::{Config, Context};
use serde_json::Value;

use crate::conversations::{conversation_files, load};
use crate::exit::{Failure, Outcome};
use crate::render::{Paint, Style};
use wire::{Overrides, Prepared, Wire};

/// `replay --help`'s examples and exit codes.
pub(crate) const HELP: &str = "\
Examples:
  llm-traced replay 49f07b0e                       as it was; what changed
  llm-traced replay 49f07b0e --model gpt-4o-mini --set temperature=0
  llm-traced replay 49f07b0e -n 5 --expect same-text      flaky? (exit 1)
  llm-traced replay 49f07b0e --dry-run             the request and a curl command
  llm-traced replay FILE --base-url http://localhost:11434/v1 --api-key-env OLLAMA_KEY

The request goes in the record's provider protocol: OpenAI and compatible
(OPENAI_BASE_URL, else api.openai.com), Anthropic (/v1/messages), Gemini
(:generateContent) or Azure OpenAI (AZURE_OPENAI_ENDPOINT, the deployment from
the model, AZURE_OPENAI_API_VERSION). The key is read only from the variable
(OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, AZURE_OPENAI_API_KEY or
--api-key-env), never from the record, and never printed. A call that
streamed is replayed streaming.

The new call is recorded like any other: saved in LLM_CONVERSATIONS_DIR when
set, else beside the original; in the JSON log when LLM_LOG_FILE is set; with
`replay_of` (the original's request id) in its metadata, in the original's
trace. A record without its request is refused unless --from-messages; a
record whose content was masked gets a warning naming the kinds (--strict
refuses it).

Exit codes: 0 replayed; 1 a replayed call failed, or differed under --expect;
2 usage error, or a record refused; 3 a file could not be read.";

/// What `--expect` requires of the replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Expect {
    /// The answer's text is the same.
    SameText,
    /// The tool calls are the same (names, then arguments as JSON).
    SameTools,
}

/// `replay`'s arguments.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Conversation files or IDs from `ls`.
    #[arg(required = true, value_name = "FILE|ID")]
    pub calls: Vec<String>,
    /// Send to this base URL instead of the provider's (OpenAI: …/v1).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// The environment variable that holds the key.
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// Another model (Azure: deployment).
    #[arg(long, value_name = "M")]
    pub model: Option<String>,
    /// Set a request field: `temperature=0`, `max_tokens=50`,
    /// `generationConfig.temperature=0`; the value is JSON.
    #[arg(long = "set", value_name = "KEY=JSON", value_parser = wire::parse_set)]
    pub set: Vec<(String, Value)>,
    /// Run each call this many times.
    #[arg(short = 'n', value_name = "K", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub times: u32,
    /// Print the request as JSON and as a curl command; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Where IDs are looked up.
    #[arg(
        long,
        env = "LLM_CONVERSATIONS_DIR",
        default_value = "llm_conversations",
        value_name = "DIR"
    )]
    pub dir: PathBuf,
    /// Exit 1 when a replay's answer differs.
    #[arg(long, value_enum, value_name = "WHAT")]
    pub expect: Option<Expect>,
    /// Replay a record without its request from its messages alone.
    #[arg(long)]
    pub from_messages: bool,
    /// Refuse records whose content was masked.
    #[arg(long)]
    pub strict: bool,
}

/// What `--from-messages` loses.
const LOST: &str = "the model's parameters (temperature, max tokens, seed, stop sequences), \
                    tools and tool choice, and the response format";

/// A record to replay, with the request made from it.
struct Job {
    path: PathBuf,
    record: CallRecord,
    prepared: Prepared,
    key_env: String,
}

/// Runs `replay`.
pub fn run(args: &ReplayArgs, style: Style) -> Result<Outcome, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let warn = Style::decide(
        crate::render::ColorChoice::Auto,
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
    );
    let mut jobs = Vec::new();
    for arg in &args.calls {
        for path in resolve(arg, &args.dir)? {
            let loaded = load(&path).map_err(|skip| Failure::Input(skip.to_string()))?;
            jobs.push(prepare(args, &path, loaded.record, &env, warn)?);
        }
    }
    if args.dry_run {
        let mut out = String::new();
        for job in &jobs {
            out.push_str(&format!(
                "# {} ({}): POST {}\n",
                crate::ls::short_id(&job.record.request_id),
                job.path.display(),
                job.prepared.url
            ));
            out.push_str(&serde_json::to_string_pretty(&job.prepared.body).unwrap_or_default());
            out.push_str("\n\n");
            out.push_str(&wire::curl(&job.prepared, &job.key_env));
            out.push('\n');
        }
        crate::exit::print(&out)?;
        return Ok(Outcome::Clean);
    }
    // Every key is checked before anything is sent.
    let mut keys = Vec::new();
    for job in &jobs {
        match env(&job.key_env).filter(|k| !k.trim().is_empty()) {
            Some(key) => keys.push(key.trim().to_owned()),
            None => {
                return Err(Failure::Usage(format!(
                "{} is not set: the key is read from it (name another variable with --api-key-env)",
                job.key_env
            )))
            }
        }
    }
    let out_dir = env("LLM_CONVERSATIONS_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            jobs[0]
                .path
                .parent()
                .map(Path::to_owned)
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or_else(|| PathBuf::from("."))
        });
    Config::from_env()
        .save_conversations(true)
        .conversations_dir(&out_dir)
        .install()
        .map_err(|e| Failure::Input(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Input(format!("cannot start the runtime: {e}")))?;
    let client = call::client().map_err(Failure::Input)?;

    let mut outcome = Outcome::Clean;
    for (job, key) in jobs.iter().zip(&keys) {
        for run in 1..=args.times {
            let before = existing(&out_dir);
            let context = context_of(&job.record);
            let result = runtime.block_on(context.scope(call::run(&job.prepared, &client, key)));
            llm_traced_runtime::flush();
            let new = find_new(&out_dir, &before, &job.record.request_id);
            let mut text = format!(
                "replay of {} ({} {} → {}){}: ",
                crate::ls::short_id(&job.record.request_id),
                job.prepared.wire.provider(),
                job.record.request_model.as_deref().unwrap_or("-"),
                job.prepared.model,
                if args.times > 1 {
                    format!(", run {run} of {}", args.times)
                } else {
                    String::new()
                }
            );
            match (&result, &new) {
                (_, Some((path, _))) => text.push_str(&format!("saved {}\n", path.display())),
                _ => text.push_str("not saved\n"),
            }
            if let Err(e) = &result {
                text.push_str(&style.paint(Paint::Red, &format!("failed: {e}\n")));
                outcome = Outcome::Findings;
            } else if let Some((_, record)) = &new {
                text.push_str(&diff::report(&job.record, record, style));
                let differs = match args.expect {
                    Some(Expect::SameText) => !diff::same_text(&job.record, record),
                    Some(Expect::SameTools) => !diff::same_tools(&job.record, record),
                    None => false,
                };
                if differs {
                    text.push_str(&style.paint(
                        Paint::Red,
                        match args.expect {
                            Some(Expect::SameTools) => {
                                "expected the same tool calls: they differ\n"
                            }
                            _ => "expected the same text: it differs\n",
                        },
                    ));
                    outcome = Outcome::Findings;
                }
            }
            text.push('\n');
            crate::exit::print(&text)?;
        }
    }
    Ok(outcome)
}

/// A FILE, or the files whose names hold an ID in `dir`.
fn resolve(arg: &str, dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let path = Path::new(arg);
    if path.is_dir() {
        return Err(Failure::Usage(format!(
            "{arg} is a directory: name a conversation file or an ID"
        )));
    }
    if path.exists() {
        return Ok(vec![path.to_owned()]);
    }
    match crate::show::find_by_id(dir, arg) {
        Some(found) if !found.is_empty() => Ok(found),
        _ => Err(Failure::Input(format!(
            "{arg}: no such file, and no conversation in {} has it in its name",
            dir.display()
        ))),
    }
}

/// Checks a record and rebuilds its request.
fn prepare(
    args: &ReplayArgs,
    path: &Path,
    record: CallRecord,
    env: &dyn Fn(&str) -> Option<String>,
    warn: Style,
) -> Result<Job, Failure> {
    let id = crate::ls::short_id(&record.request_id).to_owned();
    let wire = Wire::of(record.provider.as_deref());
    if !record.masked.is_empty() {
        let kinds = record
            .masked
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        if args.strict {
            return Err(Failure::Usage(format!(
                "{id}: refused (--strict): its content was masked ({kinds}), so the recorded \
                 request is not the original"
            )));
        }
        eprintln!(
            "{}",
            warn.paint(
                Paint::Yellow,
                &format!(
                    "llm-traced: warning: {id}: its content was masked ({kinds}): the model sees \
                     the placeholders, not the original text"
                )
            )
        );
    }
    let body = match (&record.request, args.from_messages) {
        (Some(Value::Object(request)), _) => request.clone(),
        (Some(_), false) | (None, false) => {
            return Err(Failure::Usage(format!(
                "{id}: refused: the record has no request (it was recorded without \
                 `#[llm_traced(request = …)]` or a `request` argument, or before requests \
                 were recorded); --from-messages replays its messages alone, losing {LOST}"
            )))
        }
        (_, true) => {
            let Some(messages) = record.messages.clone() else {
                return Err(Failure::Usage(format!(
                    "{id}: refused: the record has neither a request nor messages \
                     (content was not recorded)"
                )));
            };
            eprintln!(
                "{}",
                warn.paint(
                    Paint::Yellow,
                    &format!(
                        "llm-traced: warning: {id}: replaying the messages alone: {LOST} are lost"
                    )
                )
            );
            wire::from_messages(wire, messages)
        }
    };
    let stream = record.stream.is_some()
        || record.time_to_first_chunk_ms.is_some()
        || body.get("stream").and_then(Value::as_bool) == Some(true);
    let overrides = Overrides {
        model: args.model.clone(),
        set: args.set.clone(),
        base_url: args.base_url.clone(),
    };
    let prepared = wire::prepare(
        wire,
        &record.operation,
        body,
        record.request_model.as_deref(),
        stream,
        &overrides,
        env,
    )
    .map_err(|e| Failure::Usage(format!("{id}: {e}")))?;
    Ok(Job {
        path: path.to_owned(),
        key_env: args
            .api_key_env
            .clone()
            .unwrap_or_else(|| wire.key_env().to_owned()),
        record,
        prepared,
    })
}

/// The context the replay runs in: the original's trace (a child of its
/// span), its user, session and tenant, and `replay_of`.
fn context_of(r: &CallRecord) -> Context {
    let parent = r
        .trace_id
        .as_deref()
        .zip(r.span_id.as_deref())
        .and_then(|(t, s)| TraceParent::parse(&format!("00-{t}-{s}-01")));
    let mut context = match (parent, r.trace_id.as_deref()) {
        (Some(p), _) => Context::from_traceparent(p),
        (None, Some(t)) => llm_traced_runtime::context::TraceId::from_hex(t)
            .map_or_else(Context::new_trace, Context::from_trace_id),
        (None, None) => Context::new_trace(),
    };
    if let Some(u) = &r.user_id {
        context = context.with_user(u.clone());
    }
    if let Some(s) = &r.session_id {
        context = context.with_session(s.clone());
    }
    if let Some(t) = &r.tenant_id {
        context = context.with_tenant(t.clone());
    }
    context.with_replay_of(r.request_id.clone())
}

fn existing(dir: &Path) -> std::collections::HashSet<PathBuf> {
    conversation_files(dir)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// The conversation file the replay wrote.
fn find_new(
    dir: &Path,
    before: &std::collections::HashSet<PathBuf>,
    original: &str,
) -> Option<(PathBuf, CallRecord)> {
    conversation_files(dir)
        .ok()?
        .into_iter()
        .rev()
        .filter(|p| !before.contains(p))
        .filter_map(|p| load(&p).ok())
        .find(|l| l.record.replay_of.as_deref() == Some(original))
        .map(|l| (l.path, l.record))
}

//! `ls`: the saved conversations of a directory as a table, newest first.

use clap::Args;
use serde::Serialize;
use std::path::PathBuf;

use llm_traced_runtime::Status;

use crate::conversations::{conversation_files, Call, Meta, Order};
use crate::exit::{Failure, Outcome};
use crate::render::{self, Column, Paint, Style, Table};

/// `ls --help`'s examples and exit codes.
pub(crate) const HELP: &str = "\
Examples:
  llm-traced ls                              $LLM_CONVERSATIONS_DIR or
                                             ./llm_conversations
  llm-traced ls /var/log/app/conversations --model gpt-4o --since 2026-11-27
  llm-traced ls --errors --since 30m         failed calls of the last 30 minutes
  llm-traced ls --trace 4a0602d9             every call of one request
  llm-traced ls --errors --paths | xargs llm-traced show

ID is the end of the request id: `llm-traced show ID` opens the file.
Times are UTC. --since/--until take RFC 3339, a date (2026-11-27), a date
and time (2026-11-27 09:00) or an age (90s, 30m, 2h, 7d).

Exit codes: 0 done; 1 some files were not llm-traced records; 2 usage error;
3 the directory could not be read.";

/// `ls`'s arguments.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// The directory of saved conversations.
    #[arg(
        env = "LLM_CONVERSATIONS_DIR",
        default_value = "llm_conversations",
        value_name = "DIR"
    )]
    pub dir: PathBuf,
    /// Which calls.
    #[command(flatten)]
    pub filter: crate::conversations::Filter,
    /// At most this many rows (the newest).
    #[arg(short = 'n', long, value_name = "N")]
    pub limit: Option<usize>,
    /// Print only the files' paths, one per line.
    #[arg(long, conflicts_with = "json")]
    pub paths: bool,
    /// Add the FILE column (wider than 80 columns).
    #[arg(long, conflicts_with = "json")]
    pub wide: bool,
    /// Print JSON (one array) for scripts.
    #[arg(long)]
    pub json: bool,
}

/// One row of `ls --json`.
#[derive(Debug, Serialize)]
pub struct Entry<'a> {
    /// The file.
    pub file: String,
    /// The request id.
    pub request_id: &'a str,
    /// When the call started (RFC 3339, UTC).
    pub started_at: String,
    /// The call's name.
    pub name: &'a str,
    /// The function's path.
    pub function: &'a str,
    /// The provider.
    pub provider: Option<&'a str>,
    /// The model asked for.
    pub request_model: Option<&'a str>,
    /// The model that answered.
    pub response_model: Option<&'a str>,
    /// Input tokens.
    pub input_tokens: Option<u64>,
    /// Output tokens.
    pub output_tokens: Option<u64>,
    /// Total tokens.
    pub total_tokens: Option<u64>,
    /// Cost, USD.
    pub cost_usd: Option<f64>,
    /// Latency, ms.
    pub latency_ms: f64,
    /// `ok`, `error`, `panic` or `cancelled`.
    pub status: &'static str,
    /// The error's type.
    pub error_type: Option<&'a str>,
    /// The trace.
    pub trace_id: Option<&'a str>,
    /// The session.
    pub session_id: Option<&'a str>,
    /// The user.
    pub user_id: Option<&'a str>,
    /// The tenant.
    pub tenant_id: Option<&'a str>,
}

impl<'a> Entry<'a> {
    fn new(row: &'a Row) -> Self {
        let m = &row.meta;
        Entry {
            file: row.path.display().to_string(),
            request_id: &m.request_id,
            started_at: crate::when::format_micros(row.started),
            name: &m.name,
            function: &m.function,
            provider: m.provider.as_deref(),
            request_model: m.request_model.as_deref(),
            response_model: m.response_model.as_deref(),
            input_tokens: m.usage.and_then(|u| u.input_tokens),
            output_tokens: m.usage.and_then(|u| u.output_tokens),
            total_tokens: m.usage.and_then(|u| u.total()),
            cost_usd: m.cost_usd,
            latency_ms: m.latency_ms,
            status: m.status.as_str(),
            error_type: m.error.as_ref().and_then(|e| e.error_type.as_deref()),
            trace_id: m.trace_id.as_deref(),
            session_id: m.session_id.as_deref(),
            user_id: m.user_id.as_deref(),
            tenant_id: m.tenant_id.as_deref(),
        }
    }
}

/// A listed call: its file, its metadata, its start (epoch µs).
struct Row {
    path: std::path::PathBuf,
    meta: Meta,
    started: i64,
}

/// The short ID `ls` shows: the last 8 characters of the request id, which
/// `show ID` finds in the file name.
pub fn short_id(request_id: &str) -> &str {
    let start = request_id.len().saturating_sub(8);
    request_id.get(start..).unwrap_or(request_id)
}

/// Runs `ls`.
pub fn run(args: &LsArgs, style: Style) -> Result<Outcome, Failure> {
    let dir = &args.dir;
    if !dir.is_dir() {
        return Err(Failure::Input(format!(
            "{}: no such directory (conversations are saved with LLM_SAVE_CONVERSATIONS=1, \
             in LLM_CONVERSATIONS_DIR or ./llm_conversations)",
            dir.display()
        )));
    }
    let files = conversation_files(dir)
        .map_err(|e| Failure::Input(format!("cannot read {}: {e}", dir.display())))?;
    // Newest first by name (names start with the start time), reading only
    // each file's metadata, and only as many files as the rows asked for:
    // `-n 5` reads a handful of files however many there are.
    let mut outcome = Outcome::Clean;
    let mut loaded = Vec::new();
    let mut total = 0;
    for file in files.iter().rev() {
        if args.limit.is_some_and(|n| loaded.len() >= n) {
            break;
        }
        let meta = std::fs::read(file)
            .map_err(|e| format!("{}: {e}", file.display()))
            .and_then(|bytes| Meta::parse(&bytes).map_err(|e| format!("{}: {e}", file.display())));
        match meta {
            Ok(meta) => {
                total += 1;
                let started = crate::when::rfc3339_micros(&meta.started_at).unwrap_or(0);
                if args.filter.matches(&Call::of_meta(&meta, started)) {
                    loaded.push(Row {
                        path: file.clone(),
                        meta,
                        started,
                    });
                }
            }
            Err(why) => {
                eprintln!("llm-traced: skipped {why}");
                outcome = Outcome::Findings;
            }
        }
    }
    // Newest first: the reverse of the order the calls started in.
    fn order(r: &Row) -> Order<'_> {
        Order {
            started_us: r.started,
            seq: r.meta.seq,
            request_id: &r.meta.request_id,
        }
    }
    loaded.sort_by(|a, b| order(b).cmp(&order(a)));

    let text = if args.json {
        let entries: Vec<Entry<'_>> = loaded.iter().map(Entry::new).collect();
        let mut s =
            serde_json::to_string_pretty(&entries).map_err(|e| Failure::Input(e.to_string()))?;
        s.push('\n');
        s
    } else if args.paths {
        loaded
            .iter()
            .map(|l| format!("{}\n", l.path.display()))
            .collect()
    } else if loaded.is_empty() {
        if total == 0 {
            format!("No conversations in {}.\n", dir.display())
        } else {
            format!(
                "None of the {total} conversations in {} match.\n",
                dir.display()
            )
        }
    } else {
        table(args, &loaded, style)
    };
    crate::exit::print(&text)?;
    Ok(outcome)
}

/// `name=mean` (or `name=label`) per score name, in name order.
pub fn score_cell(scores: &[llm_traced_runtime::score::ScoreLine]) -> String {
    let mut by_name: std::collections::BTreeMap<&str, (f64, u32, Option<&str>)> =
        Default::default();
    for s in scores {
        let e = by_name.entry(&s.name).or_default();
        if let Some(x) = s.value {
            e.0 += x;
            e.1 += 1;
        } else {
            e.2 = s.label.as_deref();
        }
    }
    by_name
        .iter()
        .map(|(name, (sum, n, label))| match (n, label) {
            (0, Some(label)) => format!("{name}={label}"),
            _ => {
                let mean = format!("{:.2}", sum / f64::from((*n).max(1)));
                let mean = mean.trim_end_matches('0').trim_end_matches('.');
                format!("{name}={mean}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn table(args: &LsArgs, loaded: &[Row], style: Style) -> String {
    let mut columns = vec![
        Column::fixed("TIME (UTC)"),
        Column::text("NAME"),
        Column::text("MODEL"),
        Column::number("TOKENS"),
        Column::number("LATENCY"),
        Column::fixed("STATUS"),
        Column::fixed("ID"),
    ];
    // Scores beside the conversations, when any of these calls has some:
    // each name's mean (yes/no as 1/0) or its last label.
    let scores: Vec<String> = loaded
        .iter()
        .map(|l| score_cell(&llm_traced_runtime::score::read_scores(&l.path)))
        .collect();
    let scored = scores.iter().any(|s| !s.is_empty());
    if scored {
        columns.push(Column::text("SCORES"));
    }
    if args.wide {
        columns.push(Column::fixed("FILE"));
    }
    let mut table = Table::new(columns);
    for (i, l) in loaded.iter().enumerate() {
        let r = &l.meta;
        let model = r
            .request_model
            .as_deref()
            .or(r.response_model.as_deref())
            .unwrap_or("-");
        let tokens = r
            .usage
            .and_then(|u| u.total())
            .map_or_else(|| "-".to_owned(), render::short_count);
        let mut cells = vec![
            crate::when::format_micros(l.started)
                .get(5..19)
                .unwrap_or_default()
                .replace('T', " "),
            r.name.to_string(),
            model.to_owned(),
            tokens,
            render::duration_ms(r.latency_ms),
            r.status.as_str().to_owned(),
            short_id(&r.request_id).to_owned(),
        ];
        if scored {
            cells.push(scores[i].clone());
        }
        if args.wide {
            cells.push(l.path.display().to_string());
        }
        let paint = match r.status {
            Status::Ok if r.level.as_deref() == Some("warn") => Some(Paint::Yellow),
            Status::Ok => None,
            _ => Some(Paint::Red),
        };
        table.row(cells, paint);
    }
    let width = if args.wide {
        usize::MAX
    } else {
        render::width()
    };
    table.render(width, "", style)
}

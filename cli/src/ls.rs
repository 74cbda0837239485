//! `ls`: the saved conversations of a directory as a table, newest first.

use serde::Serialize;

use llm_traced_runtime::record::CallRecord;
use llm_traced_runtime::Status;

use crate::exit::{Failure, Outcome};
use crate::render::{self, Column, Paint, Style, Table};
use crate::show::{conversation_files, load, Loaded};
use crate::LsArgs;

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
    fn new(l: &'a Loaded) -> Self {
        let r = &l.record;
        Entry {
            file: l.path.display().to_string(),
            request_id: &r.request_id,
            started_at: crate::when::format_millis(r.started_at.timestamp_millis()),
            name: &r.name,
            function: &r.function,
            provider: r.provider.as_deref(),
            request_model: r.request_model.as_deref(),
            response_model: r.response_model.as_deref(),
            input_tokens: r.usage.and_then(|u| u.input_tokens),
            output_tokens: r.usage.and_then(|u| u.output_tokens),
            total_tokens: r.usage.and_then(|u| u.total()),
            cost_usd: r.cost_usd,
            latency_ms: r.latency_ms,
            status: r.status.as_str(),
            error_type: r.error.as_ref().map(|e| e.error_type.as_str()),
            trace_id: r.trace_id.as_deref(),
            session_id: r.session_id.as_deref(),
            user_id: r.user_id.as_deref(),
            tenant_id: r.tenant_id.as_deref(),
        }
    }
}

fn keep(args: &LsArgs, r: &CallRecord) -> bool {
    if let Some(model) = &args.model {
        let needle = model.to_lowercase();
        let hit = [&r.request_model, &r.response_model]
            .into_iter()
            .flatten()
            .any(|m| m.to_lowercase().contains(&needle));
        if !hit {
            return false;
        }
    }
    let started = r.started_at.timestamp_millis();
    if (args.errors && r.status == Status::Ok)
        || args.since.is_some_and(|s| started < s)
        || args.until.is_some_and(|u| started >= u)
    {
        return false;
    }
    if let Some(trace) = &args.trace {
        let hit = r
            .trace_id
            .as_deref()
            .is_some_and(|t| t.to_lowercase().starts_with(&trace.to_lowercase()));
        if !hit {
            return false;
        }
    }
    let same = |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
    same(&args.session, &r.session_id) && same(&args.user, &r.user_id)
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
    let mut outcome = Outcome::Clean;
    let mut loaded = Vec::new();
    for file in &files {
        match load(file) {
            Ok(l) => loaded.push(l),
            Err(skip) => {
                eprintln!("llm-traced: skipped {skip}");
                outcome = Outcome::Findings;
            }
        }
    }
    let total = loaded.len();
    loaded.retain(|l| keep(args, &l.record));
    loaded.sort_by(|a, b| {
        b.record
            .started_at
            .cmp(&a.record.started_at)
            .then_with(|| b.path.cmp(&a.path))
    });
    if let Some(n) = args.limit {
        loaded.truncate(n);
    }

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

fn table(args: &LsArgs, loaded: &[Loaded], style: Style) -> String {
    let mut columns = vec![
        Column::fixed("TIME (UTC)"),
        Column::text("NAME"),
        Column::text("MODEL"),
        Column::number("TOKENS"),
        Column::number("LATENCY"),
        Column::fixed("STATUS"),
        Column::fixed("ID"),
    ];
    if args.wide {
        columns.push(Column::fixed("FILE"));
    }
    let mut table = Table::new(columns);
    for l in loaded {
        let r = &l.record;
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
            r.started_at.format("%m-%d %H:%M:%S").to_string(),
            r.name.to_string(),
            model.to_owned(),
            tokens,
            render::duration_ms(r.latency_ms),
            r.status.as_str().to_owned(),
            short_id(&r.request_id).to_owned(),
        ];
        if args.wide {
            cells.push(l.path.display().to_string());
        }
        let paint = match r.status {
            Status::Ok if r.level == "warn" => Some(Paint::Yellow),
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

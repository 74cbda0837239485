//! `llm-traced`: read what `#[llm_traced]` recorded.
//!
//! - `show`: a saved conversation, rendered for a person.
//! - `ls`: the saved conversations, as a table.
//! - `stats`: aggregates of JSON-lines logs, fast on logs of any size.
//! - `tail`: follow a log, one line per call.
//! - `diagnose`: what an error message means and what to do about it.
//! - `serve`: a local web viewer of calls, traces, sessions and stats.

#![warn(missing_docs)]
#![deny(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod audit;
mod diagnose;
mod exit;
mod ls;
mod render;
mod serve;
mod show;
mod stats;
mod stats_line;
mod stats_read;
mod stats_render;
mod tail;
mod when;

use render::{ColorChoice, Style};

const MAIN_HELP: &str = "\
Examples:
  llm-traced ls                            saved conversations, newest first
  llm-traced ls --errors --since 2h        the calls that failed lately
  llm-traced show llm_conversations/20261127T092647.125Z_ask_01a2….json
  llm-traced show 49f07b0e                 by the ID column of `ls`
  llm-traced stats calls.jsonl --by hour   tokens, cost, latency, errors
  llm-traced tail calls.jsonl              follow a log as calls happen
  llm-traced serve                         a web viewer on http://127.0.0.1:7300/
  llm-traced diagnose \"Error code: 429 - {'error': ...}\"

Colours are used on a terminal only, never when NO_COLOR is set.

Exit codes:
  0  done
  1  done, with findings: lines or files that are not llm-traced records
     were skipped, or the error rate is above --max-error-rate
  2  usage error (bad arguments)
  3  an input could not be read (missing file, no permission, not a log)";

/// Read what llm-traced recorded: conversations, logs, errors.
#[derive(Debug, Parser)]
#[command(name = "llm-traced", version, after_help = MAIN_HELP)]
pub struct Cli {
    /// When to use colours.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show saved conversations, rendered for a person.
    #[command(after_help = SHOW_HELP)]
    Show(ShowArgs),
    /// List saved conversations, newest first.
    #[command(after_help = LS_HELP)]
    Ls(LsArgs),
    /// Aggregate JSON-lines logs: tokens, cost, latency percentiles, errors.
    #[command(after_help = STATS_HELP)]
    Stats(StatsArgs),
    /// Follow a log as it grows, one line per call (survives rotation).
    #[command(after_help = TAIL_HELP)]
    Tail(TailArgs),
    /// Explain an error message: its class, whether to retry, what to do.
    #[command(after_help = DIAGNOSE_HELP)]
    Diagnose(DiagnoseArgs),
    /// A local web viewer: calls, traces, conversations, sessions, stats.
    #[command(after_help = SERVE_HELP)]
    Serve(serve::ServeArgs),
    /// Work with tamper-evident audit logs.
    #[command(subcommand)]
    Audit(AuditCommand),
}

/// `llm-traced audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check that an audit log's hash chain holds (file, SQLite or PostgreSQL).
    Verify(audit::VerifyArgs),
}

const SHOW_HELP: &str = "\
Examples:
  llm-traced show llm_conversations/20261127T092647.125Z_ask_01a2….json
  llm-traced show llm_conversations          every conversation, oldest first
  llm-traced show 49f07b0e                   the file whose name has this ID
  llm-traced show --raw FILE | jq .usage     the JSON as saved

A FILE is a saved conversation (LLM_SAVE_CONVERSATIONS=1), a DIR shows every
conversation in it, and anything else is looked up as (part of) a file name
in --dir.

Exit codes: 0 done; 1 some files were not llm-traced records; 2 usage error;
3 a file could not be read.";

const LS_HELP: &str = "\
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

const STATS_HELP: &str = "\
Examples:
  llm-traced stats calls.jsonl
  llm-traced stats --rotated calls.jsonl     and its rotated files
  llm-traced stats logs/ --since 7d --by day
  llm-traced stats calls.jsonl --tenant acme --json | jq .cost.total_usd
  zcat old.jsonl.gz | llm-traced stats -
  llm-traced stats calls.jsonl --max-error-rate 5    exit 1 above 5% errors

Percentiles are exact (nearest rank: the smallest latency that at least p%
of the calls do not exceed). The model is the one asked for, else the one
that answered. Lines that are not records are counted and skipped. The
input is streamed in chunks on all cores, so logs larger than memory are
fine.

Exit codes: 0 done; 1 lines were skipped or --max-error-rate was exceeded;
2 usage error; 3 an input could not be read.";

const TAIL_HELP: &str = "\
Examples:
  llm-traced tail calls.jsonl                the last 10 calls, then follow
  llm-traced tail -n 0 calls.jsonl           only new calls
  llm-traced tail -n 50 --no-follow calls.jsonl

Errors are red and warnings yellow (on a terminal). When the log is rotated
(renamed and recreated) tail finishes the old file and goes on with the new
one; a log that does not exist yet is waited for. Stop with Ctrl-C.

Exit codes: 0 done; 2 usage error; 3 the log could not be read.";

const SERVE_HELP: &str = "\
Examples:
  llm-traced serve                           ./llm_conversations (and $LLM_LOG_FILE)
  llm-traced serve runs/conversations calls.jsonl --port 0
  llm-traced serve '/var/log/llm/{tenant}.jsonl' --rotated
  llm-traced serve --bind 0.0.0.0 --allow-host devbox   from other machines

The viewer listens on 127.0.0.1 only, unless --bind says otherwise; then the
printed URL carries an access token, and recorded prompts are reachable from
the network. Requests naming another Host are refused. Nothing is written to
the inputs; new calls appear as they are recorded. Stop with Ctrl-C.

Exit codes: 0 stopped; 2 usage error; 3 an input could not be read or the
port could not be bound.";

const DIAGNOSE_HELP: &str = "\
Examples:
  llm-traced diagnose \"Error code: 429 - {'error': {'code': 'rate_limit'}}\"
  llm-traced diagnose - < error.txt
  llm-traced diagnose --json \"context_length_exceeded\" | jq .retryable

Exit codes: 0 done; 2 usage error; 3 stdin could not be read.";

/// `show`'s arguments.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Conversation files, directories of them, or IDs from `ls`.
    #[arg(required = true, value_name = "FILE|DIR|ID")]
    pub paths: Vec<String>,
    /// Print the JSON as saved instead of rendering it.
    #[arg(long)]
    pub raw: bool,
    /// Where IDs are looked up.
    #[arg(
        long,
        env = "LLM_CONVERSATIONS_DIR",
        default_value = "llm_conversations",
        value_name = "DIR"
    )]
    pub dir: PathBuf,
}

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
    /// Only calls whose model (asked for or answering) contains this text.
    #[arg(long)]
    pub model: Option<String>,
    /// Only calls that did not succeed.
    #[arg(long)]
    pub errors: bool,
    /// Only calls that started at or after this time.
    #[arg(long, value_parser = when::parse_when, value_name = "TIME")]
    pub since: Option<i64>,
    /// Only calls that started before this time.
    #[arg(long, value_parser = when::parse_when, value_name = "TIME")]
    pub until: Option<i64>,
    /// Only calls of this trace (a prefix of the trace id is enough).
    #[arg(long, value_name = "TRACE_ID")]
    pub trace: Option<String>,
    /// Only calls of this session.
    #[arg(long)]
    pub session: Option<String>,
    /// Only calls of this user.
    #[arg(long)]
    pub user: Option<String>,
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

/// `stats`'s arguments.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// JSON-lines logs (`-` for stdin; a directory reads its *.jsonl files).
    #[arg(required = true, value_name = "LOG")]
    pub logs: Vec<PathBuf>,
    /// Also read LOG's rotated files (LOG.<time>.jsonl), oldest first.
    #[arg(long)]
    pub rotated: bool,
    /// Only calls that started at or after this time.
    #[arg(long, value_parser = when::parse_when, value_name = "TIME")]
    pub since: Option<i64>,
    /// Only calls that started before this time.
    #[arg(long, value_parser = when::parse_when, value_name = "TIME")]
    pub until: Option<i64>,
    /// Only this tenant's calls.
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant: Option<String>,
    /// Add a trend table: calls, tokens, cost, p50/p95 per hour or day (UTC).
    #[arg(long, value_enum, value_name = "UNIT")]
    pub by: Option<stats::Bucket>,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when more than this percentage of the calls failed.
    #[arg(long, value_name = "PERCENT")]
    pub max_error_rate: Option<f64>,
    /// Worker threads (default: the number of cores, at most 8; at most 64).
    #[arg(long, value_name = "N", hide_short_help = true)]
    pub threads: Option<usize>,
    /// Size of a read chunk, in MiB.
    #[arg(long, default_value_t = 8, value_name = "MIB", hide_short_help = true)]
    pub chunk_mb: usize,
    /// Never show the progress bar.
    #[arg(long, hide_short_help = true)]
    pub no_progress: bool,
}

/// `tail`'s arguments.
#[derive(Debug, Args)]
pub struct TailArgs {
    /// The JSON-lines log.
    #[arg(value_name = "LOG")]
    pub log: PathBuf,
    /// Start with the last N records.
    #[arg(short = 'n', long, default_value_t = 10, value_name = "N")]
    pub lines: usize,
    /// Print the last N records and exit.
    #[arg(long)]
    pub no_follow: bool,
    /// How often to look for new lines, in milliseconds.
    #[arg(long, default_value_t = 200, value_name = "MS", hide_short_help = true)]
    pub interval_ms: u64,
}

/// `diagnose`'s arguments.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// The error text (several words are joined); `-` reads stdin.
    #[arg(required = true, value_name = "TEXT")]
    pub text: Vec<String>,
    /// Print the diagnosis as JSON.
    #[arg(long)]
    pub json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let style = Style::for_stdout(cli.color);
    let result = match &cli.command {
        Command::Show(args) => show::run(args, style),
        Command::Ls(args) => ls::run(args, style),
        Command::Stats(args) => stats_render::run(args, style),
        Command::Tail(args) => tail::run(args, style),
        Command::Diagnose(args) => diagnose::run(args, style),
        Command::Serve(args) => serve::run(args),
        Command::Audit(AuditCommand::Verify(args)) => {
            return ExitCode::from(u8::try_from(audit::verify(args)).unwrap_or(3));
        }
    };
    match result {
        Ok(outcome) => outcome.code(),
        Err(failure) => failure.report(),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}

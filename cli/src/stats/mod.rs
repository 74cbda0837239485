//! `llm-traced stats`: aggregates of JSON-lines logs. Reading (`read`:
//! chunks on every core), line parsing (`line`: the one-pass scanner),
//! aggregation (`aggregate`: partials merged, exact percentiles) and
//! rendering (`render`: tables, JSON, the exit code).

use std::path::PathBuf;

use clap::Args;

pub(crate) mod aggregate;
pub(crate) mod line;
pub(crate) mod read;
mod render;

pub(crate) use render::run;

/// `stats --help`'s examples and exit codes.
pub(crate) const HELP: &str = "\
Examples:
  llm-traced stats calls.jsonl
  llm-traced stats --rotated calls.jsonl     and its rotated files
  llm-traced stats logs/ --since 7d --by day
  llm-traced stats calls.jsonl --tenant acme --json | jq .cost.total_usd
  zcat old.jsonl.gz | llm-traced stats -
  llm-traced stats calls.jsonl --max-error-rate 5    exit 1 above 5% errors

Percentiles are exact (nearest rank: the smallest latency that at least p%
of the calls do not exceed). The model is the one asked for, else the one
that answered. Score lines (\"type\": \"score\") are read as scores: count
and mean per name and model. Lines that are neither are counted and
skipped. The
input is streamed in chunks on all cores, so logs larger than memory are
fine.

Exit codes: 0 done; 1 lines were skipped or --max-error-rate was exceeded;
2 usage error; 3 an input could not be read.";

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
    #[arg(long, value_parser = crate::when::parse_when, value_name = "TIME")]
    pub since: Option<i64>,
    /// Only calls that started before this time.
    #[arg(long, value_parser = crate::when::parse_when, value_name = "TIME")]
    pub until: Option<i64>,
    /// Only this tenant's calls.
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant: Option<String>,
    /// Add a trend table: calls, tokens, cost, p50/p95 per hour or day (UTC).
    #[arg(long, value_enum, value_name = "UNIT")]
    pub by: Option<aggregate::Bucket>,
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

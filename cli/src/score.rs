//! `llm-traced score`: a score for a saved call, from outside the program
//! that made it (a reviewer, a batch evaluation), written where the
//! program's own scores go: beside the saved conversation, and as a
//! `"type": "score"` line in the JSON log when one is named.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;
use llm_traced_runtime::score::{append, scores_path, ScoreLine};
use llm_traced_runtime::ScoreValue;

use crate::conversations::{conversation_files, load};
use crate::exit::{Failure, Outcome};

pub(crate) const HELP: &str = "\
Examples:
  llm-traced score 49f07b0e helpfulness 0.8
  llm-traced score 019a…-…-… thumbs_up true --author user:42
  llm-traced score 49f07b0e verdict off-topic --comment \"asked about billing\"
  llm-traced score 49f07b0e accuracy 1 --log calls.jsonl

ID is the call's request id, or any part of its conversation's file name
(the ID column of `ls`). VALUE is a number, true/false (1/0 and a label) or
a label. The score goes beside the conversation (FILE.scores.jsonl, which
`show` and `ls` read) and, with --log or LLM_LOG_FILE, into that JSON log,
where `stats` reads it.

Exit codes: 0 done; 2 usage error (no call, or several, with this ID);
3 a file could not be read or written.";

/// `score`'s arguments.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// The call: its request id or part of its conversation's file name.
    #[arg(value_name = "ID")]
    pub id: String,
    /// The score's name.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// A number, true/false, or a label.
    #[arg(value_name = "VALUE", allow_hyphen_values = true)]
    pub value: String,
    /// Why.
    #[arg(long)]
    pub comment: Option<String>,
    /// Who scored.
    #[arg(long)]
    pub author: Option<String>,
    /// Where the call is looked up.
    #[arg(
        long,
        env = "LLM_CONVERSATIONS_DIR",
        default_value = "llm_conversations",
        value_name = "DIR"
    )]
    pub dir: PathBuf,
    /// A JSON log to add the score's line to.
    #[arg(long, env = "LLM_LOG_FILE", value_name = "FILE")]
    pub log: Option<PathBuf>,
}

/// Runs `score`.
pub fn run(args: &ScoreArgs) -> Result<Outcome, Failure> {
    if args.id.is_empty() || args.id.contains(['/', '\\']) {
        return Err(Failure::Usage(format!("{:?} is not a call id", args.id)));
    }
    let files = conversation_files(&args.dir)
        .map_err(|e| Failure::Input(format!("cannot read {}: {e}", args.dir.display())))?;
    let found: Vec<PathBuf> = files
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(&args.id))
        })
        .collect();
    let path = match &found[..] {
        [one] => one,
        [] => {
            return Err(Failure::Usage(format!(
                "no conversation in {} has {} in its name",
                args.dir.display(),
                args.id
            )))
        }
        many => {
            return Err(Failure::Usage(format!(
                "{} conversations in {} have {} in their names: give more of the id",
                many.len(),
                args.dir.display(),
                args.id
            )))
        }
    };
    let record = load(path)
        .map_err(|e| Failure::Input(e.to_string()))?
        .record;
    let mut score = llm_traced_runtime::score(args.name.clone(), ScoreValue::parse(&args.value));
    if let Some(comment) = &args.comment {
        score = score.comment(comment.clone());
    }
    if let Some(author) = &args.author {
        score = score.author(author.clone());
    }
    let line = score.line(&ScoreLine::about(&record));
    let beside = scores_path(path);
    append(&beside, &line)
        .map_err(|e| Failure::Input(format!("cannot write {}: {e}", beside.display())))?;
    if let Some(log) = args.log.as_ref().filter(|p| !p.as_os_str().is_empty()) {
        let log = llm_traced_runtime::log::tenant_path(
            log,
            line.tenant_id.as_deref(),
            llm_traced_runtime::config::DEFAULT_TENANT,
        );
        let mut text = serde_json::to_vec(&line).map_err(|e| Failure::Input(e.to_string()))?;
        text.push(b'\n');
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            // One write of the whole line: appended whole.
            .and_then(|mut f| f.write_all(&text))
            .map_err(|e| Failure::Input(format!("cannot write {}: {e}", log.display())))?;
    }
    println!(
        "{} = {} for {} ({})",
        line.name,
        args.value,
        record.request_id,
        beside.display()
    );
    Ok(Outcome::Clean)
}

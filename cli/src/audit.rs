//! `llm-traced audit verify`: checks an audit log's hash chain, on a
//! JSON-lines file, SQLite or PostgreSQL, with the same code the library uses.

use std::path::PathBuf;

use llm_traced_runtime::audit::{self, Head};

/// What `audit verify` was asked.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  llm-traced audit verify audit.jsonl
  llm-traced audit verify audit.jsonl --head /mnt/worm/audit.head
  LLM_AUDIT_KEY=… llm-traced audit verify sqlite:///var/lib/app/audit.db
  llm-traced audit verify 'postgres://audit:…@db/app' --head 5120:9f86d0…

Exit codes: 0 the chain holds; 1 damage found (the first bad entry is named);
3 the log could not be read.")]
pub struct VerifyArgs {
    /// The log: a JSON-lines file, `sqlite:///path.db` or `postgres://…`.
    pub target: String,
    /// The head kept apart (a head file, or `SEQ:HASH`): catches truncation
    /// and consistent rewrites.
    #[arg(long)]
    pub head: Option<String>,
    /// A file holding the HMAC key; otherwise `LLM_AUDIT_KEY`, when set.
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `audit verify`; returns the exit code.
pub fn verify(args: &VerifyArgs) -> i32 {
    let key = match &args.key_file {
        Some(path) => match std::fs::read(path) {
            Ok(bytes) => Some(trim_newline(bytes)),
            Err(e) => {
                eprintln!(
                    "llm-traced: cannot read the key file {}: {e}",
                    path.display()
                );
                return 3;
            }
        },
        None => std::env::var("LLM_AUDIT_KEY")
            .ok()
            .filter(|k| !k.is_empty())
            .map(String::into_bytes),
    };
    let head = match &args.head {
        None => None,
        Some(text) => {
            let parsed = if std::path::Path::new(text).is_file() {
                Head::read(text)
            } else {
                Head::parse(text)
            };
            match parsed {
                Ok(head) => Some(head),
                Err(e) => {
                    eprintln!("llm-traced: bad --head {text:?}: {e}");
                    return 3;
                }
            }
        }
    };
    let report = audit::verify_url(&args.target, key.as_deref(), head);
    match report {
        Err(e) => {
            eprintln!("llm-traced: cannot verify {}: {e}", args.target);
            3
        }
        Ok(report) => {
            if args.json {
                let value = serde_json::json!({
                    "ok": report.is_ok(),
                    "entries": report.entries,
                    "anchor": report.anchor,
                    "last": report.last,
                    "signatures_checked": report.signatures_checked,
                    "signed_entries": report.signed_entries,
                    "head_checked": report.head_checked,
                    "damage": report.damage.as_ref().map(|d| d.to_string()),
                });
                println!("{value}");
            } else {
                println!("{report}");
            }
            if report.is_ok() {
                0
            } else {
                1
            }
        }
    }
}

fn trim_newline(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    bytes
}

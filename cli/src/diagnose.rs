//! `diagnose`: what an error message means, rendered.

use std::io::Read;

use clap::Args;
use llm_traced_runtime::diagnostics::diagnose_text;

use crate::exit::{Failure, Outcome};
use crate::render::{Paint, Style};

/// `diagnose --help`'s examples and exit codes.
pub(crate) const HELP: &str = "\
Examples:
  llm-traced diagnose \"Error code: 429 - {'error': {'code': 'rate_limit'}}\"
  llm-traced diagnose - < error.txt
  llm-traced diagnose --json \"context_length_exceeded\" | jq .retryable

Exit codes: 0 done; 2 usage error; 3 stdin could not be read.";

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

/// Runs `diagnose`.
pub fn run(args: &DiagnoseArgs, style: Style) -> Result<Outcome, Failure> {
    let text = if args.text.len() == 1 && args.text[0] == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Failure::Input(format!("cannot read stdin: {e}")))?;
        String::from_utf8_lossy(&buf).into_owned()
    } else {
        args.text.join(" ")
    };
    if text.trim().is_empty() {
        return Err(Failure::Usage("the error text is empty".to_owned()));
    }
    let diagnosis = diagnose_text(text.trim());
    let out = if args.json {
        let mut s =
            serde_json::to_string_pretty(&diagnosis).map_err(|e| Failure::Input(e.to_string()))?;
        s.push('\n');
        s
    } else {
        paint_first_line(&diagnosis.render(), style)
    };
    crate::exit::print(&out)?;
    Ok(Outcome::Clean)
}

/// The rendered diagnosis with its `error.type = …` line in red.
pub fn paint_first_line(rendered: &str, style: Style) -> String {
    match rendered.split_once('\n') {
        Some((first, rest)) => format!("{}\n{rest}", style.paint(Paint::Red, first)),
        None => style.paint(Paint::Red, rendered),
    }
}

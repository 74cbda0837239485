//! `llm-traced`: read what `#[llm_traced]` recorded.
//!
//! - `show`: a saved conversation, rendered for a person.
//! - `ls`: the saved conversations, as a table.
//! - `stats`: aggregates of JSON-lines logs, fast on logs of any size.
//! - `tail`: follow a log, one line per call.
//! - `diagnose`: what an error message means and what to do about it.
//! - `score`: a score for a saved call.
//! - `serve`: a local web viewer of calls, traces, sessions and stats.
//! - `export`: recorded calls as datasets (fine-tuning, eval cases, CSV).
//! - `replay`: a recorded call sent again, with changes, and what changed.
//! - `completions`, `man`: a shell completion script, the manual page.

#![warn(missing_docs)]
#![deny(unsafe_code)]

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod audit;
mod conversations;
mod diagnose;
mod exit;
mod export;
mod gen;
mod ls;
mod render;
mod replay;
mod score;
mod serve;
mod show;
mod stats;
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
  llm-traced export --format chat-jsonl     fine-tuning data from saved calls
  llm-traced replay 49f07b0e --model gpt-4o-mini   re-run a call, see what changed
  llm-traced diagnose \"Error code: 429 - {'error': ...}\"

Colours are used on a terminal only, never when NO_COLOR is set.

Exit codes:
  0  done
  1  done, with findings: lines or files that are not llm-traced records
     were skipped, or the error rate is above --max-error-rate, or a
     replayed call failed or differed (--expect)
  2  usage error (bad arguments, a record replay refuses)
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
    #[command(after_help = show::HELP)]
    Show(show::ShowArgs),
    /// List saved conversations, newest first.
    #[command(after_help = ls::HELP)]
    Ls(ls::LsArgs),
    /// Aggregate JSON-lines logs: tokens, cost, latency percentiles, errors.
    #[command(after_help = stats::HELP)]
    Stats(stats::StatsArgs),
    /// Follow a log as it grows, one line per call (survives rotation).
    #[command(after_help = tail::HELP)]
    Tail(tail::TailArgs),
    /// Explain an error message: its class, whether to retry, what to do.
    #[command(after_help = diagnose::HELP)]
    Diagnose(diagnose::DiagnoseArgs),
    /// Score a saved call (a number, true/false or a label), for `show`,
    /// `ls` and `stats`.
    #[command(after_help = score::HELP)]
    Score(score::ScoreArgs),
    /// A local web viewer: calls, traces, conversations, sessions, stats.
    #[command(after_help = SERVE_HELP)]
    Serve(serve::ServeArgs),
    /// Write recorded calls as datasets: chat JSONL, promptfoo, OpenAI evals, Langfuse, CSV.
    #[command(after_help = export::HELP)]
    Export(export::ExportArgs),
    /// Send a recorded call again (another model, other parameters) and show what changed.
    #[command(after_help = replay::HELP)]
    Replay(replay::ReplayArgs),
    /// Work with tamper-evident audit logs.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print a shell completion script: `llm-traced completions bash > ~/.local/share/bash-completion/completions/llm-traced`.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `llm-traced man > ~/.local/share/man/man1/llm-traced.1`.
    Man,
}

/// `llm-traced gen …`: the generator of synthetic data, for the benchmarks
/// and demos. Not one of [`Command`]'s, so that the help, the completions
/// and the manual page leave it out.
#[derive(Debug, Parser)]
#[command(name = "llm-traced gen", after_help = gen::HELP)]
struct GenCli {
    #[command(flatten)]
    args: gen::GenArgs,
}

const COMPLETIONS_HELP: &str = "\
Where each shell looks for them:
  bash        llm-traced completions bash > ~/.local/share/bash-completion/completions/llm-traced
  zsh         llm-traced completions zsh > ~/.zfunc/_llm-traced   (with fpath+=~/.zfunc before compinit)
  fish        llm-traced completions fish > ~/.config/fish/completions/llm-traced.fish
  powershell  llm-traced completions powershell >> $PROFILE";

/// `llm-traced audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check that an audit log's hash chain holds (file, SQLite or PostgreSQL).
    Verify(audit::VerifyArgs),
}

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

fn main() -> ExitCode {
    if std::env::args_os().nth(1).is_some_and(|a| a == "gen") {
        let gen = GenCli::parse_from(std::env::args_os().skip(1));
        return gen::run(&gen.args);
    }
    let cli = Cli::parse();
    let style = Style::for_stdout(cli.color);
    let result = match &cli.command {
        Command::Show(args) => show::run(args, style),
        Command::Ls(args) => ls::run(args, style),
        Command::Stats(args) => stats::run(args, style),
        Command::Tail(args) => tail::run(args, style),
        Command::Diagnose(args) => diagnose::run(args, style),
        Command::Score(args) => score::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Export(args) => export::run(args),
        Command::Replay(args) => replay::run(args, style),
        Command::Audit(AuditCommand::Verify(args)) => {
            return ExitCode::from(u8::try_from(audit::verify(args)).unwrap_or(3));
        }
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(*shell, &mut command, "llm-traced", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        Command::Man => return man(),
    };
    match result {
        Ok(outcome) => outcome.code(),
        Err(failure) => failure.report(),
    }
}

/// The manual page: the command's own page, then a section per subcommand
/// (visible ones), each with its options and examples.
fn man() -> ExitCode {
    use std::io::Write as _;

    let command = Cli::command();
    let mut page = Vec::new();
    let written = (|| -> std::io::Result<()> {
        let man = clap_mangen::Man::new(command.clone());
        man.render_title(&mut page)?;
        man.render_name_section(&mut page)?;
        man.render_synopsis_section(&mut page)?;
        man.render_description_section(&mut page)?;
        man.render_options_section(&mut page)?;
        man.render_subcommands_section(&mut page)?;
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            write_subcommand(&mut page, sub, &format!("llm-traced {}", sub.get_name()))?;
        }
        man.render_extra_section(&mut page)?;
        man.render_version_section(&mut page)?;
        man.render_authors_section(&mut page)
    })();
    let printed = written.and_then(|()| std::io::stdout().write_all(&page));
    match printed {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("llm-traced: cannot write the manual page: {e}");
            ExitCode::from(3)
        }
    }
}

/// One subcommand's section of the manual page (and its own subcommands').
fn write_subcommand(out: &mut Vec<u8>, sub: &clap::Command, path: &str) -> std::io::Result<()> {
    use std::io::Write as _;

    let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
    writeln!(out, ".SH \"{}\"", path.to_uppercase())?;
    writeln!(out, "{}", roff_text(&about))?;
    let man = clap_mangen::Man::new(sub.clone().bin_name(path));
    man.render_synopsis_section(out)?;
    man.render_options_section(out)?;
    if let Some(help) = sub.get_after_help() {
        writeln!(out, ".PP\n.nf\n{}\n.fi", roff_text(&help.to_string()))?;
    }
    for inner in sub.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_subcommand(out, inner, &format!("{path} {}", inner.get_name()))?;
    }
    Ok(())
}

/// Text made safe for roff: each backslash written as roff's `\e`, and a
/// line that starts with a dot or an apostrophe (a request) escaped.
fn roff_text(text: &str) -> String {
    text.replace('\\', "\\e")
        .lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
        super::GenCli::command().debug_assert();
    }
}

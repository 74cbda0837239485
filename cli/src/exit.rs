//! Exit codes and writing to standard output.

use std::io::Write;
use std::process::ExitCode;

/// Success: nothing to report about the input.
pub const OK: u8 = 0;
/// Done, with findings: lines or files that are not records were skipped,
/// or a `--max-error-rate` was exceeded.
pub const FINDINGS: u8 = 1;
/// A usage error (clap's own code).
pub const USAGE: u8 = 2;
/// An input could not be read: missing, unreadable, not a directory.
pub const INPUT: u8 = 3;

/// How a command that ran went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Clean,
    /// Exit 1: something in the input deserves attention.
    Findings,
}

/// Why a command stopped.
#[derive(Debug)]
pub enum Failure {
    /// An input could not be read (exit 3); the text says which and why.
    Input(String),
    /// A usage error found after parsing (exit 2).
    Usage(String),
    /// Standard output was closed (`| head`): stop quietly (exit 0).
    Closed,
}

impl Failure {
    /// The process exit code, after printing the message on stderr.
    pub fn report(self) -> ExitCode {
        match self {
            Failure::Input(message) => {
                eprintln!("llm-traced: {message}");
                ExitCode::from(INPUT)
            }
            Failure::Usage(message) => {
                eprintln!("llm-traced: {message}");
                ExitCode::from(USAGE)
            }
            Failure::Closed => ExitCode::from(OK),
        }
    }
}

impl Outcome {
    /// The process exit code.
    pub fn code(self) -> ExitCode {
        match self {
            Outcome::Clean => ExitCode::from(OK),
            Outcome::Findings => ExitCode::from(FINDINGS),
        }
    }
}

/// Writes `text` to standard output; a closed pipe becomes
/// [`Failure::Closed`] instead of a panic.
pub fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                Failure::Closed
            } else {
                Failure::Input(format!("cannot write the output: {e}"))
            }
        })
}

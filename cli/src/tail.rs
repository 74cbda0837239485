//! `tail`: follow a JSON-lines log, one readable line per call, through
//! rotations (the file renamed and recreated) and truncations.

use std::fs::{File, Metadata};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use llm_traced_runtime::record::CallRecord;
use llm_traced_runtime::Status;

use crate::exit::{Failure, Outcome};
use crate::render::{self, Paint, Style};

/// `tail --help`'s examples and exit codes.
pub(crate) const HELP: &str = "\
Examples:
  llm-traced tail calls.jsonl                the last 10 calls, then follow
  llm-traced tail -n 0 calls.jsonl           only new calls
  llm-traced tail -n 50 --no-follow calls.jsonl

Lines come in the order the calls ended, which is the order the log has
them (`ls --trace` and `show` list a trace in the order its calls started).
Errors are red and warnings yellow (on a terminal). When the log is rotated
(renamed and recreated) tail finishes the old file and goes on with the new
one; a log that does not exist yet is waited for. Stop with Ctrl-C.

Exit codes: 0 done; 2 usage error; 3 the log could not be read.";

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

/// Runs `tail`.
pub fn run(args: &TailArgs, style: Style) -> Result<Outcome, Failure> {
    let width = render::width();
    let interval = Duration::from_millis(args.interval_ms.clamp(10, 10_000));
    let path = args.log.as_path();
    let fail = |e: std::io::Error| Failure::Input(format!("cannot read {}: {e}", path.display()));

    let mut file = open_or_wait(path, !args.no_follow, interval).map_err(fail)?;
    let start = start_of_last_lines(&mut file, args.lines).map_err(fail)?;
    file.seek(SeekFrom::Start(start)).map_err(fail)?;
    let mut follower = Follower {
        file,
        pending: Vec::new(),
        position: start,
    };
    follower.read_new(width, style)?;
    if args.no_follow {
        follower.finish(width, style)?;
        return Ok(Outcome::Clean);
    }
    loop {
        std::thread::sleep(interval);
        follower.read_new(width, style)?;
        let Ok(now) = std::fs::metadata(path) else {
            // Renamed and not recreated yet.
            continue;
        };
        let opened = follower.file.metadata().map_err(fail)?;
        if !same_file(&opened, &now) {
            // Rotated: finish the old file, then follow the new one from its start.
            follower.read_new(width, style)?;
            follower.finish(width, style)?;
            let Ok(file) = File::open(path) else { continue };
            follower = Follower {
                file,
                pending: Vec::new(),
                position: 0,
            };
            follower.read_new(width, style)?;
        } else if now.len() < follower.position {
            // Truncated in place.
            follower.file.seek(SeekFrom::Start(0)).map_err(fail)?;
            follower.position = 0;
            follower.pending.clear();
            follower.read_new(width, style)?;
        }
    }
}

struct Follower {
    file: File,
    /// The start of a line whose end has not been written yet.
    pending: Vec<u8>,
    position: u64,
}

impl Follower {
    /// Prints every complete line written since the last call.
    fn read_new(&mut self, width: usize, style: Style) -> Result<(), Failure> {
        let mut buf = Vec::new();
        let n = self
            .file
            .read_to_end(&mut buf)
            .map_err(|e| Failure::Input(format!("cannot read the log: {e}")))?;
        self.position += n as u64;
        if n == 0 {
            return Ok(());
        }
        self.pending.extend_from_slice(&buf);
        let Some(end) = memchr::memrchr(b'\n', &self.pending) else {
            return Ok(());
        };
        let rest = self.pending.split_off(end + 1);
        let complete = std::mem::replace(&mut self.pending, rest);
        let mut out = String::new();
        for line in complete.split(|&b| b == b'\n') {
            push_line(&mut out, line, width, style);
        }
        crate::exit::print(&out)
    }

    /// Prints a last line that never got its newline.
    fn finish(&mut self, width: usize, style: Style) -> Result<(), Failure> {
        let line = std::mem::take(&mut self.pending);
        let mut out = String::new();
        push_line(&mut out, &line, width, style);
        crate::exit::print(&out)
    }
}

fn push_line(out: &mut String, line: &[u8], width: usize, style: Style) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    let text = String::from_utf8_lossy(line);
    match CallRecord::from_json(&text) {
        Ok(record) => {
            out.push_str(&format_record(&record, width, style));
            out.push('\n');
        }
        Err(e) => {
            let note = format!("(a line that is not a record: {e})");
            out.push_str(&style.paint(Paint::Dim, &render::truncate(&note, width)));
            out.push('\n');
        }
    }
}

/// One record as one line: time, status, model, name, latency, then tokens
/// and cost, or the error.
pub fn format_record(r: &CallRecord, width: usize, style: Style) -> String {
    let model = r
        .request_model
        .as_deref()
        .or(r.response_model.as_deref())
        .unwrap_or("-");
    let head = format!(
        "{} {:<5} {:<14} {:<13} {:>8}  ",
        r.started_at.format("%H:%M:%S%.6f"),
        r.status.as_str(),
        render::truncate(model, 14),
        render::truncate(&r.name, 13),
        render::duration_ms(r.latency_ms),
    );
    let rest = match &r.error {
        Some(e) => format!("{}: {}", e.error_type, e.message.replace('\n', " ")),
        None => {
            let mut parts = Vec::new();
            if let Some(total) = r.usage.and_then(|u| u.total()) {
                parts.push(format!("{} tok", render::short_count(total)));
            }
            if let Some(c) = r.cost_usd {
                parts.push(render::usd(c));
            }
            if !r.warnings.is_empty() {
                parts.push(r.warnings.join(","));
            }
            parts.join(" ")
        }
    };
    let line = render::truncate(format!("{head}{rest}").trim_end(), width);
    match r.status {
        Status::Ok if r.level == "warn" => style.paint(Paint::Yellow, &line),
        Status::Ok => line,
        _ => style.paint(Paint::Red, &line),
    }
}

fn open_or_wait(path: &Path, wait: bool, interval: Duration) -> std::io::Result<File> {
    let mut said = false;
    loop {
        match File::open(path) {
            Ok(f) => {
                if f.metadata()?.is_dir() {
                    return Err(std::io::Error::other("is a directory"));
                }
                return Ok(f);
            }
            Err(e) if wait && e.kind() == std::io::ErrorKind::NotFound => {
                if !said {
                    eprintln!("llm-traced: waiting for {} to appear", path.display());
                    said = true;
                }
                std::thread::sleep(interval);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Where the last `n` complete lines begin (a trailing line without its
/// newline is included after them).
fn start_of_last_lines(file: &mut File, n: usize) -> std::io::Result<u64> {
    const BLOCK: u64 = 64 * 1024;
    let len = file.metadata()?.len();
    let mut pos = len;
    let mut seen = 0usize;
    let mut buf = vec![0u8; BLOCK as usize];
    while pos > 0 {
        let size = BLOCK.min(pos);
        pos -= size;
        let block = &mut buf[..size as usize];
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(block)?;
        for i in memchr::memrchr_iter(b'\n', block) {
            seen += 1;
            if seen == n + 1 {
                return Ok(pos + i as u64 + 1);
            }
        }
    }
    Ok(0)
}

#[cfg(unix)]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    // No inode: a new file is noticed by its creation time.
    a.created().ok() == b.created().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn finds_the_last_lines() {
        let mut f = tempfile::tempfile().unwrap_or_else(|e| panic!("{e}"));
        f.write_all(b"a\nbb\nccc\npartial")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(start_of_last_lines(&mut f, 0).ok(), Some(9));
        assert_eq!(start_of_last_lines(&mut f, 1).ok(), Some(5));
        assert_eq!(start_of_last_lines(&mut f, 3).ok(), Some(0));
        assert_eq!(start_of_last_lines(&mut f, 10).ok(), Some(0));
    }
}

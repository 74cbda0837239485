//! The parallel reader behind `stats`: worker threads take turns reading
//! the inputs in chunks cut at line boundaries, so memory in flight stays
//! at one chunk per worker whatever the size of the logs.

use std::fs::File;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where lines come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Standard input (`-`).
    Stdin,
    /// A file.
    File(PathBuf),
}

impl Source {
    /// How the source is named in messages: its path, or `<stdin>`.
    pub fn label(&self) -> String {
        match self {
            Source::Stdin => "<stdin>".to_owned(),
            Source::File(p) => p.display().to_string(),
        }
    }

    fn size(&self) -> Option<u64> {
        match self {
            Source::Stdin => None,
            Source::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
        }
    }
}

/// A piece of one source: whole lines only, except that the last chunk of a
/// source may end without a newline.
#[derive(Debug)]
pub struct Chunk {
    /// The index of the source in the list given to [`scan`].
    pub source: usize,
    /// The chunk's position within its source (0, 1, 2, …).
    pub seq: u64,
    /// The bytes.
    pub data: Vec<u8>,
    /// Whether the chunk stands for one line longer than
    /// [`ReadOptions::max_line`], which was discarded: `data` is empty and
    /// the chunk counts as one line that is not a record.
    pub overlong: bool,
}

/// How to read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The size of a chunk (a line longer than that makes its chunk grow).
    pub chunk_size: usize,
    /// The longest line kept, without its newline (at least `chunk_size`):
    /// a longer one is discarded up to its newline and handed on as an
    /// [`Chunk::overlong`] chunk, so that a file without newlines (say, a
    /// zero-filled one) does not grow a buffer without bound.
    pub max_line: usize,
    /// Show a progress bar on standard error when it is a terminal and the
    /// inputs are at least this big (`None`: never).
    pub progress_from: Option<u64>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            chunk_size: 8 << 20,
            max_line: MAX_LINE,
            progress_from: Some(64 << 20),
        }
    }
}

/// The default [`ReadOptions::max_line`]: 64 MiB.
pub const MAX_LINE: usize = 64 << 20;

/// An input that could not be opened or read.
#[derive(Debug)]
pub struct InputError {
    /// The source's label.
    pub source: String,
    /// What went wrong.
    pub error: std::io::Error,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot read {}: {}", self.source, self.error)
    }
}

/// Reads every source in order and runs `work` on each chunk, on one worker
/// thread per state in `states`, then `finish` on each state, on its thread,
/// as soon as there is nothing left to read. Returns the states when
/// everything is read.
///
/// There is no reader thread: a worker takes the input's lock, reads the
/// next chunk into its own buffer, lets go of the lock and works on the
/// chunk while the other workers read theirs. So each worker holds one
/// buffer, the copy from the page cache is spread over the workers, and
/// each chunk is parsed on the core that has just copied it.
pub fn scan<S, F, G>(
    sources: &[Source],
    options: &ReadOptions,
    states: Vec<S>,
    work: F,
    finish: G,
) -> Result<Vec<S>, InputError>
where
    S: Send,
    F: Fn(&mut S, &Chunk) + Sync,
    G: Fn(&mut S) + Sync,
{
    let chunk_size = options.chunk_size.max(4096);
    let input = Mutex::new(Input {
        sources,
        chunk_size,
        max_line: options.max_line.max(chunk_size),
        progress: progress_bar(sources, options),
        next_source: 0,
        open: None,
        seq: 0,
        carry: Vec::new(),
        failed: None,
    });
    let states = std::thread::scope(|scope| {
        let handles: Vec<_> = states
            .into_iter()
            .map(|mut state| {
                let input = &input;
                let work = &work;
                let finish = &finish;
                scope.spawn(move || {
                    let mut chunk = Chunk {
                        source: 0,
                        seq: 0,
                        data: Vec::new(),
                        overlong: false,
                    };
                    while lock(input).next_chunk(&mut chunk) {
                        work(&mut state, &chunk);
                    }
                    finish(&mut state);
                    state
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let input = input.into_inner().unwrap_or_else(|p| p.into_inner());
    input.progress.finish_and_clear();
    match input.failed {
        Some(error) => Err(error),
        None => Ok(states),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The sources, read one after the other, shared by the workers.
struct Input<'s> {
    sources: &'s [Source],
    chunk_size: usize,
    max_line: usize,
    progress: ProgressBar,
    /// The index of the next source to open.
    next_source: usize,
    /// The source being read, and its index.
    open: Option<(usize, Box<dyn std::io::Read + Send + 's>)>,
    /// The next chunk's position within its source.
    seq: u64,
    /// The start of a line that the last chunk cut: the next chunk's first
    /// bytes.
    carry: Vec<u8>,
    /// The first error; no chunk is read after it.
    failed: Option<InputError>,
}

impl Input<'_> {
    /// Fills `chunk` with the next chunk of whole lines; false at the end of
    /// the inputs or after an error.
    fn next_chunk(&mut self, chunk: &mut Chunk) -> bool {
        while self.failed.is_none() {
            let Some((index, reader)) = &mut self.open else {
                let Some(source) = self.sources.get(self.next_source) else {
                    return false;
                };
                match open(source) {
                    Ok(reader) => self.open = Some((self.next_source, reader)),
                    Err(error) => self.fail(self.next_source, error),
                }
                self.next_source += 1;
                self.seq = 0;
                continue;
            };
            let index = *index;
            let read = read_chunk(
                reader.as_mut(),
                Limits {
                    chunk_size: self.chunk_size,
                    max_line: self.max_line,
                },
                &mut self.carry,
                &mut chunk.data,
                &self.progress,
            );
            match read {
                Ok(Read { eof, overlong }) => {
                    if eof {
                        self.open = None;
                    }
                    chunk.overlong = overlong;
                    if overlong || !chunk.data.is_empty() {
                        chunk.source = index;
                        chunk.seq = self.seq;
                        self.seq += 1;
                        return true;
                    }
                }
                Err(error) => self.fail(index, error),
            }
        }
        false
    }

    fn fail(&mut self, index: usize, error: std::io::Error) {
        self.open = None;
        self.failed = Some(InputError {
            source: self.sources[index].label(),
            error,
        });
    }
}

fn open<'s>(source: &Source) -> std::io::Result<Box<dyn std::io::Read + Send + 's>> {
    match source {
        Source::Stdin => Ok(Box::new(std::io::stdin())),
        Source::File(path) => {
            let file = File::open(path)?;
            if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                return Err(std::io::Error::other("is a directory"));
            }
            Ok(Box::new(file))
        }
    }
}

fn progress_bar(sources: &[Source], options: &ReadOptions) -> ProgressBar {
    let Some(from) = options.progress_from else {
        return ProgressBar::hidden();
    };
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let sizes: Option<Vec<u64>> = sources.iter().map(Source::size).collect();
    let Some(total) = sizes.map(|s| s.iter().sum::<u64>()) else {
        return ProgressBar::hidden();
    };
    if total < from {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

/// The sizes [`read_chunk`] works with.
#[derive(Debug, Clone, Copy)]
struct Limits {
    chunk_size: usize,
    /// At least `chunk_size`.
    max_line: usize,
}

/// What [`read_chunk`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Read {
    /// The input ended.
    eof: bool,
    /// The buffer held one line longer than `max_line`, which was
    /// discarded up to its newline: the buffer is empty.
    overlong: bool,
}

/// Reads about `chunk_size` bytes into `buf`: `carry` first, then the input
/// up to the last newline; what follows the newline goes into `carry`.
/// Says whether the input ended (the last chunk of a source may end without
/// a newline). A line longer than the buffer makes it grow, up to
/// `max_line` (plus one byte); a longer line is read to its end and
/// discarded, and the buffer is returned empty with `overlong` set.
fn read_chunk(
    input: &mut dyn std::io::Read,
    limits: Limits,
    carry: &mut Vec<u8>,
    buf: &mut Vec<u8>,
    progress: &ProgressBar,
) -> std::io::Result<Read> {
    let Limits {
        chunk_size,
        max_line,
    } = limits;
    // `carry` is never longer than `max_line`: it is the start of a line,
    // and a buffer without a newline past `max_line` is discarded below.
    let mut limit = chunk_size.max(carry.len() * 2).min(max_line + 1);
    // A buffer grown by a long line goes back to its usual size.
    if buf.capacity() > 2 * limit {
        *buf = Vec::new();
    }
    // Only what the buffer grows by is zeroed: after a chunk it is cut at
    // its last newline, less than a line short of the limit.
    if buf.len() < limit {
        buf.resize(limit, 0);
    }
    buf[..carry.len()].copy_from_slice(carry);
    let mut filled = carry.len();
    carry.clear();
    loop {
        while filled < limit {
            match input.read(&mut buf[filled..limit]) {
                Ok(0) => {
                    buf.truncate(filled);
                    return Ok(Read {
                        eof: true,
                        overlong: false,
                    });
                }
                Ok(n) => {
                    filled += n;
                    progress.inc(n as u64);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    buf.clear();
                    return Err(e);
                }
            }
        }
        match memchr::memrchr(b'\n', &buf[..filled]) {
            Some(end) => {
                carry.extend_from_slice(&buf[end + 1..filled]);
                buf.truncate(end + 1);
                return Ok(Read {
                    eof: false,
                    overlong: false,
                });
            }
            // The buffer starts at a line's start: all of it is one line.
            None if filled > max_line => {
                let eof = discard_line(input, &mut buf[..chunk_size], carry, progress);
                buf.clear();
                return eof.map(|eof| Read {
                    eof,
                    overlong: true,
                });
            }
            None => {
                // One line longer than the buffer: grow it.
                limit = (limit * 2).min(max_line + 1);
                buf.resize(limit, 0);
            }
        }
    }
}

/// Reads `input` through `scratch` up to the end of the line being read:
/// what follows its newline goes into `carry`. Says whether the input
/// ended first.
fn discard_line(
    input: &mut dyn std::io::Read,
    scratch: &mut [u8],
    carry: &mut Vec<u8>,
    progress: &ProgressBar,
) -> std::io::Result<bool> {
    loop {
        match input.read(scratch) {
            Ok(0) => return Ok(true),
            Ok(n) => {
                progress.inc(n as u64);
                if let Some(end) = memchr::memchr(b'\n', &scratch[..n]) {
                    carry.extend_from_slice(&scratch[end + 1..n]);
                    return Ok(false);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Calls `f(index, line)` for each line of a chunk (without its `\n`; a
/// final line without a newline included) and returns the number of lines.
pub fn for_each_line(data: &[u8], mut f: impl FnMut(u32, &[u8])) -> u32 {
    let mut start = 0;
    let mut index = 0u32;
    for end in memchr::memchr_iter(b'\n', data) {
        f(index, &data[start..end]);
        index += 1;
        start = end + 1;
    }
    if start < data.len() {
        f(index, &data[start..]);
        index += 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_hold_whole_lines_and_every_byte_arrives() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("log.jsonl");
        let mut text = String::new();
        for i in 0..5000 {
            text.push_str(&format!("line {i} {}\n", "x".repeat(i % 300)));
        }
        text.push_str("last line without newline");
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
        let options = ReadOptions {
            chunk_size: 4096,
            max_line: MAX_LINE,
            progress_from: None,
        };
        let states = scan(
            &[Source::File(path)],
            &options,
            vec![Vec::new(), Vec::new()],
            |s, c| {
                assert!(c.data.ends_with(b"\n") || c.data.ends_with(b"newline"));
                s.push((c.seq, c.data.clone()));
            },
            |_| {},
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut chunks: Vec<(u64, Vec<u8>)> = states.into_iter().flatten().collect();
        chunks.sort();
        let joined: Vec<u8> = chunks.into_iter().flat_map(|(_, d)| d).collect();
        assert_eq!(joined, text.as_bytes());
    }

    #[test]
    fn sources_are_read_in_order_long_lines_whole_and_finish_runs_once() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let long = format!("{}\n", "y".repeat(20_000));
        let many: String = (0..3000).map(|i| format!("line {i}\n")).collect();
        let texts = ["a\nb\n".to_owned(), format!("c\n{long}d"), many];
        let sources: Vec<Source> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let path = dir.path().join(format!("{i}.jsonl"));
                std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
                Source::File(path)
            })
            .collect();
        let options = ReadOptions {
            chunk_size: 4096,
            max_line: MAX_LINE,
            progress_from: None,
        };
        let run = |workers: usize| {
            // Each state: its chunks as it got them, and how many times
            // `finish` ran on it.
            scan(
                &sources,
                &options,
                vec![(Vec::new(), 0); workers],
                |(chunks, _), c| chunks.push((c.source, c.seq, c.data.clone())),
                |(_, finished)| *finished += 1,
            )
            .unwrap_or_else(|e| panic!("{e}"))
        };
        // One worker gets every chunk in the order of the sources, unsorted.
        let one = run(1);
        assert_eq!(one[0].1, 1);
        let joined: Vec<u8> = one[0].0.iter().flat_map(|c| c.2.clone()).collect();
        assert_eq!(joined, texts.concat().as_bytes());
        let mut expected = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            let n = one[0].0.iter().filter(|c| c.0 == i).count();
            assert!(n >= 1);
            expected.extend((0..n as u64).map(|seq| (i, seq)));
            let part: Vec<u8> = one[0]
                .0
                .iter()
                .filter(|c| c.0 == i)
                .flat_map(|c| c.2.clone())
                .collect();
            assert_eq!(part, text.as_bytes());
        }
        let order: Vec<(usize, u64)> = one[0].0.iter().map(|c| (c.0, c.1)).collect();
        assert_eq!(order, expected);
        // The long line is in one chunk.
        assert!(one[0].0.iter().any(|c| c.2.starts_with(long.as_bytes())));

        // Several workers: each gets its chunks in source order, and
        // between them they get the same chunks as one worker.
        let several = run(3);
        assert!(several.iter().all(|(_, finished)| *finished == 1));
        for (chunks, _) in &several {
            let order: Vec<(usize, u64)> = chunks.iter().map(|c| (c.0, c.1)).collect();
            assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        }
        let mut all: Vec<_> = several.into_iter().flat_map(|(c, _)| c).collect();
        all.sort();
        assert_eq!(all, one[0].0);
    }

    #[test]
    fn a_line_longer_than_max_line_is_discarded_in_bounded_memory() {
        // 50 MiB of zeros without a newline, then two short lines.
        let mut input = std::io::Read::chain(
            std::io::Read::take(std::io::repeat(0), 50 << 20),
            &b"\nnext\nlast"[..],
        );
        let limits = Limits {
            chunk_size: 4096,
            max_line: 8192,
        };
        let progress = ProgressBar::hidden();
        let (mut carry, mut buf) = (Vec::new(), Vec::new());
        let read = read_chunk(&mut input, limits, &mut carry, &mut buf, &progress);
        assert_eq!(
            read.ok(),
            Some(Read {
                eof: false,
                overlong: true
            })
        );
        assert!(buf.is_empty());
        assert!(buf.capacity() <= 4 * 8192, "{}", buf.capacity());
        assert_eq!(carry, b"next\nlast");
        let read = read_chunk(&mut input, limits, &mut carry, &mut buf, &progress);
        assert_eq!(
            read.ok(),
            Some(Read {
                eof: true,
                overlong: false
            })
        );
        assert_eq!(buf, b"next\nlast");
    }

    #[test]
    fn overlong_lines_become_empty_chunks_in_their_place() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("log.jsonl");
        let kept = "k".repeat(5000);
        let text = format!("a\n{}\n{kept}\nb\n{}", "x".repeat(20_000), "y".repeat(9000));
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
        let options = ReadOptions {
            chunk_size: 4096,
            max_line: 6000,
            progress_from: None,
        };
        let states = scan(
            &[Source::File(path)],
            &options,
            vec![Vec::new()],
            |s, c| s.push((c.overlong, c.data.clone())),
            |_| {},
        )
        .unwrap_or_else(|e| panic!("{e}"));
        // One worker: the chunks in the order they were read.
        let chunks: Vec<(bool, Vec<u8>)> = states.into_iter().flatten().collect();
        let mut lines = Vec::new();
        for (overlong, data) in &chunks {
            if *overlong {
                assert!(data.is_empty());
                lines.push("(overlong)".to_owned());
            } else {
                for_each_line(data, |_, l| {
                    lines.push(String::from_utf8_lossy(l).into_owned())
                });
            }
        }
        assert_eq!(lines, ["a", "(overlong)", kept.as_str(), "b", "(overlong)"]);
    }

    #[test]
    fn a_source_that_cannot_be_opened_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let good = dir.path().join("good.jsonl");
        std::fs::write(&good, "a\n").unwrap_or_else(|e| panic!("{e}"));
        let missing = dir.path().join("missing.jsonl");
        let sources = [Source::File(good), Source::File(missing.clone())];
        let result = scan(
            &sources,
            &ReadOptions::default(),
            vec![(); 2],
            |_, _| {},
            |_| {},
        );
        let error = result.err().map(|e| e.source);
        assert_eq!(error, Some(missing.display().to_string()));
    }

    #[test]
    fn lines_are_counted_with_or_without_a_final_newline() {
        let mut seen = Vec::new();
        assert_eq!(
            for_each_line(b"a\nb\n", |i, l| seen.push((i, l.to_vec()))),
            2
        );
        assert_eq!(for_each_line(b"a\n\nc", |_, _| {}), 3);
        assert_eq!(seen, vec![(0, b"a".to_vec()), (1, b"b".to_vec())]);
    }
}

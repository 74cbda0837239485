//! The parallel reader behind `stats`: it reads the inputs in big chunks cut
//! at line boundaries and hands them to worker threads over bounded
//! channels, so memory in flight stays at a few chunks whatever the size of
//! the logs.

use std::fs::File;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
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
}

/// How to read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The size of a chunk (a line longer than that makes its chunk grow).
    pub chunk_size: usize,
    /// Show a progress bar on standard error when it is a terminal and the
    /// inputs are at least this big (`None`: never).
    pub progress_from: Option<u64>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            chunk_size: 8 << 20,
            progress_from: Some(64 << 20),
        }
    }
}

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
/// thread per state in `states`. Returns the states when everything is read.
///
/// At most two chunks per worker exist at any time: the reader waits for a
/// worker to hand a buffer back before it reads on.
pub fn scan<S, F>(
    sources: &[Source],
    options: &ReadOptions,
    states: Vec<S>,
    work: F,
) -> Result<Vec<S>, InputError>
where
    S: Send,
    F: Fn(&mut S, &Chunk) + Sync,
{
    let workers = states.len().max(1);
    let buffers = workers * 2;
    let (free_tx, free_rx) = sync_channel::<Vec<u8>>(buffers);
    for _ in 0..buffers {
        // Cannot fail: the channel has room for every buffer.
        let _ = free_tx.send(Vec::new());
    }
    let (work_tx, work_rx) = sync_channel::<Chunk>(buffers);
    let work_rx = Mutex::new(work_rx);
    let progress = progress_bar(sources, options);

    std::thread::scope(|scope| {
        let handles: Vec<_> = states
            .into_iter()
            .map(|mut state| {
                let free_tx = free_tx.clone();
                let work_rx = &work_rx;
                let work = &work;
                scope.spawn(move || {
                    loop {
                        let next = work_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        let Ok(chunk) = next else { break };
                        work(&mut state, &chunk);
                        let _ = free_tx.send(chunk.data);
                    }
                    state
                })
            })
            .collect();
        let read = read_all(sources, options, &free_rx, work_tx, &progress);
        let states: Vec<S> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect();
        progress.finish_and_clear();
        read.map(|()| states)
    })
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

fn read_all(
    sources: &[Source],
    options: &ReadOptions,
    free: &Receiver<Vec<u8>>,
    work: SyncSender<Chunk>,
    progress: &ProgressBar,
) -> Result<(), InputError> {
    for (index, source) in sources.iter().enumerate() {
        let fail = |error| InputError {
            source: source.label(),
            error,
        };
        match source {
            Source::Stdin => {
                let stdin = std::io::stdin();
                let mut lock = stdin.lock();
                read_source(index, &mut lock, options, free, &work, progress).map_err(fail)?;
            }
            Source::File(path) => {
                let mut file = File::open(path).map_err(fail)?;
                if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                    return Err(fail(std::io::Error::other("is a directory")));
                }
                read_source(index, &mut file, options, free, &work, progress).map_err(fail)?;
            }
        }
    }
    Ok(())
}

fn read_source(
    source: usize,
    input: &mut dyn Read,
    options: &ReadOptions,
    free: &Receiver<Vec<u8>>,
    work: &SyncSender<Chunk>,
    progress: &ProgressBar,
) -> std::io::Result<()> {
    let chunk_size = options.chunk_size.max(4096);
    let mut carry: Vec<u8> = Vec::new();
    let mut seq = 0u64;
    loop {
        let Ok(mut buf) = free.recv() else {
            return Err(std::io::Error::other("the workers stopped"));
        };
        let mut limit = chunk_size.max(carry.len() * 2);
        if buf.len() < limit {
            buf.resize(limit, 0);
        }
        buf[..carry.len()].copy_from_slice(&carry);
        let mut filled = carry.len();
        carry.clear();
        let mut eof = false;
        loop {
            while filled < limit {
                match input.read(&mut buf[filled..limit]) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => {
                        filled += n;
                        progress.inc(n as u64);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if eof {
                break;
            }
            match memchr::memrchr(b'\n', &buf[..filled]) {
                Some(end) => {
                    carry.extend_from_slice(&buf[end + 1..filled]);
                    filled = end + 1;
                    break;
                }
                None => {
                    // One line longer than the buffer: grow it.
                    limit *= 2;
                    buf.resize(limit, 0);
                }
            }
        }
        buf.truncate(filled);
        if buf.is_empty() {
            return Ok(());
        }
        if work
            .send(Chunk {
                source,
                seq,
                data: buf,
            })
            .is_err()
        {
            return Err(std::io::Error::other("the workers stopped"));
        }
        seq += 1;
        if eof {
            return Ok(());
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
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut chunks: Vec<(u64, Vec<u8>)> = states.into_iter().flatten().collect();
        chunks.sort();
        let joined: Vec<u8> = chunks.into_iter().flat_map(|(_, d)| d).collect();
        assert_eq!(joined, text.as_bytes());
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

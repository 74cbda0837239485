//! Finding and reading the inputs: conversation directories, JSON-lines
//! logs (a `{tenant}` template, rotated files), read at start-up and then
//! polled for what is new. Nothing here ever writes.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use llm_traced_runtime::score::ScoreLine;

use super::index::{Body, Index, Meta};

/// One input as given on the command line.
#[derive(Debug, Clone)]
pub enum Input {
    /// A directory: its `*.json` files are conversations, its `*.jsonl` logs.
    Dir(PathBuf),
    /// A JSON-lines log (with its rotated files when `rotated`).
    Log(PathBuf),
    /// A log path with `{tenant}` in it: every file it matches.
    Template(PathBuf),
    /// One saved conversation file.
    Conversation(PathBuf),
}

impl Input {
    /// A log (`LLM_LOG_FILE`), whether it exists yet or not.
    pub fn log(path: PathBuf) -> Input {
        if path.to_string_lossy().contains("{tenant}") {
            Input::Template(path)
        } else {
            Input::Log(path)
        }
    }

    /// Classifies a path; an explicit path must exist (a template's
    /// directory must).
    pub fn from_path(path: &Path, must_exist: bool) -> Result<Input, String> {
        if path.to_string_lossy().contains("{tenant}") {
            let dir = parent(path);
            if must_exist && !dir.is_dir() {
                return Err(format!("{}: no such directory", dir.display()));
            }
            return Ok(Input::Template(path.to_owned()));
        }
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => Ok(Input::Dir(path.to_owned())),
            Ok(_) if path.extension().is_some_and(|x| x == "json") => {
                Ok(Input::Conversation(path.to_owned()))
            }
            Ok(_) => Ok(Input::Log(path.to_owned())),
            Err(e) if must_exist => Err(format!("cannot read {}: {e}", path.display())),
            Err(_) if path.extension().is_some_and(|x| x == "jsonl") => {
                Ok(Input::Log(path.to_owned()))
            }
            Err(_) => Ok(Input::Dir(path.to_owned())),
        }
    }
}

fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// How far each log has been read.
#[derive(Debug, Default)]
struct LogState {
    id: u32,
    offset: u64,
    line: u64,
    /// To notice a log replaced by a new file (rotation).
    identity: Option<(u64, u64)>,
}

/// What was read of a scores file beside a conversation.
#[derive(Debug)]
struct ScoreFile {
    /// Length, modification time and identity when it was read: any change
    /// and it is read again, whole.
    stamp: Stamp,
    /// The calls its scores were about.
    request_ids: Vec<Box<str>>,
    /// The last poll that listed it.
    seen: u64,
}

type Stamp = (u64, Option<std::time::SystemTime>, Option<(u64, u64)>);

/// A scores file read again (its stamp and scores), or gone (`None`).
type ScoreChange = (PathBuf, Option<(Stamp, Vec<ScoreLine>)>);

/// The inputs and what has been read of them.
#[derive(Debug)]
pub struct Loader {
    inputs: Vec<Input>,
    rotated: bool,
    seen_files: HashSet<PathBuf>,
    logs: HashMap<PathBuf, LogState>,
    score_files: HashMap<PathBuf, ScoreFile>,
    /// Polls so far (to tell the scores files no longer listed).
    poll_count: u64,
    threads: usize,
}

/// What a poll found.
#[derive(Debug, Default)]
pub struct Polled {
    /// The calls added or replaced.
    pub added: Vec<u32>,
    /// Calls already known whose scores changed.
    pub scored: Vec<u32>,
}

struct Parsed {
    path: PathBuf,
    result: Result<Meta, String>,
}

impl Loader {
    /// A loader of these inputs.
    pub fn new(inputs: Vec<Input>, rotated: bool) -> Self {
        Loader {
            inputs,
            rotated,
            seen_files: HashSet::new(),
            logs: HashMap::new(),
            score_files: HashMap::new(),
            poll_count: 0,
            threads: super::io_threads(),
        }
    }

    /// Reads what is new since the last poll (everything, the first time)
    /// into the index, with the scores files that are new or changed.
    pub fn poll(&mut self, index: &RwLock<Index>) -> Polled {
        let mut conversations = Vec::new();
        let mut logs = Vec::new();
        let mut score_files = Vec::new();
        let mut outside = Vec::new();
        for input in &self.inputs {
            match input {
                Input::Dir(dir) => {
                    let Ok(read) = std::fs::read_dir(dir) else {
                        continue;
                    };
                    let root = std::fs::canonicalize(dir).ok();
                    for entry in read.flatten() {
                        let name = entry.file_name();
                        if is_hidden(&name) {
                            continue;
                        }
                        let path = entry.path();
                        let relevant = has_ext(&name, ".json") || has_ext(&name, ".jsonl");
                        if relevant
                            && !self.seen_files.contains(&path)
                            && entry.file_type().is_ok_and(|t| t.is_symlink())
                            && !inside(&path, root.as_deref())
                        {
                            // Only what is under the given paths is read.
                            self.seen_files.insert(path.clone());
                            outside.push(path);
                            continue;
                        }
                        if has_ext(&name, super::scores::FILE_SUFFIX) {
                            if !self.seen_files.contains(&path) {
                                score_files.push(path);
                            }
                            continue;
                        }
                        if self.seen_files.contains(&path) && !has_ext(&name, ".json") {
                            continue;
                        }
                        if has_ext(&name, ".json") {
                            if !self.seen_files.contains(&path) {
                                conversations.push(path);
                            }
                        } else if has_ext(&name, ".jsonl") {
                            logs.push(path);
                        }
                    }
                }
                Input::Conversation(path) => {
                    if !self.seen_files.contains(path) {
                        conversations.push(path.clone());
                    }
                    score_files.push(llm_traced_runtime::score::scores_path(path));
                }
                Input::Log(path) => {
                    if self.rotated {
                        let mut older =
                            llm_traced_runtime::log::rotated_files(path).unwrap_or_default();
                        older.sort();
                        logs.extend(older);
                    }
                    logs.push(path.clone());
                }
                Input::Template(template) => {
                    let name = template
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let (prefix, suffix) = name.split_once("{tenant}").unwrap_or((&name, ""));
                    let dir = parent(template);
                    let Ok(read) = std::fs::read_dir(dir) else {
                        continue;
                    };
                    let mut found: Vec<PathBuf> = read
                        .flatten()
                        .filter(|e| {
                            let n = e.file_name();
                            let n = n.to_string_lossy();
                            n.len() > prefix.len() + suffix.len()
                                && n.starts_with(prefix)
                                && n.ends_with(suffix)
                                && !n.starts_with('.')
                        })
                        .map(|e| e.path())
                        .collect();
                    found.sort();
                    if !self.rotated {
                        // A rotated file's name is `{stem}.{time}{ext}`: leave those out.
                        let current: HashSet<PathBuf> = found.iter().cloned().collect();
                        found.retain(|p| {
                            !current.iter().any(|c| {
                                c != p
                                    && llm_traced_runtime::log::rotated_files(c)
                                        .map(|r| r.contains(p))
                                        .unwrap_or(false)
                            })
                        });
                    }
                    logs.extend(found);
                }
            }
        }
        conversations.sort();
        if !outside.is_empty() {
            let mut guard = index.write().unwrap_or_else(|e| e.into_inner());
            for p in outside {
                guard.skip(
                    p.display().to_string(),
                    "a link to a file outside the directory: not read".to_owned(),
                );
            }
        }
        let mut added = Vec::new();
        let mut scored: Vec<Box<str>> = Vec::new();
        for log in logs {
            self.read_log(&log, index, &mut added, &mut scored);
        }
        self.read_score_files(score_files, index, &mut scored);
        // In batches, so that only one batch of parsed records is held at a time.
        for batch in conversations.chunks(BATCH) {
            let parsed = self.parse_all(batch.to_vec());
            let mut guard = index.write().unwrap_or_else(|e| e.into_inner());
            for p in parsed {
                self.seen_files.insert(p.path.clone());
                match p.result {
                    Ok(meta) => {
                        added.extend(guard.add(meta, Body::Conversation(p.path.into_boxed_path())));
                    }
                    Err(reason) => guard.skip(p.path.display().to_string(), reason),
                }
            }
        }
        if !added.is_empty() {
            index.write().unwrap_or_else(|e| e.into_inner()).rebuild();
        }
        let scored = if scored.is_empty() {
            Vec::new()
        } else {
            let guard = index.read().unwrap_or_else(|e| e.into_inner());
            let new: HashSet<u32> = added.iter().copied().collect();
            let mut ids: Vec<u32> = scored
                .iter()
                .filter_map(|r| guard.call(r))
                .filter(|id| !new.contains(id))
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        Polled { added, scored }
    }

    /// Reads the scores files that are new or changed since the last poll
    /// (whole: they are small, and a file rewritten or truncated must not
    /// keep old scores), and forgets those that are gone. A line that is not
    /// a score (malformed, half written) is left out.
    fn read_score_files(
        &mut self,
        paths: Vec<PathBuf>,
        index: &RwLock<Index>,
        scored: &mut Vec<Box<str>>,
    ) {
        self.poll_count += 1;
        let now = self.poll_count;
        let mut changes: Vec<ScoreChange> = Vec::new();
        for path in paths {
            let known = self.score_files.get_mut(&path);
            let Ok(meta) = std::fs::metadata(&path) else {
                if known.is_some() {
                    changes.push((path, None));
                }
                continue;
            };
            let stamp: Stamp = (meta.len(), meta.modified().ok(), file_identity(&meta));
            if let Some(known) = known {
                known.seen = now;
                if known.stamp == stamp {
                    continue;
                }
            }
            let lines = std::fs::read(&path)
                .map(|bytes| super::scores::parse_text(&bytes))
                .unwrap_or_default();
            changes.push((path, Some((stamp, lines))));
        }
        // Those no longer listed are gone.
        changes.extend(
            self.score_files
                .iter()
                .filter(|(_, f)| f.seen != now)
                .map(|(p, _)| (p.clone(), None)),
        );
        if changes.is_empty() {
            return;
        }
        let mut guard = index.write().unwrap_or_else(|e| e.into_inner());
        for (path, new) in changes {
            if let Some(old) = self.score_files.remove(&path) {
                for rid in old.request_ids {
                    guard.file_scores.remove(&rid);
                    scored.push(rid);
                }
            }
            let Some((stamp, lines)) = new else { continue };
            let mut request_ids: Vec<Box<str>> = Vec::new();
            for line in lines {
                let rid: Box<str> = line.request_id.as_str().into();
                if !request_ids.contains(&rid) {
                    request_ids.push(rid.clone());
                }
                guard.file_scores.entry(rid).or_default().push(line);
            }
            scored.extend(request_ids.iter().cloned());
            self.score_files.insert(
                path,
                ScoreFile {
                    stamp,
                    request_ids,
                    seen: now,
                },
            );
        }
    }

    /// Reads and parses conversation files, on several threads when many.
    fn parse_all(&self, paths: Vec<PathBuf>) -> Vec<Parsed> {
        let one = |path: PathBuf| {
            let result = match std::fs::read(&path) {
                Ok(bytes) => Meta::parse(&bytes),
                Err(e) => Err(format!("cannot read the file: {e}")),
            };
            Parsed { path, result }
        };
        if paths.len() < 256 || self.threads < 2 {
            return paths.into_iter().map(one).collect();
        }
        let size = paths.len().div_ceil(self.threads);
        let mut chunks: Vec<Vec<PathBuf>> = Vec::new();
        let mut paths = paths.into_iter().peekable();
        while paths.peek().is_some() {
            chunks.push(paths.by_ref().take(size).collect());
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|chunk| scope.spawn(move || chunk.into_iter().map(one).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    }

    /// Reads the complete lines appended to a log since the last poll, a
    /// chunk at a time, into the index.
    fn read_log(
        &mut self,
        path: &Path,
        index: &RwLock<Index>,
        added: &mut Vec<u32>,
        scored: &mut Vec<Box<str>>,
    ) {
        let Ok(mut file) = std::fs::File::open(path) else {
            return;
        };
        let Ok(meta) = file.metadata() else { return };
        let identity = file_identity(&meta);
        let state = match self.logs.get_mut(path) {
            Some(s) => s,
            None => {
                let mut guard = index.write().unwrap_or_else(|e| e.into_inner());
                let id = guard.log_files.len() as u32;
                guard.log_files.push(path.to_owned());
                self.logs.entry(path.to_owned()).or_insert(LogState {
                    id,
                    ..LogState::default()
                })
            }
        };
        if state.identity.is_some() && state.identity != identity {
            // Replaced by a new file (rotation): the calls read so far now
            // live in the rotated file, if it can be found; the new file
            // gets an id of its own and is read from its start.
            let mut guard = index.write().unwrap_or_else(|e| e.into_inner());
            let moved = llm_traced_runtime::log::rotated_files(path)
                .unwrap_or_default()
                .into_iter()
                .find(|p| {
                    std::fs::metadata(p)
                        .ok()
                        .and_then(|m| file_identity(&m))
                        .is_some_and(|i| Some(i) == state.identity)
                });
            if let Some(moved) = moved {
                if let Some(slot) = guard.log_files.get_mut(state.id as usize) {
                    *slot = moved;
                }
            }
            state.id = guard.log_files.len() as u32;
            guard.log_files.push(path.to_owned());
            state.offset = 0;
            state.line = 0;
        } else if meta.len() < state.offset {
            // Truncated: read it again from the start (calls already known
            // are kept once, by request id).
            state.offset = 0;
            state.line = 0;
        }
        state.identity = identity;
        if meta.len() <= state.offset || file.seek(SeekFrom::Start(state.offset)).is_err() {
            return;
        }
        let mut data: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; CHUNK];
        loop {
            let n = match file.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            data.extend_from_slice(&chunk[..n]);
            let mut start = 0usize;
            let mut parsed = Vec::new();
            let mut scores = Vec::new();
            while let Some(nl) = memchr::memchr(b'\n', &data[start..]) {
                let line = &data[start..start + nl];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                state.line += 1;
                if !line.iter().all(u8::is_ascii_whitespace) {
                    let offset = state.offset + start as u64;
                    let score = (line.len() <= MAX_LINE)
                        .then(|| super::scores::parse_line(line))
                        .flatten();
                    if let Some(score) = score {
                        scores.push(score);
                    } else {
                        let result = if line.len() > MAX_LINE {
                            Err(format!("a line of {} bytes (over {MAX_LINE})", line.len()))
                        } else {
                            Meta::parse(line)
                        };
                        parsed.push((state.line, offset, line.len() as u32, result));
                    }
                }
                start += nl + 1;
            }
            state.offset += start as u64;
            data.drain(..start);
            if data.len() > MAX_LINE {
                // A line too long to be a record: skipped whole, later.
                let mut guard = index.write().unwrap_or_else(|e| e.into_inner());
                guard.skip(
                    format!("{}:{}", path.display(), state.line + 1),
                    format!("a line of over {MAX_LINE} bytes"),
                );
                state.offset += data.len() as u64;
                state.line += 1;
                data.clear();
                // Skip to the end of that line.
                loop {
                    let n = match file.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    match memchr::memchr(b'\n', &chunk[..n]) {
                        Some(nl) => {
                            state.offset += nl as u64 + 1;
                            data.extend_from_slice(&chunk[nl + 1..n]);
                            break;
                        }
                        None => state.offset += n as u64,
                    }
                }
            }
            if parsed.is_empty() && scores.is_empty() {
                continue;
            }
            let file_id = state.id;
            let mut guard = index.write().unwrap_or_else(|e| e.into_inner());
            for (line_no, offset, len, result) in parsed {
                match result {
                    Ok(meta) => {
                        let body = Body::LogLine {
                            file: file_id,
                            offset,
                            len,
                        };
                        added.extend(guard.add(meta, body));
                    }
                    Err(reason) => guard.skip(format!("{}:{line_no}", path.display()), reason),
                }
            }
            for score in scores {
                let rid: Box<str> = score.request_id.as_str().into();
                let known = guard.log_scores.entry(rid.clone()).or_default();
                // A log read again from its start (truncated) holds the
                // same lines again.
                if !known.contains(&score) {
                    known.push(score);
                    scored.push(rid);
                }
            }
        }
    }
}

/// Conversation files parsed between two additions to the index.
const BATCH: usize = 8192;
/// How much of a log is read at a time.
const CHUNK: usize = 8 << 20;
/// The longest log line read as a record.
const MAX_LINE: usize = 64 << 20;

/// Whether `path` (a link) resolves to a file under `root`.
fn inside(path: &Path, root: Option<&Path>) -> bool {
    match (std::fs::canonicalize(path), root) {
        (Ok(target), Some(root)) => target.starts_with(root),
        _ => false,
    }
}

#[cfg(unix)]
fn file_identity(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_identity(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

fn is_hidden(name: &OsString) -> bool {
    name.to_string_lossy().starts_with('.')
}

fn has_ext(name: &OsString, ext: &str) -> bool {
    name.to_string_lossy().ends_with(ext)
}

/// Reads a call's full record text from disk.
pub fn read_body(index: &Index, body: &Body) -> Result<String, String> {
    match body {
        Body::Conversation(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display())),
        Body::LogLine { file, offset, len } => {
            let path = index
                .log_files
                .get(*file as usize)
                .ok_or_else(|| "unknown log".to_owned())?;
            let mut f = std::fs::File::open(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            f.seek(SeekFrom::Start(*offset))
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let mut buf = vec![0u8; *len as usize];
            f.read_exact(&mut buf)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            String::from_utf8(buf).map_err(|_| format!("{}: not UTF-8", path.display()))
        }
    }
}

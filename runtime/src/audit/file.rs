//! The JSON-lines file backend: one entry per line, appended under an
//! exclusive lock on the file (std's `File::lock`, `flock` on Unix), so that
//! threads and processes on one host chain one after the other.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::backend::{Backend, Scanned};
use super::entry::Entry;
use super::error::AuditError;
use super::head::{sibling, sync_parent, Head};

/// When the file backend flushes appended entries to the disk (`fsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fsync {
    /// After every entry: an entry is on the disk when `append` returns
    /// (the default: an audit log should survive a crash).
    #[default]
    Always,
    /// Never explicitly: the operating system writes when it likes (fast; a
    /// crash of the machine may lose the last entries, never reorder them).
    Never,
    /// After every N entries appended through this handle.
    EveryN(u32),
}

impl Fsync {
    /// The policy of fsyncing every `n` entries: 1 is `Always`, 0 `Never`.
    pub fn every(n: u32) -> Fsync {
        match n {
            0 => Fsync::Never,
            1 => Fsync::Always,
            n => Fsync::EveryN(n),
        }
    }

    /// Parses `always`, `never` or a number N (every N entries).
    pub fn parse(text: &str) -> Option<Fsync> {
        match text.trim().to_ascii_lowercase().as_str() {
            "always" | "every" | "1" => Some(Fsync::Always),
            "never" | "0" => Some(Fsync::Never),
            n => n.parse().ok().map(Fsync::EveryN),
        }
    }
}

/// How [`AuditLog::open_file`](super::AuditLog::open_file) opens a file log.
#[derive(Debug, Clone, Default)]
pub struct FileOptions {
    pub(crate) fsync: Fsync,
    pub(crate) head_file: HeadFileChoice,
}

#[derive(Debug, Clone, Default)]
pub(crate) enum HeadFileChoice {
    #[default]
    Beside,
    At(PathBuf),
    Off,
}

impl FileOptions {
    /// The defaults: fsync after every entry, head file `<log>.head`.
    pub fn new() -> Self {
        FileOptions::default()
    }

    /// Sets the fsync policy (for the log and its head file).
    pub fn fsync(mut self, fsync: Fsync) -> Self {
        self.fsync = fsync;
        self
    }

    /// Writes the head file at `path` instead of `<log>.head` (e.g. on
    /// another volume, mounted from elsewhere).
    pub fn head_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.head_file = HeadFileChoice::At(path.into());
        self
    }

    /// Writes no head file.
    pub fn no_head_file(mut self) -> Self {
        self.head_file = HeadFileChoice::Off;
        self
    }
}

/// The first line of a pruned file: `{"anchor":{"seq":N,"hash":"…"}}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnchorLine {
    anchor: Head,
}

pub(crate) fn anchor_line(anchor: &Head) -> String {
    format!("{{\"anchor\":{}}}", anchor.to_json())
}

/// What one line of the file is.
enum Line {
    Anchor(Head),
    Entry(Box<Entry>),
}

fn parse_line(bytes: &[u8]) -> Result<Line, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the line is not UTF-8".to_owned())?;
    if text.starts_with("{\"anchor\":") {
        let parsed: AnchorLine =
            serde_json::from_str(text).map_err(|e| format!("not an anchor: {e}"))?;
        if anchor_line(&parsed.anchor) != text || !super::chain::is_hex64(&parsed.anchor.hash) {
            return Err("the anchor line is not in canonical form".to_owned());
        }
        return Ok(Line::Anchor(parsed.anchor));
    }
    Entry::from_line(text).map(|e| Line::Entry(Box::new(e)))
}

/// Reads the file at `path` (up to its length at the start, so that entries
/// appended meanwhile are left for the next scan) and calls `visit` for the
/// anchor and each line.
pub(crate) fn scan_path(
    path: &Path,
    visit: &mut dyn FnMut(Scanned) -> bool,
) -> Result<(), AuditError> {
    let file = File::open(path).map_err(|e| AuditError::io("open", path, e))?;
    // A writer holds the exclusive lock while it writes a line: once we get
    // the shared lock, the length ends at a line boundary.
    file.lock_shared()
        .map_err(|e| AuditError::io("lock", path, e))?;
    let len = file.metadata().map(|m| m.len());
    let _ = file.unlock();
    let len = len.map_err(|e| AuditError::io("read", path, e))?;
    let mut reader = BufReader::with_capacity(256 * 1024, file.take(len));
    let mut buf = Vec::with_capacity(1024);
    let mut line_no = 0u64;
    let mut started = false;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| AuditError::io("read", path, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let complete = buf.last() == Some(&b'\n');
        if complete {
            buf.pop();
        }
        let item = if !complete {
            Scanned::Malformed {
                position: line_no,
                reason: "incomplete last line (no newline)".to_owned(),
            }
        } else {
            match parse_line(&buf) {
                Ok(Line::Anchor(anchor)) if line_no == 1 => {
                    started = true;
                    Scanned::Anchor(anchor)
                }
                Ok(Line::Anchor(_)) => Scanned::Malformed {
                    position: line_no,
                    reason: "an anchor line after the first line".to_owned(),
                },
                Ok(Line::Entry(entry)) => Scanned::Entry(entry),
                Err(reason) => Scanned::Malformed {
                    position: line_no,
                    reason,
                },
            }
        };
        if !started {
            started = true;
            if !visit(Scanned::Anchor(Head::genesis())) {
                return Ok(());
            }
        }
        if !visit(item) {
            return Ok(());
        }
    }
    if !started {
        visit(Scanned::Anchor(Head::genesis()));
    }
    Ok(())
}

/// Identity of an open file, to notice that the path now names another file
/// (a pruning renamed a new one over it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId(u64, u64);

fn file_id(meta: &std::fs::Metadata) -> FileId {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        FileId(meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        FileId(0, 0)
    }
}

pub(crate) struct FileBackend {
    path: PathBuf,
    file: Option<File>,
    /// The length of the file and its head after our last append, to skip
    /// reading the tail when nobody else wrote since.
    cache: Option<(FileId, u64, Head)>,
    fsync: Fsync,
    unsynced: u32,
}

/// Unlocks the file when dropped.
struct Locked<'a>(&'a File);

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

impl FileBackend {
    pub(crate) fn open(path: &Path, fsync: Fsync) -> Result<FileBackend, AuditError> {
        let mut backend = FileBackend {
            path: path.to_path_buf(),
            file: None,
            cache: None,
            fsync,
            unsynced: 0,
        };
        backend.reopen()?;
        Ok(backend)
    }

    pub(crate) fn default_head_path(path: &Path) -> PathBuf {
        sibling(path, ".head")
    }

    fn reopen(&mut self) -> Result<(), AuditError> {
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| AuditError::io("create the directory of", &self.path, e))?;
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(|e| AuditError::io("open", &self.path, e))?;
        self.file = Some(file);
        self.cache = None;
        Ok(())
    }

    /// Locks the file the path names now (reopening when a pruning replaced
    /// it), and returns its identity and length.
    fn lock(&mut self) -> Result<(FileId, u64), AuditError> {
        for _ in 0..100 {
            if self.file.is_none() {
                self.reopen()?;
            }
            let Some(file) = &self.file else { continue };
            file.lock()
                .map_err(|e| AuditError::io("lock", &self.path, e))?;
            let ours = file.metadata();
            let named = std::fs::metadata(&self.path);
            match (ours, named) {
                (Ok(ours), Ok(named)) if file_id(&ours) == file_id(&named) => {
                    return Ok((file_id(&ours), ours.len()));
                }
                _ => {
                    let _ = file.unlock();
                    self.file = None;
                }
            }
        }
        Err(AuditError::Conflict(format!(
            "{} keeps being replaced",
            self.path.display()
        )))
    }

    fn file(&self) -> Result<&File, AuditError> {
        self.file.as_ref().ok_or_else(|| {
            AuditError::io(
                "open",
                &self.path,
                std::io::Error::other("the file is not open"),
            )
        })
    }

    /// The head at the end of the locked file: the last line's, the anchor
    /// for a file with only an anchor line, genesis for an empty file. A last
    /// line without its newline is an interrupted write and is cut off.
    fn read_head(&self, len: u64) -> Result<Head, AuditError> {
        let file = self.file()?;
        let path = &self.path;
        if len == 0 {
            return Ok(Head::genesis());
        }
        let mut reader = file;
        let mut tail: Vec<u8> = Vec::new();
        let mut start = len;
        // Read backwards until the tail holds a whole last line.
        loop {
            let chunk = 8192.min(start);
            start -= chunk;
            let mut buf = vec![0u8; chunk as usize];
            reader
                .seek(SeekFrom::Start(start))
                .and_then(|_| reader.read_exact(&mut buf))
                .map_err(|e| AuditError::io("read", path, e))?;
            buf.extend_from_slice(&tail);
            tail = buf;
            // The tail is complete when it holds a newline before its last
            // line (or reaches the start of the file).
            let body = match tail.last() {
                Some(b'\n') => &tail[..tail.len() - 1],
                _ => &tail[..],
            };
            if start == 0 || body.contains(&b'\n') {
                break;
            }
        }
        if tail.last() != Some(&b'\n') {
            // Interrupted write: cut the partial line off and look again.
            let keep = tail.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            let new_len = start + keep as u64;
            file.set_len(new_len)
                .map_err(|e| AuditError::io("cut the partial last line of", path, e))?;
            return self.read_head(new_len);
        }
        let body = &tail[..tail.len() - 1];
        let line_start = body.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        match parse_line(&body[line_start..]) {
            Ok(Line::Entry(e)) => Ok(e.head()),
            Ok(Line::Anchor(a)) => Ok(a),
            Err(reason) => Err(AuditError::Corrupt {
                location: path.display().to_string(),
                reason,
            }),
        }
    }

    fn sync(&mut self) -> Result<(), AuditError> {
        let due = match self.fsync {
            Fsync::Always => true,
            Fsync::Never => false,
            Fsync::EveryN(n) => {
                self.unsynced += 1;
                self.unsynced >= n.max(1)
            }
        };
        if due {
            self.unsynced = 0;
            self.file()?
                .sync_data()
                .map_err(|e| AuditError::io("sync", &self.path, e))?;
        }
        Ok(())
    }
}

impl Backend for FileBackend {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn append(&mut self, seal: &mut dyn FnMut(&Head) -> Entry) -> Result<Entry, AuditError> {
        let (id, len) = self.lock()?;
        let file = self.file()?;
        let _locked = Locked(file);
        let head = match &self.cache {
            Some((cached_id, cached_len, head)) if *cached_id == id && *cached_len == len => {
                head.clone()
            }
            _ => self.read_head(len)?,
        };
        let entry = seal(&head);
        let mut line = entry.to_line();
        line.push('\n');
        let mut out = file;
        out.write_all(line.as_bytes())
            .map_err(|e| AuditError::io("append to", &self.path, e))?;
        let new_len = file
            .metadata()
            .map_err(|e| AuditError::io("read", &self.path, e))?
            .len();
        drop(_locked);
        // The entry's place is fixed; syncing after the unlock lets the next
        // writer in sooner, and `append` still returns only once it is durable.
        self.sync()?;
        self.cache = Some((id, new_len, entry.head()));
        Ok(entry)
    }

    fn head(&mut self) -> Result<Head, AuditError> {
        let (_, len) = self.lock()?;
        let file = self.file()?;
        let _locked = Locked(file);
        self.read_head(len)
    }

    fn scan(&mut self, visit: &mut dyn FnMut(Scanned) -> bool) -> Result<(), AuditError> {
        scan_path(&self.path, visit)
    }

    fn prune(
        &mut self,
        through: &Head,
        seal: &mut dyn FnMut(&Head) -> Entry,
    ) -> Result<Option<Entry>, AuditError> {
        let (_, len) = self.lock()?;
        let file = self.file()?;
        let _locked = Locked(file);
        let path = self.path.clone();
        let mut text = Vec::with_capacity(len as usize);
        let mut reader = file;
        reader
            .seek(SeekFrom::Start(0))
            .and_then(|_| reader.take(len).read_to_end(&mut text))
            .map_err(|e| AuditError::io("read", &path, e))?;
        let mut anchor = Head::genesis();
        let mut keep_from = None;
        let mut last = Head::genesis();
        let mut offset = 0usize;
        for raw in text.split_inclusive(|b| *b == b'\n') {
            let line = raw.strip_suffix(b"\n").unwrap_or(raw);
            match parse_line(line) {
                Ok(Line::Anchor(a)) => {
                    last = a.clone();
                    anchor = a;
                }
                Ok(Line::Entry(e)) => {
                    if e.seq == through.seq {
                        if e.hash != through.hash {
                            return Err(AuditError::Conflict(format!(
                                "entry {} of {} is not the one verified",
                                e.seq,
                                path.display()
                            )));
                        }
                        keep_from = Some(offset + raw.len());
                    }
                    last = e.head();
                }
                Err(reason) => {
                    return Err(AuditError::Corrupt {
                        location: path.display().to_string(),
                        reason,
                    })
                }
            }
            offset += raw.len();
        }
        if anchor.seq >= through.seq {
            return Ok(None);
        }
        let Some(keep_from) = keep_from else {
            return Err(AuditError::Conflict(format!(
                "entry {} is not in {}",
                through.seq,
                path.display()
            )));
        };
        let record = seal(&last);
        let tmp = sibling(&path, ".prune.tmp");
        let result = (|| {
            let mut out = std::io::BufWriter::new(File::create(&tmp)?);
            out.write_all(anchor_line(through).as_bytes())?;
            out.write_all(b"\n")?;
            out.write_all(&text[keep_from..])?;
            out.write_all(record.to_line().as_bytes())?;
            out.write_all(b"\n")?;
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            sync_parent(&path)
        })();
        drop(_locked);
        // The path names the new file now: reopen on the next operation.
        self.file = None;
        self.cache = None;
        result.map_err(|e| AuditError::io("rewrite (prune)", &path, e))?;
        Ok(Some(record))
    }
}

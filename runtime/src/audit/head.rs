//! The head of a log (last sequence number and hash) and the head file.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::chain::{self, GENESIS_HASH};
use super::error::AuditError;

/// Where a chain ends: the last entry's sequence number and hash (or, for a
/// pruning anchor, the last removed entry's).
///
/// Keep a copy apart from the log (another host, a WORM bucket, a database
/// with other credentials): [`AuditLog::verify`](super::AuditLog::verify)
/// with it catches a log cut short, and a log rewritten without the key.
///
/// Written as JSON (`{"seq":12,"hash":"…"}`) or as text (`12:…`); both parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// The sequence number (0 for an empty log).
    pub seq: u64,
    /// The entry's hash (64 zeros for an empty log).
    pub hash: String,
}

impl Head {
    /// The head of an empty log: sequence 0, hash of 64 zeros.
    pub fn genesis() -> Head {
        Head {
            seq: 0,
            hash: GENESIS_HASH.to_owned(),
        }
    }

    /// Whether this is the head of an empty log.
    pub fn is_genesis(&self) -> bool {
        self.seq == 0
    }

    /// The head as one line of JSON: `{"seq":12,"hash":"…"}` (no newline).
    pub fn to_json(&self) -> String {
        let mut out = format!("{{\"seq\":{},\"hash\":", self.seq);
        chain::write_json_string(&self.hash, &mut out);
        out.push('}');
        out
    }

    /// Parses a head written as JSON or as `seq:hash`.
    pub fn parse(text: &str) -> Result<Head, AuditError> {
        let text = text.trim();
        let head = if text.starts_with('{') {
            serde_json::from_str::<Head>(text)
                .map_err(|e| AuditError::InvalidHead(format!("{text:?}: {e}")))?
        } else {
            let (seq, hash) = text.split_once(':').ok_or_else(|| {
                AuditError::InvalidHead(format!("{text:?}: expected SEQ:HASH or JSON"))
            })?;
            Head {
                seq: seq
                    .parse()
                    .map_err(|e| AuditError::InvalidHead(format!("{text:?}: {e}")))?,
                hash: hash.to_owned(),
            }
        };
        if !chain::is_hex64(&head.hash) {
            return Err(AuditError::InvalidHead(format!(
                "{text:?}: the hash must be 64 lowercase hex digits"
            )));
        }
        Ok(head)
    }

    /// Reads a head file (JSON or `seq:hash`).
    pub fn read(path: impl AsRef<Path>) -> Result<Head, AuditError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| AuditError::io("read", path, e))?;
        Head::parse(&text)
    }

    /// Writes the head to `path` atomically (a temporary file renamed over
    /// it), flushed to disk when `sync`.
    pub fn write_atomic(&self, path: impl AsRef<Path>, sync: bool) -> Result<(), AuditError> {
        let path = path.as_ref();
        let tmp = sibling(path, ".tmp");
        let result = (|| {
            let mut file = File::create(&tmp)?;
            file.write_all(self.to_json().as_bytes())?;
            file.write_all(b"\n")?;
            if sync {
                file.sync_all()?;
            }
            std::fs::rename(&tmp, path)?;
            if sync {
                sync_parent(path)?;
            }
            Ok(())
        })();
        result.map_err(|e| AuditError::io("write the head file", path, e))
    }
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl FromStr for Head {
    type Err = AuditError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Head::parse(s)
    }
}

/// `path` with `suffix` added to its file name.
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Flushes the directory holding `path` (so that a rename survives a crash).
pub(crate) fn sync_parent(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// A head file that only moves forward: several writers (threads, processes,
/// hosts sharing a directory) each advance it after their append, under a lock
/// on `<head>.lock`, and a slower writer never puts an older head back.
#[derive(Debug)]
pub(crate) struct HeadFile {
    path: PathBuf,
    lock: Option<File>,
    sync: bool,
}

impl HeadFile {
    pub(crate) fn new(path: PathBuf, sync: bool) -> HeadFile {
        HeadFile {
            path,
            lock: None,
            sync,
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces the head file with `head` unless it already holds a later one.
    pub(crate) fn advance(&mut self, head: &Head) -> Result<(), AuditError> {
        let lock_path = sibling(&self.path, ".lock");
        if self.lock.is_none() {
            if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| AuditError::io("create the directory of", &self.path, e))?;
            }
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(|e| AuditError::io("open", &lock_path, e))?;
            self.lock = Some(file);
        }
        let Some(lock) = &self.lock else {
            return Ok(());
        };
        lock.lock()
            .map_err(|e| AuditError::io("lock", &lock_path, e))?;
        let result = (|| {
            if let Some(current) = read_if_any(&self.path) {
                if current.seq >= head.seq {
                    return Ok(());
                }
            }
            head.write_atomic(&self.path, self.sync)
        })();
        let _ = lock.unlock();
        result
    }
}

fn read_if_any(path: &Path) -> Option<Head> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    Head::parse(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms() {
        let h = Head {
            seq: 12,
            hash: "ab".repeat(32),
        };
        assert_eq!(Head::parse(&h.to_json()).unwrap(), h);
        assert_eq!(Head::parse(&h.to_string()).unwrap(), h);
        assert_eq!(h.to_string().parse::<Head>().unwrap(), h);
        assert!(Head::parse("12:abc").is_err());
        assert!(Head::parse("x").is_err());
        assert!(Head::parse("{\"seq\":1}").is_err());
    }

    #[test]
    fn head_file_only_moves_forward() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.head");
        let mut file = HeadFile::new(path.clone(), false);
        let at = |seq| Head {
            seq,
            hash: format!("{seq:064x}"),
        };
        file.advance(&at(5)).unwrap();
        file.advance(&at(3)).unwrap();
        assert_eq!(Head::read(&path).unwrap(), at(5));
        file.advance(&at(6)).unwrap();
        assert_eq!(Head::read(&path).unwrap(), at(6));
    }
}

//! The text search over prompts and responses. Bodies are read from disk
//! on all cores; a quick scan of the raw bytes skips the files that cannot
//! match before any JSON is parsed. Results are kept for the last few
//! queries; the progress of the running one can be asked for.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde_json::Value;

use super::index::{Body, Index};

/// The search in progress.
#[derive(Debug, Default)]
pub struct Progress {
    /// Its text.
    pub query: String,
    /// Calls read so far.
    pub done: Arc<AtomicUsize>,
    /// Calls to read.
    pub total: usize,
    /// Whether it is still running.
    pub running: bool,
}

type Cached = (String, usize, Arc<Vec<bool>>);

/// Searches and their cache.
#[derive(Debug, Default)]
pub struct Searcher {
    cache: Mutex<Vec<Cached>>,
    /// The running (or last) search.
    pub progress: Mutex<Progress>,
}

const CACHED: usize = 8;

enum Location {
    File(std::path::PathBuf),
    Line(std::path::PathBuf, u64, u32),
}

impl Searcher {
    /// A flag per entry id: whether its prompt or response contains `text`
    /// (case-insensitive).
    pub fn matches(&self, index: &RwLock<Index>, text: &str) -> Arc<Vec<bool>> {
        let needle = text.to_lowercase();
        let locations: Vec<Option<Location>> = {
            let guard = index.read().unwrap_or_else(|e| e.into_inner());
            let n = guard.entries.len();
            if let Some(hit) = self
                .cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .find(|(q, len, _)| *q == needle && *len == n)
            {
                return hit.2.clone();
            }
            guard
                .entries
                .iter()
                .map(|e| match &e.body {
                    Body::Conversation(p) => Some(Location::File(p.to_path_buf())),
                    Body::LogLine { file, offset, len } => guard
                        .log_files
                        .get(*file as usize)
                        .map(|p| Location::Line(p.clone(), *offset, *len)),
                })
                .collect()
        };
        let done = Arc::new(AtomicUsize::new(0));
        {
            let mut p = self.progress.lock().unwrap_or_else(|e| e.into_inner());
            *p = Progress {
                query: text.to_owned(),
                done: done.clone(),
                total: locations.len(),
                running: true,
            };
        }
        let result = Arc::new(search(&locations, &needle, &done));
        self.progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .running = false;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|(q, _, _)| *q != needle);
        cache.push((needle, locations.len(), result.clone()));
        if cache.len() > CACHED {
            cache.remove(0);
        }
        result
    }
}

fn search(locations: &[Option<Location>], needle: &str, done: &AtomicUsize) -> Vec<bool> {
    let threads = super::io_threads();
    // The raw-bytes scan is exact only when the needle has nothing JSON
    // escapes and no letters whose case ASCII folding misses.
    let quick =
        needle.is_ascii() && !needle.contains(|c: char| c == '"' || c == '\\' || c.is_control());
    let finder = memchr::memmem::Finder::new(needle.as_bytes());
    let next = AtomicUsize::new(0);
    const BATCH: usize = 64;
    let mut out = vec![false; locations.len()];
    let results: Vec<Vec<usize>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let finder = &finder;
                let next = &next;
                scope.spawn(move || {
                    let mut hits = Vec::new();
                    let mut lower = Vec::new();
                    let mut file = None::<(std::path::PathBuf, std::fs::File)>;
                    loop {
                        let start = next.fetch_add(BATCH, Ordering::Relaxed);
                        if start >= locations.len() {
                            break;
                        }
                        let end = (start + BATCH).min(locations.len());
                        for (i, loc) in locations[start..end].iter().enumerate() {
                            let Some(bytes) = loc.as_ref().and_then(|l| read(l, &mut file)) else {
                                continue;
                            };
                            if quick {
                                lower.clear();
                                lower.extend(bytes.iter().map(u8::to_ascii_lowercase));
                                if finder.find(&lower).is_none() {
                                    continue;
                                }
                            }
                            if content_contains(&bytes, needle) {
                                hits.push(start + i);
                            }
                        }
                        done.fetch_add(end - start, Ordering::Relaxed);
                    }
                    hits
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for hit in results.into_iter().flatten() {
        out[hit] = true;
    }
    out
}

fn read(loc: &Location, open: &mut Option<(std::path::PathBuf, std::fs::File)>) -> Option<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    match loc {
        Location::File(p) => std::fs::read(p).ok(),
        Location::Line(p, offset, len) => {
            if open.as_ref().is_none_or(|(q, _)| q != p) {
                *open = Some((p.clone(), std::fs::File::open(p).ok()?));
            }
            let (_, f) = open.as_mut()?;
            f.seek(SeekFrom::Start(*offset)).ok()?;
            let mut buf = vec![0u8; *len as usize];
            f.read_exact(&mut buf).ok()?;
            Some(buf)
        }
    }
}

/// Whether the record's messages, response or tool-call arguments contain
/// `needle` (already lowercase).
pub fn content_contains(bytes: &[u8], needle: &str) -> bool {
    let Ok(Value::Object(record)) = serde_json::from_slice::<Value>(bytes) else {
        return false;
    };
    ["messages", "response", "tool_calls"]
        .iter()
        .filter_map(|k| record.get(*k))
        .any(|v| value_contains(v, needle))
}

fn value_contains(v: &Value, needle: &str) -> bool {
    match v {
        Value::String(s) => {
            if s.is_ascii() && needle.is_ascii() {
                memchr::memmem::find(s.to_ascii_lowercase().as_bytes(), needle.as_bytes()).is_some()
            } else {
                s.to_lowercase().contains(needle)
            }
        }
        Value::Array(a) => a.iter().any(|x| value_contains(x, needle)),
        Value::Object(o) => o.values().any(|x| value_contains(x, needle)),
        _ => false,
    }
}

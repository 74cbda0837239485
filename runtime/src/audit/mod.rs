//! The tamper-evident audit log: who asked what, when, through which model
//! and data source, with proof that nobody edited the record since.
//!
//! Each [`Entry`] records an [`Action`] (`query`, `completion`, `moderation`,
//! `content_filter`, `data_access`, `config_change`), the user, the resource
//! (model, data source, setting), free-form details, the client's IP address
//! and user agent, and the SHA-256 of the content. The content itself is
//! never stored.
//!
//! Entries form a hash chain: each holds its sequence number (1, 2, 3, …)
//! and the hash of the entry before it, and its own hash covers both. Any
//! edit, deletion, insertion or reordering breaks the chain, and
//! [`AuditLog::verify`] names the first bad entry and the kind of
//! [`Damage`].
//!
//! ```
//! use llm_traced_runtime::audit::{AuditLog, FileOptions};
//! use serde_json::json;
//!
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("audit.jsonl");
//! let log = AuditLog::open_file(&path, FileOptions::new())?.with_key(b"a long random secret".to_vec());
//! log.query("u-42", "gpt-4o", "What is my balance?", json!({"channel": "web"}))?;
//! log.data_access("u-42", "accounts-db", "balance of u-42", 1)?;
//! let head = log.completion("u-42", "gpt-4o", "Your balance is …", json!({}))?;
//! // Keep `head` apart from the log (another host, a WORM bucket, …).
//! let report = log.verify(Some(&head))?;
//! assert!(report.is_ok(), "{report}");
//! # Ok::<(), llm_traced_runtime::audit::AuditError>(())
//! ```
//!
//! # What is caught, and what it takes
//!
//! - **Edits, deletions, insertions, duplicates, reordering** anywhere before
//!   the last entry: always, by the chain alone.
//! - **A rewritten chain** (an attacker edits an entry and recomputes every
//!   hash after it): with a key (`LLM_AUDIT_KEY`, [`AuditLog::with_key`]),
//!   each entry also carries an HMAC-SHA-256 that cannot be recomputed
//!   without the key ([`Damage::BadSignature`]). **Without a key**, such a
//!   rewrite is caught only by a head kept apart ([`Damage::HeadMismatch`]).
//! - **A cut tail** (the last entries deleted) and **the last entry
//!   rewritten**: only by a head kept apart ([`Damage::Truncated`],
//!   [`Damage::HeadMismatch`]), key or not: a prefix of a valid chain is a
//!   valid chain.
//!
//! So keep the head apart from the log: read it after each append
//! ([`AuditLog::append`] returns it, [`AuditLog::head`] reads it), or let the
//! log write it to a head file ([`FileOptions::head_file`],
//! [`AuditLog::with_head_file`]), and put that file where whoever can write
//! the log cannot: another host, a WORM (object-lock) bucket, a database with
//! other credentials. A head file next to the log (the file backend's default
//! `<log>.head`) only catches accidents. Verification with an older head is
//! fine: it checks the log up to that head.
//!
//! A verifier without the key still checks the whole chain (the hash does not
//! depend on the key); only the MACs go unchecked.
//!
//! # Backends
//!
//! Behind one [`Backend`] trait:
//!
//! - a JSON-lines file ([`AuditLog::open_file`]): one line per entry,
//!   appended under an exclusive file lock by any number of threads and
//!   processes on one host; fsync policy per [`Fsync`];
//! - SQLite ([`AuditLog::open_sqlite`], feature `sqlite`), the embedded
//!   default: `BEGIN IMMEDIATE` transactions serialise writers;
//! - PostgreSQL ([`AuditLog::open_postgres`], feature `postgres`) for several
//!   hosts writing one log: each append locks the anchor row
//!   (`SELECT … FOR UPDATE`) in its transaction.
//!
//! # Formats
//!
//! **Canonical form** (what `hash` and `mac` are computed over), version 1:
//! one JSON object, UTF-8, no whitespace, these fields in this order:
//!
//! ```text
//! {"v":1,"seq":N,"ts":"YYYY-MM-DDTHH:MM:SS.ffffffZ","action":"…","user_id":"…"|null,
//!  "resource":"…","details":{…},"ip_address":"…"|null,"user_agent":"…"|null,
//!  "content_hash":"<64 hex>"|null,"prev_hash":"<64 hex>"}
//! ```
//!
//! (shown on two lines here; one line in fact). `seq` is a decimal integer
//! from 1; `ts` is UTC with exactly six fractional digits; `details` is
//! canonical JSON ([`canonical_json`]: object keys sorted by their UTF-8
//! bytes, no whitespace, numbers as `serde_json` writes them); strings are
//! escaped with `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, and `\u00xx` (lowercase)
//! for the other control characters, everything else raw. `prev_hash` of
//! entry 1 is 64 zeros. Then:
//!
//! - `hash` = lowercase hex SHA-256 of the canonical form;
//! - `mac` = lowercase hex HMAC-SHA-256 of the canonical form under the key
//!   (only in a keyed log).
//!
//! **File line**: the canonical form with `,"hash":"…"` (and `,"mac":"…"`)
//! inserted before the closing brace, then `\n`. Lines must be exactly these
//! bytes. A pruned file starts with the anchor line
//! `{"anchor":{"seq":N,"hash":"…"}}`.
//!
//! **SQL**: table `llm_audit_log` (`seq` primary key, then `ts`, `action`,
//! `user_id`, `resource`, `details` (canonical JSON as TEXT), `ip_address`,
//! `user_agent`, `content_hash`, `prev_hash`, `hash`, `mac`, all TEXT) and the
//! one-row table `llm_audit_anchor (id = 1, seq, hash)`.
//!
//! **Head**: `{"seq":N,"hash":"…"}` (the head file holds this and a newline),
//! or `N:hash` as text; see [`Head`].
//!
//! # Retention
//!
//! [`AuditLog::prune_before`] removes the oldest entries (those before a
//! date), after verifying the whole log. The last removed entry's head becomes
//! the log's anchor, kept in the backend, and verification starts from it; the
//! pruning itself is recorded as a `config_change` entry on resource
//! `audit_log` naming the anchor, so that a beginning cut off without it is
//! caught ([`Damage::UnattestedAnchor`]).
//!
//! # The process-wide log
//!
//! `#[llm_traced(audit)]` writes to the process-wide log: set it with
//! [`install`], or from the environment ([`from_env`]: `LLM_AUDIT_FILE`,
//! `LLM_AUDIT_DB`, `LLM_AUDIT_KEY`, `LLM_AUDIT_FSYNC`). Entries are handed to
//! a writer thread ([`record`]); [`flush`] waits for them, and they are
//! flushed when the process exits normally.
//!
//! The PostgreSQL client blocks: do not call a PostgreSQL [`AuditLog`]
//! directly from a thread that runs an async runtime (use `spawn_blocking`,
//! or [`record`]).

mod backend;
pub(crate) mod chain;
mod entry;
mod error;
mod file;
mod global;
mod head;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
mod verify;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

/// The timestamp types of the API (re-exported: no direct `chrono`
/// dependency is needed to call it).
pub use chrono::{DateTime, Utc};

pub use backend::{Backend, Scanned};
pub use chain::{canonical_json, sha256_hex};
pub use entry::{Action, Entry, NewEntry};
pub use error::AuditError;
pub use file::{FileOptions, Fsync};
pub use global::{flush, flush_timeout, from_env, global, install, record};

pub(crate) use global::{enabled, submit};
pub use head::Head;
pub use verify::{Damage, VerifyReport};

use file::{FileBackend, HeadFileChoice};
use head::HeadFile;
use verify::Verifier;

struct Inner {
    backend: Box<dyn Backend>,
    head_file: Option<HeadFile>,
}

/// A tamper-evident audit log (see the [module documentation](self)).
///
/// One `AuditLog` may be shared by threads (`&AuditLog` or `Arc`); several
/// `AuditLog`s, in any processes, may write the same storage: each append is
/// chained under the storage's own lock.
pub struct AuditLog {
    inner: Mutex<Inner>,
    key: Option<Vec<u8>>,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("AuditLog")
            .field("backend", &inner.backend.describe())
            .field("keyed", &self.key.is_some())
            .field(
                "head_file",
                &inner.head_file.as_ref().map(|h| h.path().to_path_buf()),
            )
            .finish()
    }
}

/// What [`AuditLog::prune_before`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneReport {
    /// How many entries were removed.
    pub removed: u64,
    /// The anchor verification now starts from.
    pub anchor: Head,
    /// The head of the entry that records the pruning (none when nothing was
    /// removed).
    pub record: Option<Head>,
}

/// Where a URL points: a file, a SQLite database, a PostgreSQL database.
#[cfg_attr(not(all(feature = "sqlite", feature = "postgres")), allow(dead_code))]
enum Target<'a> {
    File(&'a Path),
    Sqlite(&'a Path),
    Postgres(&'a str),
}

fn parse_url(url: &str) -> Target<'_> {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        Target::Sqlite(Path::new(rest))
    } else if let Some(rest) = url.strip_prefix("sqlite:") {
        Target::Sqlite(Path::new(rest))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Target::Postgres(url)
    } else if let Some(rest) = url.strip_prefix("file://") {
        Target::File(Path::new(rest))
    } else {
        Target::File(Path::new(url))
    }
}

#[cfg(any(not(feature = "sqlite"), not(feature = "postgres")))]
fn no_feature(name: &str) -> AuditError {
    AuditError::Config(format!(
        "this build has no {name} backend: enable the feature `{name}` of llm-traced"
    ))
}

impl AuditLog {
    /// A log on `backend`, without a key or head file.
    pub fn with_backend(backend: Box<dyn Backend>) -> AuditLog {
        AuditLog {
            inner: Mutex::new(Inner {
                backend,
                head_file: None,
            }),
            key: None,
        }
    }

    /// Opens (creating when needed) a JSON-lines file log. By default every
    /// entry is fsynced and the head is written to `<path>.head`.
    pub fn open_file(path: impl AsRef<Path>, options: FileOptions) -> Result<AuditLog, AuditError> {
        let path = path.as_ref();
        let backend = FileBackend::open(path, options.fsync)?;
        let head_path = match options.head_file {
            HeadFileChoice::Beside => Some(FileBackend::default_head_path(path)),
            HeadFileChoice::At(p) => Some(p),
            HeadFileChoice::Off => None,
        };
        let log = AuditLog::with_backend(Box::new(backend));
        let sync = options.fsync != Fsync::Never;
        Ok(match head_path {
            Some(p) => log.with_head_file_sync(p, sync),
            None => log,
        })
    }

    /// Opens (creating when needed) a SQLite log (WAL, `synchronous=FULL`).
    #[cfg(feature = "sqlite")]
    pub fn open_sqlite(path: impl AsRef<Path>) -> Result<AuditLog, AuditError> {
        let backend = sqlite::SqliteBackend::open(path.as_ref())?;
        Ok(AuditLog::with_backend(Box::new(backend)))
    }

    /// Connects to a PostgreSQL log (a URL `postgres://user:password@host/db`
    /// or `key=value` parameters; no TLS), creating its tables when needed.
    #[cfg(feature = "postgres")]
    pub fn open_postgres(conn: &str) -> Result<AuditLog, AuditError> {
        let backend = postgres::PostgresBackend::open(conn)?;
        Ok(AuditLog::with_backend(Box::new(backend)))
    }

    /// Opens the log at `url`: `sqlite:///abs/path.db` or `sqlite://rel.db`,
    /// `postgres://…` or `postgresql://…`, `file:///path` or a plain path
    /// (a JSON-lines file with the default [`FileOptions`]).
    pub fn open_url(url: &str) -> Result<AuditLog, AuditError> {
        match parse_url(url) {
            Target::File(path) => AuditLog::open_file(path, FileOptions::new()),
            #[cfg(feature = "sqlite")]
            Target::Sqlite(path) => AuditLog::open_sqlite(path),
            #[cfg(not(feature = "sqlite"))]
            Target::Sqlite(_) => Err(no_feature("sqlite")),
            #[cfg(feature = "postgres")]
            Target::Postgres(conn) => AuditLog::open_postgres(conn),
            #[cfg(not(feature = "postgres"))]
            Target::Postgres(_) => Err(no_feature("postgres")),
        }
    }

    /// Signs every entry with HMAC-SHA-256 under `key`, and checks the
    /// signatures on [`verify`](Self::verify). Use at least 32 random bytes,
    /// kept away from whoever can write the storage.
    pub fn with_key(mut self, key: impl Into<Vec<u8>>) -> AuditLog {
        self.key = Some(key.into());
        self
    }

    /// After each append, writes the head to `path` (atomically, fsynced, only
    /// ever forward: several writers may share it).
    pub fn with_head_file(self, path: impl Into<PathBuf>) -> AuditLog {
        self.with_head_file_sync(path.into(), true)
    }

    fn with_head_file_sync(self, path: PathBuf, sync: bool) -> AuditLog {
        self.lock().head_file = Some(HeadFile::new(path, sync));
        self
    }

    /// Where the log is (for messages; never a password).
    pub fn describe(&self) -> String {
        self.lock().backend.describe()
    }

    /// Whether entries are signed.
    pub fn is_keyed(&self) -> bool {
        self.key.is_some()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `entry` to the chain and returns the new head.
    pub fn append(&self, entry: NewEntry) -> Result<Head, AuditError> {
        entry.validate().map_err(AuditError::InvalidEntry)?;
        let key = self.key.as_deref();
        let mut inner = self.lock();
        let stored = inner
            .backend
            .append(&mut |prev| Entry::seal(&entry, prev, key))?;
        let head = stored.head();
        if let Some(file) = &mut inner.head_file {
            file.advance(&head)?;
        }
        Ok(head)
    }

    /// Records a user's query to `resource` (a model): `content` (the
    /// prompt) is kept as its SHA-256 only. The IP address and user agent
    /// come from the bound context's metadata, when there.
    pub fn query(
        &self,
        user: &str,
        resource: &str,
        content: &str,
        details: Value,
    ) -> Result<Head, AuditError> {
        self.content_entry(Action::Query, user, resource, content, details)
    }

    /// An entry of `action` about `content` (kept as its SHA-256 only), with
    /// the IP address and user agent of the bound context.
    fn content_entry(
        &self,
        action: Action,
        user: &str,
        resource: &str,
        content: &str,
        details: Value,
    ) -> Result<Head, AuditError> {
        self.append(
            NewEntry::new(action, resource)
                .user(user)
                .content(content)
                .details(details)
                .from_context(),
        )
    }

    /// Records a model's answer (`content`, kept as its SHA-256 only).
    pub fn completion(
        &self,
        user: &str,
        resource: &str,
        content: &str,
        details: Value,
    ) -> Result<Head, AuditError> {
        self.content_entry(Action::Completion, user, resource, content, details)
    }

    /// Records a moderation check of `content` (kept as its SHA-256 only).
    pub fn moderation(
        &self,
        user: &str,
        resource: &str,
        content: &str,
        details: Value,
    ) -> Result<Head, AuditError> {
        self.content_entry(Action::Moderation, user, resource, content, details)
    }

    /// Records that a content filter stopped `content` (kept as its SHA-256
    /// only); `details` may say what the filter found and what was done
    /// (e.g. `{"filter_result": …, "action_taken": "blocked"}`).
    pub fn content_filter(
        &self,
        user: &str,
        resource: &str,
        content: &str,
        details: Value,
    ) -> Result<Head, AuditError> {
        self.content_entry(Action::ContentFilter, user, resource, content, details)
    }

    /// Records a retrieval (RAG): `records_accessed` records read from
    /// `data_source` for `query` (kept as its SHA-256 only).
    pub fn data_access(
        &self,
        user: &str,
        data_source: &str,
        query: &str,
        records_accessed: u64,
    ) -> Result<Head, AuditError> {
        self.append(
            NewEntry::new(Action::DataAccess, data_source)
                .user(user)
                .content(query)
                .details(serde_json::json!({ "records_accessed": records_accessed }))
                .from_context(),
        )
    }

    /// Records a configuration change of `what`.
    pub fn config_change(
        &self,
        user: &str,
        what: &str,
        details: Value,
    ) -> Result<Head, AuditError> {
        self.append(
            NewEntry::new(Action::ConfigChange, what)
                .user(user)
                .details(details)
                .from_context(),
        )
    }

    /// The head now: the last entry's sequence number and hash (the anchor's
    /// when the log holds no entry; sequence 0 when it never held any).
    pub fn head(&self) -> Result<Head, AuditError> {
        self.lock().backend.head()
    }

    /// Verifies the whole log: every entry's hash (and MAC, with a key), every
    /// link, the sequence, the pruning anchor, and, when given, that the log
    /// reaches `expected_head` with the same hash there. Damage is reported in
    /// the [`VerifyReport`]; errors are for storage that cannot be read.
    pub fn verify(&self, expected_head: Option<&Head>) -> Result<VerifyReport, AuditError> {
        let mut verifier = Verifier::new(self.key.as_deref(), expected_head);
        self.lock().backend.scan(&mut |item| verifier.feed(item))?;
        Ok(verifier.finish())
    }

    /// Every readable entry, in storage order (unreadable lines or rows are
    /// skipped: [`verify`](Self::verify) reports them).
    pub fn entries(&self) -> Result<Vec<Entry>, AuditError> {
        let mut out = Vec::new();
        self.lock().backend.scan(&mut |item| {
            if let Scanned::Entry(e) = item {
                out.push(*e);
            }
            true
        })?;
        Ok(out)
    }

    /// Removes the entries older than `cutoff` (the longest run from the start
    /// of the log whose timestamps are all before it), keeping the rest
    /// verifiable: the last removed entry's head becomes the anchor, and a
    /// `config_change` entry on resource `audit_log` records the pruning.
    ///
    /// The whole log is verified first: a damaged log is not pruned
    /// ([`AuditError::Damaged`]), so that pruning never erases evidence.
    pub fn prune_before(&self, cutoff: DateTime<Utc>) -> Result<PruneReport, AuditError> {
        let key = self.key.as_deref();
        let mut inner = self.lock();
        let mut verifier = Verifier::new(key, None);
        let mut through: Option<Head> = None;
        let mut in_prefix = true;
        inner.backend.scan(&mut |item| {
            if let (true, Scanned::Entry(e)) = (in_prefix, &item) {
                if e.timestamp < cutoff {
                    through = Some(e.head());
                } else {
                    in_prefix = false;
                }
            }
            verifier.feed(item)
        })?;
        let report = verifier.finish();
        if let Some(damage) = report.damage {
            return Err(AuditError::Damaged(damage));
        }
        let anchor = report.anchor;
        let Some(through) = through.filter(|t| t.seq > anchor.seq) else {
            return Ok(PruneReport {
                removed: 0,
                anchor,
                record: None,
            });
        };
        let removed = through.seq - anchor.seq;
        let record = NewEntry::new(Action::ConfigChange, verify::PRUNE_RESOURCE).details(
            verify::prune_details(&through, &chain::format_ts(&cutoff), removed),
        );
        let stored = inner
            .backend
            .prune(&through, &mut |prev| Entry::seal(&record, prev, key))?;
        let Some(stored) = stored else {
            // Another writer pruned first.
            let mut anchor = through;
            inner.backend.scan(&mut |item| {
                if let Scanned::Anchor(a) = item {
                    anchor = a;
                }
                false
            })?;
            return Ok(PruneReport {
                removed: 0,
                anchor,
                record: None,
            });
        };
        let head = stored.head();
        if let Some(file) = &mut inner.head_file {
            file.advance(&head)?;
        }
        Ok(PruneReport {
            removed,
            anchor: through,
            record: Some(head),
        })
    }
}

/// Verifies the JSON-lines log at `path` without creating or changing
/// anything: with `key`, MACs are checked too; with `expected_head` (read
/// from where it was kept apart), truncation and rewrites are caught.
pub fn verify_file(
    path: impl AsRef<Path>,
    key: Option<&[u8]>,
    expected_head: Option<Head>,
) -> Result<VerifyReport, AuditError> {
    let mut verifier = Verifier::new(key, expected_head.as_ref());
    file::scan_path(path.as_ref(), &mut |item| verifier.feed(item))?;
    Ok(verifier.finish())
}

/// Verifies the log at `url` (as [`AuditLog::open_url`] reads it) without
/// creating or changing anything.
pub fn verify_url(
    url: &str,
    key: Option<&[u8]>,
    expected_head: Option<Head>,
) -> Result<VerifyReport, AuditError> {
    let mut verifier = Verifier::new(key, expected_head.as_ref());
    let mut visit = |item| verifier.feed(item);
    match parse_url(url) {
        Target::File(path) => file::scan_path(path, &mut visit)?,
        #[cfg(feature = "sqlite")]
        Target::Sqlite(path) => sqlite::SqliteBackend::open_read_only(path)?.scan(&mut visit)?,
        #[cfg(not(feature = "sqlite"))]
        Target::Sqlite(_) => return Err(no_feature("sqlite")),
        #[cfg(feature = "postgres")]
        Target::Postgres(conn) => postgres::PostgresBackend::connect(conn)?.scan(&mut visit)?,
        #[cfg(not(feature = "postgres"))]
        Target::Postgres(_) => return Err(no_feature("postgres")),
    }
    Ok(verifier.finish())
}

/// Test support, not a public API: raw SQL on a database log, to simulate
/// tampering in tests. May change in any release.
#[doc(hidden)]
pub mod __testing {
    use super::AuditError;

    /// Runs `sql` (one or more statements) on the database at `url`.
    pub fn execute_sql(url: &str, sql: &str) -> Result<(), AuditError> {
        let _ = sql;
        match super::parse_url(url) {
            #[cfg(feature = "sqlite")]
            super::Target::Sqlite(path) => {
                super::sqlite::SqliteBackend::open(path)?.execute_batch(sql)
            }
            #[cfg(feature = "postgres")]
            super::Target::Postgres(conn) => {
                super::postgres::PostgresBackend::connect(conn)?.execute_batch(sql)
            }
            _ => Err(AuditError::Config(format!("{url}: not a database URL"))),
        }
    }
}

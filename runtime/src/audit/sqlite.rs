//! The SQLite backend (feature `sqlite`): the embedded default. Appends run
//! in `BEGIN IMMEDIATE` transactions, which SQLite serialises across threads
//! and processes; the database is in WAL mode with `synchronous=FULL`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use super::backend::{Backend, Scanned};
use super::entry::{entry_from_row, Entry, SqlRow};
use super::error::AuditError;
use super::head::Head;

const BACKEND: &str = "sqlite";

/// How long a writer waits for another one's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS llm_audit_log (
    seq          INTEGER PRIMARY KEY,
    ts           TEXT NOT NULL,
    action       TEXT NOT NULL,
    user_id      TEXT,
    resource     TEXT NOT NULL,
    details      TEXT NOT NULL,
    ip_address   TEXT,
    user_agent   TEXT,
    content_hash TEXT,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    mac          TEXT
);
CREATE TABLE IF NOT EXISTS llm_audit_anchor (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT OR IGNORE INTO llm_audit_anchor (id, seq, hash)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
";

const COLUMNS: &str = "seq, ts, action, user_id, resource, details, ip_address, user_agent, \
                       content_hash, prev_hash, hash, mac";

pub(crate) struct SqliteBackend {
    conn: Connection,
    path: PathBuf,
    /// Writers of this process to this database queue here first: SQLite's
    /// busy handler sleeps and retries, a mutex hands over at once.
    queue: Arc<Mutex<()>>,
}

/// One queue per database file in this process.
fn queue_for(path: &Path) -> Arc<Mutex<()>> {
    static QUEUES: OnceLock<Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = OnceLock::new();
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut queues = QUEUES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    queues.entry(key).or_default().clone()
}

fn db_err(path: &Path, op: &str) -> impl FnOnce(rusqlite::Error) -> AuditError + use<> {
    let op = format!("{op} {}", path.display());
    move |e| AuditError::db(BACKEND, op, e)
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Runs `f` again while the database is busy (the busy handler does not
/// cover every statement, e.g. switching to WAL), up to the busy timeout.
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        match f() {
            Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

impl SqliteBackend {
    /// Opens (creating when needed) the database at `path`.
    pub(crate) fn open(path: &Path) -> Result<SqliteBackend, AuditError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| AuditError::io("create the directory of", path, e))?;
        }
        let mut conn = Connection::open(path).map_err(db_err(path, "open"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(db_err(path, "configure"))?;
        retry_busy(|| {
            conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))
                .map(|_| ())
        })
        .map_err(db_err(path, "switch to WAL"))?;
        conn.execute_batch("PRAGMA synchronous=FULL")
            .map_err(db_err(path, "configure"))?;
        retry_busy(|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(SCHEMA)?;
            tx.commit()
        })
        .map_err(db_err(path, "create the audit tables in"))?;
        Ok(SqliteBackend {
            conn,
            path: path.to_path_buf(),
            queue: queue_for(path),
        })
    }

    /// Opens an existing database read-only, for verification.
    pub(crate) fn open_read_only(path: &Path) -> Result<SqliteBackend, AuditError> {
        if !path.exists() {
            return Err(AuditError::io(
                "open",
                path,
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db_err(path, "open"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(db_err(path, "configure"))?;
        Ok(SqliteBackend {
            conn,
            path: path.to_path_buf(),
            queue: queue_for(path),
        })
    }

    /// Runs SQL statements on the database (test support: simulating tampering).
    pub(crate) fn execute_batch(&mut self, sql: &str) -> Result<(), AuditError> {
        self.conn
            .execute_batch(sql)
            .map_err(db_err(&self.path, "execute SQL on"))
    }
}

fn read_anchor(conn: &Connection) -> rusqlite::Result<Head> {
    conn.query_row(
        "SELECT seq, hash FROM llm_audit_anchor WHERE id = 1",
        [],
        |r| {
            Ok(Head {
                seq: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                hash: r.get(1)?,
            })
        },
    )
    .optional()
    .map(|a| a.unwrap_or_else(Head::genesis))
}

fn read_head(conn: &Connection) -> rusqlite::Result<Head> {
    let last = conn
        .query_row(
            "SELECT seq, hash FROM llm_audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| {
                Ok(Head {
                    seq: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                    hash: r.get(1)?,
                })
            },
        )
        .optional()?;
    match last {
        Some(head) => Ok(head),
        None => read_anchor(conn),
    }
}

fn insert(conn: &Connection, e: &Entry) -> rusqlite::Result<()> {
    conn.execute(
        &format!(
            "INSERT INTO llm_audit_log ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        ),
        params![
            i64::try_from(e.seq).unwrap_or(i64::MAX),
            super::chain::format_ts(&e.timestamp),
            e.action.as_str(),
            e.user_id,
            e.resource,
            super::chain::canonical_json(&e.details),
            e.ip_address,
            e.user_agent,
            e.content_hash,
            e.prev_hash,
            e.hash,
            e.mac,
        ],
    )
    .map(|_| ())
}

impl SqlRow for rusqlite::Row<'_> {
    fn int(&self, column: usize) -> Result<i64, String> {
        self.get(column).map_err(|e| e.to_string())
    }

    fn text(&self, column: usize) -> Result<Option<String>, String> {
        self.get(column).map_err(|e| e.to_string())
    }
}

impl Backend for SqliteBackend {
    fn describe(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    fn append(&mut self, seal: &mut dyn FnMut(&Head) -> Entry) -> Result<Entry, AuditError> {
        let path = self.path.clone();
        let queue = Arc::clone(&self.queue);
        let _queued = queue.lock().unwrap_or_else(|e| e.into_inner());
        // BEGIN IMMEDIATE takes the write lock at once (waiting, through the
        // busy handler, for another writer): the head read below stays the
        // head until the commit.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err(&path, "lock"))?;
        let head = read_head(&tx).map_err(db_err(&path, "read the head of"))?;
        let entry = seal(&head);
        insert(&tx, &entry).map_err(db_err(&path, "append to"))?;
        tx.commit().map_err(db_err(&path, "commit to"))?;
        Ok(entry)
    }

    fn head(&mut self) -> Result<Head, AuditError> {
        read_head(&self.conn).map_err(db_err(&self.path, "read the head of"))
    }

    fn scan(&mut self, visit: &mut dyn FnMut(Scanned) -> bool) -> Result<(), AuditError> {
        let path = self.path.clone();
        // One read transaction: a consistent snapshot of anchor and rows.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(db_err(&path, "read"))?;
        let anchor = read_anchor(&tx).map_err(db_err(&path, "read the anchor of"))?;
        if !visit(Scanned::Anchor(anchor)) {
            return Ok(());
        }
        let mut stmt = tx
            .prepare(&format!("SELECT {COLUMNS} FROM llm_audit_log ORDER BY seq"))
            .map_err(db_err(&path, "read"))?;
        let mut rows = stmt.query([]).map_err(db_err(&path, "read"))?;
        let mut position = 0u64;
        while let Some(row) = rows.next().map_err(db_err(&path, "read"))? {
            position += 1;
            let item = match entry_from_row(row) {
                Ok(entry) => Scanned::Entry(Box::new(entry)),
                Err(reason) => Scanned::Malformed { position, reason },
            };
            if !visit(item) {
                break;
            }
        }
        Ok(())
    }

    fn prune(
        &mut self,
        through: &Head,
        seal: &mut dyn FnMut(&Head) -> Entry,
    ) -> Result<Option<Entry>, AuditError> {
        let path = self.path.clone();
        let queue = Arc::clone(&self.queue);
        let _queued = queue.lock().unwrap_or_else(|e| e.into_inner());
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err(&path, "lock"))?;
        let anchor = read_anchor(&tx).map_err(db_err(&path, "read the anchor of"))?;
        if anchor.seq >= through.seq {
            return Ok(None);
        }
        let seq = i64::try_from(through.seq).unwrap_or(i64::MAX);
        let hash: Option<String> = tx
            .query_row(
                "SELECT hash FROM llm_audit_log WHERE seq = ?1",
                [seq],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err(&path, "read"))?;
        if hash.as_deref() != Some(through.hash.as_str()) {
            return Err(AuditError::Conflict(format!(
                "entry {} of {} is not the one verified",
                through.seq,
                path.display()
            )));
        }
        let head = read_head(&tx).map_err(db_err(&path, "read the head of"))?;
        let record = seal(&head);
        insert(&tx, &record).map_err(db_err(&path, "append to"))?;
        tx.execute("DELETE FROM llm_audit_log WHERE seq <= ?1", [seq])
            .map_err(db_err(&path, "prune"))?;
        tx.execute(
            "UPDATE llm_audit_anchor SET seq = ?1, hash = ?2 WHERE id = 1",
            params![seq, through.hash],
        )
        .map_err(db_err(&path, "prune"))?;
        tx.commit().map_err(db_err(&path, "commit to"))?;
        Ok(Some(record))
    }
}

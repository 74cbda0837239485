//! The PostgreSQL backend (feature `postgres`): several hosts writing one
//! log. An append is one transaction that first locks the anchor row
//! (`SELECT … FOR UPDATE`), so appends from every connection run one after
//! the other and each chains to the last committed entry.
//!
//! The client is the blocking `postgres` crate, without TLS. It must not run
//! on a thread that drives a tokio runtime: from async code, call the log
//! through `spawn_blocking`, or use the process-wide log
//! ([`record`](super::record)), whose writer has its own thread.

use std::str::FromStr;

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, IsolationLevel, NoTls, Statement};

use super::backend::{Backend, Scanned};
use super::entry::{entry_from_row, Entry, SqlRow};
use super::error::AuditError;
use super::head::Head;

const BACKEND: &str = "postgres";

/// Serialises schema creation between processes that open the log at once.
const SCHEMA_LOCK: i64 = 0x6c6c_6d5f_6175_6474; // "llm_audt"

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS llm_audit_log (
    seq          BIGINT PRIMARY KEY,
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
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO llm_audit_anchor (id, seq, hash)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000')
    ON CONFLICT (id) DO NOTHING;
";

const COLUMNS: &str = "seq, ts, action, user_id, resource, details, ip_address, user_agent, \
                       content_hash, prev_hash, hash, mac";

struct Prepared {
    lock_anchor: Statement,
    last: Statement,
    insert: Statement,
}

pub(crate) struct PostgresBackend {
    client: Client,
    target: String,
    prepared: Option<Prepared>,
}

/// `postgres://user@host:port/db`, without the password.
fn describe(conn: &str) -> String {
    let Ok(config) = postgres::Config::from_str(conn) else {
        return "postgres (unparsable connection string)".to_owned();
    };
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".to_owned());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

impl PostgresBackend {
    /// Connects and creates the tables when they are missing.
    pub(crate) fn open(conn: &str) -> Result<PostgresBackend, AuditError> {
        let mut backend = PostgresBackend::connect(conn)?;
        let target = backend.target.clone();
        let err = |op: &'static str| {
            let target = target.clone();
            move |e| AuditError::db(BACKEND, format!("{op} {target}"), e)
        };
        let mut tx = backend
            .client
            .transaction()
            .map_err(err("create the audit tables in"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .map_err(err("create the audit tables in"))?;
        tx.batch_execute(SCHEMA)
            .map_err(err("create the audit tables in"))?;
        tx.commit().map_err(err("create the audit tables in"))?;
        Ok(backend)
    }

    /// Connects without creating anything (for verification).
    pub(crate) fn connect(conn: &str) -> Result<PostgresBackend, AuditError> {
        let target = describe(conn);
        let client = Client::connect(conn, NoTls)
            .map_err(|e| AuditError::db(BACKEND, format!("connect to {target}"), e))?;
        Ok(PostgresBackend {
            client,
            target,
            prepared: None,
        })
    }

    fn err(&self, op: &str) -> impl FnOnce(postgres::Error) -> AuditError {
        let op = format!("{op} {}", self.target);
        move |e| AuditError::db(BACKEND, op, e)
    }

    fn prepare(&mut self) -> Result<(), AuditError> {
        if self.prepared.is_some() {
            return Ok(());
        }
        let err = self.err("prepare statements on");
        let c = &mut self.client;
        let prepared = (|| {
            Ok::<_, postgres::Error>(Prepared {
                lock_anchor: c
                    .prepare("SELECT seq, hash FROM llm_audit_anchor WHERE id = 1 FOR UPDATE")?,
                last: c.prepare("SELECT seq, hash FROM llm_audit_log ORDER BY seq DESC LIMIT 1")?,
                insert: c.prepare(&format!(
                    "INSERT INTO llm_audit_log ({COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                ))?,
            })
        })()
        .map_err(err)?;
        self.prepared = Some(prepared);
        Ok(())
    }

    /// Runs SQL statements on the database (test support: simulating tampering).
    pub(crate) fn execute_batch(&mut self, sql: &str) -> Result<(), AuditError> {
        let err = self.err("execute SQL on");
        self.client.batch_execute(sql).map_err(err)
    }
}

fn head_of(row: &postgres::Row) -> Result<Head, postgres::Error> {
    Ok(Head {
        seq: u64::try_from(row.try_get::<_, i64>(0)?).unwrap_or(0),
        hash: row.try_get(1)?,
    })
}

fn insert_params(e: &Entry) -> (i64, String, String) {
    (
        i64::try_from(e.seq).unwrap_or(i64::MAX),
        super::chain::format_ts(&e.timestamp),
        super::chain::canonical_json(&e.details),
    )
}

fn insert(
    tx: &mut postgres::Transaction<'_>,
    statement: &Statement,
    e: &Entry,
) -> Result<(), postgres::Error> {
    let (seq, ts, details) = insert_params(e);
    let params: [&(dyn ToSql + Sync); 12] = [
        &seq,
        &ts,
        &e.action.as_str(),
        &e.user_id,
        &e.resource,
        &details,
        &e.ip_address,
        &e.user_agent,
        &e.content_hash,
        &e.prev_hash,
        &e.hash,
        &e.mac,
    ];
    tx.execute(statement, &params).map(|_| ())
}

impl SqlRow for postgres::Row {
    fn int(&self, column: usize) -> Result<i64, String> {
        self.try_get(column).map_err(|e| e.to_string())
    }

    fn text(&self, column: usize) -> Result<Option<String>, String> {
        self.try_get(column).map_err(|e| e.to_string())
    }
}

impl Backend for PostgresBackend {
    fn describe(&self) -> String {
        self.target.clone()
    }

    fn append(&mut self, seal: &mut dyn FnMut(&Head) -> Entry) -> Result<Entry, AuditError> {
        self.prepare()?;
        let err = self.err("append to");
        let Some(p) = &self.prepared else {
            return Err(AuditError::Conflict("statements not prepared".to_owned()));
        };
        let result = (|| {
            let mut tx = self.client.transaction()?;
            // The row lock is the writers' queue: held until the commit.
            let anchor = tx.query_one(&p.lock_anchor, &[])?;
            let head = match tx.query_opt(&p.last, &[])? {
                Some(row) => head_of(&row)?,
                None => head_of(&anchor)?,
            };
            let entry = seal(&head);
            insert(&mut tx, &p.insert, &entry)?;
            tx.commit()?;
            Ok(entry)
        })();
        if result.is_err() {
            // A broken connection loses its prepared statements.
            self.prepared = None;
        }
        result.map_err(err)
    }

    fn head(&mut self) -> Result<Head, AuditError> {
        let err = self.err("read the head of");
        let c = &mut self.client;
        (|| match c.query_opt(
            "SELECT seq, hash FROM llm_audit_log ORDER BY seq DESC LIMIT 1",
            &[],
        )? {
            Some(row) => head_of(&row),
            None => {
                head_of(&c.query_one("SELECT seq, hash FROM llm_audit_anchor WHERE id = 1", &[])?)
            }
        })()
        .map_err(err)
    }

    fn scan(&mut self, visit: &mut dyn FnMut(Scanned) -> bool) -> Result<(), AuditError> {
        let err = self.err("read");
        let c = &mut self.client;
        (|| {
            // One snapshot for the anchor and every row.
            let mut tx = c
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let anchor =
                match tx.query_opt("SELECT seq, hash FROM llm_audit_anchor WHERE id = 1", &[])? {
                    Some(row) => head_of(&row)?,
                    None => Head::genesis(),
                };
            if !visit(Scanned::Anchor(anchor)) {
                return Ok(());
            }
            let sql = format!("SELECT {COLUMNS} FROM llm_audit_log ORDER BY seq");
            let mut rows = tx.query_raw(sql.as_str(), std::iter::empty::<&(dyn ToSql + Sync)>())?;
            let mut position = 0u64;
            while let Some(row) = rows.next()? {
                position += 1;
                let item = match entry_from_row(&row) {
                    Ok(entry) => Scanned::Entry(Box::new(entry)),
                    Err(reason) => Scanned::Malformed { position, reason },
                };
                if !visit(item) {
                    break;
                }
            }
            drop(rows);
            tx.commit()
        })()
        .map_err(err)
    }

    fn prune(
        &mut self,
        through: &Head,
        seal: &mut dyn FnMut(&Head) -> Entry,
    ) -> Result<Option<Entry>, AuditError> {
        self.prepare()?;
        let err = self.err("prune");
        let target = self.target.clone();
        let Some(p) = &self.prepared else {
            return Err(AuditError::Conflict("statements not prepared".to_owned()));
        };
        let c = &mut self.client;
        let outcome = (|| {
            let mut tx = c.transaction()?;
            let anchor = head_of(&tx.query_one(&p.lock_anchor, &[])?)?;
            if anchor.seq >= through.seq {
                return Ok(Ok(None));
            }
            let seq = i64::try_from(through.seq).unwrap_or(i64::MAX);
            let hash: Option<String> = tx
                .query_opt("SELECT hash FROM llm_audit_log WHERE seq = $1", &[&seq])?
                .map(|r| r.try_get(0))
                .transpose()?;
            if hash.as_deref() != Some(through.hash.as_str()) {
                return Ok(Err(AuditError::Conflict(format!(
                    "entry {} of {target} is not the one verified",
                    through.seq
                ))));
            }
            let head = match tx.query_opt(&p.last, &[])? {
                Some(row) => head_of(&row)?,
                None => anchor,
            };
            let record = seal(&head);
            insert(&mut tx, &p.insert, &record)?;
            tx.execute("DELETE FROM llm_audit_log WHERE seq <= $1", &[&seq])?;
            tx.execute(
                "UPDATE llm_audit_anchor SET seq = $1, hash = $2 WHERE id = 1",
                &[&seq, &through.hash],
            )?;
            tx.commit()?;
            Ok(Ok(Some(record)))
        })();
        outcome.map_err(err)?
    }
}

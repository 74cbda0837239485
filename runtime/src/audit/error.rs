//! The audit log's error type.

use std::fmt;
use std::path::{Path, PathBuf};

use super::verify::Damage;

/// Why an audit-log operation failed.
///
/// Damage found by verification is not an error: [`verify`](super::AuditLog::verify)
/// returns it in its [`VerifyReport`](super::VerifyReport). Errors are what
/// stops an operation: I/O, the database, bad input, a log that cannot be
/// appended to.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuditError {
    /// A file operation failed.
    Io {
        /// What was being done (`open`, `append to`, `lock`, …).
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A database operation failed.
    Database {
        /// `sqlite` or `postgres`.
        backend: &'static str,
        /// What was being done, and where (no password).
        op: String,
        /// The cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The log's last entry cannot be read, so nothing can be chained to it.
    /// Run a verification to see the damage.
    Corrupt {
        /// The log and the position.
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// Pruning was refused: the log is damaged (pruning would erase the evidence).
    Damaged(Damage),
    /// The entry cannot be stored (a NUL in a text field, a bad content hash).
    InvalidEntry(String),
    /// A head that does not parse.
    InvalidHead(String),
    /// A bad URL or environment setting, or a backend this build lacks.
    Config(String),
    /// Another writer changed the log in a way this operation cannot follow
    /// (e.g. the entries a prune was to remove are not the ones verified).
    Conflict(String),
}

impl AuditError {
    pub(crate) fn io(op: &'static str, path: &Path, source: std::io::Error) -> AuditError {
        AuditError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn db(
        backend: &'static str,
        op: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> AuditError {
        AuditError::Database {
            backend,
            op: op.into(),
            source: Box::new(source),
        }
    }
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditError::Io { op, path, source } => {
                write!(f, "audit log: cannot {op} {}: {source}", path.display())
            }
            AuditError::Database {
                backend,
                op,
                source,
            } => write!(f, "audit log ({backend}): cannot {op}: {source}"),
            AuditError::Corrupt { location, reason } => write!(
                f,
                "audit log {location}: the last entry is unreadable ({reason}); run a verification"
            ),
            AuditError::Damaged(damage) => {
                write!(f, "audit log damaged, pruning refused: {damage}")
            }
            AuditError::InvalidEntry(why) => write!(f, "audit entry refused: {why}"),
            AuditError::InvalidHead(why) => write!(f, "invalid audit head {why}"),
            AuditError::Config(why) => write!(f, "audit log configuration: {why}"),
            AuditError::Conflict(why) => write!(f, "audit log changed concurrently: {why}"),
        }
    }
}

impl std::error::Error for AuditError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AuditError::Io { source, .. } => Some(source),
            AuditError::Database { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

//! The storage trait every backend implements.

use super::entry::Entry;
use super::error::AuditError;
use super::head::Head;

/// One item of a scan, in storage order.
#[derive(Debug, Clone, PartialEq)]
pub enum Scanned {
    /// The anchor the chain starts from: always the first item (the genesis
    /// head when the log was never pruned).
    Anchor(Head),
    /// A readable entry.
    Entry(Box<Entry>),
    /// A line or row that is not a readable entry.
    Malformed {
        /// 1-based line of the file, or 1-based row in sequence order.
        position: u64,
        /// What is wrong with it.
        reason: String,
    },
}

/// Where entries are stored. The chain logic (sealing, verification, pruning
/// policy) is shared; a backend provides an exclusive section for appends and
/// a scan in storage order.
///
/// Implement it to keep the log elsewhere, then
/// [`AuditLog::with_backend`](super::AuditLog::with_backend).
pub trait Backend: Send {
    /// The log's location, for messages (never a password).
    fn describe(&self) -> String;

    /// Appends one entry. Under a lock that excludes every other writer
    /// (threads, processes, hosts): reads the current head (the last entry,
    /// or the anchor when there is none), calls `seal` with it and stores the
    /// entry it returns, which follows that head. Returns the stored entry.
    fn append(&mut self, seal: &mut dyn FnMut(&Head) -> Entry) -> Result<Entry, AuditError>;

    /// The current head: the last entry's, or the anchor when there is none.
    fn head(&mut self) -> Result<Head, AuditError>;

    /// Reads the log in storage order: first [`Scanned::Anchor`], then each
    /// entry, until the end or until `visit` returns false. Entries of one
    /// scan are a consistent snapshot.
    fn scan(&mut self, visit: &mut dyn FnMut(Scanned) -> bool) -> Result<(), AuditError>;

    /// Removes the entries up to `through` (whose hash must still be
    /// `through.hash`) and makes `through` the anchor, after appending the
    /// entry `seal` makes (the record of the pruning), all under the append
    /// lock. Returns that entry, or `None` when the anchor is already at or
    /// beyond `through`.
    fn prune(
        &mut self,
        through: &Head,
        seal: &mut dyn FnMut(&Head) -> Entry,
    ) -> Result<Option<Entry>, AuditError>;
}

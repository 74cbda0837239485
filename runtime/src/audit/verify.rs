//! Verification: walking the chain and naming the first damage.

use std::fmt;

use serde_json::Value;

use super::backend::Scanned;
use super::entry::{Action, Entry};
use super::head::Head;

/// The resource of the entry that records a pruning.
pub(crate) const PRUNE_RESOURCE: &str = "audit_log";

/// What is wrong with a log: the first damage a verification meets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Damage {
    /// A line or row that is not a readable entry (bad JSON, a missing or
    /// extra field, a value out of range, bytes not in canonical form, a
    /// line cut short).
    Malformed {
        /// 1-based line of the file, or 1-based row in sequence order.
        position: u64,
        /// What is wrong.
        reason: String,
    },
    /// The entry's content does not match its hash: it was edited.
    EditedEntry {
        /// The entry.
        seq: u64,
    },
    /// The entry's MAC is missing or wrong under the key: it was written or
    /// rewritten by someone without the key.
    BadSignature {
        /// The entry.
        seq: u64,
    },
    /// The entry's `prev_hash` is not the previous entry's hash: an entry
    /// before it was replaced (hash recomputed), or the chain was spliced.
    BrokenLink {
        /// The entry.
        seq: u64,
    },
    /// A sequence number is missing: an entry was deleted.
    MissingEntry {
        /// The number that should have come next.
        expected_seq: u64,
        /// The number found instead.
        found_seq: u64,
    },
    /// An entry appears twice.
    Duplicate {
        /// The entry.
        seq: u64,
    },
    /// Entries are not in sequence order: moved or swapped.
    OutOfOrder {
        /// The entry found.
        seq: u64,
        /// The number that should have come next (found further on).
        expected_seq: u64,
    },
    /// The log ends before the head kept apart: its tail was cut off.
    Truncated {
        /// The head's sequence number.
        head_seq: u64,
        /// The last sequence number of the log.
        last_seq: u64,
    },
    /// The entry at the head's sequence number has another hash than the head
    /// kept apart: the log was rewritten (consistently, without the key).
    HeadMismatch {
        /// The head's sequence number.
        seq: u64,
    },
    /// The log starts from a pruning anchor that no pruning entry in the log
    /// records: its beginning was cut off.
    UnattestedAnchor {
        /// The anchor's sequence number.
        seq: u64,
    },
}

impl Damage {
    /// A short name of the kind of damage (`edited_entry`, `broken_link`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Damage::Malformed { .. } => "malformed",
            Damage::EditedEntry { .. } => "edited_entry",
            Damage::BadSignature { .. } => "bad_signature",
            Damage::BrokenLink { .. } => "broken_link",
            Damage::MissingEntry { .. } => "missing_entry",
            Damage::Duplicate { .. } => "duplicate",
            Damage::OutOfOrder { .. } => "out_of_order",
            Damage::Truncated { .. } => "truncated",
            Damage::HeadMismatch { .. } => "head_mismatch",
            Damage::UnattestedAnchor { .. } => "unattested_anchor",
        }
    }

    /// The sequence number of the first bad entry, when the damage has one.
    pub fn seq(&self) -> Option<u64> {
        match *self {
            Damage::Malformed { .. } => None,
            Damage::EditedEntry { seq }
            | Damage::BadSignature { seq }
            | Damage::BrokenLink { seq }
            | Damage::Duplicate { seq }
            | Damage::OutOfOrder { seq, .. }
            | Damage::HeadMismatch { seq }
            | Damage::UnattestedAnchor { seq } => Some(seq),
            Damage::MissingEntry { expected_seq, .. } => Some(expected_seq),
            Damage::Truncated { last_seq, .. } => Some(last_seq + 1),
        }
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damage::Malformed { position, reason } => {
                write!(f, "malformed entry at position {position}: {reason}")
            }
            Damage::EditedEntry { seq } => {
                write!(f, "entry {seq} was edited: its content does not match its hash")
            }
            Damage::BadSignature { seq } => write!(
                f,
                "entry {seq} has a missing or wrong MAC: written without the key"
            ),
            Damage::BrokenLink { seq } => write!(
                f,
                "entry {seq} does not link to the entry before it: the chain was broken"
            ),
            Damage::MissingEntry {
                expected_seq,
                found_seq,
            } => write!(
                f,
                "entry {expected_seq} is missing (found {found_seq} in its place)"
            ),
            Damage::Duplicate { seq } => write!(f, "entry {seq} appears twice"),
            Damage::OutOfOrder { seq, expected_seq } => write!(
                f,
                "entry {seq} is out of order (entry {expected_seq} should come first)"
            ),
            Damage::Truncated { head_seq, last_seq } => write!(
                f,
                "the log was truncated: it ends at entry {last_seq}, the head kept apart is at {head_seq}"
            ),
            Damage::HeadMismatch { seq } => write!(
                f,
                "entry {seq} differs from the head kept apart: the log was rewritten"
            ),
            Damage::UnattestedAnchor { seq } => write!(
                f,
                "the log starts after entry {seq} but no pruning entry records it: its beginning was removed"
            ),
        }
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries found sound (before the damage, if any).
    pub entries: u64,
    /// Where the chain starts: the pruning anchor, or the genesis head.
    pub anchor: Head,
    /// The last sound entry's head (the anchor when there is none).
    pub last: Head,
    /// Whether MACs were checked (a key was given).
    pub signatures_checked: bool,
    /// Entries that carry a MAC (checked or not).
    pub signed_entries: u64,
    /// Whether an expected head was given and compared. (A head older than
    /// the pruning anchor cannot be compared and is skipped.)
    pub head_checked: bool,
    /// The first damage, or `None` when the log is sound.
    pub damage: Option<Damage>,
}

impl VerifyReport {
    /// True when no damage was found.
    pub fn is_ok(&self) -> bool {
        self.damage.is_none()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.damage {
            None => write!(
                f,
                "OK: {} entries (seq {}..={}), head {}",
                self.entries,
                self.anchor.seq + 1,
                self.last.seq,
                self.last
            )?,
            Some(damage) => write!(
                f,
                "DAMAGED: {damage} ({} sound entries before it)",
                self.entries
            )?,
        }
        if self.signatures_checked {
            f.write_str("; signatures checked")?;
        } else if self.signed_entries > 0 {
            f.write_str("; signatures present but not checked (no key)")?;
        } else {
            f.write_str("; no signatures")?;
        }
        if self.head_checked {
            f.write_str("; head kept apart checked")?;
        }
        Ok(())
    }
}

/// Walks a scan, one item at a time, in O(1) memory but for 8 bytes per
/// entry (to tell a duplicate from a reordering).
pub(crate) struct Verifier<'a> {
    key: Option<&'a [u8]>,
    expected_head: Option<&'a Head>,
    anchor: Head,
    prev: Head,
    entries: u64,
    signed: u64,
    /// First 8 bytes of the hash of each sound entry, by `seq - anchor - 1`.
    prefixes: Vec<[u8; 8]>,
    attested: bool,
    head_hash: Option<String>,
    seen_anchor: bool,
    /// A gap was found: looking ahead for the missing number to tell a
    /// deletion from a reordering.
    gap: Option<(u64, u64)>,
    damage: Option<Damage>,
}

fn prefix(hash: &str) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(&hash.as_bytes()[..8]);
    out
}

impl<'a> Verifier<'a> {
    pub(crate) fn new(key: Option<&'a [u8]>, expected_head: Option<&'a Head>) -> Self {
        Verifier {
            key,
            expected_head,
            anchor: Head::genesis(),
            prev: Head::genesis(),
            entries: 0,
            signed: 0,
            prefixes: Vec::new(),
            attested: false,
            head_hash: None,
            seen_anchor: false,
            gap: None,
            damage: None,
        }
    }

    /// Feeds one item; false when nothing more is needed.
    pub(crate) fn feed(&mut self, item: Scanned) -> bool {
        if let Some((expected, found)) = self.gap {
            if let Scanned::Entry(e) = item {
                if e.seq == expected {
                    self.damage = Some(Damage::OutOfOrder {
                        seq: found,
                        expected_seq: expected,
                    });
                    return false;
                }
            }
            return true;
        }
        if self.damage.is_some() {
            return false;
        }
        match item {
            Scanned::Anchor(anchor) => {
                if self.seen_anchor {
                    self.damage = Some(Damage::Malformed {
                        position: 0,
                        reason: "a second anchor".to_owned(),
                    });
                    return false;
                }
                self.seen_anchor = true;
                self.prev = anchor.clone();
                self.anchor = anchor;
                true
            }
            Scanned::Malformed { position, reason } => {
                self.damage = Some(Damage::Malformed { position, reason });
                false
            }
            Scanned::Entry(entry) => self.entry(&entry),
        }
    }

    fn entry(&mut self, e: &Entry) -> bool {
        if e.compute_hash() != e.hash {
            self.damage = Some(Damage::EditedEntry { seq: e.seq });
            return false;
        }
        if e.mac.is_some() {
            self.signed += 1;
        }
        if let Some(key) = self.key {
            if !e.mac_is_valid(key) {
                self.damage = Some(Damage::BadSignature { seq: e.seq });
                return false;
            }
        }
        let expected = self.prev.seq + 1;
        if e.seq == expected {
            if e.prev_hash != self.prev.hash {
                self.damage = Some(Damage::BrokenLink { seq: e.seq });
                return false;
            }
            self.accept(e);
            return true;
        }
        if e.seq < expected {
            let duplicate = e.seq > self.anchor.seq
                && self
                    .prefixes
                    .get((e.seq - self.anchor.seq - 1) as usize)
                    .is_some_and(|p| *p == prefix(&e.hash));
            self.damage = Some(if duplicate {
                Damage::Duplicate { seq: e.seq }
            } else {
                Damage::OutOfOrder {
                    seq: e.seq,
                    expected_seq: expected,
                }
            });
            return false;
        }
        self.damage = Some(Damage::MissingEntry {
            expected_seq: expected,
            found_seq: e.seq,
        });
        self.gap = Some((expected, e.seq));
        true
    }

    fn accept(&mut self, e: &Entry) {
        self.prefixes.push(prefix(&e.hash));
        self.entries += 1;
        self.prev = e.head();
        if self.expected_head.is_some_and(|h| h.seq == e.seq) {
            self.head_hash = Some(e.hash.clone());
        }
        if !self.attested && self.anchor.seq > 0 && is_prune_record_for(e, &self.anchor) {
            self.attested = true;
        }
    }

    pub(crate) fn finish(mut self) -> VerifyReport {
        let mut head_checked = false;
        if let (None, Some(head)) = (&self.damage, self.expected_head) {
            if head.seq > self.prev.seq {
                self.damage = Some(Damage::Truncated {
                    head_seq: head.seq,
                    last_seq: self.prev.seq,
                });
            } else if head.seq == self.anchor.seq {
                head_checked = true;
                if head.hash != self.anchor.hash {
                    self.damage = Some(Damage::HeadMismatch { seq: head.seq });
                }
            } else if head.seq > self.anchor.seq {
                head_checked = true;
                if self.head_hash.as_deref() != Some(head.hash.as_str()) {
                    self.damage = Some(Damage::HeadMismatch { seq: head.seq });
                }
            }
        }
        if self.damage.is_none() && self.anchor.seq > 0 && !self.attested {
            self.damage = Some(Damage::UnattestedAnchor {
                seq: self.anchor.seq,
            });
        }
        VerifyReport {
            entries: self.entries,
            anchor: self.anchor,
            last: self.prev,
            signatures_checked: self.key.is_some(),
            signed_entries: self.signed,
            head_checked,
            damage: self.damage,
        }
    }
}

/// The details of the entry that records a pruning through `anchor`.
pub(crate) fn prune_details(anchor: &Head, cutoff: &str, removed: u64) -> Value {
    serde_json::json!({
        "event": "prune",
        "before": cutoff,
        "anchor_seq": anchor.seq,
        "anchor_hash": anchor.hash,
        "removed": removed,
    })
}

fn is_prune_record_for(e: &Entry, anchor: &Head) -> bool {
    e.action == Action::ConfigChange
        && e.resource == PRUNE_RESOURCE
        && e.details.get("event").and_then(Value::as_str) == Some("prune")
        && e.details.get("anchor_seq").and_then(Value::as_u64) == Some(anchor.seq)
        && e.details.get("anchor_hash").and_then(Value::as_str) == Some(anchor.hash.as_str())
}

//! Audit entries: what a caller hands in ([`NewEntry`]), what the log keeps
//! ([`Entry`]), and the JSON line an entry is stored as.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::chain::{self, FORMAT_VERSION};
use super::head::Head;
use crate::context::Context;

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// A user's query (a prompt) sent to a model.
    Query,
    /// A model's answer, or the failure of a call.
    Completion,
    /// A moderation check.
    Moderation,
    /// A content filter blocked a prompt or a completion.
    ContentFilter,
    /// Data read for the user, e.g. documents retrieved for RAG.
    DataAccess,
    /// A configuration change (including pruning of the audit log itself).
    ConfigChange,
}

impl Action {
    /// Every action, in declaration order.
    pub const ALL: [Action; 6] = [
        Action::Query,
        Action::Completion,
        Action::Moderation,
        Action::ContentFilter,
        Action::DataAccess,
        Action::ConfigChange,
    ];

    /// The name stored in the log: `query`, `completion`, `moderation`,
    /// `content_filter`, `data_access`, `config_change`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Query => "query",
            Action::Completion => "completion",
            Action::Moderation => "moderation",
            Action::ContentFilter => "content_filter",
            Action::DataAccess => "data_access",
            Action::ConfigChange => "config_change",
        }
    }

    /// The action named `name` (as [`as_str`](Self::as_str) writes it).
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::parse(s).ok_or_else(|| format!("unknown audit action {s:?}"))
    }
}

/// An entry to append: everything but its place in the chain.
///
/// ```
/// use llm_traced_runtime::audit::{Action, NewEntry};
///
/// let entry = NewEntry::new(Action::Query, "gpt-4o")
///     .user("u-42")
///     .content("What is my balance?") // only its SHA-256 is kept
///     .details(serde_json::json!({"channel": "web"}));
/// assert_eq!(entry.content_hash.as_deref().map(str::len), Some(64));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    /// What happened.
    pub action: Action,
    /// Who it was for.
    pub user_id: Option<String>,
    /// What it was done with: a model, a data source, a setting.
    pub resource: String,
    /// Free-form facts (never the content itself). An empty object by default.
    pub details: Value,
    /// The client's IP address.
    pub ip_address: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// SHA-256 (64 lowercase hex digits) of the content the entry is about.
    pub content_hash: Option<String>,
    /// When it happened; `None` (the default) takes the time of the append.
    /// Kept to the microsecond.
    pub timestamp: Option<DateTime<Utc>>,
}

impl NewEntry {
    /// An entry for `action` on `resource`, with nothing else set.
    pub fn new(action: Action, resource: impl Into<String>) -> Self {
        NewEntry {
            action,
            user_id: None,
            resource: resource.into(),
            details: Value::Object(serde_json::Map::new()),
            ip_address: None,
            user_agent: None,
            content_hash: None,
            timestamp: None,
        }
    }

    /// Sets the user.
    pub fn user(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Sets the details.
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// Sets `content_hash` to the SHA-256 of `content` (the content itself is
    /// not kept).
    pub fn content(mut self, content: impl AsRef<[u8]>) -> Self {
        self.content_hash = Some(chain::sha256_hex(content.as_ref()));
        self
    }

    /// Sets `content_hash` to the SHA-256 of the canonical JSON of `content`
    /// (see [`canonical_json`](super::canonical_json)).
    pub fn content_json(mut self, content: &Value) -> Self {
        self.content_hash = Some(chain::sha256_hex(chain::canonical_json(content).as_bytes()));
        self
    }

    /// Sets `content_hash` to a hash computed elsewhere (64 lowercase hex
    /// digits, else the append fails).
    pub fn content_hash(mut self, sha256_hex: impl Into<String>) -> Self {
        self.content_hash = Some(sha256_hex.into());
        self
    }

    /// Sets the client's IP address.
    pub fn ip_address(mut self, ip: impl Into<String>) -> Self {
        self.ip_address = Some(ip.into());
        self
    }

    /// Sets the client's user agent.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Sets the time of the event (by default, the time of the append).
    pub fn at(mut self, timestamp: DateTime<Utc>) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// Fills what is not set yet from the bound [`Context`]: the user id, and
    /// the IP address and user agent from the metadata keys `ip_address` and
    /// `user_agent` (when they are strings).
    pub fn from_context(self) -> Self {
        self.fill_from(&Context::current())
    }

    pub(crate) fn fill_from(mut self, context: &Context) -> Self {
        if self.user_id.is_none() {
            self.user_id = context.user_id().map(str::to_owned);
        }
        let meta = |key: &str| {
            context
                .bound()
                .and_then(|b| b.metadata.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        if self.ip_address.is_none() {
            self.ip_address = meta("ip_address");
        }
        if self.user_agent.is_none() {
            self.user_agent = meta("user_agent");
        }
        self
    }

    /// Checks what every backend can store: no NUL in the text fields, and a
    /// content hash in the right form.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let texts = [
            ("user_id", self.user_id.as_deref()),
            ("resource", Some(self.resource.as_str())),
            ("ip_address", self.ip_address.as_deref()),
            ("user_agent", self.user_agent.as_deref()),
        ];
        for (name, text) in texts {
            if text.is_some_and(|t| t.contains('\0')) {
                return Err(format!("{name} contains a NUL character"));
            }
        }
        if let Some(hash) = &self.content_hash {
            if !chain::is_hex64(hash) {
                return Err(format!(
                    "content_hash must be 64 lowercase hex digits, not {hash:?}"
                ));
            }
        }
        Ok(())
    }
}

/// An entry of the log, with its place in the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Position in the chain: 1, 2, 3, … with no gaps.
    pub seq: u64,
    /// When it happened (UTC, microseconds).
    pub timestamp: DateTime<Utc>,
    /// What happened.
    pub action: Action,
    /// Who it was for.
    pub user_id: Option<String>,
    /// What it was done with.
    pub resource: String,
    /// Free-form facts.
    pub details: Value,
    /// The client's IP address.
    pub ip_address: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// SHA-256 of the content.
    pub content_hash: Option<String>,
    /// `hash` of the previous entry (64 zeros for the first).
    pub prev_hash: String,
    /// SHA-256 of the canonical form ([`Entry::canonical`]).
    pub hash: String,
    /// HMAC-SHA-256 of the canonical form under the log's key, when it has one.
    pub mac: Option<String>,
}

impl Entry {
    /// Seals `new` as the entry that follows `prev`.
    pub(crate) fn seal(new: &NewEntry, prev: &Head, key: Option<&[u8]>) -> Entry {
        let timestamp = chain::to_micros(new.timestamp.unwrap_or_else(Utc::now));
        let mut entry = Entry {
            seq: prev.seq + 1,
            timestamp,
            action: new.action,
            user_id: new.user_id.clone(),
            resource: new.resource.clone(),
            details: new.details.clone(),
            ip_address: new.ip_address.clone(),
            user_agent: new.user_agent.clone(),
            content_hash: new.content_hash.clone(),
            prev_hash: prev.hash.clone(),
            hash: String::new(),
            mac: None,
        };
        let canonical = entry.canonical();
        entry.hash = chain::sha256_hex(canonical.as_bytes());
        entry.mac = key.map(|k| chain::hmac_hex(k, canonical.as_bytes()));
        entry
    }

    /// This entry's head: its sequence number and hash.
    pub fn head(&self) -> Head {
        Head {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }

    /// The canonical form that `hash` and `mac` are computed over: one JSON
    /// object, no whitespace, fields in this order:
    ///
    /// `{"v":1,"seq":N,"ts":"…","action":"…","user_id":…,"resource":"…",
    /// "details":…,"ip_address":…,"user_agent":…,"content_hash":…,"prev_hash":"…"}`
    ///
    /// (see the module documentation for every rule).
    pub fn canonical(&self) -> String {
        let mut out = String::with_capacity(256);
        self.write_canonical_body(&mut out);
        out.push('}');
        out
    }

    /// The canonical form without its closing brace.
    fn write_canonical_body(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = write!(out, "{{\"v\":{FORMAT_VERSION},\"seq\":{},\"ts\":", self.seq);
        chain::write_json_string(&chain::format_ts(&self.timestamp), out);
        out.push_str(",\"action\":");
        chain::write_json_string(self.action.as_str(), out);
        out.push_str(",\"user_id\":");
        chain::write_opt_string(self.user_id.as_deref(), out);
        out.push_str(",\"resource\":");
        chain::write_json_string(&self.resource, out);
        out.push_str(",\"details\":");
        chain::write_canonical_json(&self.details, out);
        out.push_str(",\"ip_address\":");
        chain::write_opt_string(self.ip_address.as_deref(), out);
        out.push_str(",\"user_agent\":");
        chain::write_opt_string(self.user_agent.as_deref(), out);
        out.push_str(",\"content_hash\":");
        chain::write_opt_string(self.content_hash.as_deref(), out);
        out.push_str(",\"prev_hash\":");
        chain::write_json_string(&self.prev_hash, out);
    }

    /// The SHA-256 of the canonical form, recomputed.
    pub fn compute_hash(&self) -> String {
        chain::sha256_hex(self.canonical().as_bytes())
    }

    /// Whether `mac` is the HMAC-SHA-256 of the canonical form under `key`.
    pub fn mac_is_valid(&self, key: &[u8]) -> bool {
        self.mac
            .as_deref()
            .is_some_and(|mac| chain::hmac_verify(key, self.canonical().as_bytes(), mac))
    }

    /// The JSON line the file backend stores (without the newline): the
    /// canonical form with `"hash"` (and `"mac"`, when set) added at the end.
    pub fn to_line(&self) -> String {
        let mut out = String::with_capacity(384);
        self.write_canonical_body(&mut out);
        out.push_str(",\"hash\":");
        chain::write_json_string(&self.hash, &mut out);
        if let Some(mac) = &self.mac {
            out.push_str(",\"mac\":");
            chain::write_json_string(mac, &mut out);
        }
        out.push('}');
        out
    }

    /// Reads a line written by [`to_line`](Self::to_line). Accepts only the
    /// exact bytes `to_line` writes: anything else is an error that says why.
    pub fn from_line(line: &str) -> Result<Entry, String> {
        let raw: RawLine = serde_json::from_str(line).map_err(|e| format!("not an entry: {e}"))?;
        if raw.v != FORMAT_VERSION {
            return Err(format!("unknown format version {}", raw.v));
        }
        let entry = Entry::from_fields(Fields {
            seq: raw.seq,
            ts: &raw.ts,
            action: &raw.action,
            user_id: raw.user_id,
            resource: raw.resource,
            details: DetailsField::Parsed(raw.details),
            ip_address: raw.ip_address,
            user_agent: raw.user_agent,
            content_hash: raw.content_hash,
            prev_hash: raw.prev_hash,
            hash: raw.hash,
            mac: raw.mac,
        })?;
        if entry.to_line() != line {
            // Same values, other bytes (escapes, key order, whitespace): only
            // the content matters to the hash, but the file must be exactly
            // what was written.
            if entry.compute_hash() != entry.hash {
                // Report the edit, which is what it most likely is.
                return Ok(entry);
            }
            return Err("the line is not in canonical form".to_owned());
        }
        Ok(entry)
    }

    /// Builds an entry from stored fields, checking each (a database row).
    pub(crate) fn from_fields(f: Fields<'_>) -> Result<Entry, String> {
        if f.seq == 0 || f.seq > i64::MAX as u64 {
            return Err(format!("sequence number {} out of range", f.seq));
        }
        let timestamp = chain::parse_ts(f.ts)
            .ok_or_else(|| format!("timestamp {:?} is not in canonical form", f.ts))?;
        let action =
            Action::parse(f.action).ok_or_else(|| format!("unknown action {:?}", f.action))?;
        let details = match f.details {
            DetailsField::Parsed(v) => v,
            DetailsField::Text(text) => {
                let v: Value =
                    serde_json::from_str(text).map_err(|e| format!("details are not JSON: {e}"))?;
                if chain::canonical_json(&v) != text {
                    return Err("details are not in canonical form".to_owned());
                }
                v
            }
        };
        for (name, hash) in [
            ("content_hash", f.content_hash.as_deref()),
            ("prev_hash", Some(f.prev_hash.as_str())),
            ("hash", Some(f.hash.as_str())),
            ("mac", f.mac.as_deref()),
        ] {
            if let Some(hash) = hash {
                if !chain::is_hex64(hash) {
                    return Err(format!("{name} is not 64 lowercase hex digits"));
                }
            }
        }
        Ok(Entry {
            seq: f.seq,
            timestamp,
            action,
            user_id: f.user_id,
            resource: f.resource,
            details,
            ip_address: f.ip_address,
            user_agent: f.user_agent,
            content_hash: f.content_hash,
            prev_hash: f.prev_hash,
            hash: f.hash,
            mac: f.mac,
        })
    }
}

/// The details of a stored entry: parsed already (file) or as text (database).
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) enum DetailsField<'a> {
    Parsed(Value),
    Text(&'a str),
}

/// The stored fields of an entry, before checking.
pub(crate) struct Fields<'a> {
    pub(crate) seq: u64,
    pub(crate) ts: &'a str,
    pub(crate) action: &'a str,
    pub(crate) user_id: Option<String>,
    pub(crate) resource: String,
    pub(crate) details: DetailsField<'a>,
    pub(crate) ip_address: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) content_hash: Option<String>,
    pub(crate) prev_hash: String,
    pub(crate) hash: String,
    pub(crate) mac: Option<String>,
}

/// A row of the audit table, columns in `SELECT` order (seq, ts, action,
/// user_id, resource, details, ip_address, user_agent, content_hash,
/// prev_hash, hash, mac), whatever the database.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) trait SqlRow {
    /// An integer column.
    fn int(&self, column: usize) -> Result<i64, String>;
    /// A text column, `None` for NULL.
    fn text(&self, column: usize) -> Result<Option<String>, String>;
}

/// The entry in a row of the audit table.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn entry_from_row(r: &impl SqlRow) -> Result<Entry, String> {
    let required = |column: usize| -> Result<String, String> {
        r.text(column)?
            .ok_or_else(|| format!("column {column} is NULL"))
    };
    let seq = r.int(0)?;
    let (ts, action, details) = (required(1)?, required(2)?, required(5)?);
    Entry::from_fields(Fields {
        seq: u64::try_from(seq).map_err(|_| format!("negative sequence number {seq}"))?,
        ts: &ts,
        action: &action,
        user_id: r.text(3)?,
        resource: required(4)?,
        details: DetailsField::Text(&details),
        ip_address: r.text(6)?,
        user_agent: r.text(7)?,
        content_hash: r.text(8)?,
        prev_hash: required(9)?,
        hash: required(10)?,
        mac: r.text(11)?,
    })
    .map_err(|reason| format!("seq {seq}: {reason}"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    v: u64,
    seq: u64,
    ts: String,
    action: String,
    user_id: Option<String>,
    resource: String,
    details: Value,
    ip_address: Option<String>,
    user_agent: Option<String>,
    content_hash: Option<String>,
    prev_hash: String,
    hash: String,
    #[serde(default)]
    mac: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample(key: Option<&[u8]>) -> Entry {
        let new = NewEntry::new(Action::Query, "gpt-4o")
            .user("u-42")
            .content("What is my balance?")
            .details(json!({"z": 1, "a": "b"}))
            .ip_address("203.0.113.7")
            .at(chain::parse_ts("2026-05-01T09:30:00.000000Z").unwrap());
        Entry::seal(&new, &Head::genesis(), key)
    }

    const CONTENT_HASH: &str = "73658ea165b9d01143b027c659fe6b60f7aa0b66397913e2a825b29e9b558856";
    const ENTRY_HASH: &str = "e9d7535c224b53a0c3821a78cfa810fee7d12f45456ac13061defbbd6078838e";
    const ENTRY_MAC: &str = "46a86fa83ab08b3595d3e6f20cb6d70d25bb070254921c0a1ec4b35dc44e1604";

    /// A fixed test vector: other tools can check their canonical form and
    /// hash against it (it is also in the architecture notes).
    #[test]
    fn test_vector() {
        let e = sample(None);
        assert_eq!(
            e.canonical(),
            concat!(
                r#"{"v":1,"seq":1,"ts":"2026-05-01T09:30:00.000000Z","action":"query","#,
                r#""user_id":"u-42","resource":"gpt-4o","details":{"a":"b","z":1},"#,
                r#""ip_address":"203.0.113.7","user_agent":null,"#,
                r#""content_hash":"CONTENT","#,
                r#""prev_hash":"0000000000000000000000000000000000000000000000000000000000000000"}"#
            )
            .replace("CONTENT", CONTENT_HASH)
        );
        assert_eq!(chain::sha256_hex(b"What is my balance?"), CONTENT_HASH);
        assert_eq!(e.hash, ENTRY_HASH);
        assert_eq!(e.hash, chain::sha256_hex(e.canonical().as_bytes()));
        let keyed = sample(Some(b"secret"));
        assert_eq!(keyed.hash, e.hash, "the key does not change the hash");
        assert_eq!(keyed.mac.as_deref(), Some(ENTRY_MAC));
        assert!(keyed.mac_is_valid(b"secret"));
        assert!(!keyed.mac_is_valid(b"other"));
    }

    #[test]
    fn lines_round_trip_exactly() {
        for key in [None, Some(&b"k"[..])] {
            let e = sample(key);
            let line = e.to_line();
            assert_eq!(Entry::from_line(&line).unwrap(), e);
        }
    }

    #[test]
    fn non_canonical_lines_are_refused() {
        let line = sample(None).to_line();
        let spaced = line.replacen(":", ": ", 1);
        assert!(Entry::from_line(&spaced).is_err());
        let unknown = line.replacen("{", "{\"x\":1,", 1);
        assert!(Entry::from_line(&unknown).is_err());
        assert!(Entry::from_line("").is_err());
        assert!(Entry::from_line("{}").is_err());
        assert!(Entry::from_line(&line[..line.len() - 1]).is_err());
    }

    #[test]
    fn validation() {
        assert!(NewEntry::new(Action::Query, "m").validate().is_ok());
        assert!(NewEntry::new(Action::Query, "m\0").validate().is_err());
        assert!(NewEntry::new(Action::Query, "m")
            .content_hash("ABC")
            .validate()
            .is_err());
    }

    #[test]
    fn context_fills_user_ip_and_agent() {
        let ctx = Context::default()
            .with_user("u-1")
            .with_metadata("ip_address", "198.51.100.1")
            .with_metadata("user_agent", "curl/8");
        let e = NewEntry::new(Action::Query, "m").fill_from(&ctx);
        assert_eq!(e.user_id.as_deref(), Some("u-1"));
        assert_eq!(e.ip_address.as_deref(), Some("198.51.100.1"));
        assert_eq!(e.user_agent.as_deref(), Some("curl/8"));
        let kept = NewEntry::new(Action::Query, "m")
            .user("u-2")
            .fill_from(&ctx);
        assert_eq!(kept.user_id.as_deref(), Some("u-2"));
    }
}

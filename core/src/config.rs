//! Configuration: read once, at first use, from the environment, or installed
//! in code before the first instrumented call.
//!
//! | variable | default | effect |
//! |---|---|---|
//! | `LLM_DEBUG` | off | a readable block per call on stderr |
//! | `LLM_LOG_PROMPTS` | off | request messages in debug output and structured records |
//! | `LLM_LOG_RESPONSES` | off | response text likewise |
//! | `LLM_SAVE_CONVERSATIONS` | off | one JSON file per call |
//! | `LLM_CONVERSATIONS_DIR` | `./llm_conversations` | where those files go |
//! | `LLM_LOG_FILE` | none | the JSON-lines log: one line per call (`{tenant}` in the path: a file per tenant) |
//! | `LLM_LOG_MAX_BYTES` | none | rotate the log when it would pass this size |
//! | `LLM_LOG_ROTATE_DAILY` | off | rotate the log at each UTC day |
//! | `LLM_LOG_KEEP` | `7` | rotated files kept per log file |
//! | `LLM_LOG_DEFAULT_TENANT` | `_default` | the `{tenant}` of records with no tenant |
//! | `LLM_LOG_LOSSY` | off | when the log's queue is full, drop (and count) instead of waiting |
//! | `LLM_LOG_QUEUE` | `16384` | records the log's queue holds |
//! | `LLM_SLOW_MS` | `10000` | a call slower than this is logged at WARN |
//! | `LLM_COST_BUDGET_USD` | none | one ERROR event `llm_budget_exceeded` when the process's cost passes it |
//! | `LLM_PRICING_FILE` | none | JSON price table that overrides and extends the built-in one |
//! | `LLM_REDACT` | on | mask personal data in recorded content (secrets are masked always) |
//! | `LLM_REDACT_PATTERNS` | none | a file of extra patterns to mask, one regular expression a line (`name: regex` names it) |
//! | `LLM_REDACT_KEYS` | none | extra secret key names, comma-separated |
//! | `LLM_MAX_CONTENT_CHARS` | `8000` | longest content field in a log line |
//! | `LLM_SAMPLE_RATE` | `1` | share of traces whose content the log keeps (metadata always) |
//! | `LLM_AUDIT_FILE` | none | the process-wide audit log, a JSON-lines file ([`AuditSettings`]) |
//! | `LLM_AUDIT_DB` | none | the audit log in SQLite or PostgreSQL (wins over `LLM_AUDIT_FILE`) |
//! | `LLM_AUDIT_KEY` | none | the audit log's HMAC key (its bytes, as given) |
//! | `LLM_AUDIT_FSYNC` | `always` | `always`, `never` or `N`: when the audit file is fsynced |
//!
//! Switches accept `1/0`, `true/false`, `yes/no` and `on/off` in any case. Any
//! other value of any variable gives one warning on stderr naming the variable
//! and the value, and the safe default applies (for `LLM_AUDIT_FSYNC`,
//! `always`: a mistyped policy never switches the audit log off). The audit
//! variables are read when the audit log is first used, apart from [`Config`],
//! so that a configuration installed in code does not turn auditing off.

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use once_cell::sync::OnceCell;

/// Default for [`Config::conversations_dir`].
pub const DEFAULT_CONVERSATIONS_DIR: &str = "./llm_conversations";
/// Default for [`Config::log_keep`].
pub const DEFAULT_LOG_KEEP: usize = 7;
/// Default for [`Config::log_default_tenant`].
pub const DEFAULT_TENANT: &str = "_default";
/// Default for [`Config::log_queue`].
pub const DEFAULT_LOG_QUEUE: usize = 16_384;
/// Default for [`Config::slow_ms`].
pub const DEFAULT_SLOW_MS: f64 = 10_000.0;
/// Default for [`Config::max_content_chars`].
pub const DEFAULT_MAX_CONTENT_CHARS: usize = 8_000;
/// Default for [`Config::debug_max_chars`].
pub const DEFAULT_DEBUG_MAX_CHARS: usize = 500;

/// Where debug blocks go.
#[derive(Clone, Default)]
pub enum DebugOutput {
    /// The process's standard error (the default).
    #[default]
    Stderr,
    /// A writer of your own (a file, a buffer in a test).
    Writer(Arc<Mutex<dyn Write + Send>>),
}

impl fmt::Debug for DebugOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DebugOutput::Stderr => f.write_str("Stderr"),
            DebugOutput::Writer(_) => f.write_str("Writer(..)"),
        }
    }
}

/// What llm-traced records and where. Build one with [`Config::from_env`] or
/// [`Config::default`] and the setters, then [`install`](Config::install) it.
///
/// ```no_run
/// # extern crate llm_traced_core as llm_traced;
/// llm_traced::config::Config::from_env()
///     .debug(true)
///     .log_prompts(true)
///     .install()
///     .expect("installed before the first traced call");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Print a readable block per call (`LLM_DEBUG`).
    pub debug: bool,
    /// Include request messages in outputs (`LLM_LOG_PROMPTS`).
    pub log_prompts: bool,
    /// Include response text in outputs (`LLM_LOG_RESPONSES`).
    pub log_responses: bool,
    /// Write one JSON file per call (`LLM_SAVE_CONVERSATIONS`).
    pub save_conversations: bool,
    /// Where conversation files go (`LLM_CONVERSATIONS_DIR`).
    pub conversations_dir: PathBuf,
    /// Longest text shown per message or response in a debug block, in characters.
    pub debug_max_chars: usize,
    /// Where debug blocks go.
    pub debug_output: DebugOutput,
    /// The JSON-lines log (`LLM_LOG_FILE`); `{tenant}` in the path makes one
    /// file per tenant.
    pub log_file: Option<PathBuf>,
    /// Rotate a log file when a line would take it past this size (`LLM_LOG_MAX_BYTES`).
    pub log_max_bytes: Option<u64>,
    /// Rotate log files at each UTC day (`LLM_LOG_ROTATE_DAILY`).
    pub log_rotate_daily: bool,
    /// Rotated files kept per log file (`LLM_LOG_KEEP`).
    pub log_keep: usize,
    /// The `{tenant}` of records that have none (`LLM_LOG_DEFAULT_TENANT`).
    pub log_default_tenant: String,
    /// Drop records (and count them) rather than wait when the queue is full
    /// (`LLM_LOG_LOSSY`).
    pub log_lossy: bool,
    /// Records the log's queue holds before callers wait (or drops begin).
    pub log_queue: usize,
    /// Calls slower than this, in milliseconds, are logged at WARN (`LLM_SLOW_MS`).
    pub slow_ms: f64,
    /// The process-wide cost budget in USD (`LLM_COST_BUDGET_USD`).
    pub cost_budget_usd: Option<f64>,
    /// A JSON price table overriding and extending the built-in one (`LLM_PRICING_FILE`).
    pub pricing_file: Option<PathBuf>,
    /// Mask personal data in recorded content (`LLM_REDACT`); secrets are
    /// masked whatever this says.
    pub redact: bool,
    /// A file of extra patterns masked everywhere secrets are
    /// (`LLM_REDACT_PATTERNS`): one regular expression a line, `name: regex`
    /// to name it. See `redaction::Rules`.
    pub redact_patterns_file: Option<PathBuf>,
    /// Extra patterns given in code, same syntax as a line of the file.
    pub redact_patterns: Vec<String>,
    /// Extra secret key names (`LLM_REDACT_KEYS`, comma-separated).
    pub redact_keys: Vec<String>,
    /// Longest content field in a log line, in characters (`LLM_MAX_CONTENT_CHARS`).
    pub max_content_chars: usize,
    /// Share of traces whose content the log keeps, in [0, 1] (`LLM_SAMPLE_RATE`).
    pub sample_rate: f64,
}

impl Default for Config {
    /// Everything off.
    fn default() -> Self {
        Config {
            debug: false,
            log_prompts: false,
            log_responses: false,
            save_conversations: false,
            conversations_dir: PathBuf::from(DEFAULT_CONVERSATIONS_DIR),
            debug_max_chars: DEFAULT_DEBUG_MAX_CHARS,
            debug_output: DebugOutput::Stderr,
            log_file: None,
            log_max_bytes: None,
            log_rotate_daily: false,
            log_keep: DEFAULT_LOG_KEEP,
            log_default_tenant: DEFAULT_TENANT.to_owned(),
            log_lossy: false,
            log_queue: DEFAULT_LOG_QUEUE,
            slow_ms: DEFAULT_SLOW_MS,
            cost_budget_usd: None,
            pricing_file: None,
            redact: true,
            redact_patterns_file: None,
            redact_patterns: Vec::new(),
            redact_keys: Vec::new(),
            max_content_chars: DEFAULT_MAX_CONTENT_CHARS,
            sample_rate: 1.0,
        }
    }
}

/// A variable whose value could not be understood; the default applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvWarning {
    /// The variable's name.
    pub variable: String,
    /// The value it had.
    pub value: String,
    /// What was expected.
    pub expected: &'static str,
}

const SWITCH: &str = "1/0, true/false, yes/no or on/off";

impl fmt::Display for EnvWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "llm-traced: ignoring {}={:?}: expected {}; using the default",
            self.variable, self.value, self.expected
        )
    }
}

/// The process-wide audit log the environment asks for (`LLM_AUDIT_*`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AuditSettings {
    /// `LLM_AUDIT_FILE`: a JSON-lines audit log.
    pub file: Option<PathBuf>,
    /// `LLM_AUDIT_DB`: `sqlite://…` or `postgres://…`.
    pub db: Option<String>,
    /// `LLM_AUDIT_KEY`: the HMAC key's bytes.
    pub key: Option<Vec<u8>>,
    /// `LLM_AUDIT_FSYNC`: fsync every N entries; 1 is `always` (the
    /// default), 0 is `never`.
    pub fsync_every: u32,
}

impl fmt::Debug for AuditSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditSettings")
            .field("file", &self.file)
            .field("db", &self.db.as_ref().map(|_| "…"))
            .field("key", &self.key.as_ref().map(|_| "…"))
            .field("fsync_every", &self.fsync_every)
            .finish()
    }
}

impl AuditSettings {
    /// Whether an audit log is configured at all.
    pub fn configured(&self) -> bool {
        self.file.is_some() || self.db.is_some()
    }

    /// The settings a variable lookup asks for, and the warnings for values
    /// it could not understand (the default applied). `key` reads
    /// `LLM_AUDIT_KEY` as bytes.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        key: impl Fn() -> Option<Vec<u8>>,
    ) -> (Self, Vec<EnvWarning>) {
        let text = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut warnings = Vec::new();
        let fsync_every = match text("LLM_AUDIT_FSYNC") {
            None => 1,
            Some(value) => match parse_fsync(&value) {
                Some(n) => n,
                None => {
                    warnings.push(EnvWarning {
                        variable: "LLM_AUDIT_FSYNC".to_owned(),
                        value,
                        expected: "always, never or a number of entries",
                    });
                    1
                }
            },
        };
        let settings = AuditSettings {
            file: text("LLM_AUDIT_FILE").map(PathBuf::from),
            db: text("LLM_AUDIT_DB"),
            key: key().filter(|k| !k.is_empty()),
            fsync_every,
        };
        (settings, warnings)
    }

    /// The settings the environment asks for; warnings are printed on stderr.
    pub fn from_env() -> Self {
        let (settings, warnings) = AuditSettings::from_lookup(
            |name| std::env::var(name).ok(),
            || std::env::var_os("LLM_AUDIT_KEY").map(|k| k.into_encoded_bytes()),
        );
        for warning in warnings {
            eprintln!("{warning}");
        }
        settings
    }
}

/// `always` (1), `never` (0) or a number N of entries.
fn parse_fsync(text: &str) -> Option<u32> {
    match text.trim().to_ascii_lowercase().as_str() {
        "always" | "every" => Some(1),
        "never" => Some(0),
        n => n.parse().ok(),
    }
}

/// Parses a switch: `1/0`, `true/false`, `yes/no`, `on/off`, any case, spaces trimmed.
pub fn parse_switch(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Error from [`Config::install`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlreadyInstalled;

impl fmt::Display for AlreadyInstalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "llm-traced is already configured: install the configuration before the first traced call",
        )
    }
}

impl std::error::Error for AlreadyInstalled {}

impl Config {
    /// The configuration the environment asks for. Warnings for values that
    /// could not be understood are printed on stderr.
    pub fn from_env() -> Self {
        let (config, warnings) = Config::from_lookup(|name| std::env::var(name).ok());
        for warning in warnings {
            eprintln!("{warning}");
        }
        #[cfg(not(feature = "audit"))]
        for name in ["LLM_AUDIT_FILE", "LLM_AUDIT_DB"] {
            if std::env::var_os(name).is_some() {
                eprintln!(
                    "llm-traced: {name} is set, but this build has no audit log \
                     (enable llm-traced's `audit` feature)"
                );
            }
        }
        config
    }

    /// The configuration a variable lookup asks for, and the warnings for the
    /// values it could not understand. Tests use it to avoid racing on the
    /// process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> (Self, Vec<EnvWarning>) {
        let mut config = Config::default();
        let mut warnings = Vec::new();
        // Reads variable `name` with `parse`; a value it rejects is a warning.
        let mut read = |name: &str, expected: &'static str, parse: &mut dyn FnMut(&str) -> bool| {
            if let Some(value) = lookup(name) {
                if !parse(&value) {
                    warnings.push(EnvWarning {
                        variable: name.to_owned(),
                        value,
                        expected,
                    });
                }
            }
        };
        fn set<T>(slot: &mut T, value: Option<T>) -> bool {
            value.map(|v| *slot = v).is_some()
        }
        let path = |v: &str| (!v.trim().is_empty()).then(|| PathBuf::from(v));
        read("LLM_DEBUG", SWITCH, &mut |v| {
            set(&mut config.debug, parse_switch(v))
        });
        read("LLM_LOG_PROMPTS", SWITCH, &mut |v| {
            set(&mut config.log_prompts, parse_switch(v))
        });
        read("LLM_LOG_RESPONSES", SWITCH, &mut |v| {
            set(&mut config.log_responses, parse_switch(v))
        });
        read("LLM_SAVE_CONVERSATIONS", SWITCH, &mut |v| {
            set(&mut config.save_conversations, parse_switch(v))
        });
        read("LLM_LOG_ROTATE_DAILY", SWITCH, &mut |v| {
            set(&mut config.log_rotate_daily, parse_switch(v))
        });
        read("LLM_LOG_LOSSY", SWITCH, &mut |v| {
            set(&mut config.log_lossy, parse_switch(v))
        });
        read("LLM_REDACT", SWITCH, &mut |v| {
            set(&mut config.redact, parse_switch(v))
        });
        read("LLM_CONVERSATIONS_DIR", "a directory", &mut |v| {
            set(&mut config.conversations_dir, path(v))
        });
        read("LLM_LOG_FILE", "a file path", &mut |v| {
            set(&mut config.log_file, path(v).map(Some))
        });
        read("LLM_PRICING_FILE", "a file path", &mut |v| {
            set(&mut config.pricing_file, path(v).map(Some))
        });
        read("LLM_REDACT_PATTERNS", "a file path", &mut |v| {
            set(&mut config.redact_patterns_file, path(v).map(Some))
        });
        read("LLM_REDACT_KEYS", "comma-separated key names", &mut |v| {
            let names: Vec<String> = v
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect();
            set(
                &mut config.redact_keys,
                (!names.is_empty()).then_some(names),
            )
        });
        read("LLM_LOG_DEFAULT_TENANT", "a name", &mut |v| {
            set(
                &mut config.log_default_tenant,
                (!v.trim().is_empty()).then(|| v.trim().to_owned()),
            )
        });
        read(
            "LLM_LOG_MAX_BYTES",
            "a positive number of bytes",
            &mut |v| {
                set(
                    &mut config.log_max_bytes,
                    v.trim().parse::<u64>().ok().filter(|n| *n > 0).map(Some),
                )
            },
        );
        read("LLM_LOG_QUEUE", "a positive number of records", &mut |v| {
            set(
                &mut config.log_queue,
                v.trim().parse::<usize>().ok().filter(|n| *n > 0),
            )
        });
        read("LLM_LOG_KEEP", "a number of files", &mut |v| {
            set(&mut config.log_keep, v.trim().parse::<usize>().ok())
        });
        read("LLM_SLOW_MS", "a number of milliseconds", &mut |v| {
            set(
                &mut config.slow_ms,
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite() && *n >= 0.0),
            )
        });
        read("LLM_COST_BUDGET_USD", "an amount in USD", &mut |v| {
            let amount = v.trim().trim_start_matches('$').parse::<f64>().ok();
            set(
                &mut config.cost_budget_usd,
                amount.filter(|n| n.is_finite() && *n >= 0.0).map(Some),
            )
        });
        read(
            "LLM_MAX_CONTENT_CHARS",
            "a number of characters",
            &mut |v| {
                set(
                    &mut config.max_content_chars,
                    v.trim().parse::<usize>().ok(),
                )
            },
        );
        read("LLM_SAMPLE_RATE", "a number between 0 and 1", &mut |v| {
            set(
                &mut config.sample_rate,
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|r| (0.0..=1.0).contains(r)),
            )
        });
        (config, warnings)
    }

    /// Sets [`debug`](Config::debug).
    pub fn debug(mut self, on: bool) -> Self {
        self.debug = on;
        self
    }

    /// Sets [`log_prompts`](Config::log_prompts).
    pub fn log_prompts(mut self, on: bool) -> Self {
        self.log_prompts = on;
        self
    }

    /// Sets [`log_responses`](Config::log_responses).
    pub fn log_responses(mut self, on: bool) -> Self {
        self.log_responses = on;
        self
    }

    /// Sets [`save_conversations`](Config::save_conversations).
    pub fn save_conversations(mut self, on: bool) -> Self {
        self.save_conversations = on;
        self
    }

    /// Sets [`conversations_dir`](Config::conversations_dir).
    pub fn conversations_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.conversations_dir = dir.into();
        self
    }

    /// Sets [`debug_max_chars`](Config::debug_max_chars).
    pub fn debug_max_chars(mut self, chars: usize) -> Self {
        self.debug_max_chars = chars;
        self
    }

    /// Sends debug blocks to `writer` instead of stderr.
    pub fn debug_to(mut self, writer: impl Write + Send + 'static) -> Self {
        self.debug_output = DebugOutput::Writer(Arc::new(Mutex::new(writer)));
        self
    }

    /// Sets [`log_file`](Config::log_file).
    pub fn log_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.log_file = Some(path.into());
        self
    }

    /// Sets [`log_max_bytes`](Config::log_max_bytes).
    pub fn log_max_bytes(mut self, bytes: u64) -> Self {
        self.log_max_bytes = Some(bytes);
        self
    }

    /// Sets [`log_rotate_daily`](Config::log_rotate_daily).
    pub fn log_rotate_daily(mut self, on: bool) -> Self {
        self.log_rotate_daily = on;
        self
    }

    /// Sets [`log_keep`](Config::log_keep).
    pub fn log_keep(mut self, files: usize) -> Self {
        self.log_keep = files;
        self
    }

    /// Sets [`log_default_tenant`](Config::log_default_tenant).
    pub fn log_default_tenant(mut self, name: impl Into<String>) -> Self {
        self.log_default_tenant = name.into();
        self
    }

    /// Sets [`log_lossy`](Config::log_lossy).
    pub fn log_lossy(mut self, on: bool) -> Self {
        self.log_lossy = on;
        self
    }

    /// Sets [`log_queue`](Config::log_queue) (at least 1).
    pub fn log_queue(mut self, records: usize) -> Self {
        self.log_queue = records.max(1);
        self
    }

    /// Sets [`slow_ms`](Config::slow_ms).
    pub fn slow_ms(mut self, ms: f64) -> Self {
        self.slow_ms = ms;
        self
    }

    /// Sets [`cost_budget_usd`](Config::cost_budget_usd).
    pub fn cost_budget_usd(mut self, usd: f64) -> Self {
        self.cost_budget_usd = Some(usd);
        self
    }

    /// Sets [`pricing_file`](Config::pricing_file).
    pub fn pricing_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.pricing_file = Some(path.into());
        self
    }

    /// Sets [`redact`](Config::redact).
    pub fn redact(mut self, on: bool) -> Self {
        self.redact = on;
        self
    }

    /// Sets [`redact_patterns_file`](Config::redact_patterns_file).
    pub fn redact_patterns_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.redact_patterns_file = Some(path.into());
        self
    }

    /// Adds a pattern to mask (`name: regex` names it), as a line of
    /// [`redact_patterns_file`](Config::redact_patterns_file) would.
    pub fn redact_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.redact_patterns.push(pattern.into());
        self
    }

    /// Adds a secret key name (any spelling: `employee_pin`, `EmployeePin`).
    pub fn redact_key(mut self, name: impl Into<String>) -> Self {
        self.redact_keys.push(name.into());
        self
    }

    /// Sets [`max_content_chars`](Config::max_content_chars).
    pub fn max_content_chars(mut self, chars: usize) -> Self {
        self.max_content_chars = chars;
        self
    }

    /// Sets [`sample_rate`](Config::sample_rate), clamped to [0, 1].
    pub fn sample_rate(mut self, rate: f64) -> Self {
        self.sample_rate = if rate.is_nan() {
            1.0
        } else {
            rate.clamp(0.0, 1.0)
        };
        self
    }

    /// Whether any output is on: when not, instrumented calls do nothing but
    /// check this once.
    pub fn any_output(&self) -> bool {
        self.debug || self.save_conversations || self.log_file.is_some()
    }

    /// Whether some output records message content.
    pub fn wants_messages(&self) -> bool {
        self.save_conversations || (self.log_prompts && (self.debug || self.log_file.is_some()))
    }

    /// Whether some output records response content.
    pub fn wants_response(&self) -> bool {
        self.save_conversations || (self.log_responses && (self.debug || self.log_file.is_some()))
    }

    /// Makes this the process's configuration. It must come before the first
    /// instrumented call, which would otherwise read the environment.
    pub fn install(self) -> Result<(), AlreadyInstalled> {
        let active = self.any_output();
        GLOBAL.set(self).map_err(|_| AlreadyInstalled)?;
        STATE.store(if active { ON } else { OFF }, Ordering::Release);
        Ok(())
    }
}

static GLOBAL: OnceCell<Config> = OnceCell::new();
static STATE: AtomicU8 = AtomicU8::new(UNSET);
const UNSET: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

/// The installed configuration, reading the environment on first use.
pub fn current() -> &'static Config {
    GLOBAL.get_or_init(Config::from_env)
}

/// The configuration when some output is on, `None` when everything is off.
/// One relaxed atomic load on the hot path.
#[inline(always)]
#[doc(hidden)]
pub fn active() -> Option<&'static Config> {
    match STATE.load(Ordering::Relaxed) {
        OFF => None,
        ON => GLOBAL.get(),
        _ => init_state(),
    }
}

/// Whether nothing can listen to a call: every output off and no `tracing`
/// subscriber enabled at INFO for anything. Two relaxed atomic loads; when it
/// says so, generated code skips even the span's construction.
#[inline(always)]
#[doc(hidden)]
pub fn quiet() -> bool {
    STATE.load(Ordering::Relaxed) == OFF
        && tracing::level_filters::LevelFilter::current() < tracing::Level::INFO
}

#[cold]
fn init_state() -> Option<&'static Config> {
    let config = current();
    let active = config.any_output();
    STATE.store(if active { ON } else { OFF }, Ordering::Release);
    active.then_some(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn switches_in_every_accepted_spelling() {
        for on in ["1", "true", "TRUE", "Yes", "on", " On "] {
            assert_eq!(parse_switch(on), Some(true), "{on}");
        }
        for off in ["0", "false", "False", "NO", "off"] {
            assert_eq!(parse_switch(off), Some(false), "{off}");
        }
        for bad in ["", "2", "enable", "y", "tru"] {
            assert_eq!(parse_switch(bad), None, "{bad}");
        }
    }

    #[test]
    fn unknown_value_warns_and_keeps_default() {
        let (config, warnings) = Config::from_lookup(lookup(&[
            ("LLM_DEBUG", "maybe"),
            ("LLM_LOG_PROMPTS", "yes"),
        ]));
        assert!(!config.debug);
        assert!(config.log_prompts);
        assert_eq!(warnings.len(), 1);
        let text = warnings[0].to_string();
        assert!(
            text.contains("LLM_DEBUG") && text.contains("\"maybe\""),
            "{text}"
        );
    }

    #[test]
    fn numbers_and_paths_from_env() {
        let (config, warnings) = Config::from_lookup(lookup(&[
            ("LLM_LOG_FILE", "/var/log/llm/{tenant}.jsonl"),
            ("LLM_LOG_MAX_BYTES", "1048576"),
            ("LLM_LOG_KEEP", "3"),
            ("LLM_SLOW_MS", "2500"),
            ("LLM_COST_BUDGET_USD", "$12.50"),
            ("LLM_SAMPLE_RATE", "0.25"),
            ("LLM_REDACT", "false"),
            ("LLM_REDACT_PATTERNS", "/etc/llm/patterns.txt"),
            ("LLM_REDACT_KEYS", "employee_pin, pin ,"),
            ("LLM_MAX_CONTENT_CHARS", "100"),
        ]));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            config.log_file,
            Some(PathBuf::from("/var/log/llm/{tenant}.jsonl"))
        );
        assert_eq!(config.log_max_bytes, Some(1_048_576));
        assert_eq!(config.log_keep, 3);
        assert_eq!(config.slow_ms, 2500.0);
        assert_eq!(config.cost_budget_usd, Some(12.5));
        assert_eq!(config.sample_rate, 0.25);
        assert!(!config.redact);
        assert_eq!(
            config.redact_patterns_file,
            Some(PathBuf::from("/etc/llm/patterns.txt"))
        );
        assert_eq!(config.redact_keys, ["employee_pin", "pin"]);
        assert_eq!(config.max_content_chars, 100);
        assert!(config.any_output());
    }

    #[test]
    fn bad_numbers_warn_and_keep_defaults() {
        let (config, warnings) = Config::from_lookup(lookup(&[
            ("LLM_SAMPLE_RATE", "1.5"),
            ("LLM_LOG_MAX_BYTES", "-3"),
            ("LLM_SLOW_MS", "fast"),
        ]));
        assert_eq!(warnings.len(), 3);
        assert_eq!(config.sample_rate, 1.0);
        assert_eq!(config.log_max_bytes, None);
        assert_eq!(config.slow_ms, DEFAULT_SLOW_MS);
        let text: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert!(
            text.iter()
                .any(|t| t.contains("LLM_SAMPLE_RATE") && t.contains("between 0 and 1")),
            "{text:?}"
        );
    }

    #[test]
    fn defaults_are_off() {
        let (config, warnings) = Config::from_lookup(lookup(&[]));
        assert!(warnings.is_empty());
        assert!(!config.any_output() && !config.log_prompts && !config.log_responses);
        assert_eq!(
            config.conversations_dir,
            PathBuf::from("./llm_conversations")
        );
    }

    #[test]
    fn conversations_dir_from_env() {
        let (config, _) = Config::from_lookup(lookup(&[
            ("LLM_SAVE_CONVERSATIONS", "on"),
            ("LLM_CONVERSATIONS_DIR", "/tmp/convs"),
        ]));
        assert!(config.save_conversations && config.any_output());
        assert_eq!(config.conversations_dir, PathBuf::from("/tmp/convs"));
    }

    #[test]
    fn audit_settings_warn_on_a_bad_policy_and_keep_the_safe_default() {
        let no_key = || None;
        let (settings, warnings) = AuditSettings::from_lookup(
            lookup(&[
                ("LLM_AUDIT_FILE", "/tmp/a.jsonl"),
                ("LLM_AUDIT_FSYNC", "sometimes"),
            ]),
            no_key,
        );
        assert!(settings.configured());
        assert_eq!(settings.fsync_every, 1, "always");
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].variable, "LLM_AUDIT_FSYNC");
        for (text, every) in [("always", 1), ("NEVER", 0), (" 25 ", 25)] {
            let (settings, warnings) =
                AuditSettings::from_lookup(lookup(&[("LLM_AUDIT_FSYNC", text)]), no_key);
            assert_eq!((settings.fsync_every, warnings.len()), (every, 0), "{text}");
            assert!(!settings.configured());
        }
        let (settings, _) =
            AuditSettings::from_lookup(lookup(&[("LLM_AUDIT_DB", "postgres://u:pw@h/db")]), || {
                Some(b"k3y".to_vec())
            });
        let shown = format!("{settings:?}");
        assert!(!shown.contains("pw") && !shown.contains("k3y"), "{shown}");
    }
}

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
//!
//! Switches accept `1/0`, `true/false`, `yes/no` and `on/off` in any case. Any
//! other value gives one warning on stderr naming the variable and the value,
//! and the default applies.

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use once_cell::sync::OnceCell;

/// Default for [`Config::conversations_dir`].
pub const DEFAULT_CONVERSATIONS_DIR: &str = "./llm_conversations";
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
/// llm_traced_runtime::Config::from_env()
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
}

impl fmt::Display for EnvWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "llm-traced: ignoring {}={:?}: expected 1/0, true/false, yes/no or on/off; using the default",
            self.variable, self.value
        )
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
        config
    }

    /// The configuration a variable lookup asks for, and the warnings for the
    /// values it could not understand. Tests use it to avoid racing on the
    /// process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> (Self, Vec<EnvWarning>) {
        let mut config = Config::default();
        let mut warnings = Vec::new();
        let mut switch = |name: &str, slot: &mut bool| {
            if let Some(value) = lookup(name) {
                match parse_switch(&value) {
                    Some(on) => *slot = on,
                    None => warnings.push(EnvWarning {
                        variable: name.to_owned(),
                        value,
                    }),
                }
            }
        };
        switch("LLM_DEBUG", &mut config.debug);
        switch("LLM_LOG_PROMPTS", &mut config.log_prompts);
        switch("LLM_LOG_RESPONSES", &mut config.log_responses);
        switch("LLM_SAVE_CONVERSATIONS", &mut config.save_conversations);
        if let Some(dir) = lookup("LLM_CONVERSATIONS_DIR").filter(|d| !d.trim().is_empty()) {
            config.conversations_dir = PathBuf::from(dir);
        }
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

    /// Whether any output is on: when not, instrumented calls do nothing but
    /// check this once.
    pub fn any_output(&self) -> bool {
        self.debug || self.save_conversations
    }

    /// Whether some output records message content.
    pub fn wants_messages(&self) -> bool {
        self.save_conversations || (self.debug && self.log_prompts)
    }

    /// Whether some output records response content.
    pub fn wants_response(&self) -> bool {
        self.save_conversations || (self.debug && self.log_responses)
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
pub(crate) fn active() -> Option<&'static Config> {
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
pub(crate) fn quiet() -> bool {
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
}

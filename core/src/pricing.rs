//! Cost estimates: a built-in, dated price table (USD per million input,
//! cached-input and output tokens, and the context window) for the common
//! OpenAI, Anthropic and Google models, which `LLM_PRICING_FILE` overrides and
//! extends.
//!
//! Dated snapshot names are matched to their family: `gpt-4o-2024-08-06` →
//! `gpt-4o`, `claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`,
//! `gemini-2.5-flash-preview-05-20` → `gemini-2.5-flash`. An unknown model has
//! no cost (absent, never 0).
//!
//! The file format (the built-in table uses it too):
//!
//! ```json
//! {"models": [{"model": "my-finetune", "input": 3.0, "cached_input": 1.5,
//!              "output": 12.0, "context_window": 128000, "aliases": ["ft:my-finetune"]}]}
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use once_cell::sync::OnceCell;
use serde::{Deserialize, Serialize};

use crate::capture::Usage;

/// The built-in table.
const BUILT_IN: &str = include_str!("../data/prices.json");

/// The price of one model, in USD per million tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// The model id.
    pub model: String,
    /// `openai`, `anthropic`, `google`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Input tokens.
    pub input: f64,
    /// Input tokens read from the prompt cache; the input price when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<f64>,
    /// Output tokens (reasoning tokens included).
    pub output: f64,
    /// The context window, in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    /// Other names of the same model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

impl Price {
    /// The cost of `usage` at this price. Cached input tokens, which the
    /// input count includes, are charged at the cached price.
    pub fn cost(&self, usage: &Usage) -> Option<f64> {
        let input = usage.input_tokens.unwrap_or(0);
        let output = usage.output_tokens.unwrap_or(0);
        if usage.input_tokens.is_none() && usage.output_tokens.is_none() {
            return None;
        }
        let cached = usage.cached_input_tokens.unwrap_or(0).min(input);
        let fresh = input - cached;
        let cost = fresh as f64 * self.input
            + cached as f64 * self.cached_input.unwrap_or(self.input)
            + output as f64 * self.output;
        Some(cost / 1_000_000.0)
    }
}

/// A file of prices.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PriceFile {
    /// When the prices were read from their sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    /// Where they come from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// The prices.
    pub models: Vec<Price>,
}

/// Prices by model id and alias.
#[derive(Debug, Clone, Default)]
pub struct PriceTable {
    by_name: HashMap<String, Price>,
    /// The built-in table's date.
    pub as_of: Option<String>,
}

impl PriceTable {
    /// The built-in table.
    pub fn built_in() -> Self {
        let mut table = PriceTable::default();
        match serde_json::from_str::<PriceFile>(BUILT_IN) {
            Ok(file) => {
                table.as_of = file.as_of.clone();
                table.extend(file);
            }
            Err(e) => eprintln!("llm-traced: the built-in price table is invalid: {e}"),
        }
        table
    }

    /// Adds (or replaces) prices.
    pub fn extend(&mut self, file: PriceFile) {
        for price in file.models {
            for alias in &price.aliases {
                self.by_name
                    .insert(alias.to_ascii_lowercase(), price.clone());
            }
            self.by_name.insert(price.model.to_ascii_lowercase(), price);
        }
    }

    /// Reads a price file and adds its prices.
    pub fn extend_from_file(&mut self, path: &Path) -> Result<usize, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let file: PriceFile = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a price file: {e}", path.display()))?;
        let n = file.models.len();
        self.extend(file);
        Ok(n)
    }

    /// The price of `model`: by exact name, then by alias, then by family
    /// (the name with a date, `-latest`, `-preview…` or `-exp…` suffix, or a
    /// `provider/` prefix, taken off).
    pub fn lookup(&self, model: &str) -> Option<&Price> {
        let mut name = model.trim().to_ascii_lowercase();
        if let Some(rest) = name.strip_prefix("models/") {
            name = rest.to_owned();
        }
        if let Some(price) = self.by_name.get(&name) {
            return Some(price);
        }
        if let Some((_, rest)) = name.split_once('/') {
            if let Some(price) = self.lookup(rest) {
                return Some(price);
            }
        }
        if let Some((base, _)) = name.split_once('@') {
            return self.lookup(base);
        }
        let mut current = name.as_str();
        while let Some(shorter) = strip_suffix(current) {
            if let Some(price) = self.by_name.get(shorter) {
                return Some(price);
            }
            current = shorter;
        }
        None
    }

    /// How many names (models and aliases) the table knows.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// The name without its last version-like part: a date (`-2024-08-06`,
/// `-20250929`, `-0613`), `-latest`, `-preview…`, `-exp…`, or a Gemini
/// revision (`-001`).
fn strip_suffix(name: &str) -> Option<&str> {
    for marker in ["-preview", "-exp", "-latest"] {
        if let Some(i) = name.rfind(marker) {
            if i > 0 {
                return Some(&name[..i]);
            }
        }
    }
    // `-YYYY-MM-DD`
    if name.len() > 11 {
        let (head, tail) = name.split_at(name.len() - 11);
        let b = tail.as_bytes();
        if b[0] == b'-'
            && b[5] == b'-'
            && b[8] == b'-'
            && tail[1..].bytes().filter(u8::is_ascii_digit).count() == 8
        {
            return Some(head);
        }
    }
    // `-20250929`, `-0613`, `-001`
    let (head, tail) = name.rsplit_once('-')?;
    (!head.is_empty() && tail.len() >= 3 && tail.bytes().all(|b| b.is_ascii_digit()))
        .then_some(head)
}

static TABLE: OnceCell<PriceTable> = OnceCell::new();
static FILE_FAILED: AtomicBool = AtomicBool::new(false);

/// The table in use: the built-in one, extended by `LLM_PRICING_FILE`.
pub fn table() -> &'static PriceTable {
    TABLE.get_or_init(|| {
        let mut table = PriceTable::built_in();
        if let Some(path) = &crate::config::current().pricing_file {
            if let Err(e) = table.extend_from_file(path) {
                crate::warn_once(&FILE_FAILED, || {
                    format!("llm-traced: LLM_PRICING_FILE: {e}; using the built-in prices")
                });
            }
        }
        table
    })
}

/// The price of `model` in the table in use. A few recent answers are kept
/// per thread: applications use a handful of models, and a call should not
/// pay for the name matching each time.
pub fn lookup(model: &str) -> Option<&'static Price> {
    thread_local! {
        static RECENT: std::cell::RefCell<Vec<(String, Option<&'static Price>)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let cached = RECENT.try_with(|recent| {
        recent
            .borrow()
            .iter()
            .find(|(name, _)| name == model)
            .map(|(_, price)| *price)
    });
    if let Ok(Some(price)) = cached {
        return price;
    }
    let price = table().lookup(model);
    let _ = RECENT.try_with(|recent| {
        let mut recent = recent.borrow_mut();
        if recent.len() >= 8 {
            recent.remove(0);
        }
        recent.push((model.to_owned(), price));
    });
    price
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_of(models: &[(&str, f64, Option<f64>, f64)]) -> PriceTable {
        let mut t = PriceTable::default();
        t.extend(PriceFile {
            models: models
                .iter()
                .map(|(m, i, c, o)| Price {
                    model: m.to_string(),
                    provider: None,
                    input: *i,
                    cached_input: *c,
                    output: *o,
                    context_window: Some(128_000),
                    aliases: vec![],
                })
                .collect(),
            ..PriceFile::default()
        });
        t
    }

    #[test]
    fn snapshots_match_their_family_and_exact_names_win() {
        let t = table_of(&[
            ("gpt-4o", 2.5, Some(1.25), 10.0),
            ("gpt-4o-mini", 0.15, Some(0.075), 0.6),
            ("gpt-4o-2024-05-13", 5.0, None, 15.0),
            ("claude-sonnet-4-5", 3.0, Some(0.3), 15.0),
            ("gemini-2.5-flash", 0.3, Some(0.075), 2.5),
        ]);
        assert_eq!(t.lookup("gpt-4o-2024-08-06").unwrap().model, "gpt-4o");
        assert_eq!(t.lookup("gpt-4o-2024-05-13").unwrap().input, 5.0);
        assert_eq!(
            t.lookup("gpt-4o-mini-2024-07-18").unwrap().model,
            "gpt-4o-mini"
        );
        assert_eq!(
            t.lookup("claude-sonnet-4-5-20250929").unwrap().model,
            "claude-sonnet-4-5"
        );
        assert_eq!(
            t.lookup("gemini-2.5-flash-preview-05-20").unwrap().model,
            "gemini-2.5-flash"
        );
        assert_eq!(
            t.lookup("models/gemini-2.5-flash").unwrap().model,
            "gemini-2.5-flash"
        );
        assert_eq!(t.lookup("openai/gpt-4o").unwrap().model, "gpt-4o");
        assert_eq!(t.lookup("GPT-4o").unwrap().model, "gpt-4o");
        assert!(t.lookup("my-own-model").is_none());
        assert!(
            t.lookup("gpt-4").is_none(),
            "no prefix guessing across families"
        );
    }

    #[test]
    fn cost_charges_cached_input_at_the_cached_price() {
        let t = table_of(&[("gpt-4o", 2.5, Some(1.25), 10.0)]);
        let usage = Usage {
            input_tokens: Some(2620),
            output_tokens: Some(100),
            cached_input_tokens: Some(2560),
            ..Usage::default()
        };
        let cost = t.lookup("gpt-4o").unwrap().cost(&usage).unwrap();
        let expected = (60.0 * 2.5 + 2560.0 * 1.25 + 100.0 * 10.0) / 1e6;
        assert!((cost - expected).abs() < 1e-12, "{cost} vs {expected}");
        assert_eq!(t.lookup("gpt-4o").unwrap().cost(&Usage::default()), None);
    }

    #[test]
    fn the_built_in_table_parses_and_knows_the_main_families() {
        let t = PriceTable::built_in();
        assert!(t.len() > 20, "{}", t.len());
        assert!(t.as_of.is_some());
        for model in [
            "gpt-4o",
            "gpt-4o-mini",
            "claude-sonnet-4-5",
            "gemini-2.5-flash",
        ] {
            let price = t.lookup(model).unwrap_or_else(|| panic!("{model}"));
            assert!(
                price.input > 0.0 && price.output > 0.0 && price.context_window.is_some(),
                "{model}"
            );
        }
    }
}

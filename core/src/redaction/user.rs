//! User extensions: patterns (`LLM_REDACT_PATTERNS`, [`Config::redact_pattern`])
//! and key names (`LLM_REDACT_KEYS`, [`Config::redact_key`]) added to the
//! built-in ones.
//!
//! A pattern file holds one regular expression a line (the syntax of the
//! `regex-lite` crate: Perl-like, no Unicode classes); `#` starts a comment
//! line and blank lines are skipped. A line `name: regex` names its pattern:
//! its matches become `[NAME]` instead of `[REDACTED]`. User patterns are
//! applied wherever secrets are, whatever `LLM_REDACT` says.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use once_cell::sync::OnceCell;
use regex_lite::Regex;

use super::{find_with_keys, keys, Kind, Mode};
use crate::config::Config;

/// A user pattern, compiled.
#[derive(Debug, Clone)]
struct Pattern {
    regex: Regex,
    /// When every match starts with a literal: the literal, and the pattern
    /// anchored at the start of the text (see [`Pattern::find`]).
    prefix: Option<(String, Regex)>,
    /// The text that replaces a match.
    placeholder: String,
}

/// The literal every match of `pattern` starts with, if it is easy to see:
/// the characters before the first metacharacter, without the last one when
/// a quantifier follows it; none when the pattern has an alternation.
fn literal_prefix(pattern: &str) -> String {
    if pattern.contains('|') {
        return String::new();
    }
    let mut literal = String::new();
    for c in pattern.chars() {
        match c {
            '*' | '?' | '+' | '{' => {
                literal.pop();
                break;
            }
            '\\' | '.' | '(' | ')' | '[' | ']' | '}' | '^' | '$' => break,
            _ => literal.push(c),
        }
    }
    literal
}

impl Pattern {
    fn new(regex: Regex, pattern: &str, placeholder: String) -> Self {
        let literal = literal_prefix(pattern);
        let prefix = (!literal.is_empty())
            .then(|| Regex::new(&format!("^(?:{pattern})")).ok())
            .flatten()
            .map(|anchored| (literal, anchored));
        Pattern {
            regex,
            prefix,
            placeholder,
        }
    }

    /// Every match in `text`, leftmost first, as `find_iter` gives them. A
    /// pattern that starts with a literal is tried only where the literal
    /// occurs (a substring search, far faster than `regex-lite`'s pass over
    /// every byte): measured in `benches/redaction.rs`.
    fn find(&self, text: &str, out: &mut Vec<Range<usize>>) {
        let Some((literal, anchored)) = &self.prefix else {
            out.extend(self.regex.find_iter(text).map(|m| m.range()));
            return;
        };
        let step = literal.chars().next().map_or(1, char::len_utf8);
        let mut pos = 0;
        while let Some(k) = text[pos..].find(literal.as_str()) {
            let start = pos + k;
            match anchored.find(&text[start..]) {
                Some(m) if m.end() > 0 => {
                    out.push(start..start + m.end());
                    pos = start + m.end();
                }
                _ => pos = start + step,
            }
        }
    }
}

/// The rules a scrubbing step applies: the built-in detectors plus the
/// user's patterns and key names.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Compiled patterns.
    patterns: Vec<Pattern>,
    /// Extra secret key names, words written together, lowercase.
    keys: Vec<String>,
}

/// A pattern that could not be used (it is skipped; the others apply), or a
/// pattern file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesWarning {
    /// Where the pattern came from: the file's path, or `Config::redact_pattern`.
    pub source: String,
    /// Its line in the file (1-based), or its position among those given in
    /// code; 0 when the file could not be read.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for RulesWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(
                f,
                "llm-traced: cannot read the redaction patterns in {}: {}",
                self.source, self.message
            )
        } else {
            write!(
                f,
                "llm-traced: ignoring the redaction pattern on line {} of {}: {}",
                self.line, self.source, self.message
            )
        }
    }
}

/// Splits `name: regex`; a line without such a name is all pattern.
fn named(line: &str) -> (Option<&str>, &str) {
    if let Some((name, rest)) = line.split_once(": ") {
        let mut chars = name.chars();
        let first = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if first && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return (Some(name), rest.trim());
        }
    }
    (None, line)
}

impl Rules {
    /// The built-in detectors only.
    pub fn new() -> Self {
        Rules::default()
    }

    /// The built-in detectors plus the patterns of `text` (the content of a
    /// pattern file called `source` in warnings); a bad pattern is a warning
    /// naming its line, and the others still apply.
    pub fn with_patterns(mut self, source: &str, text: &str) -> (Self, Vec<RulesWarning>) {
        let mut warnings = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, pattern) = named(line);
            match Regex::new(pattern) {
                Ok(regex) if regex.is_match("") => warnings.push(RulesWarning {
                    source: source.to_owned(),
                    line: n + 1,
                    message: format!("{pattern:?} matches the empty text"),
                }),
                Ok(regex) => {
                    let placeholder = name.map_or_else(
                        || Kind::Custom.placeholder().to_owned(),
                        |name| format!("[{}]", name.to_ascii_uppercase()),
                    );
                    self.patterns
                        .push(Pattern::new(regex, pattern, placeholder));
                }
                Err(e) => warnings.push(RulesWarning {
                    source: source.to_owned(),
                    line: n + 1,
                    message: e.to_string().lines().last().unwrap_or("").trim().to_owned(),
                }),
            }
        }
        (self, warnings)
    }

    /// Adds secret key names (any spelling: `employee_pin`, `EmployeePin`).
    pub fn with_keys<S: AsRef<str>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.keys.extend(
            names
                .into_iter()
                .map(|n| keys::normalise(n.as_ref()))
                .filter(|n| !n.is_empty()),
        );
        self
    }

    /// The rules a configuration asks for: its pattern file
    /// ([`Config::redact_patterns_file`]), its patterns given in code
    /// ([`Config::redact_patterns`]) and its key names.
    pub fn from_config(config: &Config) -> (Self, Vec<RulesWarning>) {
        let mut rules = Rules::new().with_keys(&config.redact_keys);
        let mut warnings = Vec::new();
        if let Some(path) = &config.redact_patterns_file {
            let source = path.display().to_string();
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    let (r, w) = rules.with_patterns(&source, &text);
                    rules = r;
                    warnings.extend(w);
                }
                Err(e) => warnings.push(RulesWarning {
                    source,
                    line: 0,
                    message: e.to_string(),
                }),
            }
        }
        let (rules, w) =
            rules.with_patterns("Config::redact_pattern", &config.redact_patterns.join("\n"));
        warnings.extend(w);
        (rules, warnings)
    }

    /// The rules of the installed configuration, built at first use; their
    /// warnings are printed once on stderr.
    pub fn global() -> &'static Rules {
        static GLOBAL: OnceCell<Rules> = OnceCell::new();
        GLOBAL.get_or_init(|| {
            let (rules, warnings) = Rules::from_config(crate::config::current());
            for warning in warnings {
                eprintln!("{warning}");
            }
            rules
        })
    }

    /// Whether a structured value's key names a secret, by the built-in list
    /// or the user's.
    pub fn is_secret_key(&self, key: &str) -> bool {
        keys::is_secret_name(key, &self.keys, false)
    }

    /// The ranges to mask in `text` and what replaces each: sorted,
    /// non-overlapping, on char boundaries.
    pub fn find(&self, text: &str, mode: Mode) -> Vec<(Range<usize>, &str)> {
        let mut spans: Vec<(Range<usize>, &str)> = find_with_keys(text, mode, &self.keys)
            .into_iter()
            .map(|(range, kind)| (range, kind.placeholder()))
            .collect();
        if self.patterns.is_empty() {
            return spans;
        }
        let mut ranges = Vec::new();
        for pattern in &self.patterns {
            ranges.clear();
            pattern.find(text, &mut ranges);
            spans.extend(
                ranges
                    .drain(..)
                    .map(|range| (range, pattern.placeholder.as_str())),
            );
        }
        spans.sort_by_key(|(range, _)| (range.start, std::cmp::Reverse(range.end)));
        let mut merged: Vec<(Range<usize>, &str)> = Vec::with_capacity(spans.len());
        for (range, placeholder) in spans {
            match merged.last_mut() {
                Some((last, _)) if range.start < last.end => last.end = last.end.max(range.end),
                _ => merged.push((range, placeholder)),
            }
        }
        merged
    }

    /// Replaces every match with its placeholder; borrows when nothing matched.
    pub fn redact<'t>(&self, text: &'t str, mode: Mode) -> Cow<'t, str> {
        let spans = self.find(text, mode);
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (range, placeholder) in spans {
            out.push_str(&text[last..range.start]);
            out.push_str(placeholder);
            last = range.end;
        }
        out.push_str(&text[last..]);
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_and_unnamed_patterns_and_a_bad_line() {
        let file = "# employee ids\nemployee_id: EMP-[0-9]{6}\n\nPROJ-(unclosed\nzz[0-9]{3}zz\n";
        let (rules, warnings) = Rules::new().with_patterns("patterns.txt", file);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let text = warnings[0].to_string();
        assert!(
            text.contains("line 4 of patterns.txt") && warnings[0].line == 4,
            "{text}"
        );
        assert_eq!(
            rules.redact("ask EMP-123456 about zz123zz, mail a@b.co", Mode::All),
            "ask [EMPLOYEE_ID] about [REDACTED], mail [EMAIL]"
        );
        // User patterns are secrets: applied in every mode.
        assert_eq!(
            rules.redact("EMP-123456 a@b.co", Mode::SecretsOnly),
            "[EMPLOYEE_ID] a@b.co"
        );
    }

    #[test]
    fn overlapping_matches_merge() {
        let (rules, _) = Rules::new().with_patterns("p", "sk-proj\nproj-[a-z]+");
        let text = "key sk-proj-abcdefghijklmnopqrstuvwxyz end";
        assert_eq!(rules.redact(text, Mode::All), "key [API_KEY] end");
    }

    #[test]
    fn empty_matching_patterns_are_refused() {
        let (rules, warnings) = Rules::new().with_patterns("p", "a*\n");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].message.contains("empty"));
        assert_eq!(rules.redact("aaa", Mode::All), "aaa");
    }

    #[test]
    fn literal_prefixes_find_what_the_regex_finds() {
        assert_eq!(literal_prefix("EMP-[0-9]{6}"), "EMP-");
        assert_eq!(literal_prefix("ab*c"), "a");
        assert_eq!(literal_prefix("x{2}"), "");
        assert_eq!(literal_prefix("(?i)emp"), "");
        assert_eq!(literal_prefix("EMP|PRJ"), "");
        assert_eq!(literal_prefix("é\\d"), "é");
        let text = "EMP-1 EMP-123456 xEMP-654321x EMP-EMP-111111 ééé1 aaab abc";
        for pattern in [
            "EMP-[0-9]{6}",
            "EMP-[0-9]+",
            "aa*b",
            "é\\d",
            "ab?c",
            "EMP-\\b",
        ] {
            let regex = Regex::new(pattern).unwrap();
            let expected: Vec<Range<usize>> = regex.find_iter(text).map(|m| m.range()).collect();
            let compiled = Pattern::new(regex, pattern, String::new());
            assert!(compiled.prefix.is_some(), "{pattern}");
            let mut found = Vec::new();
            compiled.find(text, &mut found);
            assert_eq!(found, expected, "{pattern}");
        }
    }

    #[test]
    fn from_config_reads_the_file_the_builder_and_the_keys() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("patterns.txt");
        std::fs::write(&file, "ticket: TCK-[0-9]{4}\n").unwrap();
        let config = Config::default()
            .redact_patterns_file(&file)
            .redact_pattern("ZZ[0-9]{2}")
            .redact_pattern("bad(")
            .redact_key("vault-ref");
        let (rules, warnings) = Rules::from_config(&config);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(
            warnings[0].to_string(),
            format!(
                "llm-traced: ignoring the redaction pattern on line 2 of Config::redact_pattern: {}",
                warnings[0].message
            )
        );
        assert_eq!(
            rules.redact("TCK-1234 ZZ42 vault_ref=abc", Mode::SecretsOnly),
            "[TICKET] [REDACTED] vault_ref=[REDACTED]"
        );
        let missing = Config::default().redact_patterns_file(dir.path().join("none.txt"));
        let (_, warnings) = Rules::from_config(&missing);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0]
                .to_string()
                .contains("cannot read the redaction patterns in"),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn extra_keys() {
        let rules = Rules::new().with_keys(["employee-pin"]);
        assert!(rules.is_secret_key("EmployeePin"));
        assert_eq!(
            rules.redact("employee_pin: 4321, x: 1", Mode::SecretsOnly),
            "employee_pin: [REDACTED], x: 1"
        );
        assert_eq!(
            Rules::new().redact("employee_pin: 4321", Mode::SecretsOnly),
            "employee_pin: 4321"
        );
    }
}

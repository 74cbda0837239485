//! Masks personal data and secrets in prompt and response text before it is
//! logged.
//!
//! [`redact`] replaces each match with a placeholder that says what was there;
//! [`redact_with`] chooses between masking everything ([`Mode::All`], the
//! default) and masking secrets only ([`Mode::SecretsOnly`]); [`find`] reports
//! the spans without replacing them.
//!
//! ```
//! use llm_traced_runtime::redaction::{redact, redact_with, Mode};
//!
//! let text = "Mail bob@example.com, key sk-proj-AbCdEfGhIjKlMnOpQrStUv";
//! assert_eq!(redact(text), "Mail [EMAIL], key [API_KEY]");
//! assert_eq!(redact_with(text, Mode::SecretsOnly), "Mail bob@example.com, key [API_KEY]");
//! ```
//!
//! Personal data: e-mail addresses, phone numbers (international `+…` and
//! North-American forms), US social security numbers, payment card numbers
//! (Luhn-checked) and IPv4/IPv6 addresses. Secrets, masked in every mode:
//!
//! - token formats known by their prefix (`secrets`): OpenAI (`sk-`,
//!   `sk-proj-`, `sk-svcacct-`, `sk-admin-`), Anthropic (`sk-ant-`),
//!   OpenRouter (`sk-or-v1-`), Google (`AIza`), Groq (`gsk_`), xAI (`xai-`),
//!   Hugging Face (`hf_`), Replicate (`r8_`), Perplexity (`pplx-`), Fireworks
//!   (`fw_`), AWS access key ids (`AKIA`, `ASIA`, `ABIA`, `ACCA`, `A3T`),
//!   GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`), GitLab
//!   (`glpat-` and kin), npm (`npm_`), PyPI (`pypi-Ag…`), crates.io (`cio`),
//!   Slack (`xoxb-` and kin, `xapp-`, webhook URLs), Stripe (`sk_live_`,
//!   `rk_live_`, `sk_test_`, …), Twilio (`SK` + 32 hex), SendGrid (`SG.`),
//!   Telegram bot tokens, Discord bot tokens and webhook URLs, Shopify
//!   (`shpat_` and kin), Databricks (`dapi`); JWTs, `Bearer` tokens, `Basic`
//!   credentials (base64 of `user:password`), PEM and OpenSSH private keys;
//! - the password of a URL's userinfo (`postgres://app:…@db/app`);
//! - values whose key names a secret (`keys`): `password: …`,
//!   `"api_key": "…"`, `AccountKey=…;`, and URL query parameters
//!   (`?key=`, `&sig=`, `access_token=`);
//! - the user's patterns and key names ([`Rules`]).
//!
//! Matching is one left-to-right pass over the bytes, without regular
//! expressions: only the start of a word and a few punctuation bytes (`@`,
//! `+`, `(`, `:`, `=`, `-`) can begin a match, so most bytes cost one table
//! lookup; at a word start, its first two bytes choose the one or two token
//! formats worth trying (the keyword pre-filter). A match never starts or
//! ends inside a longer word (`[A-Za-z0-9_]`), except that `\n`, `\r` and
//! `\t` escapes of JSON-encoded text count as separators, and `\"` as a
//! quote. Non-ASCII text is never matched, so every span lies on char
//! boundaries.
//!
//! For a whole record, [`Rules::scrub_record`] (what every output gets);
//! for one string or JSON value that goes out whatever `LLM_REDACT` says
//! (span fields, audit entries), [`scrub_secrets`] and
//! [`scrub_secrets_json`]; for bound values, [`scrub_bound`].
//!
//! Known limits, chosen to keep ordinary text intact: card numbers must also
//! start with 2–6 (the major networks; this spares millisecond timestamps);
//! a `Bearer` "token" of fewer than 16 lowercase letters only is taken to be a
//! word (`bearer instrument`); a 4-part version such as `1.2.3.4` is an IPv4
//! address; phone formats outside the international `+…` and North-American
//! ones (e.g. national `020 7946 0958`) are not detected. A secret with no
//! recognisable shape (an AWS secret access key, a random password) is found
//! only next to a key that names it; an unquoted value ends at whitespace, so
//! `password: correct horse` masks `correct` only.

use std::borrow::Cow;
use std::ops::Range;

mod keys;
pub(crate) mod pass;
mod secrets;
mod user;

pub use keys::{ABOUT, SECRET_NAMES};
pub use user::{Rules, RulesWarning};

/// What kind of thing was masked; the replacement text is its
/// [`placeholder`](Kind::placeholder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// An e-mail address, `local@domain.tld`.
    Email,
    /// A phone number: international (`+44 20 7946 0958`) or North-American
    /// (`(555) 123-4567`, `555-123-4567`).
    Phone,
    /// A US social security number (`123-45-6789`, valid area, group and serial).
    Ssn,
    /// A payment card number that passes the Luhn check.
    CardNumber,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// An API key recognised by its prefix: OpenAI and Anthropic (`sk-…`),
    /// OpenRouter, Google (`AIza…`), Groq, xAI, Hugging Face, Replicate,
    /// Perplexity, Fireworks, Stripe, SendGrid, Twilio, Shopify, Databricks.
    ApiKey,
    /// An AWS access key id (`AKIA…`, `ASIA…`, `ABIA…`, `ACCA…`, `A3T…`).
    AwsAccessKey,
    /// A GitHub token (`ghp_…`, `gho_…`, `ghu_…`, `ghs_…`, `ghr_…`, `github_pat_…`).
    GithubToken,
    /// A JSON Web Token (`eyJ….eyJ….…`).
    Jwt,
    /// The token after `Bearer ` (the word `Bearer` itself is kept).
    BearerToken,
    /// A PEM private-key block, from `-----BEGIN … PRIVATE KEY-----` to its
    /// `-----END … PRIVATE KEY-----` (or to the end of an unterminated text).
    PrivateKey,
    /// An access token of a code host, registry or chat service recognised by
    /// its prefix (GitLab, npm, PyPI, crates.io, Slack, Telegram, Discord).
    AccessToken,
    /// The secret path of a Slack or Discord webhook URL.
    WebhookUrl,
    /// The password of a URL's userinfo (`postgres://app:…@host/db`).
    Password,
    /// The credentials after `Basic ` (base64 of `user:password`).
    BasicCredentials,
    /// A value whose key names a secret (`password: …`, `"api_key": "…"`,
    /// `?key=…`), whatever it looks like.
    NamedSecret,
    /// A match of a user pattern (`LLM_REDACT_PATTERNS`) without a name.
    Custom,
}

impl Kind {
    /// The text that replaces a match of this kind, e.g. `"[EMAIL]"`.
    pub fn placeholder(self) -> &'static str {
        match self {
            Kind::Email => "[EMAIL]",
            Kind::Phone => "[PHONE]",
            Kind::Ssn => "[SSN]",
            Kind::CardNumber => "[CARD]",
            Kind::IpAddress => "[IP]",
            Kind::ApiKey => "[API_KEY]",
            Kind::AwsAccessKey => "[AWS_KEY]",
            Kind::GithubToken => "[GITHUB_TOKEN]",
            Kind::Jwt => "[JWT]",
            Kind::BearerToken => "[BEARER_TOKEN]",
            Kind::PrivateKey => "[PRIVATE_KEY]",
            Kind::AccessToken => "[TOKEN]",
            Kind::WebhookUrl => "[WEBHOOK]",
            Kind::Password => "[PASSWORD]",
            Kind::BasicCredentials => "[BASIC_AUTH]",
            Kind::NamedSecret | Kind::Custom => "[REDACTED]",
        }
    }

    /// Whether this is a secret (masked in every [`Mode`]) rather than
    /// personal data (masked in [`Mode::All`] only).
    pub fn is_secret(self) -> bool {
        !matches!(
            self,
            Kind::Email | Kind::Phone | Kind::Ssn | Kind::CardNumber | Kind::IpAddress
        )
    }
}

/// Which kinds to mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Secrets and personal data (the default).
    #[default]
    All,
    /// Secrets only: personal-data masking was switched off by the user, but
    /// secrets are always masked.
    SecretsOnly,
}

/// Masks the secrets in `text`, never personal data: the built-in formats,
/// `key: value` pairs whose key names a secret, and the installed
/// configuration's user patterns and key names. For text that goes out
/// whatever `LLM_REDACT` says: span fields set when a call starts, audit
/// entries, bound values.
pub fn scrub_secrets(text: &str) -> Cow<'_, str> {
    Rules::global().redact(text, Mode::SecretsOnly)
}

/// [`scrub_secrets`] over a JSON value in place, with key names: a string or
/// number under a key such as `password` or `api_key` becomes
/// `"[REDACTED]"`. Returns whether anything changed.
pub fn scrub_secrets_json(value: &mut serde_json::Value) -> bool {
    Rules::global().scrub_json(value, Mode::SecretsOnly)
}

/// Masks the secrets in bound values (user, session, tenant, tags,
/// metadata) in place, never personal data.
pub fn scrub_bound(bound: &mut crate::context::Bound) {
    Rules::global().scrub_bound(bound);
}

/// Masks personal data and secrets: `redact_with(text, Mode::All)`.
pub fn redact(text: &str) -> Cow<'_, str> {
    redact_with(text, Mode::All)
}

/// Replaces every match of `mode` with its kind's
/// [`placeholder`](Kind::placeholder).
///
/// Returns [`Cow::Borrowed`] without allocating when nothing matched.
pub fn redact_with(text: &str, mode: Mode) -> Cow<'_, str> {
    let spans = find(text, mode);
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (range, kind) in spans {
        out.push_str(&text[last..range.start]);
        out.push_str(kind.placeholder());
        last = range.end;
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// The byte ranges that [`redact_with`] would mask, with their kinds: sorted,
/// non-overlapping and on char boundaries.
pub fn find(text: &str, mode: Mode) -> Vec<(Range<usize>, Kind)> {
    find_with_keys(text, mode, &[])
}

/// [`find`] with extra secret key names (written together, lowercase).
fn find_with_keys(text: &str, mode: Mode, extra_keys: &[String]) -> Vec<(Range<usize>, Kind)> {
    let pii = mode == Mode::All;
    let mut scanner = Scanner {
        b: text.as_bytes(),
        extra_keys,
        pii,
        classes: if pii {
            u8::MAX
        } else {
            WORD | SECRET_WORD | SECRET_PUNCT
        },
        spans: Vec::new(),
        jwt_fail_until: 0,
    };
    scanner.scan();
    scanner.spans
}

/// Byte classes for the main loop: word bytes, and the bytes that can start
/// a match of a secret or of personal data (at a word start, or anywhere).
const WORD: u8 = 1;
const SECRET_WORD: u8 = 2;
const PII_WORD: u8 = 4;
const SECRET_PUNCT: u8 = 8;
const PII_PUNCT: u8 = 16;

const CLASS: [u8; 256] = {
    let mut table = [0; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        table[c] = match b {
            // The first letters of the prefixes in `secrets` and of `Bearer`/`Basic`.
            b's' | b'g' | b'A' | b'e' | b'b' | b'B' | b'r' | b'x' | b'h' | b'p' | b'f' | b'n'
            | b'c' | b'd' | b'S' | b'M' | b'N' | b'O' => WORD | SECRET_WORD,
            b'0'..=b'9' => WORD | PII_WORD,
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => WORD,
            b'-' | b'=' => SECRET_PUNCT,
            // `key: value`, a URL's userinfo, a Telegram token; IPv6.
            b':' => SECRET_PUNCT | PII_PUNCT,
            b'@' | b'+' | b'(' => PII_PUNCT,
            _ => 0,
        };
        c += 1;
    }
    table
};

/// Whether `c` is a word byte (`[A-Za-z0-9_]`): a match may not start or end
/// next to one.
fn is_word(c: u8) -> bool {
    CLASS[usize::from(c)] & WORD != 0
}

const LOW: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The first non-word byte at or after `i`, eight bytes at a time.
fn word_end(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let lanes = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let other = !word_lanes(lanes) & HIGH;
        if other != 0 {
            return i + other.trailing_zeros() as usize / 8;
        }
        i += 8;
    }
    i + run(b, i, is_word)
}

/// The high bit of each byte of `x` that is a word byte, without branches.
fn word_lanes(x: u64) -> u64 {
    let ascii = !x & HIGH;
    let x = x & !HIGH;
    // For lanes of 0..=0x7F: the high bit says `lane >= lo`, or `lane > hi`.
    let at_least = |v: u64, lo: u8| (v + LOW * u64::from(0x80 - lo)) & HIGH;
    let above = |v: u64, hi: u8| (v + LOW * u64::from(0x7F - hi)) & HIGH;
    let lower = x | (LOW * 0x20);
    let letter = at_least(lower, b'a') & !above(lower, b'z');
    let digit = at_least(x, b'0') & !above(x, b'9');
    let underscore = !above(x ^ (LOW * u64::from(b'_')), 0);
    (letter | digit | underscore) & ascii
}

/// `[A-Za-z0-9_-]`: the body of API keys and of JWT segments (base64url).
fn is_key(c: u8) -> bool {
    is_word(c) || c == b'-'
}

/// The characters of a bearer token (RFC 6750 `b64token`).
fn is_token(c: u8) -> bool {
    is_word(c) || matches!(c, b'-' | b'.' | b'~' | b'+' | b'/' | b'=')
}

fn is_local(c: u8) -> bool {
    is_word(c) || matches!(c, b'.' | b'%' | b'+' | b'-')
}

fn is_domain(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// Whether a match may start at `i`: not right after a word byte, except
/// after the `n`, `r` or `t` of a JSON escape (`\nsk-…`).
fn boundary_before(b: &[u8], i: usize) -> bool {
    i == 0
        || !is_word(b[i - 1])
        || (i >= 2 && b[i - 2] == b'\\' && matches!(b[i - 1], b'n' | b'r' | b't'))
}

/// The byte at `i`, or 0 past the end (0 is neither a word byte nor a digit).
fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

fn starts(b: &[u8], i: usize, pattern: &[u8]) -> bool {
    b.get(i..).is_some_and(|rest| rest.starts_with(pattern))
}

/// How many bytes from `i` on satisfy `f`.
fn run(b: &[u8], i: usize, f: impl Fn(u8) -> bool) -> usize {
    b.get(i..)
        .map_or(0, |rest| rest.iter().take_while(|&&c| f(c)).count())
}

fn digits(b: &[u8], i: usize) -> usize {
    run(b, i, |c| c.is_ascii_digit())
}

/// The value of the decimal digits `b[i..i + len]`.
fn value(b: &[u8], i: usize, len: usize) -> u32 {
    b[i..i + len]
        .iter()
        .fold(0, |n, &c| n * 10 + u32::from(c - b'0'))
}

/// Whether a number ending at `e` really ends there: not followed by a word
/// byte, nor by `-` or `.` and another digit (a longer dashed or dotted number).
fn number_ends(b: &[u8], e: usize) -> bool {
    let c = at(b, e);
    let continues = matches!(c, b'-' | b'.') && at(b, e + 1).is_ascii_digit();
    !is_word(c) && !continues
}

struct Scanner<'a> {
    b: &'a [u8],
    /// Secret key names given by the user, besides the built-in ones.
    extra_keys: &'a [String],
    /// Whether personal data is matched too ([`Mode::All`]).
    pii: bool,
    /// The [`CLASS`] bits that matter in this mode.
    classes: u8,
    spans: Vec<(Range<usize>, Kind)>,
    /// No JWT starts before this offset: a failed attempt scanned that far.
    jwt_fail_until: usize,
}

impl Scanner<'_> {
    fn scan(&mut self) {
        let b = self.b;
        let mut i = 0;
        let classes = self.classes;
        while i < b.len() {
            let c = b[i];
            let class = CLASS[usize::from(c)] & classes;
            if class & WORD == 0 {
                i = match class {
                    0 => i + 1,
                    _ => self.at_punct(i, c).unwrap_or(i + 1),
                };
                continue;
            }
            // `i` starts a word.
            if class & (SECRET_WORD | PII_WORD) != 0 {
                if let Some(end) = self.at_word(i) {
                    i = end;
                    continue;
                }
            }
            // In JSON-encoded text the `n` of `\nsk-…` hides the word start.
            if boundary_before(b, i + 1) {
                if let Some(end) = self.at_word(i + 1) {
                    i = end;
                    continue;
                }
            }
            i = word_end(b, i + 1);
        }
    }

    /// Records a match and returns where scanning resumes.
    fn push(&mut self, range: Range<usize>, kind: Kind) -> usize {
        let end = range.end;
        self.spans.push((range, kind));
        end
    }

    /// Matches starting with the word that starts at `i`.
    fn at_word(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        let (range, kind) = match (at(b, i), at(b, i + 1)) {
            (b'g', b'h' | b'i') => github_token(b, i)?,
            (b'A', b'K' | b'S' | b'B' | b'C' | b'3') => aws_key(b, i)?,
            (b'e', b'y') => self.jwt(i)?,
            (b'b' | b'B', b'e' | b'E') => bearer(b, i)?,
            (b'b' | b'B', b'a' | b'A') => secrets::basic(b, i)?,
            (b'0'..=b'9', _) if self.pii => numeric(b, i)?,
            _ => secrets::prefixed(b, i)?,
        };
        Some(self.push(range, kind))
    }

    /// Where the last match ended.
    fn done(&self) -> usize {
        self.spans.last().map_or(0, |(range, _)| range.end)
    }

    /// Matches starting at (or, for e-mail, around) the non-word byte `c` at `i`.
    fn at_punct(&mut self, i: usize, c: u8) -> Option<usize> {
        let b = self.b;
        let (range, kind) = match c {
            b'-' => (i..private_key(b, i)?, Kind::PrivateKey),
            b'=' => return self.key_value(i),
            b':' => {
                if let Some(end) = self.colon(i) {
                    return Some(end);
                }
                if !self.pii {
                    return None;
                }
                let start = ipv6_start(b, i).filter(|&start| start >= self.done())?;
                (start..ipv6(b, start)?, Kind::IpAddress)
            }
            _ if !self.pii => return None,
            b'@' => return self.email(i),
            b'+' => (i..intl_phone(b, i)?, Kind::Phone),
            b'(' => (i..paren_phone(b, i)?, Kind::Phone),
            _ => return None,
        };
        Some(self.push(range, kind))
    }

    /// Secrets at a `:`: a URL's password, a Telegram bot token, `key: value`.
    fn colon(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        if let Some((password, at_sign)) = secrets::url_password(b, i) {
            self.push(password, Kind::Password);
            return Some(at_sign + 1);
        }
        if let Some(range) = secrets::telegram(b, i).filter(|r| r.start >= self.done()) {
            return Some(self.push(range, Kind::AccessToken));
        }
        self.key_value(i)
    }

    /// The value after the `:` or `=` at `i` when the key before it names a
    /// secret (see [`keys`]): quoted (`"…"`, `'…'`, or `\"…\"` in
    /// JSON-escaped text) up to its closing quote, else up to whitespace, a
    /// quote, `,`, `;`, `&` or a JSON escape. A value that a format matches
    /// whole keeps that format's placeholder.
    fn key_value(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        let prev = if i > 0 { b[i - 1] } else { 0 };
        let next = at(b, i + 1);
        let operator = match b[i] {
            b':' => next == b':' || prev == b':',
            _ => matches!(next, b'=' | b'>') || matches!(prev, b'=' | b'!' | b'<' | b'>'),
        };
        if operator {
            return None;
        }
        let (key, quoted_key, query) = key_before(b, i)?;
        if !keys::is_secret_ascii(key, self.extra_keys, query) {
            return None;
        }
        let v = i + 1 + run(b, i + 1, |c| c == b' ' || c == b'\t');
        let (start, end, resume) = value_at(b, v, quoted_key)?;
        // `Authorization: Bearer <token>`: the scheme stays.
        let scheme_end = start + run(b, start, |c| c.is_ascii_alphabetic());
        let schemes: [&[u8]; 5] = [b"bearer", b"basic", b"token", b"digest", b"apikey"];
        let is_scheme = schemes
            .iter()
            .any(|s| b[start..scheme_end].eq_ignore_ascii_case(s));
        if is_scheme && at(b, scheme_end) == b' ' {
            if let Some(end) = self.at_word(start) {
                return Some(end);
            }
            let credentials = scheme_end + 1 + run(b, scheme_end + 1, |c| c == b' ');
            let (cstart, cend, resume) = value_at(b, credentials, quoted_key)?;
            self.push(cstart..cend, Kind::NamedSecret);
            return Some(resume);
        }
        let before = self.spans.len();
        if boundary_before(b, start) && self.at_word(start).is_some() {
            if self.done() >= end {
                return Some(self.done().max(resume));
            }
            self.spans.truncate(before);
        }
        self.push(start..end, Kind::NamedSecret);
        Some(resume)
    }

    /// A JWT: `eyJ…` `.` `eyJ…` `.` signature, in base64url.
    fn jwt(&mut self, i: usize) -> Option<(Range<usize>, Kind)> {
        if i < self.jwt_fail_until || !starts(self.b, i, b"eyJ") {
            return None;
        }
        let b = self.b;
        let dot = i + run(b, i, is_key);
        let end = (|| {
            if at(b, dot) != b'.' || !starts(b, dot + 1, b"eyJ") {
                return None;
            }
            let dot2 = dot + 1 + run(b, dot + 1, is_key);
            (at(b, dot2) == b'.').then(|| dot2 + 1 + run(b, dot2 + 1, is_key))
        })();
        if end.is_none() {
            // Any later start in this run ends its first segment at `dot` too.
            self.jwt_fail_until = dot;
        }
        Some((i..end?, Kind::Jwt))
    }

    /// An e-mail address around the `@` at `at_sign`. An earlier match inside
    /// the local part (`555-123-4567@example.com`) becomes part of the address.
    fn email(&mut self, at_sign: usize) -> Option<usize> {
        let b = self.b;
        let mut start = at_sign;
        while start > 0 && is_local(b[start - 1]) {
            start -= 1;
        }
        while b[start] == b'.' {
            start += 1;
        }
        if !b[start..at_sign].iter().any(u8::is_ascii_alphanumeric) {
            return None; // `@mention`
        }
        let end = email_domain_end(b, at_sign + 1)?;
        while let Some((range, _)) = self.spans.last() {
            if range.end <= start {
                break;
            }
            start = start.min(range.start);
            self.spans.pop();
        }
        Some(self.push(start..end, Kind::Email))
    }
}

/// The key before the `:` or `=` at `i`: blanks and a closing quote (`"`,
/// `'`, or `\"`) skipped, then up to 64 bytes of `[A-Za-z0-9_.-]`. Returns
/// the key, whether it was quoted, and whether it is a URL query parameter
/// (`?key=`, `&sig=`).
fn key_before(b: &[u8], i: usize) -> Option<(&[u8], bool, bool)> {
    let mut k = i;
    let mut blanks = 0;
    while k > 0 && blanks < 4 && matches!(b[k - 1], b' ' | b'\t') {
        k -= 1;
        blanks += 1;
    }
    let quoted = k > 0 && matches!(b[k - 1], b'"' | b'\'');
    if quoted {
        k -= 1;
        while k > 0 && b[k - 1] == b'\\' {
            k -= 1;
        }
    }
    let is_key_byte = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.');
    let len = b[..k]
        .iter()
        .rev()
        .take(65)
        .take_while(|c| is_key_byte(c))
        .count();
    if len == 0 || len > 64 {
        return None;
    }
    let mut start = k - len;
    // `\npassword: …` in JSON-escaped text: the `n` belongs to the escape.
    if start > 0 && b[start - 1] == b'\\' && matches!(b[start], b'n' | b'r' | b't') {
        start += 1;
    }
    let key = &b[start..k];
    let query = b[i] == b'=' && start > 0 && matches!(b[start - 1], b'?' | b'&');
    Some((key, quoted, query))
}

/// The value starting at `v`: `(start, end, resume)`, where `resume` is past
/// a closing quote. `None` for an empty value, an object or array (walked,
/// not blanked), or `null`/`true`/`false`.
fn value_at(b: &[u8], v: usize, quoted_key: bool) -> Option<(usize, usize, usize)> {
    // A quote, escaped once (`\"`) or more (`\\\"`) in JSON-escaped text.
    let backslashes = run(b, v, |c| c == b'\\').min(16);
    let quote: &[u8] = match at(b, v + backslashes) {
        b'"' => &b[v..v + backslashes + 1],
        b'\'' if backslashes == 0 => &b[v..v + 1],
        _ => b"",
    };
    if !quote.is_empty() {
        let start = v + quote.len();
        let limit = b.len().min(start + 4096);
        let mut p = start;
        while p < limit && b[p] != b'\n' {
            if b[p..].starts_with(quote) {
                return (p > start).then_some((start, p, p + quote.len()));
            }
            p += 1;
        }
        // No closing quote on the line: taken as a bare value.
    }
    let start = v + quote.len();
    let mut end = start;
    while end < b.len() {
        let c = b[end];
        let stop = c.is_ascii_whitespace()
            || matches!(c, b'"' | b'\'' | b',' | b';' | b'&')
            || (quoted_key && matches!(c, b'}' | b']'))
            || (c == b'\\'
                && matches!(
                    at(b, end + 1),
                    b'n' | b'r' | b't' | b'"' | b'u' | b'/' | b'\\'
                ));
        if stop {
            break;
        }
        end += 1;
    }
    // The full stop of a sentence.
    while end > start && b[end - 1] == b'.' {
        end -= 1;
    }
    let value = &b[start..end];
    let literal = [&b"null"[..], b"true", b"false"].contains(&value);
    let structured = matches!(at(b, start), b'{' | b'[');
    (!value.is_empty() && !literal && !structured).then_some((start, end, end))
}

/// The end of the domain of an e-mail address starting at `p`: labels of
/// `[A-Za-z0-9-]` not starting with `-`, at least two, the last (the TLD) of
/// 2+ letters.
fn email_domain_end(b: &[u8], mut p: usize) -> Option<usize> {
    let (mut labels, mut end) = (0, None);
    loop {
        let n = run(b, p, is_domain);
        if n == 0 || b[p] == b'-' {
            break;
        }
        labels += 1;
        if labels >= 2 && n >= 2 && b[p..p + n].iter().all(u8::is_ascii_alphabetic) {
            end = Some(p + n);
        }
        p += n;
        if at(b, p) != b'.' || !is_domain(at(b, p + 1)) {
            break;
        }
        p += 1;
    }
    end.filter(|&e| !is_word(at(b, e)))
}

/// `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` and 36+ alphanumerics, or `github_pat_`
/// and 22+ word characters.
fn github_token(b: &[u8], i: usize) -> Option<(Range<usize>, Kind)> {
    let end = if starts(b, i, b"github_pat_") {
        let n = run(b, i + 11, is_word);
        (n >= 22).then_some(i + 11 + n)?
    } else if starts(b, i, b"gh")
        && matches!(at(b, i + 2), b'p' | b'o' | b'u' | b's' | b'r')
        && at(b, i + 3) == b'_'
    {
        let n = run(b, i + 4, |c| c.is_ascii_alphanumeric());
        (n >= 36 && !is_word(at(b, i + 4 + n))).then_some(i + 4 + n)?
    } else {
        return None;
    };
    Some((i..end, Kind::GithubToken))
}

/// `AKIA`, `ASIA`, `ABIA`, `ACCA` or `A3T` and one more, then exactly 16
/// uppercase letters or digits.
fn aws_key(b: &[u8], i: usize) -> Option<(Range<usize>, Kind)> {
    let prefix = [&b"AKIA"[..], b"ASIA", b"ABIA", b"ACCA"]
        .iter()
        .any(|p| starts(b, i, p))
        || (starts(b, i, b"A3T")
            && (at(b, i + 3).is_ascii_uppercase() || at(b, i + 3).is_ascii_digit()));
    if !prefix {
        return None;
    }
    let n = run(b, i + 4, |c| c.is_ascii_uppercase() || c.is_ascii_digit());
    (n == 16 && !is_word(at(b, i + 20))).then_some((i..i + 20, Kind::AwsAccessKey))
}

/// `Bearer`, blanks, then a token of 8+ characters: only the token is masked.
fn bearer(b: &[u8], i: usize) -> Option<(Range<usize>, Kind)> {
    let is_bearer = |k: usize| {
        b.get(k..k + 6)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"bearer"))
    };
    if !is_bearer(i) {
        return None;
    }
    let start = i + 6 + run(b, i + 6, |c| c == b' ' || c == b'\t');
    let mut end = start + run(b, start, is_token);
    if let Some(k) = b[start..end].windows(5).position(|w| w == b"-----") {
        end = start + k; // `Bearer x=-----BEGIN …`: a PEM block is no token
    }
    if end >= start + 6 && is_bearer(end - 6) && matches!(at(b, end), b' ' | b'\t') {
        end -= 6; // `bearer x=Bearer <token>`: the second one starts over
    }
    while end > start && b[end - 1] == b'.' {
        end -= 1; // the full stop of a sentence
    }
    let token = &b[start..end];
    let word = token.len() < 16 && token.iter().all(u8::is_ascii_lowercase);
    let valid = start > i + 6 && token.len() >= 8 && !word;
    valid.then_some((start..end, Kind::BearerToken))
}

/// A PEM private-key block starting at `i`; the end of the text if unterminated.
fn private_key(b: &[u8], i: usize) -> Option<usize> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    if !starts(b, i, BEGIN) {
        return None;
    }
    let label_start = i + BEGIN.len();
    let label_len = b[label_start..].iter().take(40).position(|&c| c == b'-')?;
    let label = &b[label_start..label_start + label_len];
    let after = label_start + label_len;
    if !label.ends_with(b"PRIVATE KEY") || !starts(b, after, b"-----") {
        return None;
    }
    let mut p = after + 5;
    while let Some(k) = b[p..].windows(9).position(|w| w == b"-----END ") {
        let q = p + k + 9;
        if starts(b, q, label) && starts(b, q + label_len, b"-----") {
            return Some(q + label_len + 5);
        }
        p = q;
    }
    Some(b.len())
}

/// IPv4, IPv6, SSN, card or phone number at the digit that starts a word at `i`.
fn numeric(b: &[u8], i: usize) -> Option<(Range<usize>, Kind)> {
    // Not from inside a longer number: the `01` of `2024-01-15`, the `2` of `1.2.3.4.5`.
    if i >= 2 && matches!(b[i - 1], b'-' | b'.') && b[i - 2].is_ascii_digit() {
        return None;
    }
    let hit = |end: Option<usize>, kind| end.map(|e| (i..e, kind));
    hit(ipv6(b, i), Kind::IpAddress)
        .or_else(|| hit(ipv4(b, i), Kind::IpAddress))
        .or_else(|| hit(ssn(b, i), Kind::Ssn))
        .or_else(|| hit(card(b, i), Kind::CardNumber))
        .or_else(|| hit(na_phone(b, i), Kind::Phone))
}

/// Four dotted octets of 0–255.
fn ipv4(b: &[u8], i: usize) -> Option<usize> {
    let mut p = i;
    for octet in 0..4 {
        if octet > 0 {
            if at(b, p) != b'.' {
                return None;
            }
            p += 1;
        }
        let n = digits(b, p);
        if n == 0 || n > 3 || value(b, p, n) > 255 {
            return None;
        }
        p += n;
    }
    number_ends(b, p).then_some(p)
}

/// Where an IPv6 address containing the `:` at `i` would start: at a leading
/// `::`, or at the hex word before the colon if that starts with a letter
/// (words starting with a digit were tried as numbers).
fn ipv6_start(b: &[u8], i: usize) -> Option<usize> {
    let next = at(b, i + 1);
    if next != b':' && !next.is_ascii_hexdigit() {
        return None;
    }
    let before = b[..i].iter().rev().take(5);
    let n = before.take_while(|c| c.is_ascii_hexdigit()).count();
    let start = i - n;
    match n {
        0 if next == b':' && boundary_before(b, i) => Some(i),
        1..=4 if b[start].is_ascii_alphabetic() && boundary_before(b, start) => Some(start),
        _ => None,
    }
}

/// Eight hex groups, or fewer around one `::` with at least one digit (so that
/// `a::b` and `::` are not addresses); a dotted IPv4 may end it.
fn ipv6(b: &[u8], i: usize) -> Option<usize> {
    if i > 0 && b[i - 1] == b':' {
        return None; // the tail of a longer colon-separated run
    }
    let (mut p, mut groups, mut compressed, mut digit) = (i, 0, false, false);
    if at(b, p) == b':' {
        if at(b, p + 1) != b':' {
            return None;
        }
        (p, compressed) = (p + 2, true);
    }
    loop {
        let n = run(b, p, |c| c.is_ascii_hexdigit());
        if n == 0 {
            break;
        }
        if n > 4 {
            return None;
        }
        if at(b, p + n) == b'.' && at(b, p + n + 1).is_ascii_digit() {
            (p, groups, digit) = (ipv4(b, p)?, groups + 2, true);
            break;
        }
        digit |= b[p..p + n].iter().any(u8::is_ascii_digit);
        (p, groups) = (p + n, groups + 1);
        if at(b, p) != b':' {
            break;
        }
        if at(b, p + 1) == b':' {
            if compressed {
                return None; // two `::`, as in `std::io::Error`
            }
            (p, compressed) = (p + 2, true);
        } else if at(b, p + 1).is_ascii_hexdigit() {
            p += 1;
        } else {
            break;
        }
    }
    let valid = if compressed {
        groups <= 7 && digit
    } else {
        groups == 8
    };
    (valid && !is_word(at(b, p))).then_some(p)
}

/// `AAA-GG-SSSS` with area not 000, 666 or 9xx, group not 00, serial not 0000.
fn ssn(b: &[u8], i: usize) -> Option<usize> {
    let shape = digits(b, i) == 3
        && at(b, i + 3) == b'-'
        && digits(b, i + 4) == 2
        && at(b, i + 6) == b'-'
        && digits(b, i + 7) == 4;
    if !shape {
        return None;
    }
    let area = value(b, i, 3);
    let valid = area != 0
        && area != 666
        && area < 900
        && value(b, i + 4, 2) != 0
        && value(b, i + 7, 4) != 0;
    (valid && number_ends(b, i + 11)).then_some(i + 11)
}

/// 13–19 digits starting with 2–6, contiguous or in groups (4-4-4-4[-1..4],
/// 4-6-5, 4-6-4) split by single spaces or dashes, passing the Luhn check.
/// Another number may follow a space-separated card: `4111 1111 1111 1111 2024`.
fn card(b: &[u8], i: usize) -> Option<usize> {
    if !(b'2'..=b'6').contains(&b[i]) {
        return None;
    }
    let valid = |end: usize| number_ends(b, end) && luhn(&b[i..end]);
    let first = digits(b, i);
    if first != 4 {
        return ((13..=19).contains(&first) && valid(i + first)).then_some(i + first);
    }
    let sep = at(b, i + 4);
    if sep != b' ' && sep != b'-' {
        return None;
    }
    let (mut sizes, mut ends, mut count) = ([4; 5], [i + 4; 5], 1);
    while count < 5 && at(b, ends[count - 1]) == sep && at(b, ends[count - 1] + 1).is_ascii_digit()
    {
        sizes[count] = digits(b, ends[count - 1] + 1);
        ends[count] = ends[count - 1] + 1 + sizes[count];
        count += 1;
    }
    let shortest = if sep == b' ' { 2 } else { count };
    (shortest..=count).rev().find_map(|k| {
        let groups = &sizes[..k];
        let total: usize = groups.iter().sum();
        let (last, body) = groups.split_last()?;
        let fours = body.iter().all(|&n| n == 4) && (1..=4).contains(last);
        let amex = groups == [4, 6, 5] || groups == [4, 6, 4];
        ((13..=19).contains(&total) && (fours || amex) && valid(ends[k - 1])).then_some(ends[k - 1])
    })
}

/// The Luhn checksum over the digits of `s` (other bytes are skipped).
fn luhn(s: &[u8]) -> bool {
    let mut sum = 0;
    for (k, &c) in s.iter().rev().filter(|c| c.is_ascii_digit()).enumerate() {
        let d = u32::from(c - b'0');
        sum += if k % 2 == 1 {
            (d * 2) % 10 + d * 2 / 10
        } else {
            d
        };
    }
    sum % 10 == 0
}

/// `555-123-4567`, `555.123.4567`, `555 123 4567`, also after a `1` trunk
/// prefix (`1-800-555-1234`), one separator throughout.
fn na_phone(b: &[u8], i: usize) -> Option<usize> {
    let trunk = at(b, i) == b'1' && digits(b, i) == 1;
    let (p, sep) = if trunk {
        (i + 2, Some(at(b, i + 1)))
    } else {
        (i, None)
    };
    if digits(b, p) != 3 {
        return None;
    }
    let s = at(b, p + 3);
    let shape = matches!(s, b'-' | b'.' | b' ')
        && sep.is_none_or(|t| t == s)
        && (s != b' ' || b[p] >= b'2') // spaced: a real area code, not `100 200 3000`
        && digits(b, p + 4) == 3
        && at(b, p + 7) == s
        && digits(b, p + 8) == 4;
    (shape && number_ends(b, p + 12)).then_some(p + 12)
}

/// `(555) 123-4567`, `(555)123.4567`, `(555) 1234567`.
fn paren_phone(b: &[u8], i: usize) -> Option<usize> {
    if digits(b, i + 1) != 3 || at(b, i + 4) != b')' {
        return None;
    }
    let p = if at(b, i + 5) == b' ' { i + 6 } else { i + 5 };
    let end = match digits(b, p) {
        7 => p + 7,
        3 if matches!(at(b, p + 3), b'-' | b'.' | b' ') && digits(b, p + 4) == 4 => p + 8,
        _ => return None,
    };
    number_ends(b, end).then_some(end)
}

/// `+`, then 8–15 digits in groups split by a space, `-` or `.`, with optional
/// parenthesized groups: `+44 (0)20 7946 0958`, `+1-555-123-4567`, `+14155552671`.
/// Once it has 10 digits, a space ends it (`+44 20 7946 0958 2024`).
fn intl_phone(b: &[u8], i: usize) -> Option<usize> {
    if !boundary_before(b, i) || !at(b, i + 1).is_ascii_digit() {
        return None; // `a+1`: arithmetic
    }
    let (mut p, mut end, mut count) = (i + 1, i + 1, 0);
    loop {
        let (len, next) = if at(b, p) == b'(' {
            let n = digits(b, p + 1);
            if n == 0 || n > 4 || at(b, p + 1 + n) != b')' {
                break;
            }
            (n, p + n + 2)
        } else {
            match digits(b, p) {
                0 => break,
                n => (n, p + n),
            }
        };
        if count + len > 15 {
            break;
        }
        (count, end, p) = (count + len, next, next);
        let (c, follows) = (at(b, p), at(b, p + 1));
        if matches!(c, b' ' | b'-' | b'.') && (follows.is_ascii_digit() || follows == b'(') {
            if c == b' ' && count >= 10 {
                break;
            }
            p += 1;
        } else if !c.is_ascii_digit() && c != b'(' {
            break; // else `(0)20` or `44(0)`: no separator
        }
    }
    ((8..=15).contains(&count) && number_ends(b, end)).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> String {
        redact(text).into_owned()
    }

    /// Each `|`-separated case, put in `context` at `{}`, redacts to
    /// `expected` (where `{}` is the case again).
    fn each(cases: &str, context: &str, expected: &str) {
        for case in cases.split('|') {
            let expected = expected.replace("{}", case);
            assert_eq!(r(&context.replace("{}", case)), expected, "{case:?}");
        }
    }

    /// No `|`-separated case is matched, alone or all together.
    fn untouched(cases: &str) {
        for text in cases.split('|').chain([cases]) {
            assert_eq!(find(text, Mode::All), [], "{text:?} was matched");
            assert!(matches!(redact(text), Cow::Borrowed(_)));
        }
    }

    /// xorshift64*: deterministic test data without dependencies.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }

        fn chars(&mut self, alphabet: &str, len: usize) -> String {
            let alphabet = alphabet.as_bytes();
            (0..len)
                .map(|_| char::from(alphabet[self.below(alphabet.len())]))
                .collect()
        }
    }

    const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const KEY: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

    #[test]
    fn placeholders_and_secrecy() {
        assert_eq!(Kind::Email.placeholder(), "[EMAIL]");
        assert_eq!(Kind::CardNumber.placeholder(), "[CARD]");
        assert_eq!(Kind::AwsAccessKey.placeholder(), "[AWS_KEY]");
        assert_eq!(Kind::PrivateKey.placeholder(), "[PRIVATE_KEY]");
        assert!(Kind::Jwt.is_secret() && Kind::BearerToken.is_secret());
        assert!(!Kind::Email.is_secret() && !Kind::IpAddress.is_secret());
        assert_eq!(Mode::default(), Mode::All);
    }

    #[test]
    fn word_end_agrees_with_is_word() {
        for c in 0..=255u8 {
            for pos in 0..12 {
                let mut bytes = [b'x'; 12];
                bytes[pos] = c;
                let expected = if is_word(c) { 12 } else { pos };
                assert_eq!(word_end(&bytes, 0), expected, "byte {c} at {pos}");
            }
        }
    }

    #[test]
    fn emails() {
        each(
            "john.doe+tag@example.co.uk|a@b.co|first_last%x@sub-d.example.org|X.Y@Z.IO",
            "mail: <{}>.",
            "mail: <[EMAIL]>.",
        );
        assert_eq!(r(".lead@dots.com a@b.co.123"), ".[EMAIL] [EMAIL].123");
        untouched("ping @alice|user@localhost|a@b|a@b.c|@@ x@|a@b.co_x|a@-.com");
    }

    #[test]
    fn phones() {
        each(
            "(555) 123-4567|(555)123-4567|555-123-4567|555.123.4567|555 123 4567|\
             1-800-555-1234|+1 555 123 4567|+1 (555) 123-4567|+14155552671|\
             +44 20 7946 0958|+49 (0)30 1234567|+33.1.23.45.67.89|+1-555-123-4567",
            "call {}.",
            "call [PHONE].",
        );
        let tails = "2024|3.14|10:30|2,500|1.2.3|000-12-3456";
        each(tails, "+44 20 7946 0958 {}", "[PHONE] {}");
        untouched(
            "on 2024-01-15 at 10:30:00|15.01.2024|v2.10.4 and 1.2.3|order 1234567890|\
             $1,234.56|+12345|1+5551234567|555-123-45678|1-2-3|(555) 12-34|12:30 pm|100 200 3000",
        );
    }

    #[test]
    fn ssns() {
        each("123-45-6789|078-05-1120", "SSN {}.", "SSN [SSN].");
        untouched("000-12-3456|666-12-3456|900-12-3456|123-00-4567|123-45-0000|1123-45-6789|123-45-6789-1");
    }

    #[test]
    fn cards() {
        each(
            "4111 1111 1111 1111|4111-1111-1111-1111|4111111111111111|378282246310005|\
             3782 822463 10005|5555555555554444|6011 0009 9013 9424",
            "card: {}!",
            "card: [CARD]!",
        );
        assert!(!luhn(b"1234 5678 9012 3456") && luhn(b"4111-1111-1111-1111"));
        each(
            "2024|1234567890|2222 3333",
            "4111 1111 1111 1111 {}",
            "[CARD] {}",
        );
        untouched(
            "1234 5678 9012 3456|4111111111111112|abc4111111111111111xyz|4111-1111-1111-1111-2222|\
             4111 1111-1111 1111|1Z999AA10123456784|order 2024000000000",
        );
        // A millisecond timestamp that happens to pass Luhn still survives.
        let stamp = (0..10)
            .map(|d| format!("170000000000{d}"))
            .find(|s| luhn(s.as_bytes()));
        untouched(&stamp.unwrap());
    }

    #[test]
    fn ip_addresses() {
        each(
            "192.168.1.20|0.0.0.0|2001:db8::8a2e:370:7334|2001:0db8:85a3:0000:0000:8a2e:0370:7334|\
             ::1|fe80::1|FE80::|::ffff:192.0.2.1",
            "host {}, up",
            "host [IP], up",
        );
        assert_eq!(r("10.0.0.1:8080 [2001:db8::1]:443"), "[IP]:8080 [[IP]]:443");
        assert_eq!(
            r("at 2001:db8::8a2e:370:7334. Or fe80::1."),
            "at [IP]. Or [IP]."
        );
        untouched(
            "256.1.1.1|1.2.3|1.2.3.4.5|10:30:00|std::io::Error|a::b|Vec::new()|dead::beef| :: |\
             1:2:3:4:5:6:7:8:9|12345::1|Note: add::1x|mac 00-1A-2B-3C-4D-5E",
        );
    }

    #[test]
    fn api_and_cloud_keys() {
        for (keys, placeholder) in [
            (
                "sk-proj-Ab3dEf6hIj9lMn0pQr_sTu-vWx|sk-ant-api03-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2|\
                 sk-svcacct-abcdefghijklmnopqrstuv",
                "[API_KEY]",
            ),
            ("AKIAIOSFODNN7EXAMPLE|ASIA1234567890ABCDEF", "[AWS_KEY]"),
            (
                "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789|gho_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789|\
                 github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
                "[GITHUB_TOKEN]",
            ),
        ] {
            for key in keys.split('|') {
                for mode in [Mode::All, Mode::SecretsOnly] {
                    let text = format!("key={key}; done");
                    assert_eq!(redact_with(&text, mode), format!("key={placeholder}; done"));
                }
            }
        }
        untouched(
            "xsk-proj-Ab3dEf6hIj9lMn0pQrsTuvWx|sk-learn and sk-short-key|AKIAIOSFODNN7EXAMPL|\
             AKIAIOSFODNN7EXAMPLE2|xAKIAIOSFODNN7EXAMPLE|akiaiosfodnn7example|ghp_tooShort123|\
             ghx_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789|github_pat_short",
        );
    }

    #[test]
    fn jwts_and_bearer_tokens() {
        let jwt =
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9";
        assert_eq!(r(&format!("token: {jwt}.")), "token: [JWT].");
        assert_eq!(
            r("Authorization: Bearer abc123.DEF-456_ghi~jk/l+m=="),
            "Authorization: Bearer [BEARER_TOKEN]"
        );
        assert_eq!(r("bearer\tAbCdEfGh12."), "bearer\t[BEARER_TOKEN].");
        assert_eq!(
            r("Bearer -----BEGIN PRIVATE KEY-----\nMII"),
            "Bearer [PRIVATE_KEY]"
        );
        let twice = "bearer 1234567890=Bearer abcdefgh123";
        assert_eq!(r(twice), "bearer [BEARER_TOKEN]Bearer [BEARER_TOKEN]");
        assert_eq!(r(&format!("BEARER {jwt}")), "BEARER [BEARER_TOKEN]");
        untouched(
            "eyJhbGciOiJIUzI1NiJ9.notajwt.sig|eyJhbGci only|the bearer of bad news|\
             the bearer instrument|Bearer short|Bearer: abcdefgh1234|xBearer abcdefgh1234|\
             Bearer ---------",
        );
    }

    #[test]
    fn private_keys() {
        let rsa = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAA==\n-----END RSA PRIVATE KEY-----";
        assert_eq!(r(&format!("key:\n{rsa}\nbye")), "key:\n[PRIVATE_KEY]\nbye");
        let ssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----";
        assert_eq!(
            redact_with(&format!("{ssh}{ssh}"), Mode::SecretsOnly),
            "[PRIVATE_KEY][PRIVATE_KEY]"
        );
        let mixed = "-----BEGIN EC PRIVATE KEY-----\nAAA\n-----END RSA PRIVATE KEY----- tail";
        assert_eq!(r(&format!("x {mixed}")), "x [PRIVATE_KEY]");
        let json = r#"{"key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"}"#;
        assert_eq!(r(json), r#"{"key": "[PRIVATE_KEY]\n"}"#);
        assert_eq!(
            r("a -----BEGIN PRIVATE KEY-----\nMIIE a@b.co"),
            "a [PRIVATE_KEY]"
        );
        untouched("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----|-----BEGIN PUBLIC KEY-----|---- a -----");
    }

    #[test]
    fn mixed_adjacent_and_quoted() {
        let text = "Hi, I'm jane@corp.io (+1 415 555 2671), card 4111 1111 1111 1111, \
                    server 10.0.0.7, key AKIAIOSFODNN7EXAMPLE. Bye!";
        let expected = "Hi, I'm [EMAIL] ([PHONE]), card [CARD], server [IP], key [AWS_KEY]. Bye!";
        assert_eq!(r(text), expected);
        assert_eq!(
            r("email:a@b.co,phone:555-123-4567"),
            "email:[EMAIL],phone:[PHONE]"
        );
        assert_eq!(r("ip:10.0.0.1;ssn:123-45-6789/x"), "ip:[IP];ssn:[SSN]/x");
        assert_eq!(r("555-123-4567@example.com"), "[EMAIL]");
        assert_eq!(
            r(r#"{"api_key": "sk-proj-abcDEF123456ghiJKL789mno", "n": 1}"#),
            r#"{"api_key": "[API_KEY]", "n": 1}"#
        );
        // JSON-escaped text: `\n` does not glue the key to the previous word.
        assert_eq!(
            r(r"line\nsk-proj-abcDEF123456ghiJKL789mno\tAKIAIOSFODNN7EXAMPLE\n+14155552671"),
            r"line\n[API_KEY]\t[AWS_KEY]\n[PHONE]"
        );
    }

    #[test]
    fn secrets_only_keeps_personal_data() {
        let pii = "bob@example.com 555-123-4567 192.168.0.1 ::1 123-45-6789 4111111111111111";
        let text = format!("{pii} sk-ant-api03-abcdefghijklmnopqrstu");
        assert_eq!(
            redact_with(&text, Mode::SecretsOnly),
            format!("{pii} [API_KEY]")
        );
        assert!(find(&text, Mode::SecretsOnly)
            .iter()
            .all(|(_, k)| k.is_secret()));
        let kinds: Vec<Kind> = find(&text, Mode::All).into_iter().map(|(_, k)| k).collect();
        use Kind::*;
        assert_eq!(
            kinds,
            [Email, Phone, IpAddress, IpAddress, Ssn, CardNumber, ApiKey]
        );
    }

    #[test]
    fn clean_text_is_borrowed_and_utf8_is_safe() {
        let clean = "Nothing to see: v1.2.3, 2024-01-15, std::io::Error, $1,234.56 🦀";
        assert!(matches!(redact(clean), Cow::Borrowed(_)));
        assert!(matches!(redact(""), Cow::Borrowed(_)));
        assert!(matches!(redact("a@b.co"), Cow::Owned(_)));
        assert_eq!(r("café a@b.co naïve"), "café [EMAIL] naïve");
        assert_eq!(r("電話555-123-4567です"), "電話[PHONE]です");
        assert_eq!(r("€sk-proj-abcdefghijklmnopqrstuvwx€"), "€[API_KEY]€");
    }

    /// Spans are on char boundaries, in order and disjoint; `redact_with`
    /// borrows exactly when nothing matched.
    fn check_invariants(text: &str) {
        for mode in [Mode::All, Mode::SecretsOnly] {
            let spans = find(text, mode);
            let mut last = 0;
            for (range, _) in &spans {
                assert!(last <= range.start && range.start < range.end, "{text:?}");
                assert!(text.is_char_boundary(range.start) && text.is_char_boundary(range.end));
                last = range.end;
            }
            let out = redact_with(text, mode);
            assert_eq!(spans.is_empty(), matches!(out, Cow::Borrowed(_)));
        }
    }

    #[test]
    fn random_input_never_panics() {
        let mut rng = Rng(0x1234_5678_9ABC_DEF1);
        let pieces: Vec<&str> = "0 1 4 5 9 - . : :: @ + ( ) e eyJ sk- AKIA ghp_ github_pat_ Bearer a f _ \
                                 é € 🦀 \\ n / = % -----BEGIN PRIVATE KEY----- -----END x .co A Z 1234 555 \
                                 password api_key ?key= &sig= \" ' \\\" :// https://u: Basic dXNlcjpwdw== \
                                 xoxb- hooks.slack.com/services/ 123456: AA M . sk_live_ SG. , ; { } [ ]"
            .split(' ')
            .chain([" ", "\n", "\t"])
            .collect();
        for _ in 0..5000 {
            let text: String = (0..rng.below(60)).map(|_| rng.pick(&pieces)).collect();
            check_invariants(&text);
            let bytes: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
            check_invariants(&String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn pathological_input_is_linear() {
        let started = std::time::Instant::now();
        for unit in [
            "eyJ-",
            "1-",
            "a@",
            "a.",
            "::1:",
            "+1 ",
            "sk-a",
            "1.",
            "(5",
            "Bearer ",
            "a:",
            "password: \"",
            "a=",
            "://a:",
            "xoxb-1",
            "123456:",
            "Basic ",
            "?key=",
            "M-",
            "token: {",
            "\\\"pwd\\\":",
            "https://",
            "hooks.slack.com/services/a",
        ] {
            check_invariants(&unit.repeat(100_000));
        }
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    }

    /// A fresh, real-looking secret: (text to insert, part that must not survive).
    fn random_secret(rng: &mut Rng) -> (String, String) {
        let secret = match rng.below(8) {
            0 => {
                let len = 20 + rng.below(120);
                format!(
                    "sk-{}{}",
                    rng.pick(&["", "proj-", "svcacct-"]),
                    rng.chars(KEY, len)
                )
            }
            1 => format!("sk-ant-api03-{}", rng.chars(KEY, 80)),
            2 => format!(
                "{}{}",
                rng.pick(&["AKIA", "ASIA"]),
                rng.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
            ),
            3 => format!(
                "{}_{}",
                rng.pick(&["ghp", "gho", "ghs", "ghu", "ghr"]),
                rng.chars(ALNUM, 36)
            ),
            4 => format!(
                "github_pat_{}_{}",
                rng.chars(ALNUM, 22),
                rng.chars(ALNUM, 59)
            ),
            5 => {
                let (a, b) = (10 + rng.below(40), 10 + rng.below(80));
                format!(
                    "eyJ{}.eyJ{}.{}",
                    rng.chars(KEY, a),
                    rng.chars(KEY, b),
                    rng.chars(KEY, 43)
                )
            }
            6 => {
                let token = rng.chars("abcdefghijklmnopqrstuvwxyz0123456789._~+/-", 20);
                return (format!("Bearer {token}="), token);
            }
            _ => {
                let body = rng.chars(ALNUM, 64);
                let block =
                    format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----");
                return (block, body);
            }
        };
        (secret.clone(), secret)
    }

    /// `inserted` among up to 40 random `words`, joined by random `separators`.
    fn embed(rng: &mut Rng, inserted: &str, words: &str, separators: &[&str]) -> String {
        let words: Vec<&str> = words.split(' ').collect();
        let mut parts: Vec<&str> = (0..rng.below(40)).map(|_| rng.pick(&words)).collect();
        parts.insert(rng.below(parts.len() + 1), inserted);
        let mut text = String::new();
        for (k, part) in parts.iter().enumerate() {
            if k > 0 {
                text.push_str(rng.pick(separators));
            }
            text.push_str(part);
        }
        text
    }

    const WORDS: &str =
        "the model said café naïve 2024-01-15 v1.2.3 $1,234.56 std::io::Error @bob \
                         order 1234567890 → e s g A bearer a@b.co 555-123-4567 key 42 2024 3.14 \
                         10:30 2,500 1.2.3 000-12-3456";

    #[test]
    fn inserted_keys_never_survive() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let words = format!("{WORDS} - \\ -----");
        let separators = [
            " ", "\n", ", ", "\t", " \"", "\" ", "=", ": ", "(", ")", "'", r"\n", ". ",
        ];
        for round in 0..1000 {
            let (inserted, secret) = random_secret(&mut rng);
            let text = embed(&mut rng, &inserted, &words, &separators);
            for mode in [Mode::All, Mode::SecretsOnly] {
                let out = redact_with(&text, mode);
                assert!(
                    !out.contains(&secret),
                    "round {round}, {mode:?}: {text:?} -> {out:?}"
                );
            }
        }
    }

    #[test]
    fn inserted_personal_data_never_survives() {
        let mut rng = Rng(0x0DDB_1A5E_5BAD_5EED);
        let samples: Vec<&str> = "jane.doe@example.com|x@mail.co.uk|555-123-4567|(555) 123-4567|\
                                  +1 415 555 2671|+44 20 7946 0958|+33 6 12 34 56 78|123-45-6789|\
                                  4111 1111 1111 1111|378282246310005|192.168.1.20|2001:db8::1|fe80::1|\
                                  ::ffff:10.0.0.1|1-800-555-1234|+14155552671|6011-0009-9013-9424"
            .split('|')
            .collect();
        let separators = [
            " ", "\n", ", ", "\t", " \"", "\" ", ": ", " (", ") ", "; ", "=", "<", ">", ". ", "! ",
            ",", "/",
        ];
        for round in 0..1000 {
            let sample = rng.pick(&samples);
            let text = embed(&mut rng, sample, WORDS, &separators);
            let out = redact(&text);
            assert!(!out.contains(sample), "round {round}: {text:?} -> {out:?}");
        }
    }
}

//! The one pass over the bytes: the byte classes, the main loop, and what
//! each kind of start (a word, a punctuation byte) is tried against. The
//! formats themselves are in `secrets` and `personal`, key names in `keys`.

use std::ops::Range;

use super::personal::*;
use super::secrets::{self, aws_key, bearer, github_token, private_key};
use super::{keys, Kind, Mode};

/// [`find`](super::find) with extra secret key names (written together, lowercase).
pub(super) fn find_with_keys(
    text: &str,
    mode: Mode,
    extra_keys: &[String],
) -> Vec<(Range<usize>, Kind)> {
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
pub(super) const WORD: u8 = 1;
pub(super) const SECRET_WORD: u8 = 2;
pub(super) const PII_WORD: u8 = 4;
pub(super) const SECRET_PUNCT: u8 = 8;
pub(super) const PII_PUNCT: u8 = 16;

pub(super) const CLASS: [u8; 256] = {
    let mut table = [0; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        table[c] = match b {
            // The first letters of the prefixes in `secrets` and of `Bearer`/`Basic`.
            b's' | b'g' | b'A' | b'e' | b'b' | b'B' | b'r' | b'x' | b'h' | b'p' | b'f' | b'n'
            | b'c' | b'd' | b'S' | b'M' | b'N' | b'O' | b'l' | b'P' => WORD | SECRET_WORD,
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
pub(super) fn is_word(c: u8) -> bool {
    CLASS[usize::from(c)] & WORD != 0
}

pub(super) const LOW: u64 = 0x0101_0101_0101_0101;
pub(super) const HIGH: u64 = 0x8080_8080_8080_8080;

/// The first non-word byte at or after `i`, eight bytes at a time.
pub(super) fn word_end(b: &[u8], mut i: usize) -> usize {
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
pub(super) fn word_lanes(x: u64) -> u64 {
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
pub(super) fn is_key(c: u8) -> bool {
    is_word(c) || c == b'-'
}

/// The characters of a bearer token (RFC 6750 `b64token`).
pub(super) fn is_token(c: u8) -> bool {
    is_word(c) || matches!(c, b'-' | b'.' | b'~' | b'+' | b'/' | b'=')
}

pub(super) fn is_local(c: u8) -> bool {
    is_word(c) || matches!(c, b'.' | b'%' | b'+' | b'-')
}

pub(super) fn is_domain(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// Whether a match may start at `i`: not right after a word byte, except
/// after the `n`, `r` or `t` of a JSON escape (`\nsk-…`).
pub(super) fn boundary_before(b: &[u8], i: usize) -> bool {
    i == 0
        || !is_word(b[i - 1])
        || (i >= 2 && b[i - 2] == b'\\' && matches!(b[i - 1], b'n' | b'r' | b't'))
}

/// The byte at `i`, or 0 past the end (0 is neither a word byte nor a digit).
pub(super) fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

pub(super) fn starts(b: &[u8], i: usize, pattern: &[u8]) -> bool {
    b.get(i..).is_some_and(|rest| rest.starts_with(pattern))
}

/// How many bytes from `i` on satisfy `f`.
pub(super) fn run(b: &[u8], i: usize, f: impl Fn(u8) -> bool) -> usize {
    b.get(i..)
        .map_or(0, |rest| rest.iter().take_while(|&&c| f(c)).count())
}

pub(super) fn digits(b: &[u8], i: usize) -> usize {
    run(b, i, |c| c.is_ascii_digit())
}

/// The value of the decimal digits `b[i..i + len]`.
pub(super) fn value(b: &[u8], i: usize, len: usize) -> u32 {
    b[i..i + len]
        .iter()
        .fold(0, |n, &c| n * 10 + u32::from(c - b'0'))
}

/// Whether a number ending at `e` really ends there: not followed by a word
/// byte, nor by `-` or `.` and another digit (a longer dashed or dotted number).
pub(super) fn number_ends(b: &[u8], e: usize) -> bool {
    let c = at(b, e);
    let continues = matches!(c, b'-' | b'.') && at(b, e + 1).is_ascii_digit();
    !is_word(c) && !continues
}

pub(super) struct Scanner<'a> {
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
        if let Some((user_start, password, at_sign)) = secrets::url_password(b, i) {
            // The user part is scanned on its own: it may hold a token too.
            let user = std::str::from_utf8(&b[user_start..password.start - 1]).unwrap_or("");
            let mode = if self.pii {
                Mode::All
            } else {
                Mode::SecretsOnly
            };
            for (range, kind) in find_with_keys(user, mode, self.extra_keys) {
                self.push(user_start + range.start..user_start + range.end, kind);
            }
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
            let again = schemes
                .iter()
                .any(|s| b[cstart..cend].eq_ignore_ascii_case(s));
            if again && at(b, cend) == b' ' {
                return Some(cstart); // `Bearer bearer <token>`: from the second one
            }
            self.push(cstart..cend, Kind::NamedSecret);
            return Some(resume);
        }
        // `password: -----BEGIN … PRIVATE KEY-----`: the whole block.
        if let Some(block_end) = private_key(b, start) {
            return Some(self.push(start..block_end, Kind::PrivateKey));
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
pub(super) fn key_before(b: &[u8], i: usize) -> Option<(&[u8], bool, bool)> {
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
pub(super) fn value_at(b: &[u8], v: usize, quoted_key: bool) -> Option<(usize, usize, usize)> {
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
        // Also before the next `key: ` and before a PEM block, so that
        // neither is swallowed by this value.
        let stop = c.is_ascii_whitespace()
            || matches!(c, b'"' | b'\'' | b',' | b';' | b'&')
            || (c == b':' && matches!(at(b, end + 1), b' ' | b'\t' | b'\n' | b'\r' | 0))
            || (c == b'-' && starts(b, end, b"-----BEGIN "))
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
    // `token=x(Bearer <token>`: the value stops before a scheme word that
    // starts credentials of its own, so that the scanner still sees them.
    if at(b, end) == b' ' {
        let word = b[start..end]
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        let scheme = &b[end - word..end];
        if word < end - start
            && (scheme.eq_ignore_ascii_case(b"bearer") || scheme.eq_ignore_ascii_case(b"basic"))
        {
            end -= word;
        }
    }
    let value = &b[start..end];
    let literal = [&b"null"[..], b"true", b"false"].contains(&value);
    let structured = matches!(at(b, start), b'{' | b'[');
    (!value.is_empty() && !literal && !structured).then_some((start, end, end))
}

//! The fields of a log line that `stats` needs, read fast.
//!
//! [`LineReader::fields`] walks the line's top-level object once, reads the
//! dozen fields `stats` uses and skips every other value without building
//! it. Skipped values are checked for structure only (balanced brackets,
//! terminated strings), not fully validated. Lines it cannot read go
//! through serde_json's exact parser ([`fields_exact`]), so an unusual but
//! valid line (escaped keys, say) is still read, and only lines that are not
//! JSON objects with the required fields are rejected.
//!
//! Finding where each string ends is most of the work. In a line without
//! a backslash (nearly all of them) no quote is escaped, so every string
//! ends at the next quote: the reader first marks the line's quotes in a
//! bitmap ([`quote_bits`], sixteen bytes at a time) and each string's end
//! is then one bit scan. A line with a backslash is scanned string by string
//! instead, escapes and all ([`Cursor::string_end_scan`]). Both ways find the
//! same ends, so they accept the same lines.

use std::borrow::Cow;

use serde::Deserialize;
use wide::u8x16;

/// The fields `stats` reads from one line. Strings are kept as bytes: the
/// few distinct names are turned into text once, when first seen (invalid
/// UTF-8 becomes U+FFFD there).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields<'a> {
    /// `function`.
    pub function: Option<Cow<'a, [u8]>>,
    /// `request_model`.
    pub request_model: Option<Cow<'a, [u8]>>,
    /// `response_model`.
    pub response_model: Option<Cow<'a, [u8]>>,
    /// `tenant_id`.
    pub tenant_id: Option<Cow<'a, [u8]>>,
    /// `started_at` (required).
    pub started_at: Cow<'a, [u8]>,
    /// `latency_ms` (required).
    pub latency_ms: f64,
    /// `status` (required).
    pub status: Cow<'a, [u8]>,
    /// `usage.input_tokens`.
    pub input_tokens: Option<u64>,
    /// `usage.output_tokens`.
    pub output_tokens: Option<u64>,
    /// `error.type`.
    pub error_type: Option<Cow<'a, [u8]>>,
    /// `cost_usd`.
    pub cost_usd: Option<f64>,
}

/// Reads lines, keeping the fast scanner's quote bitmap from one line to
/// the next so that reading allocates nothing.
#[derive(Debug, Default)]
pub struct LineReader {
    quotes: Vec<u64>,
}

impl LineReader {
    /// Reads a line: the fast scanner, then serde_json when it gives up.
    pub fn read<'a>(&mut self, line: &'a [u8]) -> Option<Fields<'a>> {
        self.fields(line).or_else(|| fields_exact(line))
    }

    /// The fast scanner alone.
    pub fn fields<'a>(&mut self, line: &'a [u8]) -> Option<Fields<'a>> {
        // A bitmap grown by a long line (lines are capped, see
        // `ReadOptions::max_line`) is let go once lines are short again.
        if self.quotes.capacity() > (1 << 16).max(line.len() / 16) {
            self.quotes = Vec::new();
        }
        if quote_bits(line, &mut self.quotes) {
            return fields(line, None);
        }
        fields(line, Some(&self.quotes))
    }
}

/// Sets `bits` to a bitmap of the double quotes in `line`: bit `i % 64` of
/// word `i / 64` is set when byte `i` is `"`. Bits past the end are clear.
/// Returns whether the line has a backslash (then the bitmap is not
/// enough: some quotes may be escaped).
fn quote_bits(line: &[u8], bits: &mut Vec<u64>) -> bool {
    bits.clear();
    let mut backslash = false;
    let mut blocks = line.chunks_exact(64);
    for block in &mut blocks {
        let (quotes, backslashes) = block_bits(block);
        bits.push(quotes);
        backslash |= backslashes != 0;
    }
    let rest = blocks.remainder().len();
    if rest > 0 {
        let (quotes, backslashes) = match line.len().checked_sub(64) {
            // The last 64 bytes, shifted: no copy.
            Some(start) => {
                let (quotes, backslashes) = block_bits(&line[start..]);
                (quotes >> (64 - rest), backslashes >> (64 - rest))
            }
            None => {
                let mut block = [0u8; 64];
                block[..rest].copy_from_slice(line);
                block_bits(&block)
            }
        };
        bits.push(quotes);
        backslash |= backslashes != 0;
    }
    backslash
}

/// The quote and backslash bits of 64 bytes, sixteen bytes at a time
/// (SIMD compares where the target has them).
#[inline(always)]
fn block_bits(block: &[u8]) -> (u64, u64) {
    let quote = u8x16::splat(b'"');
    let backslash = u8x16::splat(b'\\');
    let mut quotes = 0;
    let mut backslashes = 0;
    for (k, part) in block.chunks_exact(16).enumerate() {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(part);
        let v = u8x16::new(bytes);
        let mask = |m: u8x16| u64::from(m.move_mask() as u16) << (16 * k);
        quotes |= mask(v.cmp_eq(quote));
        backslashes |= mask(v.cmp_eq(backslash));
    }
    (quotes, backslashes)
}

/// The index of the first set bit at or after `from`.
#[inline(always)]
fn next_bit(bits: &[u64], from: usize) -> Option<usize> {
    let mut index = from / 64;
    let mut word = bits.get(index)? & (u64::MAX << (from % 64));
    while word == 0 {
        index += 1;
        word = *bits.get(index)?;
    }
    Some(index * 64 + word.trailing_zeros() as usize)
}

/// The fast scanner; `quotes` is the line's quote bitmap when it has no
/// backslash. Each way has its own copy of the walk, with nothing of the
/// other in its loop.
fn fields<'a>(line: &'a [u8], quotes: Option<&[u64]>) -> Option<Fields<'a>> {
    match quotes {
        Some(quotes) => walk(Cursor::<true> {
            b: line,
            i: 0,
            quotes,
        }),
        None => walk(Cursor::<false> {
            b: line,
            i: 0,
            quotes: &[],
        }),
    }
}

/// Walks a line's top-level object with `c`.
fn walk<'a, const BITMAP: bool>(mut c: Cursor<'a, '_, BITMAP>) -> Option<Fields<'a>> {
    let line = c.b;
    let mut started_at = None;
    let mut latency_ms = None;
    let mut status = None;
    let mut f = Fields::default();
    c.ws();
    c.eat(b'{')?;
    c.ws();
    if c.peek() == Some(b'}') {
        return None;
    }
    loop {
        c.ws();
        let key = c.key()?;
        c.ws();
        c.eat(b':')?;
        c.ws();
        match Key::of(key) {
            Key::Function => f.function = c.opt_string()?,
            Key::RequestModel => f.request_model = c.opt_string()?,
            Key::ResponseModel => f.response_model = c.opt_string()?,
            Key::TenantId => f.tenant_id = c.opt_string()?,
            Key::StartedAt => started_at = Some(c.string()?),
            Key::LatencyMs => latency_ms = Some(c.number()?),
            Key::Status => status = Some(c.string()?),
            Key::CostUsd => f.cost_usd = if c.null() { None } else { Some(c.number()?) },
            Key::Usage => c.usage(&mut f)?,
            Key::Error => c.error(&mut f)?,
            Key::Other => c.skip_value()?,
        }
        c.ws();
        match c.next()? {
            b',' => continue,
            b'}' => break,
            _ => return None,
        }
    }
    c.ws();
    if c.i != line.len() {
        return None;
    }
    f.started_at = started_at?;
    f.latency_ms = latency_ms?;
    f.status = status?;
    Some(f)
}

/// The top-level keys `stats` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Function,
    RequestModel,
    ResponseModel,
    TenantId,
    StartedAt,
    LatencyMs,
    Status,
    CostUsd,
    Usage,
    Error,
    Other,
}

impl Key {
    /// Which key `key` is: a jump on its length, then one or two
    /// comparisons of a known length.
    #[inline(always)]
    fn of(key: &[u8]) -> Key {
        match key.len() {
            5 if key == b"usage" => Key::Usage,
            5 if key == b"error" => Key::Error,
            6 if key == b"status" => Key::Status,
            8 if key == b"function" => Key::Function,
            8 if key == b"cost_usd" => Key::CostUsd,
            9 if key == b"tenant_id" => Key::TenantId,
            10 if key == b"started_at" => Key::StartedAt,
            10 if key == b"latency_ms" => Key::LatencyMs,
            13 if key == b"request_model" => Key::RequestModel,
            14 if key == b"response_model" => Key::ResponseModel,
            _ => Key::Other,
        }
    }
}

/// A position in a line; with `BITMAP`, strings end where `quotes` (the
/// quote bitmap of a line without backslashes) says.
struct Cursor<'a, 'q, const BITMAP: bool> {
    b: &'a [u8],
    i: usize,
    quotes: &'q [u64],
}

impl<'a, const BITMAP: bool> Cursor<'a, '_, BITMAP> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline(always)]
    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    #[inline(always)]
    fn eat(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    #[inline(always)]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// A key: its raw bytes (keys the scanner looks for have no escapes).
    #[inline(always)]
    fn key(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        let (end, _) = self.string_end()?;
        Some(&self.b[start..end])
    }

    /// At the byte after an opening quote: moves past the closing quote and
    /// returns the closing quote's index and whether the string has escapes.
    #[inline(always)]
    fn string_end(&mut self) -> Option<(usize, bool)> {
        if BITMAP {
            let at = next_bit(self.quotes, self.i)?;
            self.i = at + 1;
            Some((at, false))
        } else {
            // A copy scans, so that the cursor itself never leaves the
            // registers in the hot loop.
            let mut scan = Cursor::<false> {
                b: self.b,
                i: self.i,
                quotes: &[],
            };
            let end = scan.string_end_scan();
            self.i = scan.i;
            end
        }
    }

    /// [`Self::string_end`] without a bitmap: short strings are scanned
    /// eight bytes at a time, long ones with memchr.
    #[inline(never)]
    fn string_end_scan(&mut self) -> Option<(usize, bool)> {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        const QUOTE: u64 = ONES * b'"' as u64;
        const BACKSLASH: u64 = ONES * b'\\' as u64;
        // The high bit of each zero byte; a byte above a zero byte may be
        // flagged too, but the lowest flag is always right.
        let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        let mut escaped = false;
        let mut words = 0;
        while let Some(word) = self.b.get(self.i..self.i + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            let w = u64::from_le_bytes(w);
            let quotes = zero(w ^ QUOTE);
            let backslashes = zero(w ^ BACKSLASH);
            if quotes | backslashes == 0 {
                self.i += 8;
                words += 1;
                if words == 4 {
                    // A long string: let memchr run.
                    return self.string_end_long(escaped);
                }
                continue;
            }
            let first_quote = quotes & quotes.wrapping_neg();
            if backslashes & first_quote.wrapping_sub(1) == 0 {
                let at = self.i + (first_quote.trailing_zeros() / 8) as usize;
                self.i = at + 1;
                return Some((at, escaped));
            }
            // A backslash comes first: it escapes the next byte.
            escaped = true;
            self.i += (backslashes.trailing_zeros() / 8) as usize + 2;
        }
        self.string_end_long(escaped)
    }

    /// [`Self::string_end`] with memchr.
    fn string_end_long(&mut self, mut escaped: bool) -> Option<(usize, bool)> {
        loop {
            let at = self.i + memchr::memchr2(b'"', b'\\', self.b.get(self.i..)?)?;
            if self.b[at] == b'"' {
                self.i = at + 1;
                return Some((at, escaped));
            }
            escaped = true;
            self.i = at + 2;
        }
    }

    #[inline(always)]
    fn string(&mut self) -> Option<Cow<'a, [u8]>> {
        let open = self.i;
        self.eat(b'"')?;
        let start = self.i;
        let (end, escaped) = self.string_end()?;
        if escaped {
            serde_json::from_slice::<String>(&self.b[open..=end])
                .ok()
                .map(|s| Cow::Owned(s.into_bytes()))
        } else {
            Some(Cow::Borrowed(&self.b[start..end]))
        }
    }

    #[inline(always)]
    fn null(&mut self) -> bool {
        if self.b[self.i..].starts_with(b"null") {
            self.i += 4;
            true
        } else {
            false
        }
    }

    #[inline(always)]
    fn opt_string(&mut self) -> Option<Option<Cow<'a, [u8]>>> {
        if self.null() {
            Some(None)
        } else {
            self.string().map(Some)
        }
    }

    #[inline(always)]
    fn number_token(&mut self) -> &'a [u8] {
        let start = self.i;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.peek() {
            self.i += 1;
        }
        &self.b[start..self.i]
    }

    /// A number: a plain decimal (`578.761`) is read in one pass, any
    /// other token checked against JSON's number grammar (`+1`, `01`, `.5`
    /// and `1.` are not numbers, as for serde_json) and read by Rust's
    /// float parser (correctly rounded, as serde_json with
    /// `float_roundtrip`).
    #[inline(always)]
    fn number(&mut self) -> Option<f64> {
        if let Some((value, end)) = plain_decimal(self.b, self.i) {
            self.i = end;
            return Some(value);
        }
        let token = self.number_token();
        if !is_json_number(token) {
            return None;
        }
        std::str::from_utf8(token)
            .ok()?
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
    }

    #[inline(always)]
    fn count(&mut self) -> Option<Option<u64>> {
        if self.null() {
            return Some(None);
        }
        let token = self.number_token();
        if token.is_empty()
            || token.len() > 19
            || (token.len() > 1 && token[0] == b'0')
            || !token.iter().all(u8::is_ascii_digit)
        {
            return None;
        }
        Some(Some(
            token
                .iter()
                .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')),
        ))
    }

    #[inline(always)]
    fn usage(&mut self, f: &mut Fields<'a>) -> Option<()> {
        if self.null() {
            return Some(());
        }
        self.object(|c, key| match key {
            b"input_tokens" => c.count().map(|v| f.input_tokens = v),
            b"output_tokens" => c.count().map(|v| f.output_tokens = v),
            _ => c.skip_value(),
        })
    }

    #[inline(always)]
    fn error(&mut self, f: &mut Fields<'a>) -> Option<()> {
        if self.null() {
            return Some(());
        }
        self.object(|c, key| match key {
            b"type" => c.opt_string().map(|v| f.error_type = v),
            _ => c.skip_value(),
        })
    }

    /// An object whose values `value` reads.
    #[inline(always)]
    fn object(&mut self, mut value: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            let key = self.key()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            value(self, key)?;
            self.ws();
            match self.next()? {
                b',' => continue,
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    /// Skips any value, checking only its structure.
    #[inline(always)]
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.i += 1;
                self.string_end().map(|_| ())
            }
            _ => self.skip_other(),
        }
    }

    /// [`Self::skip_value`] of anything but a string.
    #[inline(always)]
    fn skip_other(&mut self) -> Option<()> {
        match self.peek()? {
            b'{' | b'[' => self.skip_container(),
            b't' | b'f' | b'n' => {
                for word in [&b"true"[..], b"false", b"null"] {
                    if self.b[self.i..].starts_with(word) {
                        self.i += word.len();
                        return Some(());
                    }
                }
                None
            }
            _ => (!self.number_token().is_empty()).then_some(()),
        }
    }

    #[inline(always)]
    fn skip_container(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.next()? {
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(());
                    }
                }
                b'"' => {
                    self.string_end()?;
                }
                _ => {}
            }
        }
    }
}

/// The number at `b[at..]` when its token (the bytes a number may have)
/// is a plain decimal: `-?digits(.digits)?`, 15 digits at most, no leading
/// zero; with the index after it. Read exactly (the digits fit a `u64` and
/// an `f64` exactly, then one correctly rounded division), in one pass and
/// without finding the token first.
#[inline(always)]
fn plain_decimal(b: &[u8], at: usize) -> Option<(f64, usize)> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let mut i = at;
    let negative = b.get(i) == Some(&b'-');
    i += usize::from(negative);
    let digits = |i: &mut usize, mantissa: &mut u64| {
        let start = *i;
        while let Some(&d @ b'0'..=b'9') = b.get(*i) {
            *mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
            *i += 1;
        }
        *i - start
    };
    let mut mantissa = 0u64;
    let int_start = i;
    let int = digits(&mut i, &mut mantissa);
    if int == 0 || (int > 1 && b[int_start] == b'0') {
        return None;
    }
    let mut frac = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac = digits(&mut i, &mut mantissa);
        if frac == 0 {
            return None;
        }
    }
    if int + frac > 15 || matches!(b.get(i), Some(b'-' | b'+' | b'.' | b'e' | b'E')) {
        return None;
    }
    let value = mantissa as f64 / POW10[frac];
    Some((if negative { -value } else { value }, i))
}

/// Whether `token` is a number by JSON's grammar:
/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(token: &[u8]) -> bool {
    let mut i = usize::from(token.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while token.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int_start = i;
    let int = digits(&mut i);
    if int == 0 || (int > 1 && token[int_start] == b'0') {
        return false;
    }
    if token.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if let Some(b'e' | b'E') = token.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = token.get(i) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == token.len()
}

/// The same fields through serde_json's exact parser.
pub fn fields_exact(line: &[u8]) -> Option<Fields<'_>> {
    #[derive(Deserialize)]
    struct Line<'a> {
        #[serde(borrow, default)]
        function: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        request_model: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        response_model: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        tenant_id: Option<Cow<'a, str>>,
        #[serde(borrow)]
        started_at: Cow<'a, str>,
        latency_ms: f64,
        #[serde(borrow)]
        status: Cow<'a, str>,
        #[serde(default)]
        usage: Option<LineUsage>,
        #[serde(borrow, default)]
        error: Option<LineError<'a>>,
        #[serde(default)]
        cost_usd: Option<f64>,
    }
    #[derive(Deserialize)]
    struct LineUsage {
        #[serde(default)]
        input_tokens: Option<u64>,
        #[serde(default)]
        output_tokens: Option<u64>,
    }
    #[derive(Deserialize)]
    struct LineError<'a> {
        #[serde(borrow, rename = "type", default)]
        error_type: Option<Cow<'a, str>>,
    }
    let l: Line<'_> = serde_json::from_slice(line).ok()?;
    fn bytes(s: Cow<'_, str>) -> Cow<'_, [u8]> {
        match s {
            Cow::Borrowed(b) => Cow::Borrowed(b.as_bytes()),
            Cow::Owned(o) => Cow::Owned(o.into_bytes()),
        }
    }
    Some(Fields {
        function: l.function.map(bytes),
        request_model: l.request_model.map(bytes),
        response_model: l.response_model.map(bytes),
        tenant_id: l.tenant_id.map(bytes),
        started_at: bytes(l.started_at),
        latency_ms: l.latency_ms,
        status: bytes(l.status),
        input_tokens: l.usage.as_ref().and_then(|u| u.input_tokens),
        output_tokens: l.usage.as_ref().and_then(|u| u.output_tokens),
        error_type: l.error.and_then(|e| e.error_type).map(bytes),
        cost_usd: l.cost_usd,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast scanner, with the bitmap when the line allows it.
    fn fast(line: &[u8]) -> Option<Fields<'_>> {
        LineReader::default().fields(line)
    }

    /// The fast scanner, then serde.
    fn read(line: &[u8]) -> Option<Fields<'_>> {
        LineReader::default().read(line)
    }

    const LINE: &str = r#"{"schema":1,"request_id":"01a2","trace_id":"4a06","kind":"llm","tags":["a","b]"],"metadata":{"x":{"function":"nested"}},"name":"ask","function":"quickstart::ask","operation":"chat","provider":"openai","request_model":"gpt-4o-mini","started_at":"2026-11-27T09:26:47.125Z","ended_at":"2026-11-27T09:26:47.125Z","latency_ms":0.051106,"status":"error","messages":[{"content":"say \"hi\" \\ {","role":"user"}],"error":{"message":"Error code: 400 - {\"error\":{}}","type":"context_length","http_status":400,"retryable":false},"usage":{"input_tokens":16,"output_tokens":10,"total_tokens":26,"cached_input_tokens":0},"cost_usd":1.4e-4,"level":"error"}"#;

    #[test]
    fn the_scanner_agrees_with_serde() {
        let fast = fast(LINE.as_bytes());
        let exact = fields_exact(LINE.as_bytes());
        assert!(fast.is_some());
        assert_eq!(fast, exact);
        let f = fast.unwrap_or_default();
        assert_eq!(f.function.as_deref(), Some(&b"quickstart::ask"[..]));
        assert_eq!(f.error_type.as_deref(), Some(&b"context_length"[..]));
        assert_eq!(f.input_tokens, Some(16));
        assert_eq!(f.cost_usd, Some(0.00014));
    }

    #[test]
    fn escapes_are_decoded() {
        let line = br#"{"function":"a\u00e9\"b","started_at":"2026-11-27T09:26:47Z","latency_ms":1,"status":"ok"}"#;
        let f = fast(line).unwrap_or_default();
        assert_eq!(f.function.as_deref(), Some("a\u{e9}\"b".as_bytes()));
        assert_eq!(fields_exact(line), Some(f));
    }

    #[test]
    fn broken_lines_are_rejected() {
        let whole = LINE.as_bytes();
        for cut in 1..whole.len() {
            assert_eq!(read(&whole[..cut]), None, "cut at {cut}");
        }
        for bad in [
            &b"{}"[..],
            b"[1,2]",
            b"\x00\xff\xfe garbage",
            b"{\"latency_ms\":1}",
            b"null",
            b"",
        ] {
            assert_eq!(read(bad), None);
        }
        let no_status = br#"{"started_at":"2026-11-27T09:26:47Z","latency_ms":1}"#;
        assert_eq!(read(no_status), None);
        let trailing = br#"{"started_at":"2026-11-27T09:26:47Z","latency_ms":1,"status":"ok"} x"#;
        assert_eq!(read(trailing), None);
    }

    #[test]
    fn odd_but_valid_lines_fall_back_to_serde() {
        // An escaped key: the scanner does not see `status`, serde does.
        let line = br#"{"started_at":"2026-11-27T09:26:47Z","latency_ms":1,"st\u0061tus":"ok"}"#;
        assert_eq!(fast(line), None);
        assert_eq!(
            read(line).map(|f| f.status.into_owned()),
            Some(b"ok".to_vec())
        );
    }

    #[test]
    fn both_paths_agree_on_long_and_escaped_lines() {
        let plain = LINE.replace("\\", "");
        let long = plain.replace(
            "\"kind\":\"llm\"",
            &format!("\"kind\":\"llm\",\"blob\":\"{}\"", "y".repeat(10_000)),
        );
        for line in [LINE, plain.as_str(), long.as_str()] {
            assert_eq!(
                fast(line.as_bytes()),
                fields_exact(line.as_bytes()),
                "{line}"
            );
        }
    }

    /// The quote bitmap, one byte at a time.
    fn naive_quote_bits(line: &[u8]) -> Vec<u64> {
        let mut bits = vec![0u64; line.len().div_ceil(64)];
        for (i, &b) in line.iter().enumerate() {
            if b == b'"' {
                bits[i / 64] |= 1 << (i % 64);
            }
        }
        bits
    }

    #[test]
    fn quote_bits_mark_every_quote_and_nothing_else() {
        let mut bits = Vec::new();
        // Every byte value just before and just after a quote (a borrow or
        // carry between bytes would show there: `"#`, `\xff"`, …), at every
        // position of an eight-byte word and across 64-byte blocks.
        for b in 0..=255u8 {
            for at in 0..80 {
                let mut line = vec![b'x'; 150];
                line[at] = b;
                line[at + 1] = b'"';
                line[at + 2] = b;
                let backslash = quote_bits(&line, &mut bits);
                assert_eq!(bits, naive_quote_bits(&line), "byte {b} at {at}");
                assert_eq!(backslash, b == b'\\');
            }
        }
        for len in 0..200 {
            let line: Vec<u8> = (0..len)
                .map(|i| if i % 3 == 0 || i % 7 == 0 { b'"' } else { 0xe9 })
                .collect();
            assert!(!quote_bits(&line, &mut bits));
            assert_eq!(bits, naive_quote_bits(&line), "length {len}");
        }
        let all = vec![b'"'; 64];
        assert!(!quote_bits(&all, &mut bits));
        assert_eq!(bits, vec![u64::MAX]);
        // A backslash is seen wherever it is, the last byte included.
        for len in 1..150 {
            let mut line = vec![b'"'; len];
            line[len - 1] = b'\\';
            assert!(quote_bits(&line, &mut bits), "length {len}");
        }
    }

    #[test]
    fn next_bit_finds_the_first_set_bit_from_a_position() {
        let bits = [1 << 63, 0, 0b101];
        assert_eq!(next_bit(&bits, 0), Some(63));
        assert_eq!(next_bit(&bits, 63), Some(63));
        assert_eq!(next_bit(&bits, 64), Some(128));
        assert_eq!(next_bit(&bits, 129), Some(130));
        assert_eq!(next_bit(&bits, 131), None);
        assert_eq!(next_bit(&bits, 192), None);
        assert_eq!(next_bit(&bits, 1000), None);
        assert_eq!(next_bit(&[], 0), None);
    }

    #[test]
    fn the_bitmap_and_the_scan_find_the_same_strings() {
        // Strings of every length from 0 to 70 (ending in every position of
        // a word and of a 64-byte block), with multi-byte characters.
        let mut lines = Vec::new();
        for len in 0..70 {
            let text: String = "aé€😀b".chars().cycle().take(len).collect();
            lines.push(format!(
                r#"{{"name":"{text}","function":"{text}","started_at":"2026-11-27T09:26:47Z","latency_ms":1.5,"status":"ok","tags":["{text}",{{"k":"{text}"}}],"request_model":"m{text}"}}"#
            ));
        }
        assert!(lines.iter().all(|l| fields(l.as_bytes(), None).is_some()));
        lines.push(LINE.replace('\\', ""));
        let mut bits = Vec::new();
        for line in &lines {
            let line = line.as_bytes();
            // Every prefix too: truncated lines are rejected the same way.
            for cut in 0..=line.len() {
                let part = &line[..cut];
                assert!(!quote_bits(part, &mut bits));
                assert_eq!(
                    fields(part, Some(&bits)),
                    fields(part, None),
                    "{}",
                    String::from_utf8_lossy(part)
                );
            }
        }
    }

    #[test]
    fn lines_with_a_backslash_are_scanned_with_their_escapes() {
        // Backslash runs of every length before a quote, across word ends.
        for pad in 0..17 {
            for run in 1..6 {
                let text = format!("{}{}\\\"", "p".repeat(pad), "\\".repeat(run));
                let line = format!(
                    r#"{{"function":"{text}","started_at":"2026-11-27T09:26:47Z","latency_ms":1,"status":"ok"}}"#
                );
                let line = line.as_bytes();
                // `fast` scans such a line without the bitmap: serde is
                // the reference. With an odd run the quote after it ends
                // the string, and the line is broken.
                assert_eq!(fast(line).is_some(), run % 2 == 0, "{pad} {run}");
                assert_eq!(fast(line), fields_exact(line), "{pad} {run}");
            }
        }
    }

    /// What serde_json reads from the number token at the start of `text`
    /// (the bytes a number may have), and the token's length.
    fn serde_number(text: &[u8]) -> (Option<f64>, usize) {
        let len = text
            .iter()
            .take_while(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
            .count();
        (serde_json::from_slice::<f64>(&text[..len]).ok(), len)
    }

    #[test]
    fn numbers_read_as_serde_reads_them() {
        for number in [
            "0",
            "-0",
            "1",
            "-3",
            "10",
            "01",
            "-01",
            "0.5",
            "-0.051106",
            "578.761",
            "60380.558",
            "0.1",
            "1.",
            "1.e3",
            ".5",
            "-",
            "--1",
            "+1",
            "1e3",
            "1E-3",
            "1e+3",
            "1e",
            "1e+",
            "1.5e2",
            "0e0",
            "00.5",
            "1.2.3",
            "1e400",
            "123456789012345",
            "1234567890123456",
            "12345678.9012345",
            "12345678.90123456",
            "99999999999999999999",
            "0.055182999999999996",
            "",
        ] {
            for end in ["", ",", "}", " ", "]", "x", "\"", "e", "-", "."] {
                let text = format!("{number}{end}");
                let (value, after) = serde_number(text.as_bytes());
                let mut c = Cursor::<false> {
                    b: text.as_bytes(),
                    i: 0,
                    quotes: &[],
                };
                let fast = c.number();
                assert_eq!(fast.map(f64::to_bits), value.map(f64::to_bits), "{text}");
                if fast.is_some() {
                    assert_eq!(c.i, after, "{text}");
                }
                // The one-pass path alone, where it reads a number.
                if let Some((plain, end)) = plain_decimal(text.as_bytes(), 0) {
                    assert_eq!(Some(plain.to_bits()), value.map(f64::to_bits), "{text}");
                    assert_eq!(end, after, "{text}");
                }
            }
        }
    }

    #[test]
    fn numbers_json_does_not_allow_reject_the_line() {
        let line = |value: &str| {
            format!(
                r#"{{"started_at":"2026-11-27T09:26:47Z","latency_ms":{value},"status":"ok","usage":{{"input_tokens":1}}}}"#
            )
        };
        for bad in [
            "+1", "01", "-01", ".5", "1.", "1.e3", "1e", "1e+", "--1", "-", "1e400",
        ] {
            let l = line(bad);
            assert_eq!(fields_exact(l.as_bytes()), None, "{bad}");
            assert_eq!(read(l.as_bytes()), None, "{bad}");
        }
        for good in ["0", "-0", "1e3", "1E-3", "0.5e+2", "0.055182999999999996"] {
            let l = line(good);
            assert!(fast(l.as_bytes()).is_some(), "{good}");
            assert_eq!(fast(l.as_bytes()), fields_exact(l.as_bytes()), "{good}");
        }
        // Token counts too: serde reads them as `u64`.
        for count in ["01", "00", "1.0", "-1", "+1", "1e3"] {
            let l = line("1").replace(r#""input_tokens":1"#, &format!(r#""input_tokens":{count}"#));
            assert_eq!(fields_exact(l.as_bytes()), None, "{count}");
            assert_eq!(read(l.as_bytes()), None, "{count}");
        }
    }
}

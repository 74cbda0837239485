//! Canonical serialisation, hashing and HMAC: the bytes the chain is built on.
//!
//! Everything here is specified in the module documentation (the "Canonical
//! form" section) so that other tools can re-verify a log byte for byte.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry of a log: 64 zeros.
pub(crate) const GENESIS_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// The version of the canonical form, written as `"v":1` in every entry.
pub(crate) const FORMAT_VERSION: u64 = 1;

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Whether `s` is 64 lowercase hex digits (a SHA-256 or HMAC-SHA-256 in hex).
pub(crate) fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The SHA-256 of `bytes`, as 64 lowercase hex digits: what an entry's
/// `content_hash` holds for text content (`sha256_hex(text.as_bytes())`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The HMAC-SHA-256 of `bytes` under `key`, as 64 lowercase hex digits.
pub(crate) fn hmac_hex(key: &[u8], bytes: &[u8]) -> String {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail for it.
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(bytes);
            hex(&mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// Whether `mac_hex` (64 hex digits, either case) is the HMAC-SHA-256 of
/// `bytes` under `key`, compared in constant time by the `hmac` crate.
pub(crate) fn hmac_verify(key: &[u8], bytes: &[u8], mac_hex: &str) -> bool {
    let Some(expected) = unhex(mac_hex) else {
        return false;
    };
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(bytes);
            mac.verify_slice(&expected).is_ok()
        }
        Err(_) => false,
    }
}

/// Hex digits to bytes; `None` for an odd length or a non-hex digit.
fn unhex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

/// The canonical JSON text of `value`: no whitespace, object keys sorted by
/// their UTF-8 bytes, strings escaped as `serde_json` escapes them (`\"`,
/// `\\`, `\b \f \n \r \t`, `\u00xx` in lowercase for the other control
/// characters, everything else as raw UTF-8), numbers as `serde_json` 1.x
/// writes them (integers in decimal, floats in the shortest form that reads
/// back to the same `f64`).
///
/// Two values that are equal as JSON have the same canonical text, whatever
/// order their keys were inserted in; the SHA-256 of this text is the
/// `content_hash` of JSON content (messages).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical_json(value, &mut out);
    out
}

/// Appends the canonical JSON text of `value` to `out`.
pub(crate) fn write_canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(key, out);
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical_json(v, out);
                }
            }
            out.push('}');
        }
    }
}

/// Appends `s` as a JSON string: `"` and `\` escaped with a backslash;
/// backspace, form feed, newline, carriage return and tab as `\b \f \n \r \t`;
/// other characters below U+0020 as `\u00xx` (lowercase hex); everything else,
/// non-ASCII included, as its raw UTF-8. (This is what `serde_json` writes.)
pub(crate) fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `s` as a JSON string, or `null`.
pub(crate) fn write_opt_string(s: Option<&str>, out: &mut String) {
    match s {
        Some(s) => write_json_string(s, out),
        None => out.push_str("null"),
    }
}

/// A timestamp in its canonical form: RFC 3339, UTC, exactly six fractional
/// digits and `Z` (`2026-05-01T09:30:00.000000Z`).
pub(crate) fn format_ts(ts: &DateTime<Utc>) -> String {
    ts.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Parses a timestamp that must be in its canonical form.
pub(crate) fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    let ts = DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc);
    (format_ts(&ts) == s).then_some(ts)
}

/// `ts` cut to whole microseconds (what the canonical form keeps).
pub(crate) fn to_micros(ts: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(ts.timestamp_micros()).unwrap_or(ts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_and_has_no_whitespace() {
        let v = json!({"b": [1, 2.5, "x\ny"], "a": {"z": null, "é": true, "A": "\u{1}"}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"A":"\u0001","z":null,"é":true},"b":[1,2.5,"x\ny"]}"#
        );
        // Same as serde_json's own output for sorted maps.
        let reparsed: Value = serde_json::from_str(&canonical_json(&v)).unwrap();
        assert_eq!(canonical_json(&reparsed), canonical_json(&v));
        assert_eq!(serde_json::to_string(&v).unwrap(), canonical_json(&v));
    }

    #[test]
    fn floats_round_trip() {
        for f in [0.1, 1e20, 1e-7, 123456.789, -0.0, 5e-324, f64::MAX] {
            let text = canonical_json(&json!(f));
            let back: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(canonical_json(&back), text, "{f}");
        }
    }

    #[test]
    fn hashes() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(is_hex64(GENESIS_HASH));
        assert!(!is_hex64(&GENESIS_HASH.to_uppercase().replace('0', "A")));
        let mac = hmac_hex(b"key", b"entry");
        assert!(hmac_verify(b"key", b"entry", &mac));
        assert!(hmac_verify(b"key", b"entry", &mac.to_uppercase()));
        assert!(!hmac_verify(b"key", b"entry!", &mac));
        assert!(!hmac_verify(b"other", b"entry", &mac));
        assert!(!hmac_verify(b"key", b"entry", &mac[..62]));
        assert!(!hmac_verify(b"key", b"entry", "zz"));
    }

    #[test]
    fn timestamps_are_canonical() {
        let ts = parse_ts("2026-05-01T09:30:00.123456Z").unwrap();
        assert_eq!(format_ts(&ts), "2026-05-01T09:30:00.123456Z");
        assert!(parse_ts("2026-05-01T09:30:00.123Z").is_none());
        assert!(parse_ts("2026-05-01T11:30:00.123456+02:00").is_none());
        assert!(parse_ts("garbage").is_none());
    }
}

//! Times: the `--since`/`--until` arguments and a fast reader of the
//! records' RFC 3339 timestamps.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};

/// Parses a `--since`/`--until` value into milliseconds since the Unix epoch.
///
/// Accepts RFC 3339 (`2026-11-27T09:00:00Z`, any offset), a UTC date
/// (`2026-11-27`, midnight), a UTC date and time (`2026-11-27 09:00`,
/// `2026-11-27T09:00:00`), or an age: `90s`, `30m`, `2h`, `7d`, `1w` ago.
pub fn parse_when(text: &str) -> Result<i64, String> {
    parse_when_at(text, Utc::now())
}

/// [`parse_when`] relative to `now`.
pub fn parse_when_at(text: &str, now: DateTime<Utc>) -> Result<i64, String> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc).timestamp_millis());
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        let midnight = d.and_hms_opt(0, 0, 0).ok_or("invalid date")?;
        return Ok(Utc.from_utc_datetime(&midnight).timestamp_millis());
    }
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, format) {
            return Ok(Utc.from_utc_datetime(&d).timestamp_millis());
        }
    }
    if let Some(unit) = t.chars().last() {
        let number = &t[..t.len() - unit.len_utf8()];
        let scale: Option<i64> = match unit {
            's' => Some(1_000),
            'm' => Some(60_000),
            'h' => Some(3_600_000),
            'd' => Some(86_400_000),
            'w' => Some(7 * 86_400_000),
            _ => None,
        };
        if let (Some(scale), Ok(n)) = (scale, number.parse::<u32>()) {
            return Ok(now.timestamp_millis() - i64::from(n) * scale);
        }
    }
    Err(format!(
        "`{t}` is not a time: use RFC 3339 (2026-11-27T09:00:00Z), a UTC date \
         (2026-11-27), a UTC date and time (2026-11-27 09:00) or an age (30m, 2h, 7d)"
    ))
}

/// Milliseconds since the epoch of an RFC 3339 timestamp. The records'
/// own formats (`2026-11-27T09:26:47.124Z`, `2026-11-27T09:26:47.124567Z`)
/// are read without allocating; anything else RFC 3339 goes through chrono.
pub fn rfc3339_millis(s: &str) -> Option<i64> {
    rfc3339_micros(s).map(|us| us.div_euclid(1000))
}

/// [`rfc3339_millis`] of bytes.
pub fn rfc3339_millis_bytes(b: &[u8]) -> Option<i64> {
    rfc3339_micros_bytes(b).map(|us| us.div_euclid(1000))
}

/// Microseconds since the epoch of an RFC 3339 timestamp (digits past the
/// sixth are dropped): what calls are sorted by.
pub fn rfc3339_micros(s: &str) -> Option<i64> {
    fast_utc_micros(s.as_bytes()).or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| d.with_timezone(&Utc).timestamp_micros())
    })
}

/// [`rfc3339_micros`] of bytes.
pub fn rfc3339_micros_bytes(b: &[u8]) -> Option<i64> {
    fast_utc_micros(b).or_else(|| rfc3339_micros(std::str::from_utf8(b).ok()?))
}

fn fast_utc_micros(b: &[u8]) -> Option<i64> {
    // YYYY-MM-DDTHH:MM:SS[.ffffff]Z
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' || *b.last()? != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let mut v = 0i64;
        for &c in &b[r] {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut micros = 0i64;
    let rest = &b[19..b.len() - 1];
    if !rest.is_empty() {
        if rest[0] != b'.' || rest.len() < 2 {
            return None;
        }
        let frac = &rest[1..];
        let mut scale = 100_000;
        for &c in frac {
            if !c.is_ascii_digit() {
                return None;
            }
            micros += i64::from(c - b'0') * scale;
            scale /= 10;
        }
    }
    let days = days_from_civil(year, month, day);
    let seconds = ((days * 24 + hour) * 60 + minute) * 60 + second;
    Some(seconds * 1_000_000 + micros)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-11-27T09:26:47.124Z` from epoch milliseconds.
pub fn format_millis(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => ms.to_string(),
    }
}

/// `2026-11-27T09:26:47.124567Z` from epoch microseconds.
pub fn format_micros(us: i64) -> String {
    match Utc.timestamp_micros(us).single() {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Micros, true),
        None => us.to_string(),
    }
}

/// `2026-11-27 09:26` (UTC) from epoch milliseconds: a bucket's start.
pub fn format_minutes(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
        None => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_chrono() {
        for s in [
            "2026-11-27T09:26:47.124Z",
            "2026-11-27T09:26:47.124567Z",
            "2026-11-27T09:26:47.124567891Z",
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59.9Z",
            "2026-03-01T00:00:00.000Z",
            "1969-12-31T23:59:59.999Z",
            "1969-12-31T23:59:59.999999Z",
        ] {
            let slow = DateTime::parse_from_rfc3339(s)
                .map(|d| d.timestamp_micros())
                .ok();
            assert_eq!(fast_utc_micros(s.as_bytes()), slow, "{s}");
            let slow = DateTime::parse_from_rfc3339(s)
                .map(|d| d.timestamp_millis())
                .ok();
            assert_eq!(rfc3339_millis(s), slow, "{s}");
        }
        assert_eq!(
            rfc3339_millis("2026-11-27T10:26:47.124+01:00"),
            rfc3339_millis("2026-11-27T09:26:47.124Z")
        );
        assert_eq!(
            rfc3339_micros("2026-11-27T10:26:47.124567+01:00"),
            rfc3339_micros("2026-11-27T09:26:47.124567Z")
        );
        assert_eq!(rfc3339_millis("yesterday"), None);
        let us = rfc3339_micros("2026-11-27T09:26:47.000042Z").unwrap();
        assert_eq!(format_micros(us), "2026-11-27T09:26:47.000042Z");
    }

    #[test]
    fn parses_the_forms_of_since() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
            .single()
            .map(|t| t.timestamp_millis());
        let at = DateTime::from_timestamp_millis(now.unwrap_or_default()).unwrap_or_default();
        assert_eq!(
            parse_when_at("2h", at),
            Ok(now.unwrap_or_default() - 7_200_000)
        );
        assert_eq!(
            parse_when_at("2026-11-27", at),
            Ok(now.unwrap_or_default() - 12 * 3_600_000)
        );
        assert_eq!(
            parse_when_at("2026-11-27 12:00", at),
            now.ok_or(String::new())
        );
        assert!(parse_when_at("soon", at).is_err());
    }
}

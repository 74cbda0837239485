//! HTML: escaping (every recorded string goes through [`esc`]), the page
//! around each view, and number formats.

use std::fmt::Write as _;

/// Text made safe for HTML content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A path segment made safe for a URL (every byte but unreserved ones
/// percent-encoded, so `/`, `.`, `?` and `#` cannot change the path).
pub fn seg(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Which tab of the header is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// The calls list.
    Calls,
    /// The stats.
    Stats,
    /// Another page.
    Other,
}

/// The whole page: head, header with the tabs, `body`, and the script.
pub fn page(title: &str, tab: Tab, skipped: u64, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 2048);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>{} · llm-traced</title>\
         <link rel=\"stylesheet\" href=\"/assets/app.css\"></head><body>\
         <header><a class=\"brand\" href=\"/\">llm-traced</a><nav>",
        esc(title)
    );
    for (t, href, label) in [(Tab::Calls, "/", "Calls"), (Tab::Stats, "/stats", "Stats")] {
        let current = if t == tab {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(out, "<a href=\"{href}\"{current}>{label}</a>");
    }
    out.push_str("</nav>");
    if skipped > 0 {
        let _ = write!(
            out,
            "<a class=\"skipped\" href=\"/skipped\" title=\"inputs that are not llm-traced records\">{} skipped</a>",
            skipped
        );
    }
    out.push_str("<span class=\"keys\" title=\"j/k move · Enter opens · / searches · Esc goes back\">j k ↵ / esc</span></header><main>");
    out.push_str(body);
    out.push_str("</main><script src=\"/assets/app.js\"></script></body></html>\n");
    out
}

/// `1,234,567`.
pub fn count(n: u64) -> String {
    crate::render::count(n)
}

/// `0.05 ms`, `812 ms`, `3.2 s`.
pub fn duration(ms: f64) -> String {
    crate::render::duration_ms(ms)
}

/// `$0.0123`.
pub fn usd(cost: f64) -> String {
    crate::render::usd(cost)
}

/// `2026-11-27 09:26:47` (UTC).
pub fn time(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => ms.to_string(),
    }
}

/// `2026-11-27 09:26:47.125042` (UTC), from epoch microseconds.
pub fn time_us(us: i64) -> String {
    match chrono::DateTime::from_timestamp_micros(us) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
        None => us.to_string(),
    }
}

/// An optional number, or `–`.
pub fn opt_count(n: Option<u64>) -> String {
    n.map_or_else(|| "–".to_owned(), count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_path_segments() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(esc("plain é"), "plain é");
        assert_eq!(seg("../a/b?c#d e"), "%2E%2E%2Fa%2Fb%3Fc%23d%20e");
        assert_eq!(seg("01a2-b_c~"), "01a2-b_c~");
    }
}

//! Text helpers.

use std::borrow::Cow;

/// Shortens `text` to at most `max_chars` characters, cutting at a character
/// boundary and saying how much was cut: `"Hello… [+42 chars]"`.
#[doc(hidden)]
pub fn shorten(text: &str, max_chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => {
            let rest = text[cut..].chars().count();
            Cow::Owned(format!("{}… [+{rest} chars]", &text[..cut]))
        }
    }
}

/// Caps `text` at `max_chars` characters in place, with a marker of how much
/// was cut.
#[doc(hidden)]
pub fn cap_in_place(text: &mut String, max_chars: usize) {
    if let std::borrow::Cow::Owned(short) = shorten(text, max_chars) {
        *text = short;
    }
}

/// Caps every string inside a JSON value (messages) at `max_chars`.
#[doc(hidden)]
pub fn cap_json_strings(value: &mut serde_json::Value, max_chars: usize) {
    map_json_strings(value, &mut |s| cap_in_place(s, max_chars));
}

/// Applies `f` to every string inside a JSON value, keys excepted.
#[doc(hidden)]
pub fn map_json_strings(value: &mut serde_json::Value, f: &mut dyn FnMut(&mut String)) {
    match value {
        serde_json::Value::String(s) => f(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| map_json_strings(v, f)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| map_json_strings(v, f)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::shorten;

    #[test]
    fn short_text_is_untouched() {
        assert_eq!(shorten("héllo", 5), "héllo");
        assert_eq!(shorten("", 0), "");
    }

    #[test]
    fn cuts_at_char_boundaries_and_counts_the_rest() {
        assert_eq!(shorten("héllo wörld", 4), "héll… [+7 chars]");
        // Four-byte characters: never split inside one.
        assert_eq!(shorten("🦀🦀🦀", 1), "🦀… [+2 chars]");
        assert_eq!(shorten("日本語のテキスト", 3), "日本語… [+5 chars]");
    }
}

//! Text helpers.

use std::borrow::Cow;

/// Shortens `text` to at most `max_chars` characters, cutting at a character
/// boundary and saying how much was cut: `"Hello… [+42 chars]"`.
pub fn shorten(text: &str, max_chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => {
            let rest = text[cut..].chars().count();
            Cow::Owned(format!("{}… [+{rest} chars]", &text[..cut]))
        }
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

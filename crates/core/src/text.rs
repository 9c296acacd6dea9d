//! Small text helpers shared by every layer: cutting strings to a bound and
//! naming a caller's input in a message without echoing it at length.

/// The longest prefix of `text` of at most `max` bytes ending at a char boundary.
pub fn truncate_bytes(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `text` cut to at most `max` bytes, in place (see [`truncate_bytes`]).
pub fn truncate_owned(mut text: String, max: usize) -> String {
    let end = truncate_bytes(&text, max).len();
    text.truncate(end);
    text
}

/// Most characters of a caller's input [`quote`] shows.
pub const QUOTE_CHARS: usize = 64;

/// Quotes a caller's short input (an unknown field's name) for a message:
/// JSON-style escaped, cut to [`QUOTE_CHARS`] characters with `…`. Never use
/// it for values, which may be secrets.
pub fn quote(text: &str) -> String {
    let cut: String = text.chars().take(QUOTE_CHARS).collect();
    let ellipsis = if cut.len() < text.len() { "…" } else { "" };
    format!("{cut:?}{ellipsis}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_bytes("abc", 5), "abc");
        assert_eq!(truncate_bytes("abc", 2), "ab");
        assert_eq!(truncate_bytes("aé", 2), "a");
        assert_eq!(truncate_bytes("😀", 3), "");
        assert_eq!(truncate_owned("aéb".to_owned(), 3), "aé");
    }

    #[test]
    fn quote_escapes_and_cuts() {
        assert_eq!(quote("role"), "\"role\"");
        assert_eq!(quote("a\"b\n"), "\"a\\\"b\\n\"");
        let long = "x".repeat(100);
        assert_eq!(quote(&long), format!("\"{}\"…", "x".repeat(64)));
    }
}

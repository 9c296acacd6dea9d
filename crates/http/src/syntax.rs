//! Pieces of the HTTP grammar (RFC 9110) that several modules read.

/// RFC 9110 `tchar`: the characters of a token (header and cookie names,
/// method names).
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9110 `OWS`: a space or a tab.
pub fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `s` without leading and trailing spaces and tabs.
pub fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ows(b)).map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or_default()
}

/// [`trim_ows`] for text.
pub fn trim_ows_str(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_whitespace() {
        assert!(b"GET-x_1.~!".iter().all(|&b| is_tchar(b)));
        assert!(!b" ;,=\"()/".iter().any(|&b| is_tchar(b)));
        assert_eq!(trim_ows(b" \ta b\t "), b"a b");
        assert_eq!(trim_ows(b" \t "), b"");
        assert_eq!(trim_ows_str("\t a \t"), "a");
    }
}

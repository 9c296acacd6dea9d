//! One rule's `path` pattern: literal segments, `*` within a segment, a
//! final `/**`, compared in the canonical form of [`super::readings`].

use super::readings::canonical_piece;
use super::MAX_PATTERN_BYTES;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pattern {
    /// Canonical segments (case as written) and their lower-cased twins.
    segs: Vec<SegPat>,
    lower: Vec<SegPat>,
    /// Ends with `/**`: `segs` is a prefix.
    deep: bool,
    pub(super) has_upper: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SegPat {
    Literal(String),
    /// The canonical pieces between `*`s (at least two, possibly empty).
    Glob(Vec<String>),
}

impl Pattern {
    pub(super) fn parse(p: &str) -> Result<Pattern, String> {
        if p.is_empty() {
            return Err("must not be empty".into());
        }
        if p.len() > MAX_PATTERN_BYTES {
            return Err(format!("longer than {MAX_PATTERN_BYTES} bytes"));
        }
        if !p.starts_with('/') {
            return Err("must start with \"/\"".into());
        }
        for c in p.chars() {
            if c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | ';' | '\\') {
                return Err("must not contain ?, #, ;, \\, whitespace or control characters (write paths without query, fragment or parameters)".into());
            }
        }
        let mut raw: Vec<&str> = p[1..].split('/').collect();
        let deep = raw.last() == Some(&"**");
        if deep {
            raw.pop();
        }
        let n = raw.len();
        let mut segs = Vec::with_capacity(n);
        for (k, seg) in raw.iter().enumerate() {
            if seg.contains("**") {
                return Err("\"**\" is only allowed as the final segment \"/**\"".into());
            }
            if seg.is_empty() && (k + 1 < n || deep) {
                return Err("must not contain \"//\"".into());
            }
            let pieces: Vec<String> = seg.split('*').map(canonical_piece).collect();
            for piece in &pieces {
                if piece.contains("%2F") || piece.contains("%5C") {
                    return Err("must not contain an encoded slash (%2F, %5C)".into());
                }
            }
            if pieces.len() == 1 {
                let lit = pieces.into_iter().next().unwrap_or_default();
                if lit == "." || lit == ".." {
                    return Err("must not contain \".\" or \"..\" segments".into());
                }
                segs.push(SegPat::Literal(lit));
            } else {
                segs.push(SegPat::Glob(pieces));
            }
        }
        let lower = segs
            .iter()
            .map(|s| match s {
                SegPat::Literal(l) => SegPat::Literal(l.to_ascii_lowercase()),
                SegPat::Glob(g) => SegPat::Glob(g.iter().map(|x| x.to_ascii_lowercase()).collect()),
            })
            .collect::<Vec<_>>();
        let has_upper = lower != segs;
        Ok(Pattern {
            segs,
            lower,
            deep,
            has_upper,
        })
    }

    /// `path` must be lower-cased when `fold_case` is set. Under a `trimmed`
    /// reading (trailing slashes ignored) the pattern's own trailing slash is
    /// ignored too, so `/docs/` matches `/docs` there.
    pub(super) fn matches(&self, path: &[String], trimmed: bool, fold_case: bool) -> bool {
        let mut pat: &[SegPat] = if fold_case { &self.lower } else { &self.segs };
        if trimmed
            && pat.len() > 1
            && matches!(pat.last(), Some(SegPat::Literal(l)) if l.is_empty())
        {
            pat = &pat[..pat.len() - 1];
        }
        let len_ok = if self.deep {
            path.len() >= pat.len()
        } else {
            path.len() == pat.len()
        };
        len_ok && pat.iter().zip(path).all(|(p, s)| p.matches(s))
    }
}

impl SegPat {
    fn matches(&self, s: &str) -> bool {
        match self {
            SegPat::Literal(l) => l == s,
            SegPat::Glob(pieces) => glob_match(pieces, s),
        }
    }
}

/// `pieces` are the literal runs around `*`s (`a*b*c` → `[a, b, c]`), and
/// `s` a segment, both in canonical form. A `*` stands for whole characters
/// of the segment: a piece matches only where a character starts, never
/// inside an escape (`*C3*` does not match `%C3%A9`, the escapes of `é`).
/// Greedy leftmost matching of the middle pieces is exact for `*`-only globs
/// and runs in linear time.
pub(super) fn glob_match(pieces: &[String], s: &str) -> bool {
    let (Some(first), Some(last)) = (pieces.first(), pieces.last()) else {
        return false;
    };
    if pieces.len() < 2 || first.len() + last.len() > s.len() {
        return false;
    }
    let tail = s.len() - last.len();
    if !s.starts_with(first.as_str()) || !s.ends_with(last.as_str()) || !starts_a_char(s, tail) {
        return false;
    }
    let mut at = first.len();
    for piece in &pieces[1..pieces.len() - 1] {
        let found = s[at..tail]
            .match_indices(piece.as_str())
            .map(|(i, _)| at + i)
            .find(|&i| starts_a_char(s, i));
        match found {
            Some(i) => at = i + piece.len(),
            None => return false,
        }
    }
    true
}

/// Whether byte `i` of the canonical text `s` starts a character: it is not
/// one of the two hex digits of an escape (in canonical form every `%`
/// starts one).
fn starts_a_char(s: &str, i: usize) -> bool {
    let b = s.as_bytes();
    !(i >= 1 && b.get(i - 1) == Some(&b'%') || i >= 2 && b.get(i - 2) == Some(&b'%'))
}

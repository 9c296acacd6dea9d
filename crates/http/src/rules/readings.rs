//! The readings of a request path: every way an origin may interpret it
//! (see the module docs of [`super`]), each canonicalized into segments that
//! patterns are matched against.
//!
//! A reading starts from the path's literal segments (split at `/` only, in
//! canonical form, nothing resolved) and applies any of the [`Step`]s, **in
//! any order**: origins and the proxies before them differ in the order too
//! (Tomcat strips `;params` before it decodes `%2F`, others after; a servlet
//! container resolves dot segments and a framework then merges `//`, or the
//! other way round), and a fixed order misses the paths built for another.
//! Each step only ever removes or splits, so the readings are finite; the
//! distinct ones are kept. An ordinary path (no `%2F`, `%5C`, `\`, `;`,
//! `//` nor dot segment) has just one.

/// One interpretation an origin may make of a path's segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// `%2F` separates segments (decoded into `/`).
    SplitSlash,
    /// `%5C` separates segments (decoded into `\`, which IIS reads as `/`).
    SplitBackslash,
    /// `\` separates segments (a WHATWG URL parser reads it as `/`, and
    /// `fetch()` sends the path on that way).
    SplitRawBackslash,
    /// `;params` are dropped from every segment before decoding (Tomcat,
    /// Spring): at a raw `;`.
    StripParams,
    /// `;params` are dropped after decoding: at a `;` or `%3B`.
    StripDecodedParams,
    /// `//` is `/`.
    MergeSlashes,
    /// Dot segments are resolved (RFC 3986 5.2.4), `%2e` spelled or not.
    ResolveDots,
}

const STEPS: [Step; 7] = [
    Step::SplitSlash,
    Step::SplitBackslash,
    Step::SplitRawBackslash,
    Step::StripParams,
    Step::StripDecodedParams,
    Step::MergeSlashes,
    Step::ResolveDots,
];

/// Most distinct readings of one path: beyond it (a path stacked with every
/// trick at once) the path is refused rather than matched that many times.
pub const MAX_READINGS: usize = 32;

/// Every distinct reading of `path` as `(segments, trailing slashes
/// ignored)`: each set of segments the [`Step`]s lead to, in any order, read
/// as it is and with a trailing `/` ignored. `None` past [`MAX_READINGS`].
pub(super) fn distinct_readings(path: &str) -> Option<Vec<(Vec<String>, bool)>> {
    let mut states = vec![literal_segments(path)];
    let mut next = 0;
    while let Some(state) = states.get(next) {
        // Most paths hold nothing a step acts on: skip the seven searches.
        let found: Vec<Vec<String>> = if may_step(state) {
            STEPS.iter().filter_map(|&s| apply(s, state)).collect()
        } else {
            Vec::new()
        };
        for segs in found {
            if !states.contains(&segs) {
                states.push(segs);
            }
        }
        if states.len() > MAX_READINGS {
            return None;
        }
        next += 1;
    }
    let mut readings = Vec::with_capacity(states.len() * 2);
    for segs in states {
        let mut trimmed = segs.clone();
        if trimmed.len() > 1 && trimmed.last().is_some_and(String::is_empty) {
            trimmed.pop();
        }
        for read in [(segs, false), (trimmed, true)] {
            if !readings.contains(&read) {
                readings.push(read);
            }
        }
    }
    Some(readings)
}

/// Whether some [`Step`] may change `segs`: each needs a `%2F`, `%5C` or
/// `%3B` (canonical form spells escapes in upper case), a `\\` or `;`, a dot
/// segment, or an empty segment before the last. When false, [`apply`] is
/// `None` for every step.
fn may_step(segs: &[String]) -> bool {
    let last = segs.len().saturating_sub(1);
    segs.iter().enumerate().any(|(k, s)| {
        let b = s.as_bytes();
        (b.is_empty() && k < last)
            || b == b"."
            || b == b".."
            || b.iter().any(|&c| c == b';' || c == b'\\')
            || b.windows(3).any(|w| matches!(w, b"%2F" | b"%5C" | b"%3B"))
    })
}

/// `segs` after `step`, `None` when the step changes nothing.
fn apply(step: Step, segs: &[String]) -> Option<Vec<String>> {
    let split = |at: &str| -> Option<Vec<String>> {
        segs.iter().any(|s| s.contains(at)).then(|| {
            segs.iter()
                .flat_map(|s| s.split(at))
                .map(str::to_owned)
                .collect()
        })
    };
    let strip = |at: &[&str]| -> Option<Vec<String>> {
        let cut = |s: &String| at.iter().filter_map(|a| s.find(a)).min();
        segs.iter().any(|s| cut(s).is_some()).then(|| {
            segs.iter()
                .map(|s| s[..cut(s).unwrap_or(s.len())].to_owned())
                .collect()
        })
    };
    match step {
        Step::SplitSlash => split("%2F"),
        Step::SplitBackslash => split("%5C"),
        Step::SplitRawBackslash => split("\\"),
        Step::StripParams => strip(&[";"]),
        Step::StripDecodedParams => strip(&[";", "%3B"]),
        Step::MergeSlashes => {
            let n = segs.len();
            let inner_empty = segs[..n.saturating_sub(1)].iter().any(String::is_empty);
            inner_empty.then(|| {
                let mut out: Vec<String> = segs[..n - 1]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .collect();
                out.extend(segs.last().cloned());
                out
            })
        }
        Step::ResolveDots => segs
            .iter()
            .any(|s| s == "." || s == "..")
            .then(|| resolve_dots(segs)),
    }
}

/// RFC 3986 5.2.4 on segments: `.` dropped, `..` drops the one before, a
/// final dot segment leaves an empty one (`/a/..` is `/`).
fn resolve_dots(segs: &[String]) -> Vec<String> {
    let n = segs.len();
    let mut out: Vec<String> = Vec::with_capacity(n);
    for (k, s) in segs.iter().enumerate() {
        match s.as_str() {
            "." | ".." => {
                if s == ".." {
                    out.pop();
                }
                if k + 1 == n {
                    out.push(String::new());
                }
            }
            _ => out.push(s.clone()),
        }
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

/// How many separators some reading of `path` sees: `/`, `\`, `%2F` and
/// `%5C` (any case). Other escapes (a path of CJK text is mostly `%XX`) do
/// not count, so that bounding this bounds every reading's segment count.
pub(super) fn separator_count(path: &str) -> usize {
    let bytes = path.as_bytes();
    bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| {
            b == b'/'
                || b == b'\\'
                || (b == b'%'
                    && matches!(
                        bytes.get(i + 1..i + 3),
                        Some([b'2', b'f' | b'F']) | Some([b'5', b'c' | b'C'])
                    ))
        })
        .count()
}

/// Characters kept raw in canonical form, their escapes decoded (`%3A`
/// reads as `:`): unreserved, sub-delims but `;`, `:` and `@`. Origins
/// rarely tell them apart, and treating them alike only makes more paths
/// match a rule.
fn keep_raw(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,=:@".contains(&b)
}

/// Characters whose raw and escaped forms mean different things to some
/// origins, so both are kept as written: a raw `;` starts parameters where
/// `%3B` may not, a raw `\` is a `/` to a WHATWG URL parser where `%5C` is
/// not.
fn keep_as_written(b: u8) -> bool {
    b == b';' || b == b'\\'
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn push_escaped(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(HEX[usize::from(b >> 4)] as char);
    out.push(HEX[usize::from(b & 15)] as char);
}

/// Canonical form of a pattern piece: the literal reading of a path segment.
pub(super) fn canonical_piece(s: &str) -> String {
    let mut out = Vec::new();
    let mut cur = String::new();
    read_into(s.as_bytes(), &mut out, &mut cur);
    // A piece holds no raw '/', so `out` is empty.
    cur
}

/// Canonicalizes `bytes` into segments split at `/` (`out` gets the finished
/// ones, `cur` the one in progress): escapes of [`keep_raw`] characters are
/// decoded, [`keep_as_written`] ones are kept raw or escaped as they came,
/// every other byte is escaped with upper-case hex (so `%2f` and `%2F` are
/// one), a `%` not followed by two hex digits reads as `%25`. In this form
/// every `%` starts an escape.
fn read_into(bytes: &[u8], out: &mut Vec<String>, cur: &mut String) {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (byte, escaped) = if b == b'%' {
            match (
                bytes.get(i + 1).and_then(|&h| hex_val(h)),
                bytes.get(i + 2).and_then(|&l| hex_val(l)),
            ) {
                (Some(h), Some(l)) => {
                    i += 3;
                    (h << 4 | l, true)
                }
                _ => {
                    i += 1;
                    cur.push_str("%25");
                    continue;
                }
            }
        } else {
            i += 1;
            (b, false)
        };
        if byte == b'/' && !escaped {
            out.push(std::mem::take(cur));
        } else if keep_as_written(byte) && !escaped {
            cur.push(byte as char);
        } else if !keep_raw(byte) {
            push_escaped(cur, byte);
        } else {
            cur.push(byte as char);
        }
    }
}

/// The literal segments of `raw` (query and fragment left out): `"/"` →
/// `[""]`, `"/a/b/"` → `["a", "b", ""]`, in canonical form, nothing resolved.
fn literal_segments(raw: &str) -> Vec<String> {
    let raw = raw.split(['?', '#']).next().unwrap_or("");
    let raw = raw.strip_prefix('/').unwrap_or(raw);
    let mut segs = Vec::new();
    let mut cur = String::new();
    read_into(raw.as_bytes(), &mut segs, &mut cur);
    segs.push(cur);
    segs
}

/// The canonical literal reading of a raw path (no decoding of `%2F`, no
/// parameter stripping, `//` and trailing `/` kept, dot segments resolved):
/// what rules are matched against for an ordinary path. For logs and tests.
pub fn normalize_path(raw: &str) -> String {
    let segs = literal_segments(raw);
    let segs = apply(Step::ResolveDots, &segs).unwrap_or(segs);
    format!("/{}", segs.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The shortcut of [`distinct_readings`] is exact: where
        /// [`may_step`] says no, no step changes the segments.
        #[test]
        fn may_step_misses_no_step(path in r"(/([a-z.;\\%]|%2[fFeE]|%5[cC]|%3[bB]){0,4}){1,5}/?") {
            let segs = literal_segments(&path);
            if !may_step(&segs) {
                for step in STEPS {
                    prop_assert_eq!(apply(step, &segs), None, "{:?} on {}", step, path);
                }
            }
        }
    }

    #[test]
    fn may_step_sees_each_trigger() {
        for (path, expected) in [
            ("/a/b/", false),
            ("/dashboard", false),
            ("/a%20b/%E2%82%AC", false),
            ("/a%2fb", true),
            ("/a%5Cb", true),
            ("/a%3bb", true),
            ("/a;b", true),
            ("/a\\b", true),
            ("/a//b", true),
            ("/a/./b", true),
            ("/a/%2e%2E/b", true),
            ("/a/.b", false),
        ] {
            assert_eq!(may_step(&literal_segments(path)), expected, "{path}");
        }
    }
}

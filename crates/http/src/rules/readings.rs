//! The readings of a request path: every way an origin may interpret it
//! (see the module docs of [`super`]), each canonicalized into segments that
//! patterns are matched against.

/// One way an origin may read a path: a set of the flags below. The
/// literal reading (no flag) decodes nothing that separates segments, keeps
/// `;params`, `//` and a trailing `/`, and resolves dot segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reading(u8);

impl Reading {
    /// Percent-decode everything; `%2F`, `%5C` and `\` separate segments.
    pub const SPLIT_ENCODED: u8 = 1 << 0;
    /// Drop `;params` from each segment (Tomcat, Jetty, Spring).
    pub const STRIP_PARAMS: u8 = 1 << 1;
    /// `//` is `/`.
    pub const MERGE_SLASHES: u8 = 1 << 2;
    /// `/a/` is `/a`.
    pub const TRIM_TRAILING: u8 = 1 << 3;
    /// Dot segments are not resolved (a proxy that decodes `%2F` and then
    /// matches prefixes, or an origin that never resolves them).
    pub const KEEP_DOTS: u8 = 1 << 4;
    /// Every flag: 32 readings.
    pub const ALL: u8 = (1 << 5) - 1;
    /// The literal reading.
    pub const LITERAL: Reading = Reading(0);

    fn has(self, flag: u8) -> bool {
        self.0 & flag != 0
    }
}

/// Every distinct reading of `path` as `(segments, trailing slashes
/// ignored)`, skipping readings that cannot differ from one already made
/// (see [`relevant_flags`]).
pub(super) fn distinct_readings(path: &str) -> Vec<(Vec<String>, bool)> {
    let relevant = relevant_flags(path);
    let mut readings: Vec<(Vec<String>, bool)> = Vec::with_capacity(4);
    for bits in 0..=Reading::ALL {
        if bits & !relevant != 0 {
            continue;
        }
        let reading = Reading(bits);
        let read = (
            canonical_segments(path, reading),
            reading.has(Reading::TRIM_TRAILING),
        );
        if !readings.contains(&read) {
            readings.push(read);
        }
    }
    readings
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

/// Characters kept raw in canonical form: unreserved, sub-delims, `:` and `@`.
/// Their escapes are decoded (`%3B` reads as `;`): origins rarely tell them
/// apart, and treating them alike only makes more paths match a rule.
fn keep_raw(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b)
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
    read_into(s.as_bytes(), false, &mut out, &mut cur);
    // A piece holds no raw '/' and `split_encoded` is off, so `out` is empty.
    cur
}

/// Canonicalizes `bytes` into segments (`out` gets the finished ones, `cur`
/// the one in progress): escapes of [`keep_raw`] characters are decoded, every
/// other byte outside [`keep_raw`] is escaped with upper-case hex (so `%2f`
/// and `%2F` are one), a `%` not followed by two hex digits reads as `%25`.
/// With `split_encoded`, `%2F`, `%5C` and `\` split segments.
fn read_into(bytes: &[u8], split_encoded: bool, out: &mut Vec<String>, cur: &mut String) {
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
        let separator =
            byte == b'/' && !escaped || split_encoded && (byte == b'/' || byte == b'\\');
        if separator {
            out.push(std::mem::take(cur));
        } else if !keep_raw(byte) {
            push_escaped(cur, byte);
        } else {
            cur.push(byte as char);
        }
    }
}

/// The segments of `raw` under `interp`: `"/"` → `[""]`, `"/a/b/"` →
/// `["a", "b", ""]`, dot segments resolved (RFC 3986 5.2.4).
fn canonical_segments(raw: &str, reading: Reading) -> Vec<String> {
    let raw = raw.split(['?', '#']).next().unwrap_or("");
    let raw = raw.strip_prefix('/').unwrap_or(raw);
    let mut segs = Vec::new();
    let mut cur = String::new();
    read_into(
        raw.as_bytes(),
        reading.has(Reading::SPLIT_ENCODED),
        &mut segs,
        &mut cur,
    );
    segs.push(cur);
    if reading.has(Reading::STRIP_PARAMS) {
        for s in &mut segs {
            if let Some(i) = s.find(';') {
                s.truncate(i);
            }
        }
    }
    if reading.has(Reading::MERGE_SLASHES) {
        let n = segs.len();
        let mut k = 0;
        segs.retain(|s| {
            k += 1;
            !s.is_empty() || k == n
        });
    }
    let n = segs.len();
    let mut out: Vec<String> = Vec::with_capacity(n);
    if reading.has(Reading::KEEP_DOTS) {
        out = segs;
    } else {
        for (k, s) in segs.into_iter().enumerate() {
            let last = k + 1 == n;
            match s.as_str() {
                "." | ".." => {
                    if s == ".." {
                        out.pop();
                    }
                    if last {
                        out.push(String::new());
                    }
                }
                _ => out.push(s),
            }
        }
    }
    if reading.has(Reading::TRIM_TRAILING)
        && out.len() > 1
        && out.last().is_some_and(String::is_empty)
    {
        out.pop();
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

/// The canonical literal reading of a raw path (no decoding of `%2F`, no
/// parameter stripping, `//` and trailing `/` kept, dot segments resolved):
/// what rules are matched against for an ordinary path. For logs and tests.
pub fn normalize_path(raw: &str) -> String {
    let segs = canonical_segments(raw, Reading::LITERAL);
    format!("/{}", segs.join("/"))
}

/// The [`Reading`] flags that can change how `path` reads. Splitting on escapes or `\` and stripping `;params` can each
/// create empty, dot or trailing segments that the other readings then act
/// on (`/;/admin` strips to `//admin`, which merges to `/admin`), so a path
/// holding `%`, `\` or `;` is read all 32 ways. Otherwise only merging `//`,
/// resolving dot segments and trimming can matter; trimming always does, as
/// it also drops the trailing `/` of patterns (`/admin/` covers `/admin`).
/// An ordinary path is thus read 2 ways, not 32.
fn relevant_flags(path: &str) -> u8 {
    let path = path.split(['?', '#']).next().unwrap_or("");
    if path.contains(['%', '\\', ';']) {
        return Reading::ALL;
    }
    let mut flags = Reading::TRIM_TRAILING;
    if path.contains("//") {
        flags |= Reading::MERGE_SLASHES;
    }
    if path.contains('.') {
        flags |= Reading::KEEP_DOTS;
    }
    flags
}

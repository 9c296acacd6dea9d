//! Absolute `http`/`https` URLs: the request URLs the runtime hands over
//! (already normalized by it) and the URLs of the configuration
//! (`ORIGIN_URL`, `LOGIN_URL`, `ALLOWED_ORIGINS`). This is all the URL
//! handling the Worker needs, without a general URL library (whose IDNA and
//! parsing tables cost about 50 KB of wasm):
//!
//! - visible ASCII only (hosts of vars are written in punycode, `xn--…`);
//! - the scheme and host are lower-cased, the default port dropped, an empty
//!   path read as `/`, as WHATWG URL serialization does;
//! - the path, query and fragment are kept as written (the runtime has
//!   already percent-encoded a request's).

use std::borrow::Cow;
use std::fmt;

use percent_encoding::percent_decode;

/// Why a text is not an absolute http(s) URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlError {
    /// Not `http://` or `https://` followed by a host.
    NotHttp,
    /// A byte that is not visible ASCII (spaces and control characters included).
    NotVisibleAscii,
    /// The host is empty or holds a character hosts never hold.
    BadHost,
    /// The port is not a number from 0 to 65535.
    BadPort,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlError::NotHttp => "is not an absolute http(s) URL",
            UrlError::NotVisibleAscii => "must be visible ASCII (write hosts in punycode)",
            UrlError::BadHost => "has no valid host",
            UrlError::BadPort => "has an invalid port",
        })
    }
}

impl std::error::Error for UrlError {}

/// An absolute http(s) URL, normalized and split into its parts.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// The serialization: `scheme://host[:port]path[?query][#fragment]`.
    text: String,
    /// End of `scheme://host[:port]`, where the path starts.
    path_start: usize,
    /// Where `?` is, if any.
    query_start: Option<usize>,
    /// Where `#` is, if any.
    fragment_start: Option<usize>,
    /// Whether the authority held `user[:password]@`, which is dropped.
    had_credentials: bool,
}

impl fmt::Debug for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HttpUrl({})", self.text)
    }
}

impl HttpUrl {
    /// Parses an absolute http(s) URL (see the module docs).
    pub fn parse(text: &str) -> Result<HttpUrl, UrlError> {
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(UrlError::NotVisibleAscii);
        }
        let (scheme, rest) = if let Some(rest) = strip_prefix_ci(text, "https://") {
            ("https", rest)
        } else if let Some(rest) = strip_prefix_ci(text, "http://") {
            ("http", rest)
        } else {
            return Err(UrlError::NotHttp);
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let (had_credentials, host_port) = match authority.rfind('@') {
            Some(at) => (true, &authority[at + 1..]),
            None => (false, authority),
        };
        let (host, port) = split_host_port(host_port)?;
        let default_port = if scheme == "https" { 443 } else { 80 };
        let mut out = format!("{scheme}://{host}");
        if let Some(port) = port.filter(|&p| p != default_port) {
            out.push(':');
            out.push_str(&port.to_string());
        }
        let path_start = out.len();
        if !tail.starts_with('/') {
            out.push('/');
        }
        out.push_str(tail);
        let query_start = out[path_start..].find(['?', '#']).and_then(|i| {
            let i = path_start + i;
            (out.as_bytes()[i] == b'?').then_some(i)
        });
        let fragment_start = out[path_start..].find('#').map(|i| path_start + i);
        Ok(HttpUrl {
            text: out,
            path_start,
            query_start,
            fragment_start,
            had_credentials,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        &self.text[..self.text.find(':').unwrap_or(0)]
    }

    /// `scheme://host[:port]` (ASCII serialization of the origin).
    pub fn origin(&self) -> &str {
        &self.text[..self.path_start]
    }

    /// The host (lower-cased; an IPv6 literal keeps its brackets).
    pub fn host(&self) -> &str {
        let authority = &self.text[self.scheme().len() + 3..self.path_start];
        match authority.rfind(':') {
            Some(colon) if !authority[colon..].contains(']') => &authority[..colon],
            _ => authority,
        }
    }

    /// Whether the host is this machine: `localhost` (and `*.localhost`),
    /// `127.0.0.0/8`, `[::1]`. Nothing on the Internet routes such a
    /// request: a Worker seeing one runs on a local development server.
    pub fn is_loopback(&self) -> bool {
        let host = self.host();
        if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            return v6.parse::<std::net::Ipv6Addr>().is_ok_and(|ip| {
                ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            });
        }
        host == "localhost"
            || host.ends_with(".localhost")
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// The path, `/` at least, still percent-encoded.
    pub fn path(&self) -> &str {
        let end = self
            .query_start
            .or(self.fragment_start)
            .unwrap_or(self.text.len());
        &self.text[self.path_start..end]
    }

    /// The query without `?`, when there is one.
    pub fn query(&self) -> Option<&str> {
        let start = self.query_start? + 1;
        let end = self.fragment_start.unwrap_or(self.text.len());
        Some(&self.text[start..end])
    }

    /// The fragment without `#`, when there is one.
    pub fn fragment(&self) -> Option<&str> {
        Some(&self.text[self.fragment_start? + 1..])
    }

    /// The path and the query (with its `?`), without the fragment.
    pub fn path_and_query(&self) -> &str {
        &self.text[self.path_start..self.fragment_start.unwrap_or(self.text.len())]
    }

    /// Whether the URL was written with `user[:password]@` (dropped).
    pub fn had_credentials(&self) -> bool {
        self.had_credentials
    }

    /// The query's `name=value` pairs as `application/x-www-form-urlencoded`
    /// reads them: `+` is a space, escapes decoded (bytes that are not UTF-8
    /// replaced), empty pieces skipped.
    pub fn query_pairs(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
        self.query()
            .unwrap_or("")
            .split('&')
            .filter(|piece| !piece.is_empty())
            .map(|piece| {
                let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
                (form_decode(name), form_decode(value))
            })
    }
}

impl std::str::FromStr for HttpUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<HttpUrl, UrlError> {
        HttpUrl::parse(s)
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The lower-cased host and the port of `host[:port]`; an IPv6 host keeps
/// its brackets.
fn split_host_port(host_port: &str) -> Result<(String, Option<u16>), UrlError> {
    let (host, port) = if host_port.starts_with('[') {
        let end = host_port.find(']').ok_or(UrlError::BadHost)?;
        let (host, rest) = host_port.split_at(end + 1);
        let inner = &host[1..host.len() - 1];
        if inner.is_empty()
            || !inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(UrlError::BadHost);
        }
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':').ok_or(UrlError::BadHost)?)),
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if !host.starts_with('[')
        && (host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')))
    {
        return Err(UrlError::BadHost);
    }
    let port = match port {
        None | Some("") => None,
        Some(p) if p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().map_err(|_| UrlError::BadPort)?)
        }
        Some(_) => return Err(UrlError::BadPort),
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// One `application/x-www-form-urlencoded` name or value, decoded.
fn form_decode(s: &str) -> Cow<'_, str> {
    if !s.contains(['+', '%']) {
        return Cow::Borrowed(s);
    }
    let spaced = s.replace('+', " ");
    Cow::Owned(
        percent_decode(spaced.as_bytes())
            .decode_utf8_lossy()
            .into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> HttpUrl {
        HttpUrl::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn host_and_loopback() {
        assert_eq!(
            url("https://App.Example.com:8443/x").host(),
            "app.example.com"
        );
        assert_eq!(url("http://[::1]:8787/").host(), "[::1]");
        assert_eq!(url("http://127.0.0.1/").host(), "127.0.0.1");
        for local in [
            "http://localhost:8787/",
            "http://LOCALHOST/",
            "http://app.localhost/",
            "http://127.0.0.1:8787/a",
            "http://127.5.6.7/",
            "http://[::1]:8787/",
            "http://[0:0:0:0:0:0:0:1]/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            assert!(url(local).is_loopback(), "{local}");
        }
        for remote in [
            "https://app.example.com/",
            "http://localhost.example.com/",
            "http://mylocalhost/",
            "http://128.0.0.1/",
            "http://10.0.0.1/",
            "http://[::2]/",
            "http://[2001:db8::1]/",
            "http://127.0.0.1.example/",
        ] {
            assert!(!url(remote).is_loopback(), "{remote}");
        }
    }

    #[test]
    fn parts() {
        let u = url("https://App.Example.com:8443/a/b%2Fc?q=1&r=%20#frag");
        assert_eq!(
            u.as_str(),
            "https://app.example.com:8443/a/b%2Fc?q=1&r=%20#frag"
        );
        assert_eq!(u.scheme(), "https");
        assert_eq!(u.origin(), "https://app.example.com:8443");
        assert_eq!(u.path(), "/a/b%2Fc");
        assert_eq!(u.query(), Some("q=1&r=%20"));
        assert_eq!(u.fragment(), Some("frag"));
        assert_eq!(u.path_and_query(), "/a/b%2Fc?q=1&r=%20");
        let bare = url("HTTP://LOCALHOST:80");
        assert_eq!(bare.as_str(), "http://localhost/");
        assert_eq!(
            (bare.path(), bare.query(), bare.fragment()),
            ("/", None, None)
        );
        assert_eq!(url("https://a.example?x").path_and_query(), "/?x");
        assert_eq!(url("https://a.example#f").path(), "/");
        assert_eq!(url("https://a.example/p#f?g").query(), None);
        assert_eq!(url("https://a.example:443/").origin(), "https://a.example");
        assert_eq!(url("http://[::1]:8787/x").origin(), "http://[::1]:8787");
        assert_eq!(
            url("http://127.0.0.1:8787/").origin(),
            "http://127.0.0.1:8787"
        );
        assert_eq!(url("https://a.example:/").origin(), "https://a.example");
        let creds = url("https://user:pw@a.example/");
        assert!(creds.had_credentials());
        assert_eq!(
            creds.as_str(),
            "https://a.example/",
            "credentials are dropped"
        );
    }

    #[test]
    fn refusals() {
        for (s, e) in [
            ("ftp://a.example", UrlError::NotHttp),
            ("a.example", UrlError::NotHttp),
            ("/path", UrlError::NotHttp),
            ("https:a.example", UrlError::NotHttp),
            ("https://", UrlError::BadHost),
            ("https:///x", UrlError::BadHost),
            ("https://a b.example", UrlError::NotVisibleAscii),
            ("https://bücher.example", UrlError::NotVisibleAscii),
            ("https://a\tb", UrlError::NotVisibleAscii),
            ("https://a%41.example", UrlError::BadHost),
            ("https://a.example:99999", UrlError::BadPort),
            ("https://a.example:8x", UrlError::BadPort),
            ("https://[zz]/", UrlError::BadHost),
            ("https://[::1/", UrlError::BadHost),
        ] {
            assert_eq!(HttpUrl::parse(s), Err(e), "{s}");
        }
    }

    #[test]
    fn query_pairs_decode_like_forms() {
        let u = url("https://a.example/?limit=10&cursor=a%2Bb+c&&empty=&flag&x=%FF");
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("limit".into(), "10".into()),
                ("cursor".into(), "a+b c".into()),
                ("empty".into(), "".into()),
                ("flag".into(), "".into()),
                ("x".into(), "\u{fffd}".into()),
            ]
        );
        assert_eq!(url("https://a.example/").query_pairs().count(), 0);
    }
}

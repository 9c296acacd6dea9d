//! The page a person sees when the guard refuses their browser's navigation
//! (contract §6): a small, self-contained HTML page with the problem's
//! status, code and one-line reason, instead of problem+json.
//!
//! ```ignore
//! let response = page::refusal(&head, &Problem::from(ErrorCode::Forbidden));
//! // Accept: text/html → 403, text/html, "Forbidden … forbidden"; else problem+json
//! ```
//!
//! A request gets the page when its `Accept` holds `text/html` (any method:
//! a refused sign-in form is a POST) and the refusal is one a person may
//! meet: 401 (when no `LOGIN_URL` redirect applies), 403, 429 or 503. The
//! page has no script, no link to anything outside it (a
//! `Content-Security-Policy` of `default-src 'none'`), and every text in it
//! escaped; the headers of the problem (`Retry-After`, `WWW-Authenticate`,
//! `Cache-Control: no-store`) are the same as with problem+json.

use http::header::{
    HeaderValue, ACCEPT, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use http::{Response, StatusCode};

use crate::problem::Problem;
use crate::request::RequestHead;

/// `Content-Type` of the page.
pub const HTML_CONTENT_TYPE: &str = "text/html; charset=utf-8";
/// Its `Content-Security-Policy`: nothing but its own inline style.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Whether `head` accepts HTML: its `Accept` holds `text/html` (any case).
pub fn accepts_html(head: &RequestHead) -> bool {
    head.headers.get_all(ACCEPT).iter().any(|v| {
        v.as_bytes()
            .windows(9)
            .any(|w| w.eq_ignore_ascii_case(b"text/html"))
    })
}

/// Whether a refusal with this status gets the page (see the module docs).
pub fn has_page(status: StatusCode) -> bool {
    matches!(status.as_u16(), 401 | 403 | 429 | 503)
}

/// The answer to `head` refused with `problem`: the page for a browser
/// that accepts HTML (see the module docs), problem+json otherwise.
pub fn refusal(head: &RequestHead, problem: &Problem) -> Response<Vec<u8>> {
    if accepts_html(head) && has_page(problem.status()) {
        html_response(problem)
    } else {
        problem.to_response()
    }
}

/// The page of `problem`, with its status and headers.
pub fn html_response(problem: &Problem) -> Response<Vec<u8>> {
    let mut res = Response::new(render(problem).into_bytes());
    *res.status_mut() = problem.status();
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(HTML_CONTENT_TYPE));
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    problem.add_headers(h);
    res
}

/// The HTML of the page.
pub fn render(problem: &Problem) -> String {
    let status = problem.status().as_u16();
    let title = escape(problem.code.title());
    let detail = escape(&problem.detail);
    let code = escape(problem.code.as_str());
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{status} {title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:#f6f6f4;color:#222}}main{{max-width:34rem;padding:2rem}}h1{{font-size:1.4rem;margin:0 0 .5rem}}p{{margin:.5rem 0}}.code{{color:#666;font-size:.9rem}}</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p id="reason">{detail}</p>
<p class="code">{status} · <code id="code">{code}</code></p>
<p><a href="/">Home</a></p>
</main>
</body>
</html>
"#
    )
}

/// `text` safe in HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::ErrorCode;

    #[test]
    fn escapes_every_markup_character() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        let page = render(&Problem::new(ErrorCode::Forbidden, "<img src=x onerror=1>"));
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("&lt;img src=x onerror=1&gt;"));
    }

    #[test]
    fn statuses_with_a_page() {
        for code in ErrorCode::ALL {
            let expected = matches!(code.status().as_u16(), 401 | 403 | 429 | 503);
            assert_eq!(has_page(code.status()), expected, "{code}");
        }
    }
}

//! The forwarded request's headers as a plan: what to remove from the
//! request's own headers and what to append. The Worker copies the
//! request's `Headers` natively and applies the plan; nothing else is
//! rebuilt from lines. When deleting by name cannot work ([`HeaderPlan::rebuild`]),
//! it goes through the request's headers once instead, leaving out the
//! removed names and every name that is not a token.
//!
//! ```
//! # use http::{HeaderMap, HeaderValue};
//! # use session_http::guard::HeaderPlan;
//! # let config = session_http::config::Config::from_vars(|_| None).unwrap();
//! let mut request = HeaderMap::new();
//! request.insert("x-session-user", HeaderValue::from_static("admin"));
//! request.insert("cookie", HeaderValue::from_static("a=1; __Host-session=es1.x"));
//! request.insert("accept", HeaderValue::from_static("*/*"));
//! let plan = HeaderPlan::of(&config, &request);
//! assert_eq!(plan.remove(), ["x-session-user", "cookie"]);
//! let sent = plan.apply(&request);
//! assert_eq!(sent["cookie"], "a=1");
//! assert_eq!(sent["accept"], "*/*");
//! assert!(sent.get("x-session-user").is_none());
//! ```

use std::collections::HashSet;

use http::header::{GetAll, AUTHORIZATION, COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::bearer::without_our_credentials;
use crate::config::Config;
use crate::cookie::without_cookie;
use crate::identity::{is_override_header, is_session_header};

/// What becomes of the request's headers on their way to the origin: every
/// value of each name in [`HeaderPlan::remove`] deleted, then each pair of
/// [`HeaderPlan::add`] appended, in order ([`HeaderPlan::apply`]).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HeaderPlan {
    remove: Vec<String>,
    add: Vec<(HeaderName, HeaderValue)>,
    /// The request holds a name that is not a token: see [`HeaderPlan::rebuild`].
    unnamable: bool,
}

/// What is left of a header's lines once stripped; `None`: unchanged.
type Strip<'s> = dyn Fn(&GetAll<'_, HeaderValue>) -> Option<Vec<HeaderValue>> + 's;

/// Up to this many removals the Worker deletes names from its copy one by
/// one (each `Headers.delete` goes through every header); above it, it
/// builds the copy leaving them out, in one pass.
pub const MAX_DELETES: usize = 16;

impl HeaderPlan {
    /// The request's headers minus every `X-Session-*` header and
    /// request-override header (any spelling, see [`crate::identity`]) and,
    /// unless `FORWARD_TOKEN=true`, the session cookie ([`crate::cookie::strip_cookie`])
    /// and our bearer credentials ([`crate::bearer::strip_our_authorization`]); other
    /// cookies and credentials are the origin's and are kept, a rewritten
    /// `Cookie` or `Authorization` removed and appended again.
    pub fn of(config: &Config, request: &HeaderMap) -> HeaderPlan {
        let mut plan = HeaderPlan::default();
        for name in request.keys() {
            if is_session_header(name.as_str()) || is_override_header(name.as_str()) {
                plan.remove.push(name.as_str().to_owned());
            }
        }
        if !config.forward_token {
            plan.rewrite(request, COOKIE, &|v| without_cookie(v, &config.cookie_name));
            plan.rewrite(request, AUTHORIZATION, &without_our_credentials);
        }
        plan
    }

    /// `strip` applied to the values of `name` alone; when it changes them
    /// (`Some`), `name` is removed and what is left appended.
    fn rewrite(&mut self, request: &HeaderMap, name: HeaderName, strip: &Strip) {
        let Some(kept) = strip(&request.get_all(name.clone())) else {
            return;
        };
        self.remove.push(name.as_str().to_owned());
        for value in kept {
            self.add.push((name.clone(), value));
        }
    }

    /// Sets one of our own headers (`X-Session-*`: every client-sent one is
    /// already removed), replacing an earlier value of the plan.
    pub fn set(&mut self, name: HeaderName, value: HeaderValue) {
        self.add.retain(|(n, _)| *n != name);
        self.add.push((name, value));
    }

    /// Also removes headers the runtime handed but `http` could not read
    /// (a value with a control byte, or a name with bytes outside ASCII):
    /// the guard never saw them, so they are not forwarded either. Readable
    /// values of such a name are kept. Linear in the names: a client may
    /// send thousands.
    pub fn remove_unread(&mut self, unread: &[String], request: &HeaderMap) {
        let mut removed: HashSet<String> = self.remove.iter().cloned().collect();
        for name in unread {
            let name = name.to_ascii_lowercase();
            if removed.contains(&name) {
                continue;
            }
            match HeaderName::from_bytes(name.as_bytes()) {
                Ok(header) => {
                    for value in request.get_all(header.clone()) {
                        self.add.push((header.clone(), value.clone()));
                    }
                }
                // The runtime hands such a name with U+FFFD for each byte
                // outside ASCII, so no delete by that name matches it.
                Err(_) => self.unnamable = true,
            }
            removed.insert(name.clone());
            self.remove.push(name);
        }
    }

    /// Whether the Worker must build the forwarded headers in one pass over
    /// the request's (leaving out every removed name and every name that is
    /// not a token) instead of deleting the removed names from a copy: a
    /// name with bytes outside ASCII cannot be named to `Headers.delete`,
    /// and more than [`MAX_DELETES`] deletes, each a pass, would be
    /// quadratic in what a client sends.
    pub fn rebuild(&self) -> bool {
        self.unnamable || self.remove.len() > MAX_DELETES
    }

    /// Names whose every value goes, lower-case.
    pub fn remove(&self) -> &[String] {
        &self.remove
    }

    /// Pairs appended after the removals, in order.
    pub fn add(&self) -> &[(HeaderName, HeaderValue)] {
        &self.add
    }

    /// The headers sent: the plan applied to `request` as the Worker applies
    /// it to the request's `Headers`.
    pub fn apply(&self, request: &HeaderMap) -> HeaderMap {
        let mut headers = request.clone();
        for name in &self.remove {
            headers.remove(name.as_str());
        }
        for (name, value) in &self.add {
            headers.append(name, value.clone());
        }
        headers
    }

    /// Names of the headers removed and added (never values: `Debug`).
    fn names(&self) -> (Vec<&str>, Vec<&str>) {
        (
            self.remove.iter().map(String::as_str).collect(),
            self.add.iter().map(|(n, _)| n.as_str()).collect(),
        )
    }
}

impl std::fmt::Debug for HeaderPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (remove, add) = self.names();
        f.debug_struct("HeaderPlan")
            .field("remove", &remove)
            .field("add", &add)
            .finish()
    }
}

//! The forwarded request's headers as a plan: what to remove from the
//! request's own headers and what to append. The Worker copies the
//! request's `Headers` natively and applies the plan; nothing else is
//! rebuilt from lines.
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

use http::header::{AUTHORIZATION, COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::bearer::strip_our_authorization;
use crate::config::Config;
use crate::cookie::strip_cookie;
use crate::identity::{is_override_header, is_session_header};

/// What becomes of the request's headers on their way to the origin: every
/// value of each name in [`HeaderPlan::remove`] deleted, then each pair of
/// [`HeaderPlan::add`] appended, in order ([`HeaderPlan::apply`]).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HeaderPlan {
    remove: Vec<String>,
    add: Vec<(HeaderName, HeaderValue)>,
}

impl HeaderPlan {
    /// The request's headers minus every `X-Session-*` header and
    /// request-override header (any spelling, see [`crate::identity`]) and,
    /// unless `FORWARD_TOKEN=true`, the session cookie ([`strip_cookie`])
    /// and our bearer credentials ([`strip_our_authorization`]); other
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
            plan.rewrite(request, COOKIE, &|h| strip_cookie(h, &config.cookie_name));
            plan.rewrite(request, AUTHORIZATION, &strip_our_authorization);
        }
        plan
    }

    /// `strip` applied to the values of `name` alone; when it changes them,
    /// `name` is removed and what is left appended.
    fn rewrite(&mut self, request: &HeaderMap, name: HeaderName, strip: &dyn Fn(&mut HeaderMap)) {
        // Keys passed by value, as the rest of the crate does: one copy of
        // `HeaderMap`'s generic methods fewer in the wasm.
        let values = request.get_all(name.clone());
        if values.iter().next().is_none() {
            return;
        }
        let mut only = HeaderMap::new();
        for value in values.iter() {
            only.append(name.clone(), value.clone());
        }
        strip(&mut only);
        let kept = only.get_all(name.clone());
        if kept == values {
            return;
        }
        self.remove.push(name.as_str().to_owned());
        for value in kept {
            self.add.push((name.clone(), value.clone()));
        }
    }

    /// Sets one of our own headers (`X-Session-*`: every client-sent one is
    /// already removed), replacing an earlier value of the plan.
    pub fn set(&mut self, name: HeaderName, value: HeaderValue) {
        self.add.retain(|(n, _)| *n != name);
        self.add.push((name, value));
    }

    /// Also removes headers the runtime handed but `http` could not read
    /// (a value with a control byte): the guard never saw them, so they are
    /// not forwarded either. Readable values of such a name are kept.
    pub fn remove_unread(&mut self, unread: &[String], request: &HeaderMap) {
        for name in unread {
            let name = name.to_ascii_lowercase();
            if self.remove.contains(&name) {
                continue;
            }
            if let Ok(header) = HeaderName::from_bytes(name.as_bytes()) {
                for value in request.get_all(header.clone()) {
                    self.add.push((header.clone(), value.clone()));
                }
            }
            self.remove.push(name);
        }
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

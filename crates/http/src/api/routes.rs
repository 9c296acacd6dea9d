//! The routes of the session API: path templates, methods, and matching.

/// Every route: its path template under the prefix and its methods. The
/// OpenAPI test checks this table against the document, both ways.
pub const ROUTES: &[(&str, &[&str])] = &[
    ("/session", &["GET", "PATCH", "DELETE"]),
    ("/session/refresh", &["POST"]),
    ("/sessions", &["GET", "DELETE"]),
    ("/sessions/{id}", &["DELETE"]),
    ("/admin/sessions", &["GET", "POST"]),
    ("/admin/verify", &["POST"]),
    ("/admin/sessions/{id}", &["GET", "PATCH", "DELETE"]),
    ("/admin/users/{userId}/sessions", &["GET", "DELETE"]),
    ("/openapi.json", &["GET"]),
    ("/.well-known/jwks.json", &["GET"]),
];

/// A matched route, with its path parameter still percent-encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Route<'a> {
    Session,
    Refresh,
    Sessions,
    SessionById(&'a str),
    AdminSessions,
    AdminVerify,
    AdminSessionById(&'a str),
    AdminUserSessions(&'a str),
    OpenApi,
    Jwks,
}

impl<'a> Route<'a> {
    /// Matches the path below the prefix (starting with `/`).
    pub(super) fn parse(subpath: &'a str) -> Option<Route<'a>> {
        let segments: Vec<&str> = subpath[1..].split('/').collect();
        let param = |s: &'a str| (!s.is_empty()).then_some(s);
        Some(match segments.as_slice() {
            ["session"] => Route::Session,
            ["session", "refresh"] => Route::Refresh,
            ["sessions"] => Route::Sessions,
            ["sessions", id] => Route::SessionById(param(id)?),
            ["admin", "sessions"] => Route::AdminSessions,
            ["admin", "verify"] => Route::AdminVerify,
            ["admin", "sessions", id] => Route::AdminSessionById(param(id)?),
            ["admin", "users", user, "sessions"] => Route::AdminUserSessions(param(user)?),
            ["openapi.json"] => Route::OpenApi,
            [".well-known", "jwks.json"] => Route::Jwks,
            _ => return None,
        })
    }

    pub(super) fn methods(&self) -> &'static [&'static str] {
        let template = match self {
            Route::Session => "/session",
            Route::Refresh => "/session/refresh",
            Route::Sessions => "/sessions",
            Route::SessionById(_) => "/sessions/{id}",
            Route::AdminSessions => "/admin/sessions",
            Route::AdminVerify => "/admin/verify",
            Route::AdminSessionById(_) => "/admin/sessions/{id}",
            Route::AdminUserSessions(_) => "/admin/users/{userId}/sessions",
            Route::OpenApi => "/openapi.json",
            Route::Jwks => "/.well-known/jwks.json",
        };
        ROUTES
            .iter()
            .find(|(t, _)| *t == template)
            .map_or(&[], |(_, m)| m)
    }
}

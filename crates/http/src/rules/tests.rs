//! Tests of rule parsing, patterns and path readings.

use super::pattern::glob_match;
use super::*;

fn rules(json: &str) -> Rules {
    Rules::parse(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn err(json: &str) -> String {
    Rules::parse(json).expect_err(json)
}

fn role(n: &str) -> Access {
    Access::Role(n.into())
}

fn get(r: &Rules, path: &str) -> Access {
    r.access_for("GET", path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .clone()
}

// --- parsing -----------------------------------------------------------

#[test]
fn empty_rules_need_a_session_everywhere() {
    let r = rules("[]");
    assert!(r.is_empty());
    assert_eq!(get(&r, "/"), Access::Session);
    assert_eq!(get(&r, "/anything/at/all"), Access::Session);
    assert_eq!(Rules::default(), r);
}

#[test]
fn parses_all_fields() {
    let r = rules(
        r#"[{"path":"/a","methods":["get","Post","GET"],"access":"public"},
            {"path":"/b/**","access":"role:admin"},
            {"path":"/c/*","access":"session"}]"#,
    );
    assert_eq!(r.len(), 3);
    let v: Vec<_> = r.iter().collect();
    assert_eq!(v[0].path(), "/a");
    assert_eq!(
        v[0].methods(),
        Some(&["GET".to_string(), "POST".to_string()][..])
    );
    assert_eq!(v[0].access(), &Access::Public);
    assert_eq!(v[1].methods(), None);
    assert_eq!(v[1].access(), &role("admin"));
    assert_eq!(v[2].access(), &Access::Session);
}

#[test]
fn top_level_errors() {
    assert!(err("").starts_with("GUARD_RULES: not valid JSON"));
    assert!(err("[{]").starts_with("GUARD_RULES: not valid JSON"));
    assert_eq!(err("{}"), "GUARD_RULES: must be a JSON array of rules");
    assert_eq!(err("null"), "GUARD_RULES: must be a JSON array of rules");
    let many = format!(
        "[{}]",
        vec![r#"{"path":"/","access":"public"}"#; 257].join(",")
    );
    assert_eq!(err(&many), "GUARD_RULES: 257 rules, at most 256 allowed");
    let ok = format!(
        "[{}]",
        vec![r#"{"path":"/","access":"public"}"#; 256].join(",")
    );
    assert_eq!(rules(&ok).len(), 256);
    let huge = format!("[\"{}\"]", "x".repeat(MAX_RULES_JSON_BYTES));
    assert!(err(&huge).contains("longer than"));
    // Deep nesting is refused by serde_json, not a stack overflow.
    let deep = "[".repeat(100_000);
    assert!(err(&deep).starts_with("GUARD_RULES: "));
}

#[test]
fn rule_errors_name_index_and_field() {
    assert_eq!(err(r#"[1]"#), "GUARD_RULES[0]: must be an object");
    assert_eq!(
        err(r#"[{"path":"/","access":"public"},{"path":"/x","access":"public","role":"a"}]"#),
        "GUARD_RULES[1]: has an unknown field (allowed: path, methods, access, fresh, limit)"
    );
    assert_eq!(
        err(r#"[{"access":"public"}]"#),
        "GUARD_RULES[0].path: missing"
    );
    assert_eq!(err(r#"[{"path":"/"}]"#), "GUARD_RULES[0].access: missing");
    assert_eq!(
        err(r#"[{"path":5,"access":"public"}]"#),
        "GUARD_RULES[0].path: must be a string"
    );
    assert_eq!(
        err(r#"[{"path":"/","access":true}]"#),
        "GUARD_RULES[0].access: must be a string"
    );
    let e = err(
        r#"[{"path":"/","access":"public"},{"path":"/","access":"public"},{"path":"/","access":"Public"}]"#,
    );
    assert!(
        e.starts_with("GUARD_RULES[2].access: must be \"public\""),
        "{e}"
    );
    assert_eq!(
        err(r#"[{"path":"/","access":"role:"}]"#),
        "GUARD_RULES[0].access: role name must not be empty (\"role:NAME\")"
    );
    assert!(err(r#"[{"path":"/","access":"role: admin"}]"#).contains("whitespace"));
    assert!(err(r#"[{"path":"/","access":"role:a\u0000"}]"#).contains("control"));
    let long_role = format!(r#"[{{"path":"/","access":"role:{}"}}]"#, "r".repeat(129));
    assert!(err(&long_role).starts_with("GUARD_RULES[0].access: role name must be at most"));
}

#[test]
fn method_errors() {
    let m = |methods: &str| {
        err(&format!(
            r#"[{{"path":"/","methods":{methods},"access":"public"}}]"#
        ))
    };
    assert_eq!(
        m("[]"),
        "GUARD_RULES[0].methods: must not be empty (omit it to match every method)"
    );
    assert_eq!(
        m("\"GET\""),
        "GUARD_RULES[0].methods: must be an array of method names"
    );
    assert_eq!(
        m("[1]"),
        "GUARD_RULES[0].methods: must be an array of strings"
    );
    assert_eq!(
        m("[\"GE T\"]"),
        "GUARD_RULES[0].methods: entry 0 is not an HTTP method name"
    );
    assert_eq!(
        m("[\"GET\", \"\"]"),
        "GUARD_RULES[0].methods: entry 1 is not an HTTP method name"
    );
    assert!(m("[\"GET(\"]").contains("not an HTTP method"));
    let many = format!("[{}]", vec!["\"GET\""; 33].join(","));
    assert!(m(&many).contains("at most 32"));
}

#[test]
fn path_pattern_errors() {
    let p = |path: &str| {
        let json = serde_json::json!([{ "path": path, "access": "public" }]).to_string();
        err(&json)
    };
    assert_eq!(p(""), "GUARD_RULES[0].path: must not be empty");
    assert!(p("assets/*").contains("must start with \"/\""));
    for bad in ["/a?b", "/a#b", "/a;b", "/a b", "/a\\b", "/a\u{1}"] {
        assert!(
            p(bad).contains("must not contain ?, #, ;, \\, whitespace or control"),
            "{bad}"
        );
    }
    assert!(p("/a//b").contains("\"//\""));
    assert!(p("/a//**").contains("\"//\""));
    assert!(p("/a/**/b").contains("final segment"));
    assert!(p("/a**").contains("final segment"));
    assert!(p("/a/./b").contains("\".\" or \"..\""));
    assert!(p("/a/../b").contains("\".\" or \"..\""));
    assert!(p("/a/%2e%2E/b").contains("\".\" or \"..\""));
    assert!(p("/a%2fb").contains("encoded slash"));
    assert!(p("/a%5Cb").contains("encoded slash"));
    let long = format!("/{}", "a".repeat(MAX_PATTERN_BYTES));
    assert!(p(&long).contains("longer than 1024"));
    let max = format!("/{}", "a".repeat(MAX_PATTERN_BYTES - 1));
    let json = serde_json::json!([{ "path": max, "access": "public" }]).to_string();
    assert!(Rules::parse(&json).is_ok());
}

// --- matching ----------------------------------------------------------

#[test]
fn exact_paths() {
    let r = rules(r#"[{"path":"/login","access":"public"},{"path":"/","access":"public"}]"#);
    assert_eq!(get(&r, "/login"), Access::Public);
    assert_eq!(get(&r, "/"), Access::Public);
    assert_eq!(get(&r, ""), Access::Public);
    assert_eq!(get(&r, "/login/x"), Access::Session);
    assert_eq!(get(&r, "/loginx"), Access::Session);
    assert_eq!(get(&r, "/logi"), Access::Session);
    // Query and fragment are not part of the path.
    assert_eq!(get(&r, "/login?next=/admin"), Access::Public);
}

#[test]
fn trailing_slash_on_exact_rule_is_treated_as_the_same_path() {
    // Public exact rule: `/login/` reads as `/login` for origins that
    // ignore trailing slashes, but as its own path for others; the
    // stricter (unmatched = session) wins.
    let r = rules(r#"[{"path":"/login","access":"public"}]"#);
    assert_eq!(get(&r, "/login/"), Access::Session);
    // A pattern written with a trailing slash gives its access to that
    // form; `/docs` may be another resource, so it stays strict.
    let r = rules(r#"[{"path":"/docs/","access":"public"}]"#);
    assert_eq!(get(&r, "/docs/"), Access::Public);
    assert_eq!(get(&r, "/docs"), Access::Session);
    let r = rules(r#"[{"path":"/docs/","access":"public"},{"path":"/docs","access":"public"}]"#);
    assert_eq!(get(&r, "/docs/"), Access::Public);
    assert_eq!(get(&r, "/docs"), Access::Public);
    // Role on the slash form covers the bare form too.
    let r = rules(r#"[{"path":"/admin/","access":"role:a"},{"path":"/**","access":"public"}]"#);
    assert_eq!(get(&r, "/admin"), role("a"));
    assert_eq!(get(&r, "/admin/"), role("a"));
}

#[test]
fn single_segment_star() {
    let r = rules(
        r#"[{"path":"/assets/*","access":"public"},{"path":"/img/*.png","access":"public"},{"path":"/u/*/avatar","access":"public"},{"path":"/x/a*b*c","access":"public"}]"#,
    );
    assert_eq!(get(&r, "/assets/app.js"), Access::Public);
    assert_eq!(get(&r, "/assets/a/b.js"), Access::Session);
    assert_eq!(get(&r, "/assets"), Access::Session);
    assert_eq!(get(&r, "/img/logo.png"), Access::Public);
    assert_eq!(get(&r, "/img/.png"), Access::Public);
    assert_eq!(get(&r, "/img/logo.jpg"), Access::Session);
    assert_eq!(get(&r, "/img/a/b.png"), Access::Session);
    assert_eq!(get(&r, "/u/42/avatar"), Access::Public);
    assert_eq!(get(&r, "/u/42/avatar/x"), Access::Session);
    assert_eq!(get(&r, "/u/avatar"), Access::Session);
    assert_eq!(get(&r, "/x/abc"), Access::Public);
    assert_eq!(get(&r, "/x/a--b--c"), Access::Public);
    assert_eq!(get(&r, "/x/ac"), Access::Session);
    assert_eq!(get(&r, "/x/abcb"), Access::Session);
    assert_eq!(get(&r, "/x/acb"), Access::Session);
}

#[test]
fn star_matches_the_empty_segment() {
    let r = rules(r#"[{"path":"/assets/*","access":"public"}]"#);
    // `/assets/` reads as `/assets/` (matches) or `/assets` (does not):
    // the stricter answer wins.
    assert_eq!(get(&r, "/assets/"), Access::Session);
    let r = rules(r#"[{"path":"/assets/*","access":"role:a"},{"path":"/**","access":"public"}]"#);
    assert_eq!(get(&r, "/assets/"), role("a"));
}

#[test]
fn double_star_suffix() {
    let r = rules(r#"[{"path":"/api/**","access":"role:api"},{"path":"/**","access":"public"}]"#);
    assert_eq!(get(&r, "/api"), role("api"));
    assert_eq!(get(&r, "/api/"), role("api"));
    assert_eq!(get(&r, "/api/x"), role("api"));
    assert_eq!(get(&r, "/api/x/y/z"), role("api"));
    assert_eq!(get(&r, "/apix"), Access::Public);
    assert_eq!(get(&r, "/ap"), Access::Public);
    assert_eq!(get(&r, "/"), Access::Public);
    let r = rules(r#"[{"path":"/u/*/files/**","access":"public"}]"#);
    assert_eq!(get(&r, "/u/7/files"), Access::Public);
    assert_eq!(get(&r, "/u/7/files/a/b"), Access::Public);
    assert_eq!(get(&r, "/u/7/filesx"), Access::Session);
    assert_eq!(get(&r, "/u/7/8/files"), Access::Session);
}

#[test]
fn first_match_wins() {
    let r = rules(
        r#"[{"path":"/a/b","access":"role:x"},{"path":"/a/**","access":"public"},{"path":"/a/b","access":"public"}]"#,
    );
    assert_eq!(get(&r, "/a/b"), role("x"));
    assert_eq!(get(&r, "/a/c"), Access::Public);
    let r = rules(r#"[{"path":"/a/**","access":"public"},{"path":"/a/b","access":"role:x"}]"#);
    assert_eq!(get(&r, "/a/b"), Access::Public);
}

#[test]
fn methods_filter_rules() {
    let r = rules(
        r#"[{"path":"/posts/**","methods":["GET"],"access":"public"},{"path":"/posts/**","access":"role:editor"}]"#,
    );
    assert_eq!(r.access_for("GET", "/posts/1"), Ok(&Access::Public));
    assert_eq!(r.access_for("HEAD", "/posts/1"), Ok(&Access::Public));
    assert_eq!(r.access_for("get", "/posts/1"), Ok(&Access::Public));
    assert_eq!(r.access_for("POST", "/posts/1"), Ok(&role("editor")));
    assert_eq!(r.access_for("DELETE", "/posts/1"), Ok(&role("editor")));
    // Method names are compared case-insensitively, so an origin that
    // upper-cases `delete` cannot be reached around a rule.
    let r = rules(
        r#"[{"path":"/a","methods":["DELETE"],"access":"role:admin"},{"path":"/a","access":"public"}]"#,
    );
    assert_eq!(r.access_for("delete", "/a"), Ok(&role("admin")));
    assert_eq!(r.access_for("GET", "/a"), Ok(&Access::Public));
    // HEAD does not imply GET.
    let r = rules(r#"[{"path":"/a","methods":["HEAD"],"access":"public"}]"#);
    assert_eq!(r.access_for("GET", "/a"), Ok(&Access::Session));
}

#[test]
fn percent_encoding_is_canonicalized() {
    let r = rules(
        r#"[{"path":"/caf%c3%a9/*","access":"public"},{"path":"/docs/**","access":"public"},{"path":"/a%3Ab","access":"public"},{"path":"/p%3Bq","access":"public"}]"#,
    );
    assert_eq!(get(&r, "/caf%C3%A9/x"), Access::Public);
    assert_eq!(get(&r, "/caf%c3%a9/x"), Access::Public);
    assert_eq!(get(&r, "/café/x"), Access::Public);
    // Encoded unreserved characters are the characters themselves.
    assert_eq!(get(&r, "/%64ocs/x"), Access::Public);
    assert_eq!(get(&r, "/d%6Fcs"), Access::Public);
    // Escaped sub-delims, `:` and `@` read as themselves.
    assert_eq!(get(&r, "/a%3ab"), Access::Public);
    assert_eq!(get(&r, "/a:b"), Access::Public);
    // `;` may start path parameters at the origin (`/p` there), so a
    // public rule on `/p%3Bq` does not make `/p;q` public.
    assert_eq!(get(&r, "/p%3Bq"), Access::Session);
    let r = rules(r#"[{"path":"/café","access":"public"}]"#);
    assert_eq!(get(&r, "/caf%C3%A9"), Access::Public);
}

#[test]
fn normalize_path_examples() {
    assert_eq!(normalize_path(""), "/");
    assert_eq!(normalize_path("/"), "/");
    assert_eq!(normalize_path("/a/./b/../c"), "/a/c");
    assert_eq!(normalize_path("/a/%2e%2E/b"), "/b");
    assert_eq!(normalize_path("/../../x"), "/x");
    assert_eq!(normalize_path("/a/b/.."), "/a/");
    assert_eq!(normalize_path("/a/."), "/a/");
    assert_eq!(normalize_path("/a%2fb"), "/a%2Fb");
    assert_eq!(normalize_path("/%7e%41"), "/~A");
    assert_eq!(normalize_path("/a b\"<>"), "/a%20b%22%3C%3E");
    assert_eq!(normalize_path("/%zz%"), "/%25zz%25");
    assert_eq!(normalize_path("/a//b/"), "/a//b/");
    assert_eq!(normalize_path("/a?x=/../y#f"), "/a");
    assert_eq!(normalize_path("relative"), "/relative");
    assert_eq!(normalize_path("/é"), "/%C3%A9");
}

// --- bypass attempts ---------------------------------------------------

/// Public area next to an admin area and a session default: no path may
/// reach the admin area through the public rule.
fn split_site() -> Rules {
    rules(
        r#"[{"path":"/public/**","access":"public"},
            {"path":"/admin/**","access":"role:admin"},
            {"path":"/admin","access":"role:admin"}]"#,
    )
}

#[test]
fn dot_segments_cannot_escape_a_public_prefix() {
    let r = split_site();
    for p in [
        "/public/../admin",
        "/public/../admin/users",
        "/public/./../admin",
        "/public/%2e%2e/admin",
        "/public/%2E%2E/admin/x",
        "/public/.%2e/admin",
        "/public/x/../../admin",
    ] {
        assert_eq!(get(&r, p), role("admin"), "{p}");
    }
}

#[test]
fn encoded_slashes_cannot_escape_a_public_prefix() {
    let r = split_site();
    for p in [
        "/public/..%2Fadmin",
        "/public/..%2fadmin",
        "/public%2F..%2Fadmin",
        "/public/..%5Cadmin",
        "/public/..\\admin",
        "/public/%2e%2e%2fadmin/secret",
    ] {
        assert_eq!(get(&r, p), role("admin"), "{p}");
    }
}

#[test]
fn encoded_slash_cannot_fake_a_public_path_either() {
    // Literal reading: a segment of /admin; decoded reading: /public/x.
    let r = split_site();
    assert_eq!(get(&r, "/admin/..%2F..%2Fpublic/x"), role("admin"));
    assert_eq!(get(&r, "/admin%2F..%2Fpublic/x"), role("admin"));
}

#[test]
fn path_parameters_cannot_escape_a_public_prefix() {
    let r = split_site();
    for p in [
        "/public/..;/admin",
        "/public/..;x=1/admin/y",
        "/admin;jsessionid=1",
        "/admin;/x",
    ] {
        assert_eq!(get(&r, p), role("admin"), "{p}");
    }
}

#[test]
fn duplicate_slashes_and_case() {
    let r = split_site();
    for p in [
        "//admin",
        "/admin//x",
        "///admin/",
        "/ADMIN",
        "/Admin/users",
        "/public//../admin",
    ] {
        assert_eq!(get(&r, p), role("admin"), "{p}");
    }
    // A pattern written with capitals still covers the lower-case path.
    let r =
        rules(r#"[{"path":"/Admin/**","access":"role:admin"},{"path":"/**","access":"public"}]"#);
    assert_eq!(get(&r, "/admin/x"), role("admin"));
    assert_eq!(get(&r, "/Admin/x"), role("admin"));
    assert_eq!(get(&r, "/other"), Access::Public);
    // The other direction: a differently-cased public path does not
    // become public on a case-sensitive origin.
    let r = rules(r#"[{"path":"/public/**","access":"public"}]"#);
    assert_eq!(get(&r, "/PUBLIC/x"), Access::Session);
    assert_eq!(get(&r, "/public/x"), Access::Public);
}

#[test]
fn exact_role_rule_covers_trailing_slash() {
    let r = rules(r#"[{"path":"/admin","access":"role:admin"},{"path":"/**","access":"public"}]"#);
    assert_eq!(get(&r, "/admin"), role("admin"));
    assert_eq!(get(&r, "/admin/"), role("admin"));
    assert_eq!(get(&r, "//admin//"), role("admin"));
    assert_eq!(get(&r, "/admin/x"), Access::Public);
}

#[test]
fn ordinary_paths_keep_their_rule() {
    let r = split_site();
    assert_eq!(get(&r, "/public/app.js"), Access::Public);
    assert_eq!(get(&r, "/public/a%20b.txt"), Access::Public);
    assert_eq!(get(&r, "/public/a%2Fb"), Access::Public);
    assert_eq!(get(&r, "/public/x;v=2"), Access::Public);
    assert_eq!(get(&r, "/other"), Access::Session);
}

#[test]
fn conflicting_roles_are_ambiguous() {
    let r =
        rules(r#"[{"path":"/a/**","access":"role:alpha"},{"path":"/b/**","access":"role:beta"}]"#);
    assert_eq!(r.access_for("GET", "/a/x"), Ok(&role("alpha")));
    assert_eq!(
        r.access_for("GET", "/a/..%2Fb/x"),
        Err(PathRejection::Ambiguous)
    );
    assert_eq!(
        r.access_for("GET", "/a/..;/b/x"),
        Err(PathRejection::Ambiguous)
    );
    // The same role under two readings is fine.
    let r = rules(r#"[{"path":"/a/**","access":"role:x"},{"path":"/b/**","access":"role:x"}]"#);
    assert_eq!(r.access_for("GET", "/a/..%2Fb/x"), Ok(&role("x")));
}

#[test]
fn long_and_hostile_paths_never_panic() {
    let r = split_site();
    let long = format!("/{}", "a".repeat(MAX_PATH_BYTES));
    assert_eq!(r.access_for("GET", &long), Err(PathRejection::TooLong));
    let max = format!("/{}", "a".repeat(MAX_PATH_BYTES - 1));
    assert_eq!(r.access_for("GET", &max), Ok(&Access::Session));
    let junk = [
        "%",
        "%%",
        "%%%",
        "/%",
        "/%e",
        "/%ez",
        "/%2",
        "\u{0}",
        "/\u{7f}/..",
        "/é/%ff%fe",
        "/;;;",
        "/..;",
        "/.;/",
        "\\\\",
        "/%2f%2f%2f",
        "?",
        "#",
        "//?//",
        "/a/%c3",
    ];
    for p in junk {
        let _ = r.access_for("GET", p);
        let _ = normalize_path(p);
    }
    let slashes = "/".repeat(MAX_PATH_SEGMENTS);
    assert!(r.access_for("GET", &slashes).is_ok());
    let dots = "/..".repeat(MAX_PATH_SEGMENTS);
    assert!(r.access_for("GET", &dots).is_ok());
    // Beyond the bound, whichever byte would separate the segments.
    for sep in ["/", "\\", "%2F", "%5c"] {
        let many = format!("/a{}", format!("{sep}b").repeat(MAX_PATH_SEGMENTS));
        assert_eq!(
            r.access_for("GET", &many),
            Err(PathRejection::TooManySegments),
            "{sep}"
        );
    }
    assert_eq!(
        r.access_for("GET", &"/".repeat(MAX_PATH_BYTES + 1)),
        Err(PathRejection::TooLong)
    );
}

#[test]
fn semicolons_cannot_hide_a_protected_path() {
    // Tomcat, Jetty and Spring strip `;params` and then merge `//`.
    let r =
        rules(r#"[{"path":"/admin/**","access":"role:admin"},{"path":"/**","access":"public"}]"#);
    for p in [
        "/;/admin/x",
        "/;x/admin/x",
        "/;/;/admin",
        "/.;/admin/x",
        "/a/..;/admin/x",
    ] {
        assert_eq!(get(&r, p), role("admin"), "{p}");
    }
    let r = rules(
        r#"[{"path":"/public/admin","access":"role:admin"},{"path":"/**","access":"public"}]"#,
    );
    assert_eq!(get(&r, "/public/;/admin"), role("admin"));
}

#[test]
fn only_separators_count_toward_the_segment_bound() {
    let r = rules(r#"[{"path":"/blog/**","access":"public"}]"#);
    // 200 escaped CJK characters in one segment: 600 escapes, one segment.
    let cjk = format!("/blog/{}", "%E6%97%A5".repeat(200));
    assert_eq!(r.access_for("GET", &cjk), Ok(&Access::Public));
    let spaces = format!("/blog/{}", "a%20".repeat(300));
    assert_eq!(r.access_for("GET", &spaces), Ok(&Access::Public));
}

#[test]
fn access_display_round_trips() {
    for a in [Access::Public, Access::Session, role("admin")] {
        assert_eq!(Access::parse(&a.to_string()), Ok(a));
    }
}

#[test]
fn glob_match_unit() {
    let g = |p: &str, s: &str| {
        let pieces: Vec<String> = p.split('*').map(str::to_owned).collect();
        glob_match(&pieces, s)
    };
    assert!(g("*", ""));
    assert!(g("*", "abc"));
    assert!(g("a*", "a"));
    assert!(!g("a*", "ba"));
    assert!(g("*a", "ba"));
    assert!(!g("ab*ba", "aba"));
    assert!(g("ab*ba", "abba"));
    assert!(g("*x*", "yyxyy"));
    assert!(!g("*x*", "yyyy"));
    assert!(g("a*b*c", "abbbc"));
    assert!(!glob_match(&["a".to_string()], "a"));
    assert!(!glob_match(&[], "a"));
}

#[test]
fn a_path_stacked_with_every_trick_is_refused() {
    // Every reading of it is matched, so their number is bounded: past
    // MAX_READINGS the path is refused (400) rather than read that often.
    let r = split_site();
    let p = "/%5C//%2e;%5C/%2F%2e%3B;x\\";
    assert_eq!(r.access_for("GET", p), Err(PathRejection::TooManyReadings));
    assert!(PathRejection::TooManyReadings
        .to_string()
        .contains(&MAX_READINGS.to_string()));
    // One trick of each kind still reads.
    assert_eq!(get(&r, "/public/a%2Fb;v=1/..%5C./c"), Access::Public);
}

// --- fresh and limit ---------------------------------------------------

#[test]
fn fresh_and_limit_parse_and_apply_to_their_rule() {
    let r = rules(
        r#"[{"path":"/account/email","access":"session","fresh":300,"limit":"RL_SENSITIVE"},
            {"path":"/api/**","access":"role:api","limit":"RL_API"},
            {"path":"/search","access":"public","limit":"RL_SEARCH"},
            {"path":"/**","access":"session"}]"#,
    );
    let email = r.requirement("POST", "/account/email").unwrap();
    assert_eq!(
        (email.access, email.fresh, email.limits.as_slice()),
        (&Access::Session, Some(300), &["RL_SENSITIVE"][..])
    );
    let api = r.requirement("GET", "/api/x").unwrap();
    assert_eq!((api.fresh, api.limits.as_slice()), (None, &["RL_API"][..]));
    let search = r.requirement("GET", "/search").unwrap();
    assert_eq!(search.access, &Access::Public);
    assert_eq!(search.limits, ["RL_SEARCH"]);
    let other = r.requirement("GET", "/other").unwrap();
    assert_eq!((other.fresh, other.limits.len()), (None, 0));
    assert_eq!(
        r.limits().collect::<Vec<_>>(),
        [(0, "RL_SENSITIVE"), (1, "RL_API"), (2, "RL_SEARCH")]
    );
    let empty = rules("[]");
    let none = empty.requirement("GET", "/x").unwrap();
    assert_eq!((none.access, none.fresh), (&Access::Session, None));
}

#[test]
fn readings_of_two_rules_take_the_shorter_fresh_and_every_limit() {
    // `/ADMIN` is read as `/admin` too (case-insensitive origins): both
    // rules' demands apply.
    let r = rules(
        r#"[{"path":"/admin","access":"role:admin","fresh":600,"limit":"RL_A"},
            {"path":"/ADMIN","access":"role:admin","fresh":60,"limit":"RL_B"}]"#,
    );
    let q = r.requirement("GET", "/ADMIN").unwrap();
    assert_eq!(q.fresh, Some(60));
    assert_eq!(q.limits, ["RL_B", "RL_A"]);
    let q = r.requirement("GET", "/admin").unwrap();
    assert_eq!((q.fresh, q.limits.as_slice()), (Some(600), &["RL_A"][..]));
}

#[test]
fn bad_fresh_and_limit_name_the_rule() {
    for (fresh, why) in [
        ("0", "whole number"),
        ("-5", "whole number"),
        ("1.5", "whole number"),
        ("\"300\"", "whole number"),
        ("null", "whole number"),
        ("31536001", "whole number"),
    ] {
        let e = err(&format!(
            r#"[{{"path":"/","access":"public"}},{{"path":"/a","access":"session","fresh":{fresh}}}]"#
        ));
        assert!(e.starts_with("GUARD_RULES[1].fresh: "), "{fresh}: {e}");
        assert!(e.contains(why), "{fresh}: {e}");
    }
    assert_eq!(
        rules(r#"[{"path":"/a","access":"session","fresh":31536000}]"#)
            .requirement("GET", "/a")
            .unwrap()
            .fresh,
        Some(31_536_000)
    );
    let e = err(r#"[{"path":"/a","access":"public","fresh":60}]"#);
    assert!(e.starts_with("GUARD_RULES[0].fresh: a public rule"), "{e}");
    for limit in [
        "5",
        "\"\"",
        "\"RL_\"",
        "\"API\"",
        "\"rl_api\"",
        "\"RL_A-B\"",
        "\"RL_ \"",
        "\"RL_ADMIN\"",
        "\"RL_CREATE\"",
    ] {
        let e = err(&format!(
            r#"[{{"path":"/a","access":"session","limit":{limit}}}]"#
        ));
        assert!(e.starts_with("GUARD_RULES[0].limit: "), "{limit}: {e}");
    }
    let long = format!("RL_{}", "A".repeat(MAX_LIMIT_NAME_BYTES - 3));
    let ok = format!(r#"[{{"path":"/a","access":"session","limit":"{long}"}}]"#);
    assert_eq!(rules(&ok).limits().count(), 1);
    let e = err(&format!(
        r#"[{{"path":"/a","access":"session","limit":"{long}X"}}]"#
    ));
    assert!(e.starts_with("GUARD_RULES[0].limit: "), "{e}");
}

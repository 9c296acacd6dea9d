//! `GUARD_RULES` and the path readings: for any path and any rule list, the
//! guard's access is never looser than under any reading an origin might
//! apply to that path.

use session_http::rules::{Access, PathRejection, Rules};

// --- the counterexamples the properties found, as examples ---------------

fn access_of(rules: &str, path: &str) -> Result<Access, PathRejection> {
    Rules::parse(rules)
        .unwrap()
        .access_for("GET", path)
        .cloned()
}

fn role_a() -> Result<Access, PathRejection> {
    Ok(Access::Role("a".into()))
}

/// A `*` matched the hex digits of an escape: `*C3*` matched `é`
/// (`%C3%A9`), `*25*` matched a lone `%` (`%25`).
#[test]
fn a_glob_never_matches_inside_an_escape() {
    assert_eq!(
        access_of(r#"[{"access":"public","path":"/*25*/**"}]"#, "/%"),
        Ok(Access::Session)
    );
    let rules = r#"[{"path":"/files/*C3*","access":"public"}]"#;
    assert_eq!(access_of(rules, "/files/%C3%A9"), Ok(Access::Session));
    assert_eq!(access_of(rules, "/files/caf%C3%A9"), Ok(Access::Session));
    assert_eq!(access_of(rules, "/files/C3.txt"), Ok(Access::Public));
    assert_eq!(access_of(rules, "/files/%C3%A9-C3"), Ok(Access::Public));
}

/// `%2F` and `%5C` were only ever decoded together, but nginx decodes `%2F`
/// and keeps `\` an ordinary character: `/admin\admin` is one segment there.
#[test]
fn an_encoded_slash_is_decoded_without_the_backslashes() {
    let rules = r#"[{"access":"role:a","path":"/*"}]"#;
    assert_eq!(access_of(rules, "/admin%2F../admin%5Cadmin"), role_a());
    assert_eq!(access_of(rules, "/admin%2F../admin\\admin"), role_a());
    assert_eq!(
        access_of(r#"[{"access":"role:a","path":"/"}]"#, "/a%5Ca/..%2F"),
        role_a()
    );
}

/// Tomcat strips `;params` before it decodes: `/admin%2F..;%2Fadmin` is
/// `/admin%2F..`, which decodes to `/admin/..`, the root.
#[test]
fn parameters_are_stripped_before_decoding_too() {
    let rules = r#"[{"access":"role:a","path":"/"}]"#;
    assert_eq!(access_of(rules, "/admin%2F..;%2Fadmin"), role_a());
    // And a raw `;` starts parameters where a decoded `%3B` may not.
    let rules = r#"[{"path":"/x/*b","access":"role:a"},{"path":"/**","access":"public"}]"#;
    assert_eq!(access_of(rules, "/x;y/a%3Bb"), role_a());
}

/// Dot segments resolved first and `//` merged after (a servlet container,
/// then a framework): `/x/%2F..%2F/y` is `/x//y`, then `/x/y`.
#[test]
fn slashes_are_merged_after_dot_segments_too() {
    let rules = r#"[{"path":"/x/y","access":"role:a"},{"path":"/**","access":"public"}]"#;
    assert_eq!(access_of(rules, "/x/%2F..%2F/y"), role_a());
    assert_eq!(
        access_of(r#"[{"access":"role:a","path":"/a*"}]"#, "/admin%5C;/../;/"),
        role_a()
    );
}

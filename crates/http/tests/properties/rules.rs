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

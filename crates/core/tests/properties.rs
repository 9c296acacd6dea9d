//! Property tests (proptest) of every parser and decision of the core that
//! takes outside input, one module per concept. Each property runs a fixed
//! number of cases, so that the whole suite stays well under a minute.

mod common;

/// `cases` cases, shrunk failures reported but not written to the tree
/// (each one found becomes an example test instead).
pub fn cases(cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..Default::default()
    }
}

#[path = "properties/cursors.rs"]
mod cursors;
#[path = "properties/sessions.rs"]
mod sessions;
#[path = "properties/tokens.rs"]
mod tokens;

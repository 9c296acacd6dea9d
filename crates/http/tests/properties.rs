//! Property tests (proptest) of every parser and decision of the HTTP layer
//! that takes outside input, one module per concept. Each property runs a
//! fixed number of cases (`ProptestConfig::with_cases`), so that the whole
//! suite stays well under a minute natively.

mod support;

/// `cases` cases, shrunk failures reported but not written to the tree
/// (each one found becomes an example test instead).
pub fn cases(cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..Default::default()
    }
}

/// A lower-case header name spelled any way: case flipped and `-` read as
/// `_` per char.
pub fn spelled(name: &'static str) -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    prop::collection::vec((any::<bool>(), any::<bool>()), name.len()).prop_map(move |flips| {
        name.chars()
            .zip(flips)
            .map(|(c, (upper, underscore))| match c {
                '-' if underscore => '_',
                c if upper => c.to_ascii_uppercase(),
                c => c,
            })
            .collect()
    })
}

#[path = "properties/api.rs"]
mod api;
#[path = "properties/assertion.rs"]
mod assertion;
#[path = "properties/bearer.rs"]
mod bearer;
#[path = "properties/config.rs"]
mod config;
#[path = "properties/cookies.rs"]
mod cookies;
#[path = "properties/forward.rs"]
mod forward;
#[path = "properties/handoff.rs"]
mod handoff;
#[path = "properties/policy.rs"]
mod policy;
#[path = "properties/rules.rs"]
mod rules;
#[path = "properties/urls.rs"]
mod urls;

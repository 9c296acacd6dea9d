//! A rule's `fresh` and `limit` (contract §1 `GUARD_RULES`, §6): any value
//! is parsed exactly when a reference model says it is valid, and refused
//! naming the rule and the field otherwise; a `limit` naming a binding that
//! is not bound is refused naming the rule once the bindings are known.

use proptest::prelude::*;
use serde_json::{json, Value};
use std::net::{Ipv4Addr, Ipv6Addr};

use session_http::config::Config;
use session_http::ratelimit::ip_key;
use session_http::rules::{Rules, MAX_FRESH_SECS, MAX_LIMIT_NAME_BYTES};

/// JSON values a `fresh` may be given: whole numbers around the bounds,
/// negatives, fractions, huge, strings of numbers, other types.
fn fresh_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..=400).prop_map(Value::from),
        (MAX_FRESH_SECS - 3..=MAX_FRESH_SECS + 3).prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        "[0-9]{1,4}".prop_map(Value::from),
        Just(Value::Null),
        Just(json!(true)),
        Just(json!([300])),
        Just(json!({"s": 300})),
    ]
}

/// The model: a whole number from 1 to a year.
fn fresh_ok(v: &Value) -> Option<u64> {
    v.as_u64().filter(|n| (1..=MAX_FRESH_SECS).contains(n))
}

/// Names a `limit` may be given: good ones, near misses, junk.
fn limit_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        "RL_[A-Z0-9_]{1,12}".prop_map(Value::from),
        "(RL_|rl_|RL|R_L_|)[A-Za-z0-9_ .:-]{0,8}".prop_map(Value::from),
        "RL_[A-Z]{55,70}".prop_map(Value::from),
        prop::sample::select(vec!["RL_ADMIN", "RL_CREATE", "RL_", "RL_é", "RL_API\n"])
            .prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        Just(Value::Null),
        Just(json!(["RL_API"])),
    ]
}

/// The model: `RL_` and then letters, digits or `_`, at most 64 bytes, not
/// the service's own two.
fn limit_ok(v: &Value) -> Option<&str> {
    let name = v.as_str()?;
    let rest = name.strip_prefix("RL_")?;
    (!rest.is_empty()
        && name.len() <= MAX_LIMIT_NAME_BYTES
        && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name != "RL_ADMIN"
        && name != "RL_CREATE")
        .then_some(name)
}

proptest! {
    #![proptest_config(crate::cases(512))]

    /// A rule at a random index with a random `fresh`, `limit` and access:
    /// parsed iff the model accepts both (and `fresh` is not on a public
    /// rule), applied as given, else refused naming that rule and field.
    #[test]
    fn fresh_and_limit_parse_iff_valid_and_errors_name_the_rule(
        before in 0usize..4,
        fresh in prop::option::of(fresh_value()),
        limit in prop::option::of(limit_value()),
        public in any::<bool>(),
    ) {
        let mut rules: Vec<Value> = (0..before)
            .map(|i| json!({"path": format!("/r{i}"), "access": "session"}))
            .collect();
        let mut rule = json!({"path": "/target", "access": if public { "public" } else { "session" }});
        if let Some(f) = &fresh { rule["fresh"] = f.clone(); }
        if let Some(l) = &limit { rule["limit"] = l.clone(); }
        rules.push(rule);
        let text = Value::Array(rules).to_string();
        let fresh_valid = fresh.as_ref().map(|f| !public && fresh_ok(f).is_some());
        let limit_valid = limit.as_ref().map(|l| limit_ok(l).is_some());
        match Rules::parse(&text) {
            Ok(parsed) => {
                prop_assert!(fresh_valid.unwrap_or(true) && limit_valid.unwrap_or(true), "{}", text);
                let got = parsed.requirement("GET", "/target").unwrap();
                prop_assert_eq!(got.fresh, fresh.as_ref().and_then(fresh_ok));
                let want: Vec<&str> = limit.as_ref().and_then(limit_ok).into_iter().collect();
                prop_assert_eq!(got.limits, want);
            }
            Err(e) => {
                // The first bad field, in the rule's order: fresh, then limit.
                let field = if fresh_valid == Some(false) { "fresh" } else { "limit" };
                prop_assert!(fresh_valid == Some(false) || limit_valid == Some(false), "{}: {}", text, e);
                let prefix = format!("GUARD_RULES[{before}].{field}: ");
                prop_assert!(e.starts_with(&prefix), "{} gave {}", text, e);
            }
        }
    }

    /// With any set of bound names: the configuration stands iff every
    /// rule's `limit` is bound; otherwise the error names the first rule
    /// whose binding is missing, never the binding.
    #[test]
    fn an_unbound_limit_is_refused_naming_its_rule(
        names in prop::collection::vec(prop::option::of("RL_[A-D]"), 1..6),
        bound in prop::collection::btree_set("RL_[A-D]", 0..4),
    ) {
        let rules: Vec<Value> = names.iter().enumerate().map(|(i, n)| match n {
            Some(n) => json!({"path": format!("/p{i}"), "access": "session", "limit": n}),
            None => json!({"path": format!("/p{i}"), "access": "session"}),
        }).collect();
        let text = Value::Array(rules).to_string();
        let config = Config::from_vars(|k| (k == "GUARD_RULES").then(|| text.clone())).unwrap();
        let first_unbound = names.iter().position(|n| n.as_ref().is_some_and(|n| !bound.contains(n)));
        match (config.with_bindings(|n| bound.contains(n)), first_unbound) {
            (Ok(_), None) => {}
            (Err(e), Some(i)) => {
                prop_assert_eq!(e.var, "GUARD_RULES");
                let shown = e.to_string();
                prop_assert!(shown.starts_with(&format!("GUARD_RULES[{i}].limit: ")), "{}", shown);
                prop_assert!(!shown.contains("RL_A") && !shown.contains("RL_B"), "{}", shown);
            }
            (got, want) => prop_assert!(false, "{:?} for unbound rule {:?}", got.map(|_| ()), want),
        }
    }

    /// Two IPv6 addresses, in any spelling, share a client key exactly when
    /// their first 64 bits are equal; an IPv4-mapped one is its IPv4 address.
    #[test]
    fn ipv6_clients_are_grouped_by_their_64(
        a in any::<u128>(),
        b_low in any::<u64>(),
        b_high in any::<u64>(),
        same in any::<bool>(),
        v4 in any::<u32>(),
    ) {
        let high = if same { (a >> 64) as u64 } else { b_high };
        let b = (u128::from(high) << 64) | u128::from(b_low);
        let (x, y) = (Ipv6Addr::from(a), Ipv6Addr::from(b));
        let spell = |ip: Ipv6Addr| if a % 2 == 0 { ip.to_string() } else { ip.to_string().to_uppercase() };
        let (kx, ky) = (ip_key(&spell(x)), ip_key(&spell(y)));
        if x.to_ipv4_mapped().is_none() && y.to_ipv4_mapped().is_none() {
            prop_assert_eq!(kx == ky, (a >> 64) == (b >> 64), "{} {}", x, y);
            prop_assert!(kx.unwrap().ends_with("/64"));
        }
        let v4 = Ipv4Addr::from(v4);
        prop_assert_eq!(ip_key(&v4.to_ipv6_mapped().to_string()), Some(format!("ip:{v4}")));
        prop_assert_eq!(ip_key(&v4.to_string()), Some(format!("ip:{v4}")));
    }
}

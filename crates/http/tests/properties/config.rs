//! Configuration values (contract §1): for every var, any string is a value
//! or a clear error naming the var, never a panic, and the error never holds
//! the value; the simple vars agree with a reference of their grammar.

use proptest::prelude::*;
use session_http::config::{Config, ConfigError, Consistency, VARS};

use crate::support::try_config;

/// Every var `Config::from_vars` reads.
fn all_vars() -> Vec<&'static str> {
    let mut vars = VARS.to_vec();
    vars.extend([
        "SESSION_CONSISTENCY",
        "MAX_SESSIONS_PER_USER",
        "SESSION_CREATE_LIMIT",
    ]);
    vars
}

fn load(var: &str, value: &str) -> Result<Config, ConfigError> {
    // An empty override unsets: give the value as it is through the lookup.
    Config::from_vars(|k| (k == var).then(|| value.to_owned()))
}

/// What an echo of the value would show: a marker no message holds.
const MARK: &str = "Qz7Mark";

/// Values shaped like each var's, so that parsing goes deep, with the
/// marker somewhere in them.
fn marked_value(var: &'static str) -> BoxedStrategy<String> {
    let m = MARK;
    let shapes: Vec<String> = match var {
        "ADMIN_KEY" => vec![
            format!("{m}"),
            format!("{m} {m}{m}"),
            format!("{m}é{m}{m}"),
            m.repeat(200),
        ],
        "TOKEN_KEYS" => vec![
            format!("{m}:AAAA"),
            format!("{m}:{k},{m}:{k}", k = "A".repeat(43)),
            format!("k1:{m}"),
            format!("k1:{}{m}", "A".repeat(43)),
            format!("{m}"),
            format!("k:{k}, ,{m}", k = "A".repeat(43)),
        ],
        "ORIGIN_URL" | "LOGIN_URL" => vec![
            format!("https://u:{m}@origin.example"),
            format!("https://origin.example/{m}?q"),
            format!("https://origin.example/#{m}"),
            format!("//{m}.example"),
            format!("ftp://{m}"),
            format!("{m} x"),
            format!("https://{m}:99999"),
        ],
        "GUARD_RULES" => vec![
            format!(r#"[{{"path":"{m}","access":"public"}}]"#),
            format!(r#"[{{"path":"/","access":"{m}"}}]"#),
            format!(r#"[{{"path":"/","access":"public","{m}":1}}]"#),
            format!(r#"[{{"path":"/","methods":["{m} "],"access":"public"}}]"#),
            format!(r#"[{{"path":"/","access":"session","limit":"{m}"}}]"#),
            format!(r#"[{{"path":"/","access":"session","limit":"RL_{m}-"}}]"#),
            format!(r#"[{{"path":"/","access":"session","fresh":"{m}"}}]"#),
            format!(r#"["{m}"#),
            format!("{m}"),
        ],
        "ASSERTION_KEYS" => {
            let k = crate::support::ASSERTION_K1.strip_prefix("k1:").unwrap();
            vec![
                format!("{m}:AAAA"),
                format!("k1:{m}"),
                format!("k1:{k}{m}"),
                format!("k1:{k},k1:{k}{m}"),
                format!("k1:{k},{m}"),
                format!("{m}"),
            ]
        }
        "SESSION_CREATE_LIMIT" => vec![format!("{m}/60"), format!("20/{m}"), format!("2{m}/6")],
        "ALLOWED_ORIGINS" => vec![
            format!("https://ok.example,https://{m}.example/p"),
            format!("{m}"),
            format!("https://{m}.example, *"),
        ],
        _ => vec![
            format!("{m}"),
            format!("{m} {m}"),
            format!("/{m}/"),
            format!("{m}\u{1}"),
            format!("-{m}"),
        ],
    };
    (prop::sample::select(shapes), "[ \t]{0,2}", "[ \t]{0,2}")
        .prop_map(|(v, a, b)| format!("{a}{v}{b}"))
        .boxed()
}

fn digits_in(text: &str, lo: u64, hi: u64) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<u64>().is_ok_and(|n| (lo..=hi).contains(&n))
}

/// Texts around numbers: digits, signs, fractions, exponents, spaces.
fn numberish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,9}",
        "[ \t]{0,2}[+-]?[0-9]{0,8}([.][0-9]{0,2})?(e[0-9])?[ \t]{0,2}",
        "0{0,3}[0-9]{1,25}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(crate::cases(256))]

    /// Any text for any var: the configuration, or an error naming that
    /// very var (whose message starts with it); `TOKEN_KEYS` is kept as the
    /// key ring's error.
    #[test]
    fn any_value_is_read_or_refused_naming_the_var(
        var in prop::sample::select(all_vars()),
        value in any::<String>(),
    ) {
        match load(var, &value) {
            Ok(config) => {
                if let Err(e) = &config.key_ring {
                    prop_assert_eq!(e.var, "TOKEN_KEYS");
                    prop_assert!(e.to_string().starts_with("TOKEN_KEYS: "));
                }
            }
            Err(e) => {
                // The TTL rule that idle <= absolute names the absolute one.
                let named = if var == "SESSION_IDLE_TTL" { ["SESSION_IDLE_TTL", "SESSION_ABSOLUTE_TTL"] } else { [var, var] };
                prop_assert!(named.contains(&e.var), "{} gave {}", var, e);
                prop_assert!(e.to_string().starts_with(e.var), "{}", e);
            }
        }
    }

    /// A marked value shaped like the var's: refused or not, no message
    /// (the error, or the key ring's) holds the mark.
    #[test]
    fn no_error_echoes_the_value(
        (var, value) in prop::sample::select(all_vars()).prop_flat_map(|v| (Just(v), marked_value(v))),
    ) {
        let shown = match load(var, &value) {
            Ok(config) => config.key_ring.err().map(|e| e.to_string()).unwrap_or_default(),
            Err(e) => e.to_string(),
        };
        prop_assert!(!shown.contains(MARK), "{} echoed its value: {}", var, shown);
        if matches!(var, "ADMIN_KEY" | "TOKEN_KEYS" | "ASSERTION_KEYS") {
            // Nor does the configuration's `Debug` show a secret.
            let debug = format!("{:?}", load(var, &value));
            prop_assert!(!debug.contains(MARK), "{}", debug);
        }
    }

    /// Blank is unset, and surrounding spaces, tabs and newlines never change
    /// how a value reads.
    #[test]
    fn blanks_are_unset_and_values_are_trimmed(
        var in prop::sample::select(all_vars()),
        value in prop_oneof![any::<String>(), numberish(), Just("true".to_owned()), Just("strong".to_owned()), Just("/api".to_owned())],
        pad in prop::sample::select(&["", " ", "\t", "\n", " \t\r\n "][..]),
    ) {
        prop_assert_eq!(load(var, pad).unwrap(), Config::default());
        let plain = load(var, value.trim());
        let padded = load(var, &format!("{pad}{value}{pad}"));
        prop_assert_eq!(plain, padded);
    }

    /// The TTLs: plain decimal digits from 60 to 31536000, and the absolute
    /// one at least the idle one (the defaults fill in the other).
    #[test]
    fn ttls_agree_with_their_grammar(idle in prop::option::of(numberish()), absolute in prop::option::of(numberish())) {
        let (idle_t, abs_t) = (idle.as_deref().map(str::trim), absolute.as_deref().map(str::trim));
        let vars: Vec<(&str, &str)> = [("SESSION_IDLE_TTL", idle_t), ("SESSION_ABSOLUTE_TTL", abs_t)]
            .into_iter()
            .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v)))
            .collect();
        let result = try_config(&vars, &[]);
        // `None`: not a TTL.
        let get = |v: Option<&str>, default: u64| -> Option<u64> {
            match v.filter(|v| !v.is_empty()) {
                None => Some(default),
                Some(v) if digits_in(v, 60, 31_536_000) => v.parse().ok(),
                Some(_) => None,
            }
        };
        match (get(idle_t, 604_800), get(abs_t, 2_592_000)) {
            (None, _) => prop_assert_eq!(result.unwrap_err().var, "SESSION_IDLE_TTL"),
            (Some(_), None) => prop_assert_eq!(result.unwrap_err().var, "SESSION_ABSOLUTE_TTL"),
            (Some(i), Some(a)) if a < i => prop_assert_eq!(result.unwrap_err().var, "SESSION_ABSOLUTE_TTL"),
            (Some(i), Some(a)) => {
                let c = result.unwrap();
                prop_assert_eq!((c.policy.idle_ttl, c.policy.absolute_ttl), (i, a));
            }
        }
    }

    /// `MAX_SESSIONS_PER_USER`: plain decimal digits from 1 to 100000.
    #[test]
    fn the_session_cap_agrees_with_its_grammar(value in numberish()) {
        let v = value.trim();
        let result = load("MAX_SESSIONS_PER_USER", &value);
        if v.is_empty() {
            prop_assert_eq!(result.unwrap().policy.max_sessions_per_user, None);
        } else if digits_in(v, 1, 100_000) {
            prop_assert_eq!(result.unwrap().policy.max_sessions_per_user, Some(v.parse::<u32>().unwrap()));
        } else {
            let e = result.unwrap_err();
            prop_assert_eq!(e.var, "MAX_SESSIONS_PER_USER", "{}", v);
        }
    }

    /// The words vars: exactly the words, compared as written.
    #[test]
    fn word_vars_take_exactly_their_words(
        word in prop_oneof![
            prop::sample::select(&["true", "false", "eventual", "strong", "True", "STRONG", "1", "yes", "strongly", "t rue"][..]).prop_map(str::to_owned),
            any::<String>(),
        ],
    ) {
        let w = word.trim();
        let forward = load("FORWARD_TOKEN", &word);
        match w {
            "" | "false" => prop_assert!(!forward.unwrap().forward_token),
            "true" => prop_assert!(forward.unwrap().forward_token),
            _ => prop_assert_eq!(forward.unwrap_err().var, "FORWARD_TOKEN"),
        }
        let consistency = load("SESSION_CONSISTENCY", &word);
        match w {
            "" | "eventual" => prop_assert_eq!(consistency.unwrap().consistency, Consistency::Eventual),
            "strong" => prop_assert_eq!(consistency.unwrap().consistency, Consistency::Strong),
            _ => prop_assert_eq!(consistency.unwrap_err().var, "SESSION_CONSISTENCY"),
        }
    }

    /// `COOKIE_NAME` is an RFC 9110 token of at most 128 bytes; `ADMIN_KEY`
    /// 16 to 1024 visible ASCII characters; `KEY_PREFIX` at most 64.
    #[test]
    fn name_and_key_vars_agree_with_their_grammar(value in prop_oneof![any::<String>(), "[!-~]{0,70}", "[ -~]{10,20}", "[!-~]{1020,1030}"]) {
        let v = value.trim();
        prop_assume!(!v.is_empty());
        let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        let visible = v.bytes().all(|b| b.is_ascii_graphic());
        let cases = [
            ("COOKIE_NAME", v.len() <= 128 && v.chars().all(tchar)),
            ("ADMIN_KEY", (16..=1024).contains(&v.len()) && visible),
            ("KEY_PREFIX", v.len() <= 64 && visible),
        ];
        for (var, ok) in cases {
            match load(var, &value) {
                Ok(c) => {
                    prop_assert!(ok, "{} took {:?}", var, v);
                    let read = match var {
                        "COOKIE_NAME" => c.cookie_name.clone(),
                        "ADMIN_KEY" => c.admin_key.clone().unwrap(),
                        _ => c.layout.prefix().to_owned(),
                    };
                    prop_assert_eq!(read, v);
                }
                Err(e) => {
                    prop_assert!(!ok, "{} refused {:?}: {}", var, v, e);
                    prop_assert_eq!(e.var, var);
                }
            }
        }
    }

    /// `API_PREFIX`: `/` and segments of visible ASCII, none empty or a dot
    /// segment, without `* ? # \ % ;`, no trailing `/`, at most 2048 bytes.
    #[test]
    fn the_api_prefix_agrees_with_its_grammar(value in prop_oneof!["(/[a-z.*%;#?\\\\ é]{0,3}){0,3}/?", any::<String>()]) {
        let v = value.trim();
        prop_assume!(!v.is_empty());
        let ok = v.len() <= 2048
            && v.starts_with('/')
            && !v.ends_with('/')
            && v.bytes().all(|b| b.is_ascii_graphic() && !b"*?#\\%;".contains(&b))
            && v[1..].split('/').all(|s| !s.is_empty() && s != "." && s != "..");
        match load("API_PREFIX", &value) {
            Ok(c) => {
                prop_assert!(ok, "took {:?}", v);
                prop_assert_eq!(c.api_prefix, v);
            }
            Err(e) => {
                prop_assert!(!ok, "refused {:?}: {}", v, e);
                prop_assert_eq!(e.var, "API_PREFIX");
            }
        }
    }

    /// `ALLOWED_ORIGINS`: each http(s) origin, whatever its case and default
    /// port, reads as its ASCII serialization, deduplicated, in order.
    #[test]
    fn allowed_origins_are_normalized(
        origins in prop::collection::vec(
            (prop::sample::select(&["http", "https", "HTTP", "Https"][..]), "[a-z0-9]{1,8}(\\.[a-z0-9]{1,8}){0,2}", prop::option::of(prop::sample::select(&[80u16, 443, 8080, 3000][..])), prop::sample::select(&["", "/"][..])),
            1..6,
        ),
        upper in any::<bool>(),
    ) {
        let written: Vec<String> = origins
            .iter()
            .map(|(scheme, host, port, slash)| {
                let host = if upper { host.to_ascii_uppercase() } else { host.clone() };
                let port = port.map(|p| format!(":{p}")).unwrap_or_default();
                format!("{scheme}://{host}{port}{slash}")
            })
            .collect();
        let mut expected: Vec<String> = Vec::new();
        for (scheme, host, port, _) in &origins {
            let scheme = scheme.to_ascii_lowercase();
            let default = if scheme == "https" { 443 } else { 80 };
            let port = port.filter(|&p| p != default).map(|p| format!(":{p}")).unwrap_or_default();
            let origin = format!("{scheme}://{host}{port}");
            if !expected.contains(&origin) {
                expected.push(origin);
            }
        }
        let c = load("ALLOWED_ORIGINS", &written.join(" , ")).unwrap();
        prop_assert_eq!(c.allowed_origins, expected);
    }
}

// --- the counterexamples the properties found, as examples ---------------

/// `MAX_SESSIONS_PER_USER=+1` was taken as 1, though every number of the
/// configuration is plain decimal digits (`SESSION_IDLE_TTL=+60` is refused).
#[test]
fn the_session_cap_takes_no_sign() {
    let e = load("MAX_SESSIONS_PER_USER", "+1").unwrap_err();
    assert_eq!(e.var, "MAX_SESSIONS_PER_USER");
    assert_eq!(
        load("SESSION_IDLE_TTL", "+60").unwrap_err().var,
        "SESSION_IDLE_TTL"
    );
    assert_eq!(
        load("MAX_SESSIONS_PER_USER", " 1 ")
            .unwrap()
            .policy
            .max_sessions_per_user,
        Some(1)
    );
}

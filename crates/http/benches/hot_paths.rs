//! Timings of the hot paths, natively (`cargo bench -p edge-session-http`).
//! Figures go in issue notes; no test asserts a duration.
//!
//! A plain harness: each case runs for about half a second after a warm-up
//! and reports the mean time per iteration. `HOT_PATHS_ONLY=text` runs the
//! cases whose name holds `text`; `HOT_PATHS_ITERS=n` runs each n times
//! instead, for a profiler: `valgrind --tool=callgrind` counts instructions
//! exactly where wall time on a shared VM does not.

use std::hint::black_box;
use std::time::{Duration, Instant};

use pollster::block_on;
use session_core::testing::{ManualClock, MemoryKv, SeededRandom};
use session_core::NewSession;
use session_http::app::App;
use session_http::config::Config;
use session_http::request::RequestHead;

#[path = "../tests/support/mod.rs"]
mod support;
use session_http::guard::{decide, GuardDecision};
use session_http::rules::Rules;
use support::Ops;

fn bench(name: &str, mut f: impl FnMut()) {
    if std::env::var("HOT_PATHS_ONLY").is_ok_and(|only| !name.contains(&only)) {
        return;
    }
    if let Some(n) = std::env::var("HOT_PATHS_ITERS")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        for _ in 0..n {
            f();
        }
        println!("{name:<58} {n} iters");
        return;
    }
    for _ in 0..100 {
        f();
    }
    let budget = Duration::from_millis(500);
    let start = Instant::now();
    let mut n: u32 = 0;
    while start.elapsed() < budget {
        f();
        n += 1;
    }
    let per = start.elapsed() / n;
    println!("{name:<58} {per:>12.2?} / iter  ({n} iters)");
}

fn settings(rules: &str) -> Config {
    let base = [
        ("TOKEN_KEYS", support::TOKEN_KEYS),
        ("ADMIN_KEY", support::ADMIN_KEY),
        ("GUARD_RULES", rules),
    ];
    support::config(&base, &[])
}

fn head(path: &str, token: Option<&str>) -> RequestHead {
    let cookie = token.map(|t| format!("theme=dark; __Host-session={t}"));
    let mut headers = vec![("accept", "text/html"), ("x-session-user", "spoofed")];
    if let Some(cookie) = &cookie {
        headers.push(("cookie", cookie));
    }
    support::head("GET", &format!("https://edge.example{path}"), &headers)
}

fn main() {
    let rules_json = serde_json::to_string(
        &(0..255)
            .map(|i| serde_json::json!({"path": format!("/section{i}/*/page-*"), "access": "public"}))
            .chain([serde_json::json!({"path": "/app/**", "access": "session"})])
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let settings = settings(&rules_json);
    let clock = ManualClock::new(1_700_000_000_000);
    let kv = MemoryKv::new(clock.clone());
    let app = App::new(&settings, kv.clone(), clock.clone(), SeededRandom::new(1));
    let sessions = app.sessions().unwrap();
    let (token, _) = block_on(sessions.create(NewSession::for_user("alice"))).unwrap();
    let token = token.expose().to_owned();

    bench("Config::from_vars (256 rules; once per isolate)", || {
        black_box(Config::from_vars(|k| match k {
            "GUARD_RULES" => Some(rules_json.clone()),
            "TOKEN_KEYS" => Some(support::TOKEN_KEYS.into()),
            _ => None,
        }))
        .ok();
    });
    let rules = Rules::parse(&rules_json).unwrap();
    bench("Rules::access_for, 256 rules, last one matches", || {
        black_box(rules.access_for("GET", black_box("/app/orders/42")).ok());
    });
    // The worst the bounds allow: 126 segments of 62 bytes, each a near-miss for the globs.
    let long = format!(
        "/app/{}",
        format!("{}/", "page-".repeat(12) + "xx").repeat(126)
    );
    assert!(long.len() <= session_http::rules::MAX_PATH_BYTES);
    bench("Rules::access_for, 8 KiB path of 127 segments", || {
        black_box(rules.access_for("GET", black_box(&long)).ok());
    });
    // An escape and a `;` in every segment: two readings.
    let escaped = format!(
        "/app/{}",
        format!("{}%41;.x/", "page-".repeat(24)).repeat(62)
    );
    assert!(escaped.len() <= session_http::rules::MAX_PATH_BYTES);
    assert!(rules.access_for("GET", &escaped).is_ok());
    bench(
        "Rules::access_for, 8 KiB path, 63 segments, `%41;` in each",
        || {
            black_box(rules.access_for("GET", black_box(&escaped)).ok());
        },
    );
    // Nearly MAX_READINGS readings, still accepted, after 120 long segments.
    let tricky = format!(
        "/app/{}a;x%2Fb/%3B..%5C//e",
        format!("{}xx/", "page-".repeat(12)).repeat(120)
    );
    assert!(tricky.len() <= session_http::rules::MAX_PATH_BYTES);
    assert!(rules.access_for("GET", &tricky).is_ok());
    bench(
        "Rules::access_for, 8 KiB path, 126 segments, 28 readings",
        || {
            black_box(rules.access_for("GET", black_box(&tricky)).ok());
        },
    );
    // Every trick in every segment: refused once MAX_READINGS are reached.
    let stacked = format!("/%5C//%2e;%5C/%2F%2e%3B;{}\\", "x".repeat(480)).repeat(16);
    assert!(stacked.len() <= session_http::rules::MAX_PATH_BYTES);
    assert!(rules.access_for("GET", &stacked).is_err());
    bench(
        "Rules::access_for, 8 KiB path, every trick (refused)",
        || {
            black_box(rules.access_for("GET", black_box(&stacked)).ok());
        },
    );
    bench("KeyRing::verify_token (HMAC + parse, no KV)", || {
        black_box(app.key_ring().unwrap().verify_token(black_box(&token)).ok());
    });
    bench("Op::Verify (1 MemoryKv read)", || {
        black_box(block_on(sessions.verify(black_box(&token))).ok());
    });
    bench("Op::Create (2 MemoryKv writes)", || {
        black_box(block_on(sessions.create(NewSession::for_user("bob"))).ok());
    });
    let valid = head("/app/orders/42?x=1", Some(&token));
    bench("guard::decide, valid cookie session (1 read)", || {
        assert!(matches!(
            block_on(decide(&app, black_box(&valid))),
            GuardDecision::Forward(_)
        ));
    });
    let forged = head(
        "/app/orders/42",
        Some(&format!("{}A", &token[..token.len() - 1])),
    );
    bench("guard::decide, forged token (0 KV ops)", || {
        assert!(matches!(
            block_on(decide(&app, black_box(&forged))),
            GuardDecision::Respond(_)
        ));
    });
    // The request of `npm run bench`'s loop: default rules, its meta and headers.
    let plain = support::config(
        &[
            ("TOKEN_KEYS", support::TOKEN_KEYS),
            ("ADMIN_KEY", support::ADMIN_KEY),
        ],
        &[],
    );
    let plain_app = App::new(&plain, kv.clone(), clock.clone(), SeededRandom::new(2));
    let mut new = NewSession::for_user("bench user@example.com");
    new.meta = Some(
        serde_json::json!({"roles": ["member", "billing"], "plan": "pro",
        "org": {"id": 4711, "name": "Acme, Inc."}, "flags": ["beta"]}),
    );
    let (loop_token, _) = block_on(plain_app.sessions().unwrap().create(new)).unwrap();
    let cookie = format!("theme=dark; __Host-session={}", loop_token.expose());
    let loop_head = support::head(
        "GET",
        "https://app.example.com/dashboard?tab=1",
        &[
            ("cookie", &cookie),
            ("accept", "text/html,application/xhtml+xml"),
            ("user-agent", "edge-session-bench/1"),
        ],
    );
    bench("guard::decide, the bench loop's request (1 read)", || {
        assert!(matches!(
            block_on(decide(&plain_app, black_box(&loop_head))),
            GuardDecision::Forward(_)
        ));
    });
    let public = head("/section7/x/page-1", None);
    bench("guard::decide, public path", || {
        assert!(matches!(
            block_on(decide(&app, black_box(&public))),
            GuardDecision::Forward(_)
        ));
    });
}

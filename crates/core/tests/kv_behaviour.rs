//! Every in-process `KvStore` behaves like Workers KV: limits, ordering,
//! cursors, expiry. The behaviour suite runs over `MemoryKv` (a new
//! implementation of the trait joins it with one more `behaviour_suite!`
//! line); then come the tests of what only `MemoryKv` has: its counts,
//! failures and yields.

mod common;

use common::{block_on, T0};
use serde_json::{json, Value};
use session_core::store::{KvEntry, KvStore, ListKey, ListOptions, ListPage, PutOptions};
use session_core::testing::{KvOpCounts, ManualClock, MemoryKv, StoreOp, StoredEntry};
use session_core::{Clock, StoreError};

/// A store the behaviour suite runs over.
trait Subject: KvStore + Sized {
    /// An empty store whose entries expire by `clock`.
    fn open(clock: &ManualClock) -> Self;
    /// Its live entries at `now_ms`, in list order, read around the store
    /// (not a call).
    fn dump(&self, now_ms: i64) -> Vec<StoredEntry>;
}

impl Subject for MemoryKv {
    fn open(clock: &ManualClock) -> Self {
        MemoryKv::new(clock.clone())
    }
    fn dump(&self, _now_ms: i64) -> Vec<StoredEntry> {
        self.entries()
    }
}

struct Fixture<S> {
    clock: ManualClock,
    kv: S,
}

impl<S: Subject> Fixture<S> {
    fn new() -> Self {
        let clock = ManualClock::new(T0);
        let kv = S::open(&clock);
        Self { clock, kv }
    }

    fn entries(&self) -> Vec<StoredEntry> {
        self.kv.dump(self.clock.now_ms())
    }

    fn keys(&self) -> Vec<String> {
        self.entries().into_iter().map(|e| e.name).collect()
    }

    fn len(&self) -> usize {
        self.entries().len()
    }
}

fn ttl(secs: u64) -> PutOptions {
    PutOptions {
        expiration_ttl: Some(secs),
        metadata: None,
    }
}

fn meta(metadata: Value) -> PutOptions {
    PutOptions {
        expiration_ttl: None,
        metadata: Some(metadata),
    }
}

fn list(prefix: &str, limit: usize, cursor: Option<String>) -> ListOptions {
    ListOptions {
        prefix: prefix.into(),
        limit,
        cursor,
    }
}

fn names(page: &ListPage) -> Vec<&str> {
    page.keys.iter().map(|k| k.name.as_str()).collect()
}

fn rejected<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Rejected(_)))
}

/// Every page of a listing, following the store's own cursors.
async fn list_all(kv: &impl KvStore, prefix: &str, limit: usize) -> Vec<ListPage> {
    let (mut cursor, mut pages) = (None, Vec::new());
    loop {
        let page = kv.list(list(prefix, limit, cursor)).await.unwrap();
        cursor = page.cursor.clone();
        pages.push(page);
        if cursor.is_none() {
            return pages;
        }
        assert!(pages.len() < 10_000, "the listing ends");
    }
}

/// Expands every case of the behaviour suite into a `#[test]` of module
/// `$module` run over the store type `$store` (a `Subject`).
macro_rules! behaviour_suite {
    ($module:ident, $store:ty) => {
        mod $module {
            use super::*;
            behaviour_suite!(@cases $store;
                put_get_delete_round_trip_with_metadata,
                expiration_ttl_below_60_is_rejected_and_60_accepted,
                key_limits,
                metadata_limit_is_1024_serialized_bytes,
                value_limit_is_25_mib,
                list_is_in_byte_order_with_prefix_limit_and_opaque_cursor,
                list_pages_of_1000,
                entries_expire_by_the_clock,
                null_metadata_is_kept_apart_from_none,
                values_and_keys_round_trip_verbatim,
                put_replaces_value_metadata_and_expiration,
                rejected_puts_change_nothing,
                expiration_rounds_up_to_the_second_and_ends_at_its_millisecond,
                huge_ttl_saturates,
                listing_skips_expired_entries_and_cursors_only_lead_to_live_ones,
            );
        }
    };
    (@cases $store:ty; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                super::$case::<$store>();
            }
        )*
    };
}

behaviour_suite!(memory_kv, MemoryKv);

fn put_get_delete_round_trip_with_metadata<S: Subject>() {
    let fx = Fixture::<S>::new();
    let kv = &fx.kv;
    block_on(async {
        assert_eq!(kv.get("a").await.unwrap(), None);
        let options = PutOptions {
            expiration_ttl: None,
            metadata: Some(json!({"x": 1})),
        };
        kv.put("a", "value", options).await.unwrap();
        assert_eq!(
            kv.get("a").await.unwrap(),
            Some(KvEntry {
                value: "value".into(),
                metadata: Some(json!({"x": 1}))
            })
        );
        kv.put("a", "v2", PutOptions::default()).await.unwrap();
        assert_eq!(
            kv.get("a").await.unwrap().unwrap().metadata,
            None,
            "put replaces metadata"
        );
        kv.delete("a").await.unwrap();
        kv.delete("a").await.unwrap(); // deleting a missing key is fine, as in KV
        assert_eq!(kv.get("a").await.unwrap(), None);
    });
}

fn expiration_ttl_below_60_is_rejected_and_60_accepted<S: Subject>() {
    let fx = Fixture::<S>::new();
    let kv = &fx.kv;
    block_on(async {
        assert!(rejected(kv.put("k", "v", ttl(59)).await));
        assert!(rejected(kv.put("k", "v", ttl(0)).await));
        assert_eq!(kv.get("k").await.unwrap(), None);
        kv.put("k", "v", ttl(60)).await.unwrap();
        assert!(kv.get("k").await.unwrap().is_some());
    });
}

fn key_limits<S: Subject>() {
    let fx = Fixture::<S>::new();
    let kv = &fx.kv;
    block_on(async {
        let max = "k".repeat(512);
        kv.put(&max, "v", PutOptions::default()).await.unwrap();
        assert!(kv.get(&max).await.unwrap().is_some());
        let over = "k".repeat(513);
        assert!(rejected(kv.put(&over, "v", PutOptions::default()).await));
        assert!(rejected(kv.get(&over).await));
        assert!(rejected(kv.delete(&over).await));
        // Multi-byte: 171 three-byte chars = 513 bytes.
        assert!(rejected(
            kv.put(&"€".repeat(171), "v", PutOptions::default()).await
        ));
        assert!(rejected(kv.put("", "v", PutOptions::default()).await));
        assert!(rejected(kv.get("").await));
        assert!(rejected(kv.put("..", "v", PutOptions::default()).await));
        assert!(rejected(kv.put(".", "v", PutOptions::default()).await));
        assert!(rejected(kv.get(".").await));
        assert!(rejected(kv.delete("..").await));
        assert!(rejected(kv.delete("").await));
        // 170 three-byte chars and two bytes = 512 bytes; dots in longer keys are fine.
        let multi = format!("{}..", "€".repeat(170));
        kv.put(&multi, "m", PutOptions::default()).await.unwrap();
        kv.put("...", "d", PutOptions::default()).await.unwrap();
        assert_eq!(fx.keys(), ["...", max.as_str(), multi.as_str()]);
    });
}

fn metadata_limit_is_1024_serialized_bytes<S: Subject>() {
    let fx = Fixture::<S>::new();
    let kv = &fx.kv;
    block_on(async {
        let sized = |n: usize| json!({ "m": "x".repeat(n - 8) }); // {"m":""} is 8 bytes
        assert_eq!(serde_json::to_string(&sized(1024)).unwrap().len(), 1024);
        let ok = PutOptions {
            expiration_ttl: None,
            metadata: Some(sized(1024)),
        };
        kv.put("a", "", ok).await.unwrap();
        let over = PutOptions {
            expiration_ttl: None,
            metadata: Some(sized(1025)),
        };
        assert!(rejected(kv.put("b", "", over).await));
        assert_eq!(fx.keys(), vec!["a".to_string()]);
        assert_eq!(
            kv.get("a").await.unwrap().unwrap().metadata,
            Some(sized(1024))
        );
    });
}

fn value_limit_is_25_mib<S: Subject>() {
    let fx = Fixture::<S>::new();
    let kv = &fx.kv;
    block_on(async {
        let max = "v".repeat(25 * 1024 * 1024);
        kv.put("a", &max, PutOptions::default()).await.unwrap();
        let over = format!("{max}v");
        assert!(rejected(kv.put("b", &over, PutOptions::default()).await));
        assert_eq!(kv.get("a").await.unwrap().unwrap().value.len(), max.len());
        assert_eq!(kv.get("b").await.unwrap(), None);
    });
}

fn list_is_in_byte_order_with_prefix_limit_and_opaque_cursor<S: Subject>() {
    let fx = Fixture::<S>::new();
    let kv = &fx.kv;
    block_on(async {
        for name in ["p:b", "p:a", "p:é", "p:B", "q:a", "p", "p:aa", "o:z"] {
            let meta = PutOptions {
                expiration_ttl: None,
                metadata: Some(json!(name)),
            };
            kv.put(name, "", meta).await.unwrap();
        }
        let first = kv.list(list("p:", 2, None)).await.unwrap();
        assert_eq!(names(&first), ["p:B", "p:a"]);
        assert_eq!(first.keys[0].metadata, Some(json!("p:B")));
        let cursor = first.cursor.clone().expect("more to come");
        assert!(!cursor.contains("p:a"), "the cursor is not the raw key");

        let second = kv.list(list("p:", 2, Some(cursor.clone()))).await.unwrap();
        assert_eq!(names(&second), ["p:aa", "p:b"]);
        let third = kv.list(list("p:", 2, second.cursor.clone())).await.unwrap();
        assert_eq!(names(&third), ["p:é"], "UTF-8 bytes sort after ASCII");
        assert_eq!(third.cursor, None);

        // Exactly `limit` keys left: no cursor.
        let all = kv.list(list("p:", 5, None)).await.unwrap();
        assert_eq!((all.keys.len(), all.cursor), (5, None));

        // The cursor belongs to its prefix.
        assert!(rejected(kv.list(list("q:", 2, Some(cursor.clone()))).await));
        assert!(rejected(kv.list(list("p", 2, Some(cursor))).await));
        assert!(rejected(kv.list(list("p:", 2, Some("p:a".into()))).await));
        assert!(rejected(
            kv.list(list("p:", 2, Some("garbage!".into()))).await
        ));

        // Limit 1..=1000.
        assert!(rejected(kv.list(list("p:", 0, None)).await));
        assert!(rejected(kv.list(list("p:", 1001, None)).await));
        assert_eq!(kv.list(list("p:", 1000, None)).await.unwrap().keys.len(), 5);
        assert_eq!(kv.list(list("", 1000, None)).await.unwrap().keys.len(), 8);
    });
}

fn list_pages_of_1000<S: Subject>() {
    let fx = Fixture::<S>::new();
    let kv = &fx.kv;
    block_on(async {
        for i in 0..2500 {
            kv.put(&format!("k{i:05}"), "", PutOptions::default())
                .await
                .unwrap();
        }
        let (mut cursor, mut seen, mut pages) = (None, Vec::new(), 0);
        loop {
            let page = kv.list(list("k", 1000, cursor)).await.unwrap();
            pages += 1;
            seen.extend(page.keys.into_iter().map(|k| k.name));
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(seen.len(), 2500);
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
    });
}

fn entries_expire_by_the_clock<S: Subject>() {
    let fx = Fixture::<S>::new();
    let (clock, kv) = (&fx.clock, &fx.kv);
    block_on(async {
        kv.put("short", "1", ttl(60)).await.unwrap();
        kv.put("long", "2", ttl(120)).await.unwrap();
        kv.put("forever", "3", PutOptions::default()).await.unwrap();
        let expiration = |name: &str| {
            fx.entries()
                .into_iter()
                .find(|e| e.name == name)
                .and_then(|e| e.expiration)
        };
        assert_eq!(expiration("short"), Some((T0 / 1000) as u64 + 60));
        let listed = kv.list(list("", 10, None)).await.unwrap();
        let short = listed.keys.iter().find(|k| k.name == "short").unwrap();
        assert_eq!(short.expiration, Some((T0 / 1000) as u64 + 60));
        assert_eq!(
            listed
                .keys
                .iter()
                .find(|k| k.name == "forever")
                .unwrap()
                .expiration,
            None
        );

        clock.advance_secs(59);
        assert!(kv.get("short").await.unwrap().is_some());
        clock.advance_secs(1);
        assert_eq!(kv.get("short").await.unwrap(), None);
        let names: Vec<_> = kv
            .list(list("", 10, None))
            .await
            .unwrap()
            .keys
            .into_iter()
            .map(|k| k.name)
            .collect();
        assert_eq!(names, ["forever", "long"]);
        assert_eq!(fx.keys(), ["forever", "long"]);
        clock.advance_secs(60);
        assert_eq!(fx.keys(), ["forever"]);
        assert_eq!(fx.len(), 1);
    });
}

fn null_metadata_is_kept_apart_from_none<S: Subject>() {
    let fx = Fixture::<S>::new();
    let kv = &fx.kv;
    block_on(async {
        kv.put("a", "1", meta(Value::Null)).await.unwrap();
        kv.put("b", "2", PutOptions::default()).await.unwrap();
        assert_eq!(
            kv.get("a").await.unwrap(),
            Some(KvEntry {
                value: "1".into(),
                metadata: Some(Value::Null)
            })
        );
        assert_eq!(kv.get("b").await.unwrap().unwrap().metadata, None);
        let page = kv.list(list("", 10, None)).await.unwrap();
        let metadata: Vec<_> = page.keys.iter().map(|k| k.metadata.clone()).collect();
        assert_eq!(metadata, [Some(Value::Null), None]);
    });
}

fn values_and_keys_round_trip_verbatim<S: Subject>() {
    let fx = Fixture::<S>::new();
    let kv = &fx.kv;
    let odd_value = "{\"v\":\"x\"}\\\n\t\u{0}é€😀 \"quoted\"";
    let odd_keys = ["k\"ey", "k\\ey", "k\ney", "ké€😀", "k\u{0}", "k/../x"];
    block_on(async {
        for key in odd_keys {
            let metadata = json!({"key": key, "nested": [null, 1.5, "\""]});
            kv.put(key, odd_value, meta(metadata.clone()))
                .await
                .unwrap();
            assert_eq!(
                kv.get(key).await.unwrap(),
                Some(KvEntry {
                    value: odd_value.into(),
                    metadata: Some(metadata)
                })
            );
        }
        kv.put("empty", "", PutOptions::default()).await.unwrap();
        assert_eq!(kv.get("empty").await.unwrap().unwrap().value, "");
        let mut sorted: Vec<&str> = odd_keys.to_vec();
        sorted.sort_unstable();
        assert_eq!(
            names(&kv.list(list("k", 1000, None)).await.unwrap()),
            sorted
        );
    });
}

fn put_replaces_value_metadata_and_expiration<S: Subject>() {
    let fx = Fixture::<S>::new();
    let (clock, kv) = (&fx.clock, &fx.kv);
    block_on(async {
        kv.put("a", "1", ttl(60)).await.unwrap();
        kv.put("a", "2", meta(json!(2))).await.unwrap();
        kv.put("b", "1", PutOptions::default()).await.unwrap();
        kv.put("b", "2", ttl(120)).await.unwrap();
        let page = kv.list(list("", 10, None)).await.unwrap();
        assert_eq!(
            page.keys,
            [
                ListKey {
                    name: "a".into(),
                    expiration: None,
                    metadata: Some(json!(2))
                },
                ListKey {
                    name: "b".into(),
                    expiration: Some((T0 / 1000) as u64 + 120),
                    metadata: None
                },
            ]
        );
        clock.advance_secs(60);
        assert_eq!(kv.get("a").await.unwrap().unwrap().value, "2");
        clock.advance_secs(60);
        assert_eq!(kv.get("b").await.unwrap(), None);
        assert_eq!(fx.keys(), ["a"]);
        // A put over an expired key starts it afresh.
        kv.put("b", "3", PutOptions::default()).await.unwrap();
        assert_eq!(kv.get("b").await.unwrap().unwrap().value, "3");
    });
}

fn rejected_puts_change_nothing<S: Subject>() {
    let fx = Fixture::<S>::new();
    let kv = &fx.kv;
    block_on(async {
        kv.put("a", "kept", meta(json!("m"))).await.unwrap();
        let too_big = json!("x".repeat(1024));
        assert!(rejected(kv.put("a", "new", meta(too_big)).await));
        assert!(rejected(kv.put("a", "new", ttl(59)).await));
        let huge = "v".repeat(25 * 1024 * 1024 + 1);
        assert!(rejected(kv.put("a", &huge, PutOptions::default()).await));
        assert_eq!(
            kv.get("a").await.unwrap(),
            Some(KvEntry {
                value: "kept".into(),
                metadata: Some(json!("m"))
            })
        );
        assert_eq!(fx.keys(), ["a"]);
    });
}

fn expiration_rounds_up_to_the_second_and_ends_at_its_millisecond<S: Subject>() {
    let fx = Fixture::<S>::new();
    let (clock, kv) = (&fx.clock, &fx.kv);
    block_on(async {
        clock.set_ms(T0 + 1);
        kv.put("a", "", ttl(60)).await.unwrap();
        let page = kv.list(list("", 1, None)).await.unwrap();
        assert_eq!(page.keys[0].expiration, Some((T0 / 1000) as u64 + 61));
        clock.set_ms(T0 + 60_000);
        assert!(kv.get("a").await.unwrap().is_some());
        assert_eq!(fx.keys(), ["a"]);
        assert_eq!(
            kv.list(list("", 1, None)).await.unwrap().keys[0].expiration,
            Some((T0 / 1000) as u64 + 61),
            "still the rounded-up second while live"
        );
        clock.set_ms(T0 + 60_001);
        assert_eq!(kv.get("a").await.unwrap(), None);
        assert!(kv.list(list("", 1, None)).await.unwrap().keys.is_empty());
    });
}

fn huge_ttl_saturates<S: Subject>() {
    let fx = Fixture::<S>::new();
    let (clock, kv) = (&fx.clock, &fx.kv);
    block_on(async {
        kv.put("a", "forever-ish", ttl(u64::MAX)).await.unwrap();
        kv.put("b", "", ttl(i64::MAX as u64 / 1000 + 1))
            .await
            .unwrap();
        clock.advance_secs(100 * 365 * 24 * 3600);
        assert!(kv.get("a").await.unwrap().is_some());
        let page = kv.list(list("", 10, None)).await.unwrap();
        let expected = Some((i64::MAX as u64).div_ceil(1000));
        assert_eq!(
            page.keys.iter().map(|k| k.expiration).collect::<Vec<_>>(),
            [expected, expected]
        );
    });
}

fn listing_skips_expired_entries_and_cursors_only_lead_to_live_ones<S: Subject>() {
    let fx = Fixture::<S>::new();
    let (clock, kv) = (&fx.clock, &fx.kv);
    block_on(async {
        // Live: every third key; the others expire; a run of expired ones at the end.
        for i in 0..60 {
            let options = if i % 3 == 0 && i < 30 {
                PutOptions::default()
            } else {
                ttl(60)
            };
            kv.put(&format!("k{i:02}"), "", options).await.unwrap();
        }
        kv.put("l", "", PutOptions::default()).await.unwrap();
        clock.advance_secs(60);
        let live: Vec<String> = (0..30).step_by(3).map(|i| format!("k{i:02}")).collect();
        for limit in [1, 2, 3, 5, 9, 10, 11, 1000] {
            let pages = list_all(kv, "k", limit).await;
            let seen: Vec<&str> = pages.iter().flat_map(names).collect();
            assert_eq!(seen, live, "limit {limit}");
            assert!(
                pages
                    .iter()
                    .all(|p| p.keys.len() == limit || p.cursor.is_none()),
                "only the last page is short (limit {limit})"
            );
            assert!(
                pages.iter().all(|p| !p.keys.is_empty()),
                "a cursor leads to a live key (limit {limit})"
            );
            assert_eq!(pages.len(), live.len().div_ceil(limit), "limit {limit}");
        }
        // Nothing live under a prefix: one empty page, no cursor.
        kv.put("x1", "", ttl(60)).await.unwrap();
        clock.advance_secs(60);
        let page = kv.list(list("x", 1, None)).await.unwrap();
        assert_eq!(
            page,
            ListPage {
                keys: Vec::new(),
                cursor: None
            }
        );
    });
}

/// What only `MemoryKv` has: counts, failure injection, its dump, yields.
mod memory_kv_only {
    use super::*;

    fn kv() -> (ManualClock, MemoryKv) {
        let clock = ManualClock::new(T0);
        (clock.clone(), MemoryKv::new(clock))
    }

    #[test]
    fn counts_every_call_by_kind_and_resets() {
        let (_, kv) = kv();
        block_on(async {
            kv.put("a", "", PutOptions::default()).await.unwrap();
            let _ = kv.put("", "", PutOptions::default()).await; // rejected, still a call
            kv.get("a").await.unwrap();
            kv.delete("a").await.unwrap();
            kv.list(list("", 1, None)).await.unwrap();
            kv.list(list("", 1, None)).await.unwrap();
            assert_eq!(
                kv.counts(),
                KvOpCounts {
                    reads: 1,
                    writes: 2,
                    deletes: 1,
                    lists: 2
                }
            );
            assert_eq!(kv.counts().total(), 6);
            kv.entries();
            kv.keys();
            assert_eq!(kv.counts().total(), 6, "inspection is not a call");
            kv.reset_counts();
            assert_eq!(kv.counts(), KvOpCounts::default());
        });
    }

    #[test]
    fn failure_injection_all_and_per_op() {
        let (_, kv) = kv();
        block_on(async {
            kv.put("a", "1", PutOptions::default()).await.unwrap();
            let down = StoreError::Unavailable("down".into());
            kv.fail_with(Some(down.clone()));
            assert_eq!(kv.get("a").await, Err(down.clone()));
            assert_eq!(
                kv.put("b", "", PutOptions::default()).await,
                Err(down.clone())
            );
            assert_eq!(kv.delete("a").await, Err(down.clone()));
            assert_eq!(kv.list(list("", 1, None)).await, Err(down.clone()));
            kv.fail_with(None);
            assert_eq!(kv.keys(), ["a"], "failed calls changed nothing");

            kv.fail_op(StoreOp::Write, Some(down.clone()));
            assert_eq!(
                kv.put("b", "", PutOptions::default()).await,
                Err(down.clone())
            );
            assert!(kv.get("a").await.unwrap().is_some());
            kv.fail_op(StoreOp::Write, None);
            kv.put("b", "", PutOptions::default()).await.unwrap();
            assert_eq!(kv.counts().writes, 4);

            kv.fail_prefix(Some(("u:", down.clone())));
            assert_eq!(
                kv.put("u:1", "", PutOptions::default()).await,
                Err(down.clone())
            );
            assert_eq!(kv.get("u:1").await, Err(down.clone()));
            assert_eq!(kv.list(list("u:x", 1, None)).await, Err(down.clone()));
            kv.put("s:1", "", PutOptions::default()).await.unwrap();
            assert!(kv.list(list("s:", 1, None)).await.is_ok());
            kv.fail_prefix(None);
            kv.put("u:1", "", PutOptions::default()).await.unwrap();
        });
    }

    #[test]
    fn clones_share_state_and_dump_shows_everything() {
        let (_, kv) = kv();
        let other = kv.clone();
        block_on(async {
            let options = PutOptions {
                expiration_ttl: Some(100),
                metadata: Some(json!({"m": 1})),
            };
            other.put("x", "value", options).await.unwrap();
        });
        assert_eq!(
            kv.entries(),
            vec![StoredEntry {
                name: "x".into(),
                value: "value".into(),
                metadata: Some(json!({"m": 1})),
                expiration: Some((T0 / 1000) as u64 + 100),
            }]
        );
        assert_eq!(other.counts().writes, 1);
        assert!(!kv.is_empty());
    }

    #[test]
    fn yielding_interleaves_joined_calls() {
        let (_, kv) = kv();
        kv.set_yield_each_op(true);
        let order = std::cell::RefCell::new(Vec::new());
        block_on(common::join_all(
            (0..3)
                .map(|i| {
                    let (kv, order) = (&kv, &order);
                    async move {
                        kv.put(&format!("{i}a"), "", PutOptions::default())
                            .await
                            .unwrap();
                        order.borrow_mut().push(format!("{i}a"));
                        kv.put(&format!("{i}b"), "", PutOptions::default())
                            .await
                            .unwrap();
                        order.borrow_mut().push(format!("{i}b"));
                    }
                })
                .collect(),
        ));
        assert_eq!(*order.borrow(), ["0a", "1a", "2a", "0b", "1b", "2b"]);
    }
}

//! Every `KvStore` of the core behaves like Workers KV: limits, ordering,
//! cursors, expiry. The behaviour suite runs over `MemoryKv` and over
//! `ObjectKv<MemoryObjects, ManualClock>` (strong mode's Durable Object
//! storage); then come the tests of what only one of them has (MemoryKv's
//! counts, failures and yields; ObjectKv's envelope, purge, alarm time and
//! storage costs), and a property test that both answer every sequence of
//! calls alike.

mod common;

use common::{block_on, T0};
use serde_json::{json, Value};
use session_core::store::{
    KvEntry, KvOp, KvOpCounts, KvStore, ListKey, ListOptions, ListPage, MemoryObjects, ObjectKv,
    ObjectOpCounts, ObjectStorage, Purge, PutOptions, StoredEntry,
};
use session_core::{Clock, ManualClock, MemoryKv, StoreError};

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

type Objects = ObjectKv<MemoryObjects, ManualClock>;

impl Subject for Objects {
    fn open(clock: &ManualClock) -> Self {
        ObjectKv::new(MemoryObjects::new(), clock.clone())
    }
    /// Reads the envelopes itself, as documented: `{"v", "m"?, "e"?}`.
    fn dump(&self, now_ms: i64) -> Vec<StoredEntry> {
        let storage = self.storage();
        storage
            .keys()
            .into_iter()
            .filter_map(|name| {
                let raw = storage.raw(&name).expect("listed key is stored");
                let envelope: Value = serde_json::from_str(&raw).expect("an envelope");
                let expires_at_ms = envelope.get("e").map(|e| e.as_i64().expect("e is ms"));
                if expires_at_ms.is_some_and(|at| now_ms >= at) {
                    return None;
                }
                Some(StoredEntry {
                    value: envelope["v"].as_str().expect("v is the value").to_owned(),
                    metadata: envelope.get("m").cloned(),
                    expiration: expires_at_ms.map(|ms| (ms.max(0) as u64).div_ceil(1000)),
                    name,
                })
            })
            .collect()
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
behaviour_suite!(object_kv, Objects);

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

            kv.fail_op(KvOp::Write, Some(down.clone()));
            assert_eq!(
                kv.put("b", "", PutOptions::default()).await,
                Err(down.clone())
            );
            assert!(kv.get("a").await.unwrap().is_some());
            kv.fail_op(KvOp::Write, None);
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

/// What only `ObjectKv` has: its envelope, purge, alarm time and storage costs.
mod object_kv_only {
    use super::*;
    use std::rc::Rc;

    fn objects() -> (ManualClock, MemoryObjects, Objects) {
        let clock = ManualClock::new(T0);
        let storage = MemoryObjects::new();
        let kv = ObjectKv::new(storage.clone(), clock.clone());
        (clock, storage, kv)
    }

    fn envelope(storage: &MemoryObjects, key: &str) -> Value {
        serde_json::from_str(&storage.raw(key).expect("stored")).expect("JSON")
    }

    fn counts(get: usize, put: usize, delete: usize, list: usize) -> ObjectOpCounts {
        ObjectOpCounts {
            get,
            put,
            delete,
            list,
        }
    }

    #[test]
    fn envelope_round_trip() {
        let (_, storage, kv) = objects();
        block_on(async {
            let options = PutOptions {
                expiration_ttl: Some(100),
                metadata: Some(json!({"x": 1})),
            };
            kv.put("full", "value", options).await.unwrap();
            kv.put("plain", "p", PutOptions::default()).await.unwrap();
            kv.put("null", "", meta(Value::Null)).await.unwrap();
            assert_eq!(
                envelope(&storage, "full"),
                json!({"v": "value", "m": {"x": 1}, "e": T0 + 100_000})
            );
            assert_eq!(storage.raw("plain").unwrap(), r#"{"v":"p"}"#);
            assert_eq!(storage.raw("null").unwrap(), r#"{"v":"","m":null}"#);

            // Written by hand (or by another version, unknown fields ignored).
            let by_hand = [
                ("h1", r#"{"v":"a\"b\u00e9","m":[1],"e":1700000060000}"#),
                ("h2", r#"{"e":null,"v":"x","later":{"field":true}}"#),
                ("h3", r#" { "v" : "spaced" } "#),
            ];
            for (key, raw) in by_hand {
                storage.put(key, raw.into()).await.unwrap();
            }
            assert_eq!(
                kv.get("h1").await.unwrap(),
                Some(KvEntry {
                    value: "a\"bé".into(),
                    metadata: Some(json!([1]))
                })
            );
            assert_eq!(
                kv.get("h2").await.unwrap(),
                Some(KvEntry {
                    value: "x".into(),
                    metadata: None
                })
            );
            assert_eq!(kv.get("h3").await.unwrap().unwrap().value, "spaced");
            let page = kv.list(list("h", 10, None)).await.unwrap();
            assert_eq!(page.keys[0].expiration, Some((T0 / 1000) as u64 + 60));
            assert_eq!(names(&page), ["h1", "h2", "h3"]);
        });
    }

    #[test]
    fn unparsable_envelope_is_rejected_not_a_panic() {
        let (clock, storage, kv) = objects();
        let corrupt = [
            "",
            "not json",
            "\"just a string\"",
            "{}",
            r#"{"m":1}"#,
            r#"{"v":1}"#,
            r#"{"v":null}"#,
            r#"{"v":"x","e":"soon"}"#,
            r#"{"v":"x","e":1.5}"#,
            r#"{"v":"x","v":"y"}"#,
            r#"["x"]"#,
            r#"{"v":"x""#,
        ];
        block_on(async {
            kv.put("a", "fine", PutOptions::default()).await.unwrap();
            for (i, raw) in corrupt.iter().enumerate() {
                let key = format!("c{i:02}");
                storage.put(&key, (*raw).into()).await.unwrap();
                assert!(rejected(kv.get(&key).await), "{raw:?}");
                assert!(rejected(kv.list(list("c", 1000, None)).await), "{raw:?}");
                assert!(rejected(kv.list(list(&key, 1, None)).await), "{raw:?}");
            }
            assert_eq!(kv.get("a").await.unwrap().unwrap().value, "fine");
            assert_eq!(names(&kv.list(list("a", 10, None)).await.unwrap()), ["a"]);
            // Overwriting or deleting through the store still works.
            kv.put("c00", "mended", PutOptions::default())
                .await
                .unwrap();
            assert_eq!(kv.get("c00").await.unwrap().unwrap().value, "mended");
            kv.delete("c01").await.unwrap();
            assert_eq!(storage.raw("c01"), None);
            // Purge leaves what it cannot read alone: "a", "c00" and ten corrupt ones.
            clock.advance_secs(3600);
            let purge = kv.purge_expired(100).await.unwrap();
            assert_eq!((purge.removed, purge.scanned), (0, 12));
            assert_eq!(storage.len(), 12);
        });
    }

    #[test]
    fn expired_entries_stay_stored_until_purged() {
        let (clock, storage, kv) = objects();
        block_on(async {
            kv.put("a", "", ttl(60)).await.unwrap();
            clock.advance_secs(60);
            assert_eq!(kv.get("a").await.unwrap(), None);
            assert!(kv.list(list("", 10, None)).await.unwrap().keys.is_empty());
            assert_eq!(storage.keys(), ["a"], "a get does not write");
        });
    }

    #[test]
    fn purge_removes_exactly_the_expired_entries() {
        let (clock, storage, kv) = objects();
        block_on(async {
            let empty = kv.purge_expired(100).await.unwrap();
            assert_eq!(
                empty,
                Purge {
                    removed: 0,
                    scanned: 0,
                    next_expiration_ms: None,
                    done: true
                }
            );
            kv.put("a", "", ttl(60)).await.unwrap();
            kv.put("b", "", ttl(120)).await.unwrap();
            kv.put("c", "", PutOptions::default()).await.unwrap();
            kv.put("d", "", ttl(60)).await.unwrap();
            clock.advance_secs(30);
            kv.put("e", "", ttl(61)).await.unwrap(); // expires at T0 + 91 s
            kv.put("f", "", ttl(300)).await.unwrap();

            clock.advance_secs(29);
            storage.reset_counts();
            let none_yet = kv.purge_expired(100).await.unwrap();
            assert_eq!(
                none_yet,
                Purge {
                    removed: 0,
                    scanned: 6,
                    next_expiration_ms: Some(T0 + 60_000),
                    done: true
                }
            );
            assert_eq!(storage.counts(), counts(0, 0, 0, 1));

            clock.advance_secs(1); // T0 + 60 s: a and d are gone
            storage.reset_counts();
            let purge = kv.purge_expired(100).await.unwrap();
            assert_eq!(
                purge,
                Purge {
                    removed: 2,
                    scanned: 6,
                    next_expiration_ms: Some(T0 + 91_000),
                    done: true
                }
            );
            assert_eq!(storage.counts(), counts(0, 0, 2, 1));
            assert_eq!(storage.keys(), ["b", "c", "e", "f"]);
            let listed = kv.list(list("", 10, None)).await.unwrap();
            assert_eq!(names(&listed), ["b", "c", "e", "f"], "live entries kept");

            clock.set_ms(T0 + 330_000); // b, e and f are gone too
            let late = kv.purge_expired(100).await.unwrap();
            assert_eq!((late.removed, late.next_expiration_ms), (3, None));
            assert_eq!(storage.keys(), ["c"]);
        });
    }

    #[test]
    fn purge_respects_its_budget_and_resumes() {
        let (clock, storage, kv) = objects();
        block_on(async {
            kv.put("k0", "", ttl(200)).await.unwrap();
            kv.put("k1", "", ttl(60)).await.unwrap();
            kv.put("k2", "", PutOptions::default()).await.unwrap();
            kv.put("k3", "", ttl(60)).await.unwrap();
            kv.put("k4", "", ttl(300)).await.unwrap();
            clock.advance_secs(60);

            storage.reset_counts();
            let nothing = kv.purge_expired(0).await.unwrap();
            assert_eq!(
                nothing,
                Purge {
                    removed: 0,
                    scanned: 0,
                    next_expiration_ms: None,
                    done: false
                }
            );
            assert_eq!(storage.counts(), ObjectOpCounts::default());

            let first = kv.purge_expired(3).await.unwrap();
            assert_eq!(
                first,
                Purge {
                    removed: 1,
                    scanned: 3,
                    next_expiration_ms: Some(T0 + 200_000),
                    done: false
                }
            );
            assert_eq!(storage.keys(), ["k0", "k2", "k3", "k4"]);
            let second = kv.purge_expired(3).await.unwrap();
            assert_eq!(
                second,
                Purge {
                    removed: 1,
                    scanned: 2,
                    next_expiration_ms: Some(T0 + 200_000),
                    done: true
                },
                "resumed after k2; the pass's earliest expiration is k0's"
            );
            assert_eq!(storage.keys(), ["k0", "k2", "k4"]);

            // A finished pass starts over; a budget that ends exactly at the
            // end of the storage only knows it is done on the next call.
            let again = kv.purge_expired(3).await.unwrap();
            assert_eq!((again.scanned, again.done), (3, false));
            let tail = kv.purge_expired(3).await.unwrap();
            assert_eq!(
                tail,
                Purge {
                    removed: 0,
                    scanned: 0,
                    next_expiration_ms: Some(T0 + 200_000),
                    done: true
                }
            );
        });
    }

    #[test]
    fn purge_reads_pages_of_at_most_1000() {
        let (clock, storage, kv) = objects();
        block_on(async {
            for i in 0..2500 {
                let options = if i % 2 == 0 {
                    ttl(60)
                } else {
                    PutOptions::default()
                };
                kv.put(&format!("k{i:05}"), "", options).await.unwrap();
            }
            clock.advance_secs(60);
            storage.reset_counts();
            let first = kv.purge_expired(1500).await.unwrap();
            assert_eq!(
                (first.removed, first.scanned, first.done),
                (750, 1500, false)
            );
            assert_eq!(storage.counts(), counts(0, 0, 750, 2));
            storage.reset_counts();
            let rest = kv.purge_expired(10_000).await.unwrap();
            assert_eq!((rest.removed, rest.scanned, rest.done), (500, 1000, true));
            assert_eq!(
                storage.counts(),
                counts(0, 0, 500, 2),
                "the last page is empty"
            );
            assert_eq!(storage.len(), 1250);
            assert_eq!(
                kv.purge_expired(10_000).await.unwrap().scanned,
                1250,
                "starts over"
            );
        });
    }

    #[test]
    fn take_earliest_expiration_reports_each_write_once() {
        let (clock, storage, kv) = objects();
        block_on(async {
            assert_eq!(kv.take_earliest_expiration(), None);
            kv.put("a", "", ttl(300)).await.unwrap();
            kv.put("b", "", ttl(120)).await.unwrap();
            clock.advance_secs(10);
            kv.put("c", "", ttl(200)).await.unwrap();
            kv.put("d", "", PutOptions::default()).await.unwrap();
            assert_eq!(kv.take_earliest_expiration(), Some(T0 + 120_000));
            assert_eq!(kv.take_earliest_expiration(), None, "taken");

            kv.put("e", "", PutOptions::default()).await.unwrap();
            kv.delete("a").await.unwrap();
            assert!(rejected(kv.put("f", "", ttl(59)).await));
            storage.fail_with(Some(StoreError::Unavailable("down".into())));
            assert!(kv.put("g", "", ttl(60)).await.is_err());
            storage.fail_with(None);
            assert_eq!(
                kv.take_earliest_expiration(),
                None,
                "nothing written with an expiration"
            );
            kv.put("h", "", ttl(61)).await.unwrap();
            assert_eq!(kv.take_earliest_expiration(), Some(T0 + 71_000));
        });
    }

    #[test]
    fn each_call_costs_exactly_its_storage_operation() {
        let (clock, storage, kv) = objects();
        block_on(async {
            let cost = |f: ObjectOpCounts| {
                let got = storage.counts();
                storage.reset_counts();
                assert_eq!(got, f);
            };
            kv.put("a", "", ttl(60)).await.unwrap();
            cost(counts(0, 1, 0, 0));
            kv.get("a").await.unwrap();
            cost(counts(1, 0, 0, 0));
            kv.get("missing").await.unwrap();
            cost(counts(1, 0, 0, 0));
            clock.advance_secs(60);
            kv.get("a").await.unwrap();
            cost(counts(1, 0, 0, 0));
            kv.delete("a").await.unwrap();
            cost(counts(0, 0, 1, 0));
            kv.delete("missing").await.unwrap();
            cost(counts(0, 0, 1, 0));

            // Rejected calls reach no storage.
            let _ = kv.put("", "", PutOptions::default()).await;
            let _ = kv.put("a", "", ttl(1)).await;
            let _ = kv.get(&"k".repeat(513)).await;
            let _ = kv.delete("..").await;
            let _ = kv.list(list("", 0, None)).await;
            let _ = kv.list(list("", 1, Some("garbage".into()))).await;
            cost(ObjectOpCounts::default());

            // A listing of N live entries with limit >= N is one storage list.
            let mut n = 0;
            for target in [0usize, 1, 5, 999, 1000] {
                while n < target {
                    kv.put(&format!("u{n:04}"), "", PutOptions::default())
                        .await
                        .unwrap();
                    n += 1;
                }
                storage.reset_counts();
                for limit in [target.max(1), target + 1, 1000] {
                    if limit > 1000 || (limit == 1000 && target == 1000) {
                        continue;
                    }
                    let page = kv.list(list("u", limit, None)).await.unwrap();
                    assert_eq!((page.keys.len(), page.cursor), (target, None));
                    cost(counts(0, 0, 0, 1));
                }
            }
            // The one exception: 1000 of 1000 needs a look past the full page
            // to tell that no cursor is due.
            let page = kv.list(list("u", 1000, None)).await.unwrap();
            assert_eq!((page.keys.len(), page.cursor), (1000, None));
            cost(counts(0, 0, 0, 2));
            // A page followed by more live entries is one list too.
            let page = kv.list(list("u", 10, None)).await.unwrap();
            assert!(page.cursor.is_some());
            cost(counts(0, 0, 0, 1));
            let page = kv.list(list("u", 10, page.cursor)).await.unwrap();
            assert_eq!(names(&page)[0], "u0010");
            cost(counts(0, 0, 0, 1));
        });
    }

    #[test]
    fn listing_over_expired_entries_reads_growing_pages() {
        let (clock, storage, kv) = objects();
        block_on(async {
            for i in 0..5 {
                kv.put(&format!("k{i:04}"), "", PutOptions::default())
                    .await
                    .unwrap();
            }
            for i in 5..505 {
                kv.put(&format!("k{i:04}"), "", ttl(60)).await.unwrap();
            }
            clock.advance_secs(60);
            storage.reset_counts();
            let page = kv.list(list("k", 5, None)).await.unwrap();
            assert_eq!((page.keys.len(), page.cursor), (5, None));
            // 6 entries, then pages of 2, 4, 8, ... past the 500 expired ones.
            assert_eq!(storage.counts(), counts(0, 0, 0, 9));
        });
    }

    #[test]
    fn storage_failures_surface_unchanged() {
        let (_, storage, kv) = objects();
        block_on(async {
            kv.put("a", "1", PutOptions::default()).await.unwrap();
            kv.put("b", "2", ttl(60)).await.unwrap();
            let cursor = kv.list(list("", 1, None)).await.unwrap().cursor;
            assert!(cursor.is_some());
            let _ = kv.take_earliest_expiration();
            for error in [
                StoreError::Unavailable("down".into()),
                StoreError::Rejected("storage said no".into()),
            ] {
                storage.fail_with(Some(error.clone()));
                assert_eq!(kv.get("a").await, Err(error.clone()));
                assert_eq!(kv.put("c", "", ttl(60)).await, Err(error.clone()), "a put");
                assert_eq!(kv.delete("a").await, Err(error.clone()));
                assert_eq!(kv.list(list("", 10, None)).await, Err(error.clone()));
                assert_eq!(
                    kv.list(list("", 10, cursor.clone())).await,
                    Err(error.clone())
                );
                assert_eq!(kv.purge_expired(10).await, Err(error.clone()));
                storage.fail_with(None);
                assert_eq!(storage.keys(), ["a", "b"], "failed calls changed nothing");
                assert_eq!(kv.take_earliest_expiration(), None);
            }
        });
    }

    #[test]
    fn cursor_is_its_own_and_bound_to_its_prefix() {
        let (_, _, kv) = objects();
        let memory = MemoryKv::new(ManualClock::new(T0));
        block_on(async {
            for key in ["p:a", "p:b", "q:a"] {
                kv.put(key, "", PutOptions::default()).await.unwrap();
                memory.put(key, "", PutOptions::default()).await.unwrap();
            }
            let memory_cursor = memory.list(list("p:", 1, None)).await.unwrap().cursor;
            assert!(rejected(kv.list(list("p:", 1, memory_cursor)).await));
            // A forged cursor of the right prefix whose key is outside it.
            let forged = {
                use base64::Engine;
                let json = json!(["p:", "q:"]).to_string();
                format!(
                    "okv1.{}",
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
                )
            };
            assert!(rejected(kv.list(list("p:", 1, Some(forged))).await));
            let cursor = kv.list(list("p:", 1, None)).await.unwrap().cursor;
            let next = kv.list(list("p:", 1, cursor)).await.unwrap();
            assert_eq!((names(&next), &next.cursor), (vec!["p:b"], &None));
        });
    }

    #[test]
    fn memory_objects_is_an_ordered_map_with_counts_and_failures() {
        let storage = MemoryObjects::new();
        let other = storage.clone();
        block_on(async {
            assert!(storage.is_empty());
            for key in ["b", "a", "ab", "é", "B", "ac", "b0"] {
                other.put(key, format!("={key}")).await.unwrap();
            }
            assert_eq!(storage.keys(), ["B", "a", "ab", "ac", "b", "b0", "é"]);
            assert_eq!((storage.len(), storage.is_empty()), (7, false));
            assert_eq!(storage.get("ab").await.unwrap().as_deref(), Some("=ab"));
            assert_eq!(storage.get("zz").await.unwrap(), None);
            let keys = |page: Vec<(String, String)>| -> Vec<String> {
                page.into_iter().map(|(k, _)| k).collect()
            };
            assert_eq!(
                keys(storage.list("a", None, 10).await.unwrap()),
                ["a", "ab", "ac"]
            );
            assert_eq!(
                keys(storage.list("a", Some("a"), 10).await.unwrap()),
                ["ab", "ac"]
            );
            assert_eq!(
                keys(storage.list("a", Some("ab"), 1).await.unwrap()),
                ["ac"]
            );
            assert_eq!(
                keys(storage.list("a", Some("A"), 10).await.unwrap()),
                ["a", "ab", "ac"]
            );
            assert!(storage.list("a", Some("b"), 10).await.unwrap().is_empty());
            assert_eq!(
                storage.list("", Some("b0"), 10).await.unwrap(),
                [("é".to_string(), "=é".to_string())]
            );
            assert!(rejected(storage.list("", None, 0).await));
            assert!(rejected(storage.list("", None, 1001).await));
            assert_eq!(storage.list("", None, 1000).await.unwrap().len(), 7);
            storage.delete("a").await.unwrap();
            storage.delete("a").await.unwrap();
            assert_eq!(storage.raw("a"), None);
            assert_eq!(storage.raw("b").as_deref(), Some("=b"));
            assert_eq!(storage.counts(), counts(2, 7, 2, 9));

            let down = StoreError::Unavailable("down".into());
            storage.fail_with(Some(down.clone()));
            assert_eq!(other.get("b").await, Err(down.clone()));
            assert_eq!(other.put("z", String::new()).await, Err(down.clone()));
            assert_eq!(other.delete("b").await, Err(down.clone()));
            assert_eq!(other.list("", None, 1).await, Err(down.clone()));
            storage.fail_with(None);
            assert_eq!(storage.len(), 6, "failed calls changed nothing");
            assert_eq!(storage.counts(), counts(3, 8, 3, 10), "failed calls count");
            storage.reset_counts();
            assert_eq!(other.counts(), ObjectOpCounts::default());

            // Through an Rc, as a Durable Object may share it.
            let shared = ObjectKv::new(Rc::new(storage.clone()), ManualClock::new(T0));
            shared.put("r", "c", PutOptions::default()).await.unwrap();
            assert_eq!(shared.get("r").await.unwrap().unwrap().value, "c");
            assert_eq!(shared.storage().raw("r").as_deref(), Some(r#"{"v":"c"}"#));
            assert_eq!(storage.counts(), counts(1, 1, 0, 0));
        });
    }
}

/// `MemoryKv` and `ObjectKv<MemoryObjects>` answer every sequence of calls alike.
mod same_answers {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Put {
            key: String,
            value: String,
            ttl: Option<u64>,
            metadata: Option<Value>,
        },
        Delete(String),
        Get(String),
        List {
            prefix: String,
            limit: usize,
        },
        AdvanceMs(i64),
        Purge(usize),
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            12 => "[ab]{1,3}",
            1 => "[aé.]{0,2}",
        ]
    }

    fn metadata() -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            3 => Just(None),
            1 => Just(Some(Value::Null)),
            2 => (0u32..100).prop_map(|n| Some(json!({ "n": n }))),
            1 => "[a\"]{0,3}".prop_map(|s| Some(json!(s))),
            1 => (1000usize..1030).prop_map(|n| Some(json!("x".repeat(n)))),
        ]
    }

    fn ttl() -> impl Strategy<Value = Option<u64>> {
        prop_oneof![
            2 => Just(None),
            4 => (60u64..200).prop_map(Some),
            1 => (0u64..60).prop_map(Some),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (key(), "[a\"\\\\é\n]{0,3}", ttl(), metadata()).prop_map(
                |(key, value, ttl, metadata)| Op::Put { key, value, ttl, metadata }
            ),
            2 => key().prop_map(Op::Delete),
            3 => key().prop_map(Op::Get),
            3 => ("[ab]{0,2}", prop_oneof![8 => 1usize..5, 1 => Just(0usize), 1 => Just(1001usize)])
                .prop_map(|(prefix, limit)| Op::List { prefix, limit }),
            3 => prop_oneof![(0i64..3_000), (0i64..150_000)].prop_map(Op::AdvanceMs),
            1 => (0usize..8).prop_map(Op::Purge),
        ]
    }

    /// Every page of both listings, each following its own cursors, then
    /// each store's cursor used under another prefix.
    async fn compare_listings(
        memory: &MemoryKv,
        objects: &Objects,
        prefix: &str,
        limit: usize,
    ) -> Result<(), TestCaseError> {
        let (mut memory_cursor, mut objects_cursor) = (None, None);
        let mut first = true;
        loop {
            let a = memory
                .list(list(prefix, limit, memory_cursor.clone()))
                .await;
            let b = objects
                .list(list(prefix, limit, objects_cursor.clone()))
                .await;
            match (a, b) {
                (Ok(a), Ok(b)) => {
                    prop_assert_eq!(&a.keys, &b.keys);
                    prop_assert_eq!(a.cursor.is_some(), b.cursor.is_some());
                    if first && a.cursor.is_some() {
                        let other = format!("{prefix}b");
                        let a2 = memory.list(list(&other, limit, a.cursor.clone())).await;
                        let b2 = objects.list(list(&other, limit, b.cursor.clone())).await;
                        prop_assert_eq!(a2, b2);
                    }
                    first = false;
                    match (a.cursor, b.cursor) {
                        (Some(x), Some(y)) => {
                            memory_cursor = Some(x);
                            objects_cursor = Some(y);
                        }
                        _ => return Ok(()),
                    }
                }
                (a, b) => {
                    prop_assert_eq!(a, b);
                    return Ok(());
                }
            }
        }
    }

    async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
        let clock = ManualClock::new(T0);
        let memory = MemoryKv::new(clock.clone());
        let objects = ObjectKv::new(MemoryObjects::new(), clock.clone());
        for op in ops {
            match op {
                Op::Put {
                    key,
                    value,
                    ttl,
                    metadata,
                } => {
                    let options = PutOptions {
                        expiration_ttl: ttl,
                        metadata,
                    };
                    let a = memory.put(&key, &value, options.clone()).await;
                    let b = objects.put(&key, &value, options).await;
                    prop_assert_eq!(a, b);
                }
                Op::Delete(key) => {
                    prop_assert_eq!(memory.delete(&key).await, objects.delete(&key).await);
                }
                Op::Get(key) => {
                    prop_assert_eq!(memory.get(&key).await, objects.get(&key).await);
                }
                Op::List { prefix, limit } => {
                    compare_listings(&memory, &objects, &prefix, limit).await?;
                }
                Op::AdvanceMs(ms) => clock.set_ms(clock.now_ms() + ms),
                Op::Purge(budget) => {
                    objects
                        .purge_expired(budget)
                        .await
                        .map_err(|e| TestCaseError::fail(format!("purge failed: {e}")))?;
                }
            }
        }
        compare_listings(&memory, &objects, "", 1000).await?;
        prop_assert_eq!(memory.entries(), objects.dump(clock.now_ms()));
        // Once the pass under way ends, a whole pass leaves exactly the live
        // entries in storage.
        for _ in 0..2 {
            loop {
                let purge = objects.purge_expired(3).await;
                let purge = purge.map_err(|e| TestCaseError::fail(format!("purge failed: {e}")))?;
                if purge.done {
                    break;
                }
            }
        }
        prop_assert_eq!(memory.keys(), objects.storage().keys());
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn memory_kv_and_object_kv_answer_alike(ops in proptest::collection::vec(op(), 1..80)) {
            block_on(run(ops))?;
        }
    }
}

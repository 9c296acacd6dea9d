//! MemoryKv behaves like Workers KV: limits, ordering, cursors, expiry, counts, failures.

mod common;

use common::{block_on, T0};
use serde_json::json;
use session_core::store::{
    KvEntry, KvOp, KvOpCounts, KvStore, ListOptions, PutOptions, StoredEntry,
};
use session_core::{ManualClock, MemoryKv, StoreError};

fn kv() -> (ManualClock, MemoryKv) {
    let clock = ManualClock::new(T0);
    (clock.clone(), MemoryKv::new(clock))
}

fn ttl(secs: u64) -> PutOptions {
    PutOptions {
        expiration_ttl: Some(secs),
        metadata: None,
    }
}

fn list(prefix: &str, limit: usize, cursor: Option<String>) -> ListOptions {
    ListOptions {
        prefix: prefix.into(),
        limit,
        cursor,
    }
}

fn rejected<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Rejected(_)))
}

#[test]
fn put_get_delete_round_trip_with_metadata() {
    let (_, kv) = kv();
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

#[test]
fn expiration_ttl_below_60_is_rejected_and_60_accepted() {
    let (_, kv) = kv();
    block_on(async {
        assert!(rejected(kv.put("k", "v", ttl(59)).await));
        assert!(rejected(kv.put("k", "v", ttl(0)).await));
        assert_eq!(kv.get("k").await.unwrap(), None);
        kv.put("k", "v", ttl(60)).await.unwrap();
        assert!(kv.get("k").await.unwrap().is_some());
    });
}

#[test]
fn key_limits() {
    let (_, kv) = kv();
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
    });
}

#[test]
fn metadata_limit_is_1024_serialized_bytes() {
    let (_, kv) = kv();
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
        assert_eq!(kv.keys(), vec!["a".to_string()]);
    });
}

#[test]
fn value_limit_is_25_mib() {
    let (_, kv) = kv();
    block_on(async {
        let max = "v".repeat(25 * 1024 * 1024);
        kv.put("a", &max, PutOptions::default()).await.unwrap();
        let over = format!("{max}v");
        assert!(rejected(kv.put("b", &over, PutOptions::default()).await));
    });
}

#[test]
fn list_is_in_byte_order_with_prefix_limit_and_opaque_cursor() {
    let (_, kv) = kv();
    block_on(async {
        for name in ["p:b", "p:a", "p:é", "p:B", "q:a", "p", "p:aa", "o:z"] {
            let meta = PutOptions {
                expiration_ttl: None,
                metadata: Some(json!(name)),
            };
            kv.put(name, "", meta).await.unwrap();
        }
        let first = kv.list(list("p:", 2, None)).await.unwrap();
        let names: Vec<_> = first.keys.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["p:B", "p:a"]);
        assert_eq!(first.keys[0].metadata, Some(json!("p:B")));
        let cursor = first.cursor.clone().expect("more to come");
        assert!(!cursor.contains("p:a"), "the cursor is not the raw key");

        let second = kv.list(list("p:", 2, Some(cursor.clone()))).await.unwrap();
        let names: Vec<_> = second.keys.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["p:aa", "p:b"]);
        let third = kv.list(list("p:", 2, second.cursor.clone())).await.unwrap();
        let names: Vec<_> = third.keys.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["p:é"], "UTF-8 bytes sort after ASCII");
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

#[test]
fn list_pages_of_1000() {
    let (_, kv) = kv();
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

#[test]
fn entries_expire_by_the_clock() {
    let (clock, kv) = kv();
    block_on(async {
        kv.put("short", "1", ttl(60)).await.unwrap();
        kv.put("long", "2", ttl(120)).await.unwrap();
        kv.put("forever", "3", PutOptions::default()).await.unwrap();
        let expiration = |name: &str| {
            kv.entries()
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
        assert_eq!(kv.keys(), ["forever", "long"]);
        clock.advance_secs(60);
        assert_eq!(kv.keys(), ["forever"]);
        assert_eq!(kv.len(), 1);
    });
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

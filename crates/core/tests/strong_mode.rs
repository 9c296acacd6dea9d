//! `strong` mode: the same service run by each user's owner (here
//! [`MemoryOwners`], the in-memory twin of the Durable Object), reached from
//! the Worker's [`OwnerClient`]. Guarantees, costs, interleavings, the move
//! from `eventual` mode, and another location's stale view side by side.

mod common;

use std::rc::Rc;

use common::{block_on, join_all, key_entry, service_over, strong_over, Owners, T0};
use serde_json::json;
use session_core::owner::MemoryOwners;
use session_core::owner::{OwnerClient, OwnerTransport};
use session_core::store::{KvStore, ObjectKv, PutOptions};
use session_core::{
    KeyLayout, KeyRing, ManualClock, MemoryKv, NewSession, Policy, SeededRandom, SessionError,
    SessionId, Sessions, Slide, StoreError, Writer,
};

type Strong = Sessions<MemoryKv, ManualClock, SeededRandom>;

struct World {
    clock: ManualClock,
    kv: MemoryKv,
    owners: Rc<Owners>,
    sessions: Strong,
}

fn keys() -> String {
    key_entry("k1", 1)
}

fn world_with(policy: Policy) -> World {
    let clock = ManualClock::new(T0);
    let kv = MemoryKv::new(clock.clone());
    world_over(kv, clock, policy)
}

fn world() -> World {
    world_with(Policy::default())
}

fn world_over(kv: MemoryKv, clock: ManualClock, policy: Policy) -> World {
    let global = service_over(&kv, &clock, &keys(), "", 8);
    let (sessions, owners) = strong_over(&kv, &clock, global, &keys(), 7, policy);
    World {
        clock,
        kv,
        owners,
        sessions,
    }
}

/// The eventual-mode service over the same KV (before or after a switch).
/// Each has its own random stream.
fn eventual(w: &World) -> Sessions<MemoryKv, ManualClock, SeededRandom> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEED: AtomicU64 = AtomicU64::new(1000);
    let seed = SEED.fetch_add(1, Ordering::Relaxed);
    Sessions::Eventual(service_over(&w.kv, &w.clock, &keys(), "", seed))
}

fn owner_name(user: &str) -> String {
    let layout = KeyLayout::default();
    layout.owner_name(layout.owner(user))
}

fn create(w: &World, user: &str) -> (String, session_core::Session) {
    let (token, s) = block_on(w.sessions.create(NewSession::for_user(user))).unwrap();
    (token.expose().to_owned(), s)
}

fn kv_index_keys(w: &World, user: &str) -> Vec<String> {
    let prefix = KeyLayout::default().user_index_prefix(user);
    w.kv.keys()
        .into_iter()
        .filter(|k| k.starts_with(&prefix))
        .collect()
}

#[test]
fn a_token_names_its_owner_and_verifying_costs_one_owner_call_and_no_kv() {
    let w = world();
    let (token, s) = create(&w, "alice");
    assert_eq!(
        s.id.owner(),
        Some(KeyLayout::default().owner("alice")),
        "the id carries the owner"
    );
    w.owners.reset_calls();
    w.kv.reset_counts();
    let verified = block_on(w.sessions.verify(&token)).unwrap();
    assert_eq!(verified.id, s.id);
    assert_eq!(w.owners.calls(), 1);
    assert_eq!(w.kv.counts().total(), 0, "no KV call on the guard path");
    // KV holds the index entry (global listing), never the record.
    assert_eq!(kv_index_keys(&w, "alice").len(), 1);
    assert!(!w.kv.keys().iter().any(|k| k.starts_with("s:")));
    assert_eq!(w.owners.names(), vec![owner_name("alice")]);
}

#[test]
fn forged_and_malformed_tokens_cost_no_call_at_all() {
    let w = world();
    let (token, _) = create(&w, "alice");
    w.owners.reset_calls();
    w.kv.reset_counts();
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [forged.as_str(), "es1.k1.x.y.z", "", "garbage"] {
        assert_eq!(
            block_on(w.sessions.verify(bad)).unwrap_err(),
            SessionError::InvalidToken
        );
    }
    assert_eq!(w.owners.calls(), 0);
    assert_eq!(w.kv.counts().total(), 0);
}

#[test]
fn a_revocation_is_refused_by_the_very_next_request() {
    let w = world();
    let (token, s) = create(&w, "alice");
    block_on(w.sessions.destroy_session(&s)).unwrap();
    assert_eq!(
        block_on(w.sessions.verify(&token)).unwrap_err(),
        SessionError::InvalidToken
    );
    // By id (admin) and by user as well.
    let (token2, s2) = create(&w, "alice");
    assert!(block_on(w.sessions.destroy(s2.id.as_str())).unwrap());
    assert!(block_on(w.sessions.verify(&token2)).is_err());
    let (token3, _) = create(&w, "alice");
    assert_eq!(block_on(w.sessions.destroy_user("alice", None)).unwrap(), 1);
    assert!(block_on(w.sessions.verify(&token3)).is_err());
    // KV's index follows (the owner drains its outbox after each call).
    assert!(kv_index_keys(&w, "alice").is_empty());
}

#[test]
fn no_write_brings_a_revoked_session_back_in_any_order() {
    // Each race: the revocation and one write of the same session, started
    // together, in both orders, with KV calls yielding so that the owner's
    // KV work interleaves; afterwards the session is gone everywhere.
    let patch = json!({"label": "renamed"});
    for first_revoke in [true, false] {
        for race in ["slide", "refresh", "update", "admin_update"] {
            let w = world_with(Policy::new(600, 86_400).unwrap());
            let (token, s) = create(&w, "alice");
            w.clock.advance_secs(400); // sliding is due
            let verified = block_on(w.sessions.verify(&token)).unwrap();
            let claimed = w.sessions.claim_slide(&verified).expect("slide due");
            w.kv.set_yield_each_op(true);
            let revoke = async {
                w.sessions
                    .destroy_session(&s)
                    .await
                    .map(|_| None::<session_core::Session>)
            };
            let write = async {
                match race {
                    "slide" => w.sessions.slide(&claimed).await.map(|r| match r {
                        Slide::Written(s) => Some(*s),
                        Slide::Skipped => None,
                    }),
                    "refresh" => w.sessions.refresh(&verified).await.map(Some),
                    "update" => w
                        .sessions
                        .update_session(&verified, &patch, Writer::Holder)
                        .await
                        .map(Some),
                    _ => w.sessions.update(s.id.as_str(), &patch).await.map(Some),
                }
            };
            let results = if first_revoke {
                block_on(common::join2(revoke, write))
            } else {
                let (b, a) = block_on(common::join2(write, revoke));
                (a, b)
            };
            assert!(results.0.is_ok(), "{race}: revoke failed: {:?}", results.0);
            w.kv.set_yield_each_op(false);
            assert_eq!(
                block_on(w.sessions.verify(&token)).unwrap_err(),
                SessionError::InvalidToken,
                "{race} (revoke first: {first_revoke}) brought the session back"
            );
            block_on(w.owners.run_alarms()).unwrap();
            let storage = w.owners.owner(&owner_name("alice")).storage;
            assert!(
                !storage
                    .keys()
                    .iter()
                    .any(|k| k.starts_with("s:") || k.starts_with("u:")),
                "{race}: owner still holds {:?}",
                storage.keys()
            );
            assert!(
                kv_index_keys(&w, "alice").is_empty(),
                "{race}: KV index left"
            );
        }
    }
}

#[test]
fn fifty_concurrent_logins_are_all_listed_and_all_revoked() {
    let w = world();
    w.kv.set_yield_each_op(true);
    let created: Vec<_> = block_on(join_all(
        (0..50)
            .map(|_| w.sessions.create(NewSession::for_user("bob")))
            .collect(),
    ));
    w.kv.set_yield_each_op(false);
    let tokens: Vec<String> = created
        .into_iter()
        .map(|r| r.unwrap().0.expose().to_owned())
        .collect();
    assert_eq!(
        block_on(w.sessions.list_user("bob", None)).unwrap().len(),
        50
    );
    assert_eq!(kv_index_keys(&w, "bob").len(), 50, "global index complete");
    w.kv.set_yield_each_op(true);
    // Revoke-all while more logins come in: each new one either is revoked
    // or outlives it, never half of both.
    let (revoked, late) = block_on(common::join2(
        w.sessions.destroy_user("bob", None),
        w.sessions.create(NewSession::for_user("bob")),
    ));
    w.kv.set_yield_each_op(false);
    let revoked = revoked.unwrap();
    let (late_token, _) = late.unwrap();
    assert!(revoked == 50 || revoked == 51, "revoked {revoked}");
    for t in &tokens {
        assert!(block_on(w.sessions.verify(t)).is_err());
    }
    let late_works = block_on(w.sessions.verify(late_token.expose())).is_ok();
    let listed = block_on(w.sessions.list_user("bob", None)).unwrap();
    assert_eq!(
        listed.len(),
        usize::from(late_works),
        "listing = what works"
    );
    assert_eq!(revoked, 51 - usize::from(late_works));
}

#[test]
fn revoke_all_of_5000_sessions_completes_and_kv_catches_up_by_alarm() {
    let w = world();
    let tokens: Vec<String> = (0..5000).map(|_| create(&w, "carol").0).collect();
    assert_eq!(kv_index_keys(&w, "carol").len(), 5000);
    w.kv.reset_counts();
    w.owners.reset_calls();
    assert_eq!(
        block_on(w.sessions.destroy_user("carol", None)).unwrap(),
        5000
    );
    assert_eq!(w.owners.calls(), 1, "one call from the Worker");
    let in_call = w.kv.counts().total();
    assert_eq!(
        in_call, 500,
        "the call itself stays far below 1000 subrequests"
    );
    // KV's index lags until the alarms ran...
    assert_eq!(kv_index_keys(&w, "carol").len(), 4500);
    let later = block_on(w.owners.run_alarms()).unwrap();
    assert_eq!(in_call + later, 5000, "one KV delete per index entry");
    assert!(kv_index_keys(&w, "carol").is_empty());
    for t in &tokens {
        assert!(block_on(w.sessions.verify(t)).is_err());
    }
}

#[test]
fn session_cap_revokes_the_least_recently_seen_in_both_modes() {
    let policy = Policy::default().with_session_cap(Some(3));
    for strong in [true, false] {
        let w = world_with(policy);
        let eventual_sessions =
            Sessions::Eventual(service_over(&w.kv, &w.clock, &keys(), "", 11).with_policy(policy));
        let sessions = if strong {
            &w.sessions
        } else {
            &eventual_sessions
        };
        let mut tokens = Vec::new();
        for _ in 0..3 {
            let (t, s) = block_on(sessions.create(NewSession::for_user("dan"))).unwrap();
            tokens.push((t.expose().to_owned(), s));
            w.clock.advance_secs(10);
        }
        // The first one is seen again: the second is now the least recent.
        let first = block_on(sessions.verify(&tokens[0].0)).unwrap();
        block_on(sessions.refresh(&first)).unwrap();
        w.clock.advance_secs(10);
        let (t4, _) = block_on(sessions.create(NewSession::for_user("dan"))).unwrap();
        let works = |t: &str| block_on(sessions.verify(t)).is_ok();
        assert!(works(&tokens[0].0), "strong={strong}: refreshed one kept");
        assert!(
            !works(&tokens[1].0),
            "strong={strong}: least recent revoked"
        );
        assert!(works(&tokens[2].0) && works(t4.expose()));
        assert_eq!(block_on(sessions.list_user("dan", None)).unwrap().len(), 3);
    }
}

#[test]
fn expired_sessions_leave_the_owner_storage_on_their_own() {
    let w = world();
    let mut new = NewSession::for_user("erin");
    new.idle_ttl = Some(60);
    new.absolute_ttl = Some(120);
    block_on(w.sessions.create(new)).unwrap();
    let storage = w.owners.owner(&owner_name("erin")).storage;
    assert!(storage.keys().iter().any(|k| k.starts_with("s:")));
    // Still there while its record may answer `session_expired`...
    w.clock.advance_secs(120);
    block_on(w.owners.run_alarms()).unwrap();
    assert!(storage.keys().iter().any(|k| k.starts_with("s:")));
    // ...gone once KV's copy would be (a day later), and only the per-user
    // moved-in flag is left.
    w.clock.advance_secs(86_400 + 60);
    block_on(w.owners.run_alarms()).unwrap();
    let left: Vec<String> = storage.keys();
    assert!(left.iter().all(|k| k.starts_with("w:")), "left: {left:?}");
}

#[test]
fn an_unreachable_owner_fails_closed() {
    let w = world();
    let (token, s) = create(&w, "fay");
    w.owners.set_unreachable(true);
    let unavailable = |r: Result<_, SessionError>| {
        matches!(r, Err(SessionError::Store(StoreError::Unavailable(_))))
    };
    assert!(unavailable(block_on(w.sessions.verify(&token)).map(|_| ())));
    assert!(unavailable(block_on(w.sessions.destroy_session(&s))));
    assert!(unavailable(
        block_on(w.sessions.list_user("fay", None)).map(|_| ())
    ));
    assert!(unavailable(
        block_on(w.sessions.create(NewSession::for_user("fay"))).map(|_| ())
    ));
    w.owners.set_unreachable(false);
    assert!(block_on(w.sessions.verify(&token)).is_ok());
}

/// A session created the way sessions were before owner tags: a 22-char id.
fn legacy_session(w: &World, user: &str) -> (String, SessionId) {
    common::legacy_session(&w.kv, &eventual(w), &keys(), user)
}

#[test]
fn switching_from_eventual_keeps_sessions_working_and_revoked_ones_revoked() {
    let w = world();
    // Before the switch: one session of this version (owned id), one older
    // (22-char id), both in KV only.
    let (owned_token, owned) = {
        let (t, s) = block_on(eventual(&w).create(NewSession::for_user("gil"))).unwrap();
        (t.expose().to_owned(), s)
    };
    let (legacy_token, legacy_id) = legacy_session(&w, "gil");
    assert_eq!(legacy_id.as_str().len(), 22);

    // After: both work, the older costs one KV read in the Worker to find its owner.
    w.kv.reset_counts();
    assert_eq!(
        block_on(w.sessions.verify(&legacy_token)).unwrap().id,
        legacy_id
    );
    assert!(w.kv.counts().reads >= 1);
    assert_eq!(
        block_on(w.sessions.verify(&owned_token)).unwrap().id,
        owned.id
    );
    let listed = block_on(w.sessions.list_user("gil", None)).unwrap();
    assert_eq!(listed.len(), 2, "both moved in and listed");
    // Once moved in, an owned id's check needs no KV read.
    w.kv.reset_counts();
    block_on(w.sessions.verify(&owned_token)).unwrap();
    assert_eq!(w.kv.counts().total(), 0);

    // Revoked after the switch: refused, and never moved in again even if
    // another location's KV still shows the record.
    let layout = KeyLayout::default();
    let stale_record =
        w.kv.entries()
            .into_iter()
            .find(|e| e.name == layout.session_key(&legacy_id))
            .unwrap()
            .value;
    let legacy = block_on(w.sessions.verify(&legacy_token)).unwrap();
    block_on(w.sessions.destroy_session(&legacy)).unwrap();
    assert!(block_on(w.sessions.verify(&legacy_token)).is_err());
    assert!(
        !w.kv.keys().contains(&layout.session_key(&legacy_id)),
        "its KV record is deleted too"
    );
    block_on(w.kv.put(
        &layout.session_key(&legacy_id),
        &stale_record,
        PutOptions::default(),
    ))
    .unwrap();
    assert_eq!(
        block_on(w.sessions.verify(&legacy_token)).unwrap_err(),
        SessionError::InvalidToken
    );
    // Revoking all after the switch covers sessions never used since.
    let (unused_token, _) = legacy_session(&w, "hal");
    assert_eq!(block_on(w.sessions.destroy_user("hal", None)).unwrap(), 1);
    assert!(block_on(w.sessions.verify(&unused_token)).is_err());
    // Back to eventual: revoked sessions stay revoked there too.
    block_on(w.kv.delete(&layout.session_key(&legacy_id))).unwrap();
    assert!(block_on(eventual(&w).verify(&legacy_token)).is_err());
    assert!(block_on(eventual(&w).verify(&unused_token)).is_err());
}

#[test]
fn another_locations_stale_view_revives_a_session_only_in_eventual_mode() {
    // Location B reads KV as it was `lag` seconds ago (KV's propagation
    // window); the revocation is made in location A.
    let lag = 30;
    for strong in [false, true] {
        let w = world();
        let replica = common::LaggedKv::new(w.kv.clone(), w.clock.clone(), lag);
        let far: Sessions<common::LaggedKv, ManualClock, SeededRandom> = if strong {
            let global = SessionServiceOver::over(&replica, &w.clock);
            let transport: Rc<dyn OwnerTransport> = w.owners.clone();
            Sessions::Strong(OwnerClient::new(global, transport))
        } else {
            Sessions::Eventual(SessionServiceOver::over(&replica, &w.clock))
        };
        let near = if strong { &w.sessions } else { &eventual(&w) };
        let (token, s) = block_on(near.create(NewSession::for_user("ivy"))).unwrap();
        replica.snapshot();
        w.clock.advance_secs(lag + 1);
        assert!(
            block_on(far.verify(token.expose())).is_ok(),
            "seen far away"
        );
        block_on(near.destroy_session(&s)).unwrap();
        replica.snapshot();
        let stale = block_on(far.verify(token.expose())).is_ok();
        assert_eq!(stale, !strong, "strong={strong}: just after the revocation");
        w.clock.advance_secs(lag + 1);
        assert!(
            block_on(far.verify(token.expose())).is_err(),
            "after the window"
        );
    }
}

/// A service over any KV view, with the test keys.
struct SessionServiceOver;
impl SessionServiceOver {
    fn over(
        kv: &common::LaggedKv,
        clock: &ManualClock,
    ) -> session_core::SessionService<common::LaggedKv, ManualClock, SeededRandom> {
        session_core::SessionService::new(
            kv.clone(),
            clock.clone(),
            SeededRandom::new(13),
            KeyRing::parse(&keys()).unwrap(),
            KeyLayout::default(),
        )
    }
}

#[test]
fn the_owner_store_is_the_object_storage_of_the_behaviour_suite() {
    // What the owner writes lands in its ObjectKv: session record and index
    // entry, and an outbox entry until KV has the index entry.
    let w = world();
    w.owners.set_drain_budget(0);
    let (_, s) = create(&w, "jo");
    let name = owner_name("jo");
    let storage = w.owners.owner(&name).storage;
    let layout = KeyLayout::default();
    let keys = storage.keys();
    assert!(keys.contains(&layout.session_key(&s.id)));
    assert!(keys.contains(&layout.index_key("jo", &s.id)));
    assert!(keys.contains(&layout.outbox_key(&layout.index_key("jo", &s.id))));
    assert!(kv_index_keys(&w, "jo").is_empty(), "not drained yet");
    let local = ObjectKv::new(storage.clone(), w.clock.clone());
    assert!(block_on(local.get(&layout.session_key(&s.id)))
        .unwrap()
        .is_some());
    assert_eq!(block_on(w.owners.run_alarms()).unwrap(), 1);
    assert_eq!(kv_index_keys(&w, "jo").len(), 1);
    assert!(!storage.keys().iter().any(|k| k.starts_with("x:")));
}

// Found by an attack review of this mode; each failed before its fix.

use session_core::store::KvOp;

/// (Review F1) A revocation made while a sweep of the same user is in flight
/// is never undone by a write of that session that started before it (its
/// `put` used to sweep, awaiting KV, before writing the record back).
#[test]
fn a_write_racing_the_first_sweep_never_revives_a_revoked_session() {
    let w = world();
    // Before the switch: five sessions of "vic" in KV (eventual mode).
    let ev = eventual(&w);
    let mut made = Vec::new();
    for _ in 0..5 {
        let (t, s) = block_on(ev.create(NewSession::for_user("vic"))).unwrap();
        made.push((t.expose().to_owned(), s));
    }
    let (token, target) = made[0].clone();
    // KV is remote: reads and lists take a while.
    w.kv.set_op_latency(KvOp::Read, 5);
    w.kv.set_op_latency(KvOp::List, 5);
    // A: the first request after the switch (moves the session in, then sweeps).
    let a = async { w.sessions.verify(&token).await.map(|_| ()) };
    // B: a refresh of the same session, arriving while A sweeps.
    let b = async {
        common::yield_times(8).await;
        w.sessions.refresh(&target).await.map(|_| ())
    };
    // C: the admin revokes the session, while B's put is sweeping.
    let c = async {
        common::yield_times(14).await;
        w.sessions.destroy(target.id.as_str()).await
    };
    let ((ra, rb), rc) = block_on(common::join2(common::join2(a, b), c));
    w.kv.set_op_latency(KvOp::Read, 0);
    w.kv.set_op_latency(KvOp::List, 0);
    let _ = (ra, rb);
    assert!(rc.unwrap(), "the admin was told it is revoked");
    assert!(
        block_on(w.sessions.verify(&token)).is_err(),
        "the revoked session works again"
    );
}

/// (Review F4) A 64-byte KEY_PREFIX and a 256-byte userId (both allowed):
/// the outbox key writes the prefix once, so it fits KV's 512 bytes.
#[test]
fn the_longest_prefix_and_user_id_log_in_in_strong_mode() {
    let prefix = "p".repeat(64);
    let user = "u".repeat(256);
    let clock = session_core::ManualClock::new(common::T0);
    let kv = MemoryKv::new(clock.clone());
    let layout = Rc::new(KeyLayout::new(&prefix).unwrap());
    let owners = Rc::new(MemoryOwners::new(
        kv.clone(),
        clock.clone(),
        Rc::new(SeededRandom::new(7)),
        Rc::new(KeyRing::parse(&keys()).unwrap()),
        Rc::clone(&layout),
        Policy::default(),
    ));
    let global = service_over(&kv, &clock, &keys(), &prefix, 8);
    let transport: Rc<dyn OwnerTransport> = owners.clone();
    let strong = Sessions::Strong(OwnerClient::new(global, transport));
    let ev = Sessions::Eventual(service_over(&kv, &clock, &keys(), &prefix, 9));
    assert!(
        block_on(ev.create(NewSession::for_user(user.clone()))).is_ok(),
        "eventual ok"
    );
    let r = block_on(strong.create(NewSession::for_user(user.clone())));
    assert!(r.is_ok(), "strong create failed: {:?}", r.err());
}

/// (Review F5) Two calls of one owner whose drains would overlap: only one
/// drains at a time, so an older KV put never lands after a newer delete.
#[test]
fn overlapping_drains_never_leave_a_revoked_session_in_kvs_index() {
    let w = world();
    w.owners.set_drain_budget(0);
    let (token, s) = create(&w, "lee");
    w.owners.set_drain_budget(500);
    w.kv.set_op_latency(KvOp::Write, 10); // a slow KV put
    let a = async { w.sessions.verify(&token).await.map(|_| ()) }; // drains: the put
    let b = async {
        common::yield_times(2).await;
        w.sessions.destroy_session(&s).await // drains: the delete
    };
    let (ra, rb) = block_on(common::join2(a, b));
    w.kv.set_op_latency(KvOp::Write, 0);
    ra.unwrap();
    rb.unwrap();
    block_on(w.owners.run_alarms()).unwrap();
    assert!(block_on(w.sessions.verify(&token)).is_err());
    let (listed, _) = block_on(w.sessions.list_all(100, None)).unwrap();
    assert!(
        listed.is_empty() && kv_index_keys(&w, "lee").is_empty(),
        "the admin listing shows the revoked session {:?}",
        listed.iter().map(|s| s.id.to_string()).collect::<Vec<_>>()
    );
}

/// (Review F6) A guarded request (verify) never pays for another call's KV
/// backlog: only calls that queued KV work drain before they answer.
#[test]
fn a_guarded_request_never_waits_for_another_calls_kv_backlog() {
    let w = world();
    for _ in 0..2000 {
        create(&w, "max");
    }
    block_on(w.sessions.destroy_user("max", None)).unwrap();
    let (token, _) = create(&w, "max");
    w.kv.reset_counts();
    block_on(w.sessions.verify(&token)).unwrap();
    let n = w.kv.counts().total();
    assert_eq!(
        n, 0,
        "one guarded request made {n} KV calls inside the owner before answering"
    );
}

/// (Review F7) A legacy (22-char) session moved in and kept alive in strong
/// mode keeps its KV copy alive too: the Worker finds its owner by it.
#[test]
fn an_active_legacy_session_outlives_its_old_kv_copy() {
    let w = world();
    // A legacy session as eventual mode wrote it: KV TTL = end + 1 day.
    let (token, id) = legacy_session(&w, "ned");
    let layout = KeyLayout::default();
    let rec =
        w.kv.entries()
            .into_iter()
            .find(|e| e.name == layout.session_key(&id))
            .unwrap();
    let ttl = session_core::layout::kv_ttl_secs(
        &block_on(eventual(&w).verify(&token)).unwrap().lifetime,
        session_core::Clock::now_ms(&w.clock),
    );
    block_on(w.kv.put(
        &rec.name,
        &rec.value,
        PutOptions {
            expiration_ttl: Some(ttl),
            metadata: None,
        },
    ))
    .unwrap();
    // Strong mode: the user is active every hour for 10 days (idle TTL 7 days).
    for step in 0..(10 * 86_400 / 3600) {
        match block_on(w.sessions.verify(&token)) {
            Ok(s) => {
                block_on(w.sessions.refresh(&s)).unwrap();
            }
            Err(e) => {
                let listed = block_on(w.sessions.list_user("ned", None)).unwrap();
                panic!(
                    "active session refused after {} s: {e:?}; still listed: {}",
                    step * 3600,
                    listed.len()
                );
            }
        }
        w.clock.advance_secs(3600);
    }
}

/// (Review F6) Two requests at once never apply the same outbox entries
/// twice (KV allows 1 write/s per key).
#[test]
fn concurrent_requests_never_drain_the_same_entries_twice() {
    let w = world();
    for _ in 0..400 {
        create(&w, "max");
    }
    w.owners.set_drain_budget(0);
    block_on(w.sessions.destroy_user("max", None)).unwrap();
    w.owners.set_drain_budget(500);
    let (t1, _) = create(&w, "max2");
    let _ = t1;
    let (ta, _) = {
        w.owners.set_drain_budget(0);
        let r = create(&w, "max");
        w.owners.set_drain_budget(500);
        r
    };
    w.kv.reset_counts();
    w.kv.set_yield_each_op(true);
    let (a, b) = block_on(common::join2(
        w.sessions.verify(&ta),
        w.sessions.verify(&ta),
    ));
    w.kv.set_yield_each_op(false);
    a.unwrap();
    b.unwrap();
    let c = w.kv.counts();
    assert!(
        c.deletes <= 400,
        "401 outbox entries, {} KV deletes + {} puts for them",
        c.deletes,
        c.writes
    );
}

/// (Review F8) An owner moves in only its own user's sessions, whatever id a
/// caller names (here a self-service delete of another user's id, while
/// the caller's own sweep has not completed).
#[test]
fn an_owner_never_moves_in_another_users_sessions() {
    let w = world();
    let ev = eventual(&w);
    let (amy1, _) = block_on(ev.create(NewSession::for_user("amy"))).unwrap();
    let (amy2, _) = block_on(ev.create(NewSession::for_user("amy"))).unwrap();
    let bob: Vec<_> = (0..3)
        .map(|_| block_on(ev.create(NewSession::for_user("bob"))).unwrap().1)
        .collect();
    // Amy's first request after the switch: moved in, but the sweep's KV list fails.
    w.kv.fail_op(KvOp::List, Some(StoreError::Unavailable("kv".into())));
    assert!(block_on(w.sessions.verify(amy1.expose())).is_err());
    w.kv.fail_op(KvOp::List, None);
    assert!(
        block_on(w.sessions.verify(amy1.expose())).is_ok(),
        "held now"
    );
    // Amy (authenticated) asks to delete one of Bob's sessions by id.
    assert!(!block_on(w.sessions.destroy_owned("amy", bob[0].id.as_str())).unwrap());
    let amy_owner = w.owners.owner(&owner_name("amy")).storage;
    let layout = KeyLayout::default();
    let copied: Vec<_> = bob
        .iter()
        .filter(|s| amy_owner.raw(&layout.session_key(&s.id)).is_some())
        .collect();
    let amy2_ok = block_on(w.sessions.verify(amy2.expose())).is_ok();
    assert!(
        copied.is_empty() && amy2_ok,
        "amy's owner holds {} of bob's sessions; amy's second session works: {amy2_ok}",
        copied.len()
    );
}

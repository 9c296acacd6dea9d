//! Security issue 8: a session's holder never writes its `meta`; a sliding
//! write (or any write of an existing session) never brings back a revoked
//! session nor undoes a change made meanwhile; overlapping requests of one
//! session make one sliding write per isolate.

mod common;

use common::Ops;
use common::{
    block_on, env, join2, join_all, key_entry, request_over, service_over, yield_times, Env,
    HoldingKv, Isolate, Service, T0,
};
use serde_json::json;
use session_core::testing::{KvOpCounts, StoreOp};
use session_core::{Ledger, NewSession, Session, SessionError, Slide, StoreError, Writer};
use std::rc::Rc;

/// A session with idle TTL 600 s, and the clock moved to where sliding is due.
fn due_session(env: &Env) -> (String, Session) {
    let new = NewSession {
        meta: Some(json!({"roles": ["admin"]})),
        idle_ttl: Some(600),
        absolute_ttl: Some(86_400),
        ..NewSession::for_user("alice")
    };
    let (token, _) = block_on(env.service.create(new)).unwrap();
    env.clock.advance_secs(301);
    let session = block_on(env.service.verify(token.expose())).unwrap();
    assert!(env.service.slide_due(&session).is_some(), "sliding is due");
    env.kv.reset_counts();
    (token.into_string(), session)
}

/// Another isolate: same store and clock, its own ledger.
fn other_isolate(env: &Env) -> Service {
    service_over(&env.kv, &env.clock, &key_entry("k1", 1), "", 7)
}

#[test]
fn a_holder_patch_naming_meta_is_forbidden_and_writes_nothing() {
    let env = env();
    let (token, s) = block_on(env.service.create(NewSession {
        meta: Some(json!({"roles": ["user"]})),
        ..NewSession::for_user("u")
    }))
    .unwrap();
    env.kv.reset_counts();
    for patch in [
        json!({"meta": {"roles": ["admin"]}}),
        json!({"meta": null}),
        json!({"label": "x", "meta": {}}),
    ] {
        let e = block_on(env.service.update_session(&s, &patch, Writer::Holder)).unwrap_err();
        assert_eq!(e, SessionError::Forbidden { field: "meta" }, "{patch}");
    }
    assert_eq!(env.kv.counts().total(), 0, "refused before any write");
    let e = block_on(
        env.service
            .update_session(&s, &json!({"userId": "x"}), Writer::Holder),
    );
    assert!(
        matches!(&e, Err(SessionError::Invalid(v)) if v.field == "body"),
        "{e:?}"
    );
    let u = block_on(
        env.service
            .update_session(&s, &json!({"label": "phone"}), Writer::Holder),
    )
    .unwrap();
    assert_eq!(u.label.as_deref(), Some("phone"));
    let v = block_on(env.service.verify(token.expose())).unwrap();
    assert_eq!(
        v.meta.to_value(),
        json!({"roles": ["user"]}),
        "meta untouched"
    );
    // The admin still writes meta.
    let a = block_on(env.service.update(&s.id, &json!({"meta": {"roles": []}}))).unwrap();
    assert_eq!(a.meta.to_value(), json!({"roles": []}));
}

#[test]
fn a_sliding_write_after_a_revocation_is_skipped_in_every_isolate() {
    // The revocation happens while the request that claimed the slide is
    // still at the origin: in this isolate, or in another one.
    for revoke_elsewhere in [false, true] {
        for revoke_all in [false, true] {
            let env = env();
            let (token, session) = due_session(&env);
            let claimed = env.service.claims().claim(&session).expect("claimed");
            let elsewhere = other_isolate(&env);
            let revoker = if revoke_elsewhere {
                &elsewhere
            } else {
                &env.service
            };
            if revoke_all {
                assert_eq!(block_on(revoker.destroy_user("alice", None)).unwrap(), 1);
            } else {
                assert!(block_on(revoker.destroy(&session.id)).unwrap());
            }
            env.kv.reset_counts();
            let slid = block_on(env.service.slide_claimed(&claimed)).unwrap();
            assert!(matches!(slid, Slide::Skipped), "{slid:?}");
            assert_eq!(
                env.kv.counts(),
                KvOpCounts {
                    reads: 1,
                    ..Default::default()
                },
                "one read, no write"
            );
            assert_eq!(
                block_on(env.service.verify(&token)).unwrap_err(),
                SessionError::InvalidToken
            );
            assert!(block_on(env.service.list_user("alice", None))
                .unwrap()
                .is_empty());
            assert!(
                env.kv.is_empty(),
                "nothing written back: {:?}",
                env.kv.keys()
            );
        }
    }
}

#[test]
fn a_sliding_write_keeps_a_change_made_meanwhile() {
    let env = env();
    let (token, session) = due_session(&env);
    let claimed = env.service.claims().claim(&session).expect("claimed");
    // An admin (another isolate) removes the role and relabels.
    let admin = other_isolate(&env);
    block_on(admin.update(
        &session.id,
        &json!({"label": "seen", "meta": {"roles": []}}),
    ))
    .unwrap();
    env.clock.advance_secs(1);
    env.kv.reset_counts();
    let Slide::Written(written) = block_on(env.service.slide_claimed(&claimed)).unwrap() else {
        panic!("the slide should write");
    };
    assert_eq!(
        env.kv.counts(),
        KvOpCounts {
            reads: 1,
            writes: 2,
            ..Default::default()
        }
    );
    let now = T0 + 302_000;
    assert_eq!(written.lifetime.expires_at, now + 600_000);
    assert_eq!(written.lifetime.last_seen_at, now);
    let v = block_on(env.service.verify(&token)).unwrap();
    assert_eq!(
        v.meta.to_value(),
        json!({"roles": []}),
        "the role stays removed"
    );
    assert_eq!(v.label.as_deref(), Some("seen"));
    assert_eq!(v.lifetime.expires_at, now + 600_000);
    let listed = block_on(env.service.list_user("alice", None)).unwrap();
    assert_eq!(
        (listed[0].label.as_deref(), listed[0].lifetime.expires_at),
        (Some("seen"), now + 600_000)
    );
}

#[test]
fn a_slide_already_made_elsewhere_is_not_made_again() {
    let env = env();
    let (_, session) = due_session(&env);
    let claimed = env.service.claims().claim(&session).expect("claimed");
    let other = other_isolate(&env);
    let theirs = other
        .claims()
        .claim(&session)
        .expect("another isolate claims too");
    assert!(matches!(
        block_on(other.slide_claimed(&theirs)).unwrap(),
        Slide::Written(_)
    ));
    env.kv.reset_counts();
    assert!(matches!(
        block_on(env.service.slide_claimed(&claimed)).unwrap(),
        Slide::Skipped
    ));
    assert_eq!(env.kv.counts().writes, 0);
}

#[test]
fn forty_overlapping_requests_claim_one_sliding_write() {
    let env = env();
    let (token, _) = due_session(&env);
    // Forty requests of one isolate (one ledger), each with its own service
    // as the Worker builds one per request, verify and then try to claim.
    let ledger = Rc::new(Ledger::new());
    let services: Vec<Service> = (0..40)
        .map(|i| request_over(env.kv.clone(), &env.clock, &ledger, 7 + i))
        .collect();
    env.kv.set_yield_each_op(true);
    let verified = block_on(join_all(
        services.iter().map(|s| s.verify(&token)).collect(),
    ));
    let claims: Vec<Session> = services
        .iter()
        .zip(verified)
        .filter_map(|(s, v)| s.claims().claim(&v.unwrap()))
        .collect();
    assert_eq!(claims.len(), 1, "one claim among forty");
    env.kv.reset_counts();
    assert!(matches!(
        block_on(services[0].slide_claimed(&claims[0])).unwrap(),
        Slide::Written(_)
    ));
    assert_eq!(
        env.kv.counts(),
        KvOpCounts {
            reads: 1,
            writes: 2,
            ..Default::default()
        }
    );
    // Within half the idle TTL, nobody in this isolate claims again.
    env.clock.advance_secs(10);
    let v = block_on(services[1].verify(&token)).unwrap();
    assert!(services[1].claims().claim(&v).is_none());
}

#[test]
fn a_revocation_racing_the_sliding_reread_in_the_same_isolate_wins() {
    // The slide's re-read reads the live record, then this isolate deletes
    // the session before the slide's put runs (every KV call yields once, so
    // the two interleave): the ledger knows of the delete, so nothing is
    // put. Without the ledger the put would land after the delete and bring
    // the session back.
    let env = env();
    let (token, session) = due_session(&env);
    let claimed = env.service.claims().claim(&session).expect("claimed");
    env.kv.set_yield_each_op(true);
    let (slid, revoked) = block_on(join2(
        env.service.slide_claimed(&claimed),
        env.service.destroy_session(&session),
    ));
    env.kv.set_yield_each_op(false);
    revoked.unwrap();
    assert!(matches!(slid.unwrap(), Slide::Skipped));
    assert_eq!(
        env.kv.counts().reads,
        1,
        "the re-read saw the live record; the ledger knew this isolate deleted it meanwhile"
    );
    assert_eq!(
        block_on(env.service.verify(&token)).unwrap_err(),
        SessionError::InvalidToken
    );
    assert!(env.kv.is_empty(), "{:?}", env.kv.keys());
}

#[test]
fn refresh_and_label_changes_in_flight_never_write_a_revoked_session_back() {
    let env = env();
    let (token, session) = due_session(&env);
    block_on(env.service.destroy_session(&session)).unwrap();
    // Both still hold the copy read before the revocation.
    assert_eq!(
        block_on(env.service.refresh(&session)).unwrap_err(),
        SessionError::NotFound
    );
    let e = block_on(
        env.service
            .update_session(&session, &json!({"label": "x"}), Writer::Holder),
    );
    assert_eq!(e.unwrap_err(), SessionError::NotFound);
    assert!(env.kv.is_empty());
    assert_eq!(
        block_on(env.service.verify(&token)).unwrap_err(),
        SessionError::InvalidToken
    );
}

#[test]
fn a_failed_sliding_write_gives_its_claim_back() {
    let env = env();
    let (_, session) = due_session(&env);
    let claimed = env.service.claims().claim(&session).expect("claimed");
    env.kv
        .fail_op(StoreOp::Write, Some(StoreError::Unavailable("down".into())));
    assert!(block_on(env.service.slide_claimed(&claimed)).is_err());
    env.kv.fail_op(StoreOp::Write, None);
    let again = env
        .service
        .claims()
        .claim(&session)
        .expect("claimable again");
    assert!(matches!(
        block_on(env.service.slide_claimed(&again)).unwrap(),
        Slide::Written(_)
    ));
}

// ---------------------------------------------------------------------------
// Found by the review of the first fix (notes R8-3, R8-4, R8-6)

#[test]
fn an_admin_change_during_the_sliding_reread_in_the_same_isolate_is_kept() {
    // R8-3: the admin's write lands while the slide's re-read answer is on
    // its way back; the slide must not put the old meta back.
    let env = env();
    let (token, session) = due_session(&env);
    let kv = HoldingKv::new(env.kv.clone());
    let ledger: Rc<Ledger> = Rc::default();
    let request = request_over(kv.clone(), &env.clock, &ledger, 1);
    let admin = request_over(kv.clone(), &env.clock, &ledger, 2);
    let claimed = request.claims().claim(&session).expect("claimed");
    kv.hold_next_get(&format!("s:{}", session.id));
    let admin_change = async {
        kv.until_holding().await;
        admin
            .update(&session.id, &json!({"meta": {"roles": []}}))
            .await
    };
    let release_later = async {
        kv.until_holding().await;
        yield_times(20).await; // the admin's write is under way (waiting its turn)
        kv.release();
    };
    let (slid, (patched, ())) = block_on(join2(
        request.slide_claimed(&claimed),
        join2(admin_change, release_later),
    ));
    patched.unwrap();
    assert!(
        matches!(slid.unwrap(), Slide::Written(_)),
        "the slide read again and wrote"
    );
    let now = block_on(env.service.verify(&token)).unwrap();
    assert_eq!(
        now.meta.to_value(),
        json!({"roles": []}),
        "the role stays removed"
    );
    assert!(
        now.lifetime.expires_at > session.lifetime.expires_at,
        "and the session slid"
    );
}

#[test]
fn a_holder_label_change_or_refresh_keeps_an_admin_change_made_since_its_read() {
    // R8-4: the holder's request verified its session (reading meta with the
    // role), then an admin removed the role; the holder's write must apply
    // its own field to the record as it stands.
    for via in ["label", "refresh"] {
        let env = env();
        let (token, _) = due_session(&env);
        let me = block_on(env.service.verify(&token)).unwrap();
        let elsewhere = other_isolate(&env);
        block_on(elsewhere.update(&me.id, &json!({"meta": {"roles": []}}))).unwrap();
        let written = match via {
            "label" => block_on(env.service.update_session(
                &me,
                &json!({"label": "x"}),
                Writer::Holder,
            ))
            .unwrap(),
            _ => block_on(env.service.refresh(&me)).unwrap(),
        };
        assert_eq!(written.meta.to_value(), json!({"roles": []}), "{via}");
        let now = block_on(env.service.verify(&token)).unwrap();
        assert_eq!(
            now.meta.to_value(),
            json!({"roles": []}),
            "{via}: the role stays removed"
        );
        if via == "label" {
            assert_eq!(now.label.as_deref(), Some("x"));
        }
    }
}

#[test]
fn a_holder_write_in_flight_during_an_admin_change_in_the_same_isolate_reads_again() {
    // R8-4, same isolate: the holder's re-read answer is held while an
    // admin of this isolate removes the role.
    let env = env();
    let (token, me) = due_session(&env);
    let kv = HoldingKv::new(env.kv.clone());
    let ledger: Rc<Ledger> = Rc::default();
    let holder = request_over(kv.clone(), &env.clock, &ledger, 1);
    let admin = request_over(kv.clone(), &env.clock, &ledger, 2);
    kv.hold_next_get(&format!("s:{}", me.id));
    let admin_change = async {
        kv.until_holding().await;
        admin.update(&me.id, &json!({"meta": {"roles": []}})).await
    };
    let release_later = async {
        kv.until_holding().await;
        yield_times(20).await;
        kv.release();
    };
    let (written, (patched, ())) = block_on(join2(
        holder.update_session(&me, &json!({"label": "phone"}), Writer::Holder),
        join2(admin_change, release_later),
    ));
    patched.unwrap();
    assert_eq!(written.unwrap().label.as_deref(), Some("phone"));
    let now = block_on(env.service.verify(&token)).unwrap();
    assert_eq!(now.meta.to_value(), json!({"roles": []}));
    assert_eq!(now.label.as_deref(), Some("phone"));
}

#[test]
fn a_write_in_flight_stays_refused_when_the_ledger_forgot_the_revocation() {
    // R8-6: one isolate revokes the session, then writes thousands of others
    // (so that the ledger forgets the revocation) while a refresh of the
    // revoked session is between its read and its put.
    let env = env();
    let (token, me) = due_session(&env);
    let kv = HoldingKv::new(env.kv.clone());
    let ledger: Rc<Ledger> = Rc::default();
    let holder = request_over(kv.clone(), &env.clock, &ledger, 1);
    let other = request_over(kv.clone(), &env.clock, &ledger, 2);
    kv.hold_next_get(&format!("s:{}", me.id));
    let (refreshed, ()) = block_on(join2(holder.refresh(&me), async {
        kv.until_holding().await;
        other.destroy_session(&me).await.unwrap();
        for i in 0..session_core::ledger::MAX_ENTRIES + 10 {
            let (_, s) = other
                .create(NewSession::for_user(format!("m{}", i % 7)))
                .await
                .unwrap();
            other.destroy_session(&s).await.unwrap();
        }
        kv.release();
    }));
    assert_eq!(refreshed.unwrap_err(), SessionError::NotFound);
    assert_eq!(
        block_on(env.service.verify(&token)).unwrap_err(),
        SessionError::InvalidToken
    );
}

#[test]
fn overlapping_writes_of_one_session_in_one_isolate_all_land() {
    // A label change, an admin's patch and refreshes of one session, their
    // KV calls interleaved: each applies its change to the newest record
    // this isolate knows, none is lost, none gives up.
    let env = env();
    let (token, me) = due_session(&env);
    let ledger: Rc<Ledger> = Rc::new(Ledger::new());
    let requests: Vec<Service> = (0..6)
        .map(|i| request_over(env.kv.clone(), &env.clock, &ledger, i))
        .collect();
    // Puts slower than reads: a read can run while an earlier put of this
    // isolate is still in flight, and miss it.
    env.kv.set_yield_each_op(true);
    env.kv.set_op_latency(StoreOp::Write, 3);
    // The admin's patch starts once the label change is being put: its read
    // runs while that put is in flight.
    let late_admin = async {
        yield_times(3).await;
        requests[1]
            .update(&me.id, &json!({"meta": {"roles": [], "team": "x"}}))
            .await
    };
    let (labelled, (patched, refreshed)) = block_on(join2(
        requests[0].update_session(&me, &json!({"label": "phone"}), Writer::Holder),
        join2(
            late_admin,
            join_all(requests[2..].iter().map(|r| r.refresh(&me)).collect()),
        ),
    ));
    env.kv.set_yield_each_op(false);
    env.kv.set_op_latency(StoreOp::Write, 0);
    labelled.unwrap();
    patched.unwrap();
    for r in refreshed {
        r.unwrap();
    }
    let now = block_on(env.service.verify(&token)).unwrap();
    assert_eq!(
        now.label.as_deref(),
        Some("phone"),
        "the label change landed"
    );
    assert_eq!(
        now.meta.to_value(),
        json!({"roles": [], "team": "x"}),
        "the admin's patch landed"
    );
    assert!(
        now.lifetime.expires_at > me.lifetime.expires_at,
        "the refreshes landed"
    );
}

// Found by a review of the fault fixes (eventual, one isolate): the rollback of a failed rewrite is a put
// the ledger never hears of. A logout of this very isolate that starts
// once the rollback is under way deletes the session; the rollback's put,
// slower, lands after the deletes and writes the revoked session back:
// it works again, and is listed nowhere (its index entry is deleted).

#[test]
fn a_rollback_in_flight_never_brings_back_a_session_revoked_meanwhile() {
    let env = common::env();
    let faults = session_core::testing::Faults::new();
    env.kv.set_faults(Some((&faults, "kv")));
    let (token, s) = block_on(env.service.create(NewSession::for_user("ann"))).unwrap();
    // Puts are slow (a remote KV), deletes are not.
    env.kv.set_op_latency(StoreOp::Write, 3);
    // Call 1: the refresh's read; 2: its record put; 3: its index put, lost.
    faults.fail_call(3, session_core::testing::FaultKind::Lost);
    let refresh = env.service.refresh(&s);
    let logout = async {
        // The refresh's index put has failed and its rollback is in flight.
        yield_times(8).await;
        env.service.destroy_session(&s).await
    };
    let (refreshed, logged_out) = block_on(join2(refresh, logout));
    env.kv.set_op_latency(StoreOp::Write, 0);
    let trace: Vec<String> = faults
        .trace()
        .iter()
        .map(|c| format!("{:?} {}", c.op, &c.key[..2]))
        .collect();
    env.kv.set_faults(None);
    assert_eq!(
        trace[..6],
        [
            "Read s:",
            "Write s:",
            "Write u:",
            "Delete s:",
            "Delete u:",
            "Write s:"
        ],
        "the interleaving: the rollback's put (the 6th call) was made before the logout \
         and landed after it"
    );
    assert!(refreshed.is_err());
    logged_out.expect("the user was told they are signed out");
    let listed = block_on(env.service.list_user("ann", None)).unwrap();
    assert_eq!(
        block_on(env.service.verify(token.expose())).map(|s| s.id),
        Err(SessionError::InvalidToken),
        "the rollback brought the revoked session back (listed: {})",
        listed.len()
    );
}

// The root of the one above (eventual, one isolate): the ledger stops a write whose read may have missed a delete,
// but not a delete that starts while the write's put is in flight. The
// put, slower, lands after the delete: a sliding write brings back a
// session that a logout of the same isolate revoked (contract §6: "a
// sliding write never brings back a session that any request revoked").

#[test]
fn a_sliding_write_in_flight_never_brings_back_a_session_logged_out_meanwhile() {
    let env = common::env();
    let new = NewSession {
        idle_ttl: Some(600),
        absolute_ttl: Some(86_400),
        ..NewSession::for_user("ann")
    };
    let (token, _) = block_on(env.service.create(new)).unwrap();
    env.clock.advance_secs(301);
    let s = block_on(env.service.verify(token.expose())).unwrap();
    let claimed = env.service.claims().claim(&s).expect("sliding is due");
    env.kv.set_op_latency(StoreOp::Write, 3);
    let slide = env.service.slide_claimed(&claimed);
    let logout = async {
        // The slide has read the record and its put is on its way.
        yield_times(1).await;
        env.service.destroy_session(&s).await
    };
    let (slid, logged_out) = block_on(join2(slide, logout));
    env.kv.set_op_latency(StoreOp::Write, 0);
    logged_out.expect("the user was told they are signed out");
    let slid = slid.unwrap();
    assert_eq!(
        block_on(env.service.verify(token.expose())).map(|s| s.id),
        Err(SessionError::InvalidToken),
        "the sliding write ({}) brought the logged-out session back",
        match slid {
            Slide::Written(_) => "written",
            Slide::Skipped => "skipped",
        }
    );
}

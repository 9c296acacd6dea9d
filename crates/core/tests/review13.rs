//! Review 13: attacks on the fault-recovery fixes (rollback of a failed
//! rewrite, cleanup of a failed create, the owner's move-in, sweep and
//! tidy). Each `r13_*` test reproduces a finding (its id in the name) and
//! failed before its fix (eb7d61f); the others record what held.

mod common;

use std::rc::Rc;

use common::{block_on, join2, key_entry, service_over, strong_over, yield_times, Api, Owners, T0};
use session_core::store::{FaultCall, FaultKind, Faults, KvOp};
use session_core::{
    KeyLayout, ManualClock, MemoryKv, NewSession, Policy, Session, SessionError, Sessions, Slide,
};

fn keys() -> String {
    key_entry("k1", 1)
}

fn owner_name(user: &str) -> String {
    let layout = KeyLayout::default();
    layout.owner_name(layout.owner(user))
}

/// A `strong` world over a fresh KV, with one `Faults` plan numbering the
/// calls of KV and of every owner's storage.
struct Strong {
    clock: ManualClock,
    kv: MemoryKv,
    owners: Rc<Owners>,
    api: Api,
    faults: Faults,
}

fn strong() -> Strong {
    let clock = ManualClock::new(T0);
    let kv = MemoryKv::new(clock.clone());
    let (api, owners) = strong_world(&kv, &clock);
    Strong {
        clock,
        kv,
        owners,
        api,
        faults: Faults::new(),
    }
}

impl Strong {
    fn attach_faults(&self) {
        self.kv.set_faults(Some((&self.faults, "kv")));
        self.owners.set_faults(Some(&self.faults));
    }

    fn detach_faults(&self) {
        self.kv.set_faults(None);
        self.owners.set_faults(None);
    }

    /// An `eventual`-mode service over the same KV: sessions made before the switch.
    fn eventual(&self, seed: u64) -> Api {
        Sessions::Eventual(service_over(&self.kv, &self.clock, &keys(), "", seed))
    }

    fn listed(&self, user: &str) -> Vec<String> {
        block_on(self.api.list_user(user, None))
            .unwrap()
            .into_iter()
            .map(|s| s.id.to_string())
            .collect()
    }
}

// ---------------------------------------------------------------------------
// R13-1 (strong): a move-in that stops before its index entry, while the
// user's first sweep is between its "held?" check of that session and its
// own move-in of it. The sweep's move-in finds the record held and returns
// without looking at its index entry (only the sweep's `held` branch calls
// `index_held`), then sets the swept flag: the sweep never runs again, so
// the session works, is in no listing, and survives "revoke all" and the
// alarm's tidy, for good.

/// The first request after the switch (`verify`, moving the session in)
/// and a listing of the same user (sweeping) at once; KV reads take a few
/// polls, lists none, so the sweep checks the session before the verify's
/// move-in and moves it in after it. `fault`: the call to fail, lost.
fn move_in_racing_the_sweep(fault: Option<usize>) -> (Strong, String, Session, Vec<FaultCall>) {
    let w = strong();
    let (token, s) = block_on(w.eventual(100).create(NewSession::for_user("vic"))).unwrap();
    let token = token.into_string();
    w.attach_faults();
    match fault {
        Some(k) => w.faults.fail_call(k, FaultKind::Lost),
        None => w.faults.restart(),
    }
    w.kv.set_op_latency(KvOp::Read, 3);
    let (verified, listed) = block_on(join2(w.api.verify(&token), w.api.list_user("vic", None)));
    w.kv.set_op_latency(KvOp::Read, 0);
    let trace = w.faults.trace();
    w.detach_faults();
    if fault.is_some() {
        assert!(verified.is_err(), "the verify's move-in failed");
        listed.expect("the sweep went through");
    }
    (w, token, s, trace)
}

#[test]
fn r13_1_a_move_in_failing_during_the_first_sweep_leaves_no_session_working_unlisted() {
    let (_, _, s, trace) = move_in_racing_the_sweep(None);
    let owner = owner_name("vic");
    let index_key = KeyLayout::default().index_key("vic", &s.id);
    let k = trace
        .iter()
        .position(|c| c.store == owner && c.op == KvOp::Write && c.key == index_key)
        .expect("the move-in writes the owner's index entry")
        + 1;
    let (w, token, s, _) = move_in_racing_the_sweep(Some(k));

    // The session works (its record is held) ...
    let working = block_on(w.api.verify(&token)).is_ok();
    // ... so it must be listed, and revoked by "revoke all".
    let listed = w.listed("vic");
    let revoked = block_on(w.api.destroy_user("vic", None)).unwrap();
    block_on(w.owners.run_alarms()).unwrap();
    let after = block_on(w.api.verify(&token));
    let kept = after.is_ok();
    assert!(
        !working || (listed.contains(&s.id.to_string()) && !kept),
        "the session works: {working}; its user's listing: {listed:?}; \
         revoke all revoked {revoked}; still working after it and the alarm: {kept}"
    );
}

// R13-5 (strong): a move-in from the request path re-checks, after its KV
// read, that the owner neither holds nor revoked the session, but not that
// the user's sweep has completed meanwhile. A session KV does not list (an
// index entry an older version's failed rewrite let the cleanup drop, or
// one not yet visible where the owner is) is refused by the owner once the
// sweep is done; but a request that read it from KV before that moves it
// in afterwards: it works, and is listed, after a "revoke all" that
// answered as done.

#[test]
fn r13_5_a_session_read_from_kv_before_a_revoke_all_is_not_moved_in_after_it() {
    let world = || {
        let w = strong();
        let ev = w.eventual(200);
        block_on(ev.create(NewSession::for_user("zed"))).unwrap();
        let (t2, s2) = block_on(ev.create(NewSession::for_user("zed"))).unwrap();
        // KV does not list s2 (its record is there).
        let layout = KeyLayout::default();
        block_on(session_core::KvStore::delete(
            &w.kv,
            &layout.index_key("zed", &s2.id),
        ))
        .unwrap();
        (w, t2)
    };
    // One after the other, the owner refuses s2 once the sweep is done.
    let (w, t2) = world();
    assert_eq!(block_on(w.api.destroy_user("zed", None)).unwrap(), 1);
    assert_eq!(
        block_on(w.api.verify(t2.expose())).map(|s| s.id),
        Err(SessionError::InvalidToken)
    );
    // Overlapping: the request reads s2 from KV before the revoke all's sweep.
    let (w, t2) = world();
    w.kv.set_op_latency(KvOp::Read, 3);
    let request = async {
        yield_times(1).await;
        w.api.verify(t2.expose()).await
    };
    let (verified, revoked) = block_on(join2(request, w.api.destroy_user("zed", None)));
    w.kv.set_op_latency(KvOp::Read, 0);
    assert_eq!(revoked.unwrap(), 1, "revoke all answered: s1 revoked");
    let _ = verified;
    let listed = w.listed("zed");
    assert_eq!(
        block_on(w.api.verify(t2.expose())).map(|s| s.id),
        Err(SessionError::InvalidToken),
        "a session of the user works after revoke all (listed now: {listed:?})"
    );
}

// ---------------------------------------------------------------------------
// R13-2 (eventual, one isolate): the rollback of a failed rewrite is a put
// the ledger never hears of. A logout of this very isolate that starts
// once the rollback is under way deletes the session; the rollback's put,
// slower, lands after the deletes and writes the revoked session back:
// it works again, and is listed nowhere (its index entry is deleted).

#[test]
fn r13_2_a_rollback_in_flight_never_brings_back_a_session_revoked_meanwhile() {
    let env = common::env();
    let faults = Faults::new();
    env.kv.set_faults(Some((&faults, "kv")));
    let (token, s) = block_on(env.service.create(NewSession::for_user("ann"))).unwrap();
    // Puts are slow (a remote KV), deletes are not.
    env.kv.set_op_latency(KvOp::Write, 3);
    // Call 1: the refresh's read; 2: its record put; 3: its index put, lost.
    faults.fail_call(3, FaultKind::Lost);
    let refresh = env.service.refresh(&s);
    let logout = async {
        // The refresh's index put has failed and its rollback is in flight.
        yield_times(8).await;
        env.service.destroy_session(&s).await
    };
    let (refreshed, logged_out) = block_on(join2(refresh, logout));
    env.kv.set_op_latency(KvOp::Write, 0);
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

// R13-3 (eventual, one isolate; the root of R13-2, older than the fault
// fixes): the ledger stops a write whose read may have missed a delete,
// but not a delete that starts while the write's put is in flight. The
// put, slower, lands after the delete: a sliding write brings back a
// session that a logout of the same isolate revoked (contract §6: "a
// sliding write never brings back a session that any request revoked").

#[test]
fn r13_3_a_sliding_write_in_flight_never_brings_back_a_session_logged_out_meanwhile() {
    let env = common::env();
    let new = NewSession {
        idle_ttl: Some(600),
        absolute_ttl: Some(86_400),
        ..NewSession::for_user("ann")
    };
    let (token, _) = block_on(env.service.create(new)).unwrap();
    env.clock.advance_secs(301);
    let s = block_on(env.service.verify(token.expose())).unwrap();
    let claimed = env.service.claim_slide(&s).expect("sliding is due");
    env.kv.set_op_latency(KvOp::Write, 3);
    let slide = env.service.slide(&claimed);
    let logout = async {
        // The slide has read the record and its put is on its way.
        yield_times(1).await;
        env.service.destroy_session(&s).await
    };
    let (slid, logged_out) = block_on(join2(slide, logout));
    env.kv.set_op_latency(KvOp::Write, 0);
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

// ---------------------------------------------------------------------------
// R13-4 (both modes): a rewrite whose index put landed but whose answer
// was lost (a timeout) is rolled back record only: the record is the old
// one again, the index entry the new one. A failed refresh leaves the
// entry living past the session: once the session has expired it still
// shows in the listings as live (contract §3: "Expired sessions never
// appear in listings") and counts as revoked by "revoke all".

struct Refreshed {
    clock: ManualClock,
    api: Api,
    token: String,
    session: Session,
    trace: Vec<FaultCall>,
    result: Result<Session, SessionError>,
}

/// A session of ann (idle TTL 600 s) refreshed 400 s after it was made,
/// with call `fault` of the refresh failing unanswered.
fn refreshed(strong_mode: bool, fault: Option<usize>) -> Refreshed {
    let clock = ManualClock::new(T0);
    let kv = MemoryKv::new(clock.clone());
    let faults = Faults::new();
    let (api, owners) = if strong_mode {
        let (api, owners) = strong_world(&kv, &clock);
        (api, Some(owners))
    } else {
        (
            Sessions::Eventual(service_over(&kv, &clock, &keys(), "", 3)),
            None,
        )
    };
    let new = NewSession {
        idle_ttl: Some(600),
        absolute_ttl: Some(86_400),
        ..NewSession::for_user("ann")
    };
    let (token, session) = block_on(api.create(new)).unwrap();
    clock.advance_secs(400);
    kv.set_faults(Some((&faults, "kv")));
    if let Some(o) = &owners {
        o.set_faults(Some(&faults));
    }
    match fault {
        Some(k) => faults.fail_call(k, FaultKind::Unanswered),
        None => faults.restart(),
    }
    let result = block_on(api.refresh(&session));
    let trace = faults.trace();
    kv.set_faults(None);
    if let Some(o) = &owners {
        o.set_faults(None);
        // What the alarm does (tidy, outbox into KV's index).
        block_on(o.run_alarms()).unwrap();
    }
    Refreshed {
        clock,
        api,
        token: token.into_string(),
        session,
        trace,
        result,
    }
}

fn r13_4_case(strong_mode: bool) -> Result<(), String> {
    let clean = refreshed(strong_mode, None);
    let owner = owner_name("ann");
    let index_key = KeyLayout::default().index_key("ann", &clean.session.id);
    let k = clean
        .trace
        .iter()
        .position(|c| {
            c.op == KvOp::Write && c.key == index_key && (!strong_mode || c.store == owner)
        })
        .expect("the refresh writes the index entry")
        + 1;
    let r = refreshed(strong_mode, Some(k));
    assert!(r.result.is_err(), "the refresh answered an error");
    // 700 s after the session was made: past its old expiry (600 s), before
    // the refresh's (1000 s).
    r.clock.advance_secs(300);
    let verified = block_on(r.api.verify(&r.token));
    let listed = block_on(r.api.list_user("ann", None)).unwrap();
    let all = block_on(r.api.list_all(100, None)).unwrap().0;
    let mode = if strong_mode { "strong" } else { "eventual" };
    match verified {
        Err(e) if !listed.is_empty() || !all.is_empty() => Err(format!(
            "{mode}: the session answers {e:?}, yet its user's listing shows {} and the admin listing {} live session(s)",
            listed.len(),
            all.len()
        )),
        _ => Ok(()),
    }
}

#[test]
fn r13_4_a_failed_refresh_never_lists_a_session_past_its_expiry() {
    let problems: Vec<String> = [false, true]
        .into_iter()
        .filter_map(|strong| r13_4_case(strong).err())
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

fn strong_world(kv: &MemoryKv, clock: &ManualClock) -> (Api, Rc<Owners>) {
    let global = service_over(kv, clock, &keys(), "", 8);
    strong_over(kv, clock, global, &keys(), 7, Policy::default())
}

// ---------------------------------------------------------------------------
// What held: the TTL change (commit 29aa070). Every JSON spelling of a TTL
// is read as the f64 (or integer) JSON gives, then range-checked by the
// policy: negative zero, underflow to zero, values past u64 and values a
// hair off the bounds all end up refused or equal to an allowed whole number.

#[test]
fn ttl_spellings_at_the_edges_are_refused_or_read_as_the_whole_number_json_gives() {
    use serde_json::Value;
    use session_core::ClientInfo;
    let policy = Policy::default();
    let read = |text: &str| -> Result<(u64, u64), String> {
        let json: Value = serde_json::from_str(&format!(r#"{{"userId":"u","idleTtl":{text}}}"#))
            .map_err(|e| format!("JSON: {e}"))?;
        let new = NewSession::from_json(json, ClientInfo::default()).map_err(|e| e.to_string())?;
        policy
            .ttls_for(new.idle_ttl, new.absolute_ttl)
            .map_err(|e| e.to_string())
    };
    for refused in [
        "-0",
        "-0.0",
        "0.0",
        "0e5",
        "1e-400",
        "-1e-400",
        "59",
        "59.0",
        "5.9e1",
        "59.5",
        "31536001",
        "31536001.0",
        "3.1536001e7",
        "1e19",
        "18446744073709551616",
        "1e300",
        "-60",
        "-60.0",
        "60.5",
        "1e400",
    ] {
        assert!(
            read(refused).is_err(),
            "{refused} was accepted: {:?}",
            read(refused)
        );
    }
    // JSON numbers are binary64 to every parser: these are 60 and 31536000.
    for (text, secs) in [
        ("60", 60),
        ("6e1", 60),
        ("60.0", 60),
        ("59.999999999999999", 60),
        ("60.0000000000000001", 60),
        ("31536000", 31_536_000),
        ("3.1536e7", 31_536_000),
    ] {
        assert_eq!(read(text).map(|t| t.0), Ok(secs), "{text}");
    }
}

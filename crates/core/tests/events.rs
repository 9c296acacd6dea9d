//! Every change of a session's state makes exactly one event, with who made
//! it and why, in both modes; reads make none; nothing secret is in one. In
//! `strong` mode an event is kept in the owner's transaction and sent from
//! its outbox: a send that fails is made again later, once per event.

mod common;

use std::rc::Rc;

use common::{block_on, key_entry, owner_settings, service_over, Api, Ops, T0};
use serde_json::json;
use session_core::events::{EventType, Reason};
use session_core::owner::{OwnerClient, OwnerTransport};
use session_core::testing::{
    FaultKind, Faults, ManualClock, MemoryKv, MemoryOwners, MemoryQueue, SeededRandom,
};
use session_core::{
    Actor, Context, Event, EventLog, KeyLayout, KeyRing, KvRepo, NewSession, Op, Policy, Session,
    SessionService, Sessions, Writer,
};

fn keys() -> String {
    key_entry("k1", 1)
}

/// Both modes over a fresh KV, with events on: `eventual` keeps them in a
/// log, `strong` sends them to a queue.
struct World {
    clock: ManualClock,
    kv: MemoryKv,
    api: Api,
    log: Rc<EventLog>,
    queue: MemoryQueue,
    owners: Option<Rc<MemoryOwners<ManualClock, SeededRandom>>>,
    /// Event ids the queue delivered that were already looked at.
    seen: std::cell::RefCell<std::collections::HashSet<String>>,
}

impl World {
    fn new(strong: bool, policy: Policy) -> World {
        World::with_events(strong, policy, true)
    }

    /// `events`: whether the log (`eventual`) or the queue (`strong`) is there.
    fn with_events(strong: bool, policy: Policy, events: bool) -> World {
        let clock = ManualClock::new(T0);
        let kv = MemoryKv::new(clock.clone());
        let log = Rc::new(EventLog::default());
        let queue = MemoryQueue::new();
        let repo = KvRepo::new(
            kv.clone(),
            clock.clone(),
            Rc::new(KeyLayout::default()),
            Rc::default(),
        )
        .with_events(events.then(|| Rc::clone(&log)));
        let service = SessionService::new(
            repo,
            clock.clone(),
            SeededRandom::new(5),
            KeyRing::parse(&keys()).unwrap(),
            "",
        )
        .with_policy(policy);
        let (api, owners) = if strong {
            let settings = owner_settings(&keys(), policy);
            let owners = Rc::new(
                MemoryOwners::new(
                    kv.clone(),
                    clock.clone(),
                    Rc::new(SeededRandom::new(6)),
                    settings.clone(),
                )
                .with_queue(events.then(|| queue.clone())),
            );
            let transport: Rc<dyn OwnerTransport> = owners.clone();
            let client = OwnerClient::new(settings, service, clock.clone(), transport);
            (Api::Strong(client), Some(owners))
        } else {
            (Api::Eventual(service), None)
        };
        World {
            clock,
            kv,
            api,
            log,
            queue,
            owners,
            seen: Default::default(),
        }
    }

    /// The events made since the last call, in order: the log's
    /// (`eventual`), or what the queue got, once per id (`strong`).
    fn new_events(&self) -> Vec<Event> {
        let mut out = self.log.take();
        let delivered = self.queue.delivered();
        let mut seen = self.seen.borrow_mut();
        for e in delivered {
            if seen.insert(e.id.clone()) {
                out.push(e);
            }
        }
        out
    }

    fn run(
        &self,
        op: Op,
        ctx: &Context,
    ) -> Result<session_core::Reply, session_core::SessionError> {
        block_on(self.api.run(op, ctx))
    }

    fn create(&self, user: &str, actor: Actor) -> (String, Session) {
        let new = NewSession::for_user(user);
        let (token, s) = self
            .run(Op::Create { new }, &Context::new(actor))
            .unwrap()
            .created()
            .unwrap();
        (token.into_string(), s)
    }
}

/// Every operation that changes or reads sessions, in order: what the
/// storage calls of events on and off are compared over.
fn every_kind_of_change(w: &World) {
    let (_, a) = w.create("ann", Actor::Origin);
    for _ in 0..3 {
        w.create("ann", Actor::Admin); // the last one over the cap of 3: one evicted
    }
    let (token, b) = w.create("bo", Actor::Admin);
    w.run(
        Op::Verify {
            token: token.clone(),
        },
        &ctx(Actor::User),
    )
    .unwrap();
    let patch = json!({"label": "x"});
    let holder = Op::UpdateSession {
        session: b,
        patch,
        writer: Writer::Holder,
    };
    w.run(holder, &ctx(Actor::User)).unwrap();
    w.clock.advance_secs(400); // past half the idle TTL: a slide is due
    let b = w.run(Op::Verify { token }, &ctx(Actor::User));
    w.run(
        Op::Slide {
            session: b.unwrap().session().unwrap(),
        },
        &ctx(Actor::User),
    )
    .unwrap();
    let destroy = Op::Destroy {
        id: a.id.to_string(),
        user_id: None,
    };
    w.run(destroy, &ctx(Actor::Admin)).unwrap();
    let all = Op::DestroyUser {
        user_id: "ann".into(),
        except: None,
    };
    w.run(all, &ctx(Actor::User)).unwrap();
}

#[test]
fn events_cost_no_storage_call_in_either_mode() {
    for strong in [false, true] {
        let policy = Policy::new(600, 86_400).unwrap().with_session_cap(Some(3));
        let calls = |events: bool| {
            let w = World::with_events(strong, policy, events);
            every_kind_of_change(&w);
            // Everything the owners queued for KV (and for the queue) is done.
            if let Some(owners) = &w.owners {
                w.clock.advance_secs(2);
                block_on(owners.run_alarms()).unwrap();
            }
            let owner_calls = w.owners.as_ref().map(|o| o.calls());
            (w.kv.counts(), owner_calls, !w.new_events().is_empty())
        };
        let (on, owners_on, made) = calls(true);
        let (off, owners_off, none) = calls(false);
        assert!(made && !none, "strong={strong}: events made only when on");
        assert_ne!(
            on,
            Default::default(),
            "strong={strong}: the sequence touched KV"
        );
        assert_eq!(on, off, "strong={strong}: KV calls with and without events");
        assert_eq!(owners_on, owners_off, "strong={strong}: owner calls");
    }
}

fn summary(events: &[Event]) -> Vec<(EventType, Option<Reason>, Actor, Option<String>)> {
    events
        .iter()
        .map(|e| (e.kind, e.reason, e.actor, e.session_id.clone()))
        .collect()
}

fn ctx(actor: Actor) -> Context {
    Context::new(actor).from_request(Some("203.0.113.77"), Some("FR"), Some("8f1c2a"))
}

#[test]
fn each_change_makes_one_event_saying_who_and_why_in_both_modes() {
    for strong in [false, true] {
        let w = World::new(
            strong,
            Policy::new(600, 86_400).unwrap().with_session_cap(Some(3)),
        );
        let mode = if strong { "strong" } else { "eventual" };
        let (_, a) = w.create("ann", Actor::Origin);
        let (_, b) = w.create("ann", Actor::Admin);
        let e = w.new_events();
        assert_eq!(
            summary(&e),
            [
                (
                    EventType::Created,
                    Some(Reason::Handoff),
                    Actor::Origin,
                    Some(a.id.to_string())
                ),
                (
                    EventType::Created,
                    Some(Reason::Admin),
                    Actor::Admin,
                    Some(b.id.to_string())
                ),
            ],
            "{mode}"
        );
        assert_eq!(e[0].user_id.as_deref(), Some("ann"));

        // Reads make none.
        let token = w.create("cy", Actor::Admin).0;
        w.new_events();
        w.run(Op::Verify { token }, &ctx(Actor::User)).unwrap();
        w.run(
            Op::ListUser {
                user_id: "ann".into(),
                current: None,
            },
            &ctx(Actor::User),
        )
        .unwrap();
        w.run(
            Op::Get {
                id: a.id.to_string(),
            },
            &ctx(Actor::Admin),
        )
        .unwrap();
        assert!(w.new_events().is_empty(), "{mode}: a read made an event");

        // Updates: a holder's label, an admin's meta, a refresh, a slide.
        let patch = |writer| Op::UpdateSession {
            session: a.clone(),
            patch: json!({"label": "x"}),
            writer,
        };
        w.run(patch(Writer::Holder), &ctx(Actor::User)).unwrap();
        w.run(
            Op::Update {
                id: b.id.to_string(),
                patch: json!({"meta": {"roles": []}}),
            },
            &ctx(Actor::Admin),
        )
        .unwrap();
        w.run(Op::Refresh { session: a.clone() }, &ctx(Actor::User))
            .unwrap();
        w.clock.advance_secs(400);
        w.run(Op::Slide { session: b.clone() }, &ctx(Actor::System))
            .unwrap();
        let e = w.new_events();
        assert_eq!(
            summary(&e),
            [
                (
                    EventType::Updated,
                    None,
                    Actor::User,
                    Some(a.id.to_string())
                ),
                (
                    EventType::Updated,
                    None,
                    Actor::Admin,
                    Some(b.id.to_string())
                ),
                (
                    EventType::Updated,
                    None,
                    Actor::User,
                    Some(a.id.to_string())
                ),
                (
                    EventType::Updated,
                    None,
                    Actor::System,
                    Some(b.id.to_string())
                ),
            ],
            "{mode}"
        );
        assert_eq!(e[0].ip.as_deref(), Some("203.0.113.0/24"));
        assert_eq!(e[0].country.as_deref(), Some("FR"));
        assert_eq!(e[0].request_id.as_deref(), Some("8f1c2a"));

        // The cap: a fourth session of ann revokes the least recently seen.
        let (_, c) = w.create("ann", Actor::Origin);
        let (_, d) = w.create("ann", Actor::Origin);
        let e = w.new_events();
        let kinds: Vec<_> = e.iter().map(|e| (e.kind, e.reason, e.actor)).collect();
        assert_eq!(kinds.len(), 3, "{mode}: {kinds:?}");
        let created = (EventType::Created, Some(Reason::Handoff), Actor::Origin);
        let capped = (EventType::Revoked, Some(Reason::Cap), Actor::System);
        assert_eq!(kinds.iter().filter(|k| **k == created).count(), 2, "{mode}");
        assert_eq!(kinds.iter().filter(|k| **k == capped).count(), 1, "{mode}");

        // Revocations, each with its reason.
        let (_, e1) = w.create("dan", Actor::Admin);
        let (_, e2) = w.create("dan", Actor::Admin);
        let (_, e3) = w.create("dan", Actor::Admin);
        w.new_events();
        w.run(
            Op::DestroySession {
                session: e1.clone(),
            },
            &ctx(Actor::User),
        )
        .unwrap();
        w.run(
            Op::DestroySession {
                session: e2.clone(),
            },
            &ctx(Actor::Origin).replacing(),
        )
        .unwrap();
        w.run(
            Op::Destroy {
                id: e3.id.to_string(),
                user_id: None,
            },
            &ctx(Actor::Admin),
        )
        .unwrap();
        let e = w.new_events();
        assert_eq!(
            summary(&e),
            [
                (
                    EventType::Revoked,
                    Some(Reason::Logout),
                    Actor::User,
                    Some(e1.id.to_string())
                ),
                (
                    EventType::Revoked,
                    Some(Reason::Replaced),
                    Actor::Origin,
                    Some(e2.id.to_string())
                ),
                (
                    EventType::Revoked,
                    Some(Reason::Admin),
                    Actor::Admin,
                    Some(e3.id.to_string())
                ),
            ],
            "{mode}"
        );
        let (_, f1) = w.create("eve", Actor::Admin);
        w.create("eve", Actor::Admin);
        w.create("eve", Actor::Admin);
        w.new_events();
        let n = w
            .run(
                Op::DestroyUser {
                    user_id: "eve".into(),
                    except: Some(f1.id.to_string()),
                },
                &ctx(Actor::User),
            )
            .unwrap()
            .count()
            .unwrap();
        assert_eq!(n, 2);
        w.run(
            Op::Destroy {
                id: f1.id.to_string(),
                user_id: Some("eve".into()),
            },
            &ctx(Actor::User),
        )
        .unwrap();
        w.run(
            Op::DestroyUser {
                user_id: "ann".into(),
                except: None,
            },
            &ctx(Actor::Origin),
        )
        .unwrap();
        let reasons: Vec<_> = w.new_events().iter().map(|e| (e.reason, e.actor)).collect();
        assert_eq!(
            reasons,
            [
                (Some(Reason::Others), Actor::User),
                (Some(Reason::Others), Actor::User),
                (Some(Reason::Logout), Actor::User),
                (Some(Reason::All), Actor::Origin),
                (Some(Reason::All), Actor::Origin),
                (Some(Reason::All), Actor::Origin),
            ],
            "{mode}"
        );
        let _ = (c, d);

        // Removing a session that had already expired is no revocation.
        let (_, old) = w.create("fay", Actor::Admin);
        w.new_events();
        w.clock.advance_secs(90_000);
        assert!(!w
            .run(
                Op::Destroy {
                    id: old.id.to_string(),
                    user_id: None
                },
                &ctx(Actor::Admin)
            )
            .unwrap()
            .done()
            .unwrap());
        assert!(w.new_events().is_empty(), "{mode}");
    }
}

#[test]
fn no_event_holds_a_token_a_secret_a_meta_value_or_a_full_address() {
    for strong in [false, true] {
        let w = World::new(strong, Policy::default());
        let new = NewSession {
            meta: Some(json!({"roles": ["admin"], "email": "secret-meta@example.com"})),
            label: Some("laptop".into()),
            ..NewSession::for_user("gil")
        };
        let c = ctx(Actor::Admin);
        let (token, s) = w.run(Op::Create { new }, &c).unwrap().created().unwrap();
        w.run(Op::DestroySession { session: s.clone() }, &c)
            .unwrap();
        let text = serde_json::to_string(&w.new_events()).unwrap();
        assert!(text.contains(s.id.as_str()));
        let secret = token.expose().split('.').nth(3).unwrap().to_owned();
        for needle in [
            token.expose(),
            secret.as_str(),
            "secret-meta",
            "roles",
            "[\"admin\"]",
            "203.0.113.77",
            "laptop",
        ] {
            assert!(
                !text.contains(needle),
                "strong={strong}: an event holds {needle:?}: {text}"
            );
        }
    }
}

#[test]
fn events_off_make_nothing_and_cost_nothing() {
    let clock = ManualClock::new(T0);
    let kv = MemoryKv::new(clock.clone());
    let service = service_over(&kv, &clock, &keys(), "", 3);
    let (_, s) = block_on(service.create(NewSession::for_user("hal"))).unwrap();
    block_on(service.destroy_session(&s)).unwrap();
    assert!(!session_core::Repo::records_events(service.repo()));
    // Strong mode without a queue: the owner keeps no events either.
    let settings = owner_settings(&keys(), Policy::default());
    let owners = Rc::new(MemoryOwners::new(
        kv.clone(),
        clock.clone(),
        Rc::new(SeededRandom::new(2)),
        settings.clone(),
    ));
    let transport: Rc<dyn OwnerTransport> = owners.clone();
    let client = OwnerClient::new(settings, service, clock.clone(), transport);
    let (_, s) = block_on(client.create(NewSession::for_user("hal"))).unwrap();
    block_on(client.destroy_session(&s)).unwrap();
    let layout = KeyLayout::default();
    let owner = owners
        .owner(&layout.owner_name(layout.owner("hal")))
        .unwrap();
    assert!(owner
        .tables()
        .sql()
        .rows("SELECT seq FROM events")
        .is_empty());
}

#[test]
fn a_failed_send_is_made_again_by_the_alarm_once_per_event() {
    let w = World::new(true, Policy::default());
    let owners = w.owners.clone().unwrap();
    let faults = Faults::new();
    w.queue.set_faults(Some((&faults, "queue")));
    // The first send after the create fails: the event stays in the outbox.
    faults.fail_call(1, FaultKind::Lost);
    let (_, s) = w.create("ivy", Actor::Origin);
    assert!(faults.fired());
    assert!(w.queue.delivered().is_empty(), "lost, so not delivered");
    // The change itself stands, and the queue gets the event by the alarm.
    assert!(block_on(w.api.verify(&w.create("ivy", Actor::Origin).0)).is_ok());
    block_on(owners.run_alarms()).unwrap();
    let delivered = w.queue.delivered();
    let created: Vec<_> = delivered
        .iter()
        .filter(|e| e.session_id.as_deref() == Some(s.id.as_str()))
        .collect();
    assert_eq!(created.len(), 1, "exactly once: {delivered:?}");
    let mut ids: Vec<_> = delivered.iter().map(|e| e.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), delivered.len(), "no id twice");
    // An unanswered send (delivered, the owner told it failed) is sent again
    // with the same id: consumers deduplicate by id.
    faults.fail_call(1, FaultKind::Unanswered);
    let (_, t) = w.create("ivy", Actor::Origin);
    block_on(owners.run_alarms()).unwrap();
    let again: Vec<_> = w
        .queue
        .delivered()
        .into_iter()
        .filter(|e| e.session_id.as_deref() == Some(t.id.as_str()))
        .collect();
    assert_eq!(again.len(), 2);
    assert_eq!(again[0].id, again[1].id);
    assert_eq!(w.kv.counts().reads, 0);
}

//! The Worker entry point: turns each request into a call on the pure crates
//! (`session_http` over `session_core`) and their answer into a response.
//! Everything with logic lives in `crates/`; this file only wires the
//! platform in: the env, the KV binding, `Date.now()`, `fetch` and `waitUntil`.

pub mod durable;
pub mod http;
pub mod js;
pub mod microtasks;
pub mod owners;
pub mod platform;
pub mod promise;
pub mod proxy;
pub mod ratelimit;
pub mod signing;
pub mod store;

use std::rc::Rc;

use session_core::events::{EventQueue, MAX_BATCH};
use session_core::owner::OwnerTransport;
use session_core::random::OsRandom;
use session_core::{Event, EventLog, KvRepo, Ledger};
use session_http::api;
use session_http::app::{App, ConfiguredSessions};
use session_http::config::{
    missing_owner_binding, Config, ConfigError, Consistency, OWNER_BINDING,
};
use session_http::guard::{self, GuardDecision};
use session_http::page;
use session_http::problem::{ErrorCode, Problem};
use session_http::ratelimit::{RateLimits, Refusals};
use session_http::request::RequestHead;
use worker::{console_error, console_log, event, Context, Env, ScheduleContext, ScheduledEvent};

use crate::http::{read_body, read_request, to_js_response, BodyError, Incoming};
use crate::owners::DurableOwners;
use crate::platform::JsClock;
use crate::ratelimit::WorkerLimiters;
use crate::store::{WorkersKv, WorkersQueue};

/// The allocator of the wasm: talc instead of Rust's default dlmalloc, for
/// speed (allocation is a tenth of the guard's wasm time) and size.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

type WorkerApp<'s> = App<'s, ConfiguredSessions<WorkersKv, JsClock, OsRandom>>;

/// Index entries the cron run may look at per invocation (each costs at most one read).
const CLEANUP_BUDGET: usize = 200;

thread_local! {
    /// Vars and secrets are fixed for an isolate's life: validate them once.
    static SETTINGS: std::cell::OnceCell<Rc<Result<Config, ConfigError>>> = const { std::cell::OnceCell::new() };
    /// What this isolate remembers between requests: sliding claims, revocations.
    static LEDGER: Rc<Ledger> = Rc::default();
    /// Admin clients this isolate refuses before comparing their key (`RL_ADMIN`).
    static REFUSALS: Rc<Refusals> = Rc::default();
}

pub(crate) fn settings(env: &Env) -> Rc<Result<Config, ConfigError>> {
    SETTINGS.with(|cell| {
        cell.get_or_init(|| {
            Rc::new(
                Config::from_vars(|name| {
                    env.secret(name)
                        .ok()
                        .map(|s| s.to_string())
                        .or_else(|| env.var(name).ok().map(|v| v.to_string()))
                })
                .and_then(|config| config.with_bindings(|name| ratelimit::is_bound(env, name))),
            )
        })
        .clone()
    })
}

/// One request's app; its events are kept for [`send_events`] when the
/// `EVENTS` queue is bound.
fn new_app<'s>(settings: &'s Config, env: &Env, ledger: Rc<Ledger>) -> WorkerApp<'s> {
    let kv = WorkersKv::from_env(env);
    let events = WorkersQueue::from_env(env).map(|_| Rc::new(EventLog::default()));
    let app = match settings.consistency {
        Consistency::Eventual => App::eventual(settings, kv, JsClock, OsRandom, ledger, events),
        Consistency::Strong => {
            let owners = env
                .durable_object(OWNER_BINDING)
                .map(|ns| Rc::new(DurableOwners::new(ns)) as Rc<dyn OwnerTransport>)
                .map_err(|_| missing_owner_binding());
            App::strong(settings, kv, JsClock, OsRandom, ledger, owners, events)
        }
    };
    let limiters = Rc::new(WorkerLimiters::new(env.clone()));
    app.with_limits(RateLimits::new(limiters, REFUSALS.with(Rc::clone)))
}

/// Sends `events` to the `EVENTS` queue (`eventual` mode: what a crash or
/// a failed send then loses is lost; see the README). `strong` mode's
/// session events are the owners' to send.
async fn send_events(events: Vec<Event>, env: &Env) {
    let Some(queue) = WorkersQueue::from_env(env) else {
        return;
    };
    for batch in events.chunks(MAX_BATCH) {
        if let Err(e) = queue.send_batch(batch).await {
            console_error!("{} session events not sent: {e}", batch.len());
        }
    }
}

/// The events `app` kept, sent after the response.
fn send_events_after(app: &WorkerApp<'_>, env: &Env, ctx: &Context) {
    let events = app.events().map(|log| log.take()).unwrap_or_default();
    if !events.is_empty() {
        let env = env.clone();
        ctx.wait_until(async move { send_events(events, &env).await });
    }
}

#[event(start)]
fn start() {
    // A bug that panics is logged with its message instead of dying silently.
    console_error_panic_hook::set_once();
    microtasks::schedule_with_promise_reactions();
}

#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, ctx: Context) -> worker::Result<web_sys::Response> {
    let served = Served {
        settings: settings(&env),
        ledger: LEDGER.with(Rc::clone),
    };
    serve(&req, &env, &ctx, &served).await
}

/// What a request is served with besides itself: the isolate's settings and
/// ledger.
pub(crate) struct Served {
    pub settings: Rc<Result<Config, ConfigError>>,
    pub ledger: Rc<Ledger>,
}

pub(crate) async fn serve(
    req: &web_sys::Request,
    env: &Env,
    ctx: &Context,
    served: &Served,
) -> worker::Result<web_sys::Response> {
    let Incoming { head, unread } = match read_request(req) {
        Ok(incoming) => incoming,
        Err(_) => {
            return problem(
                ErrorCode::InvalidRequest,
                "the request line could not be read",
            )
        }
    };
    let settings = match served.settings.as_ref() {
        Ok(settings) => settings,
        Err(e) => {
            let problem = Problem::new(ErrorCode::Misconfigured, e.to_string());
            return to_js_response(page::refusal(&head, &problem));
        }
    };
    let app = new_app(settings, env, Rc::clone(&served.ledger));
    if settings.api_subpath(head.url.path()).is_some() {
        let body = match read_body(req, api::MAX_BODY_BYTES).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                return to_js_response(Problem::from(ErrorCode::PayloadTooLarge).to_response())
            }
            Err(BodyError::Unreadable) => {
                return problem(ErrorCode::InvalidRequest, "the body could not be read")
            }
        };
        let response = api::handle(&app, &head, &body).await;
        send_events_after(&app, env, ctx);
        return to_js_response(response);
    }
    let response = guarded(req, &head, &unread, &app, env, ctx, served).await;
    send_events_after(&app, env, ctx);
    response
}

/// A request outside the API: the guard decides, the origin answers, the
/// handoff headers are applied, and a due sliding write runs after the response.
async fn guarded(
    req: &web_sys::Request,
    head: &RequestHead,
    unread: &[String],
    app: &WorkerApp<'_>,
    env: &Env,
    ctx: &Context,
    served: &Served,
) -> worker::Result<web_sys::Response> {
    let mut forward = match guard::decide(app, head).await {
        GuardDecision::Respond(response) => return to_js_response(response),
        GuardDecision::Forward(forward) => forward,
    };
    for line in &forward.logs {
        console_log!("{line}");
    }
    if !unread.is_empty() {
        forward.headers.remove_unread(unread, &head.headers);
    }
    if let Some(pending) = forward.assertion.take() {
        let signed = match signing::sign(&pending).await {
            Ok(signature) => forward.add_assertion(pending, &signature),
            Err(_) => Err(guard::signing_failed()),
        };
        if let Err(problem) = signed {
            guard::abandon(app, &forward);
            console_error!("identity assertion not signed: {}", problem.detail);
            return to_js_response(problem.to_response());
        }
    }
    let response = match proxy::forward(req, &forward).await {
        Ok(response) => response,
        Err(e) => {
            guard::abandon(app, &forward);
            console_error!("origin unavailable: {:?}", e.as_string());
            return problem(
                ErrorCode::OriginUnavailable,
                "the origin could not be reached",
            );
        }
    };
    let handoff = proxy::handoff_headers(&response);
    let finish = guard::finish(app, head, &forward, js::pairs(&handoff)).await;
    for line in &finish.logs {
        console_log!("{line}");
    }
    let response = match finish.failure_response_to(head) {
        Some(failed) => to_js_response(failed)?,
        None => proxy::finished(response, &finish)?,
    };
    if let Some(after) = finish.after {
        let settings = Rc::clone(&served.settings);
        let ledger = Rc::clone(&served.ledger);
        let env = env.clone();
        ctx.wait_until(async move {
            if let Ok(settings) = settings.as_ref() {
                let app = new_app(settings, &env, ledger);
                if let Err(p) = after.run(&app).await {
                    console_error!("sliding expiration write failed: {}", p.detail);
                }
                let events = app.events().map(|log| log.take()).unwrap_or_default();
                send_events(events, &env).await;
            }
        });
    }
    Ok(response)
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let settings = settings(&env);
    let Ok(settings) = settings.as_ref() else {
        console_error!("cleanup skipped: configuration is invalid");
        return;
    };
    if settings.consistency == Consistency::Strong {
        console_log!("index cleanup: not needed in strong mode (owners keep the index)");
        return;
    }
    let repo = KvRepo::new(
        WorkersKv::from_env(&env),
        JsClock,
        Rc::clone(&settings.layout),
        LEDGER.with(Rc::clone),
    );
    match repo.cleanup(CLEANUP_BUDGET).await {
        Ok(report) => console_log!(
            "index cleanup: scanned {}, removed {}, reads {}, done {}",
            report.scanned,
            report.removed,
            report.reads,
            report.done
        ),
        Err(e) => console_error!("index cleanup failed: {e}"),
    }
}

fn problem(code: ErrorCode, detail: impl Into<String>) -> worker::Result<web_sys::Response> {
    to_js_response(Problem::new(code, detail).to_response())
}

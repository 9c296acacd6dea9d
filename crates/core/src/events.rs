//! Session events (contract §8): one message per change of a session's
//! state, for operators.
//!
//! ```ignore
//! let ctx = Context::new(Actor::User).from_request(Some("203.0.113.7"), Some("FR"), Some(ray));
//! sessions.run(Op::DestroySession { session }, &ctx).await?;   // → session.revoked, reason logout
//! ```
//!
//! The [`crate::SessionService`] is the one emitter: every state change
//! goes through its three write paths (a new session, a rewrite, a
//! removal), and each hands its event to the repository in the same step
//! ([`crate::Repo::record`]): the KV repository keeps it for the Worker to
//! send after the response; an owner writes it to its outbox in the
//! operation's transaction and sends it from there (see
//! [`crate::owner`]). A message never holds a token, a secret, a `meta`
//! value or a full IP address (IPv4 cut to /24, IPv6 to /48).

use std::cell::RefCell;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::random::Random;
use crate::service::SessionError;
use crate::session::json::rfc3339;
use crate::store::StoreError;

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Actor {
    /// The session's holder (self-service).
    User,
    /// A backend with the admin key.
    Admin,
    /// The origin, by its handoff headers.
    Origin,
    /// The Worker itself: sliding, the cap.
    System,
}

/// What kind of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "session.created")]
    Created,
    #[serde(rename = "session.updated")]
    Updated,
    #[serde(rename = "session.revoked")]
    Revoked,
    #[serde(rename = "admin.auth_failed")]
    AdminAuthFailed,
}

/// Why a session was created or revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// Created by the origin's `X-Session-Issue`.
    Handoff,
    /// Created or revoked through the admin API.
    Admin,
    /// Revoked by its holder or by the origin's `X-Session-Revoke: current`.
    Logout,
    /// Revoked with every other session of its user.
    Others,
    /// Revoked with every session of its user.
    All,
    /// Revoked by `MAX_SESSIONS_PER_USER`.
    Cap,
    /// Revoked because a sign-in replaced it.
    Replaced,
}

/// What the request that makes a change says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Context {
    pub actor: Option<Actor>,
    /// The session removed is replaced by a sign-in (`reason: replaced`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replacing: bool,
    /// The client's address, already cut ([`truncate_ip`]).
    pub ip: Option<String>,
    pub country: Option<String>,
    pub request_id: Option<String>,
}

impl Context {
    pub fn new(actor: Actor) -> Self {
        Self {
            actor: Some(actor),
            ..Self::default()
        }
    }

    /// The request's facts: its client IP (cut here), country and ray id.
    pub fn from_request(
        mut self,
        ip: Option<&str>,
        country: Option<&str>,
        request_id: Option<&str>,
    ) -> Self {
        self.ip = ip.and_then(truncate_ip);
        self.country = country.map(str::to_owned);
        self.request_id = request_id
            .filter(|id| id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_owned);
        self
    }

    /// The same request, marking the removal it makes as a replacement.
    pub fn replacing(&self) -> Self {
        Self {
            replacing: true,
            ..self.clone()
        }
    }

    fn actor(&self) -> Actor {
        self.actor.unwrap_or(Actor::System)
    }
}

/// One event, as sent (contract §8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    /// RFC 3339.
    pub time: String,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Event {
    /// An event of `kind` about session `session_id` of `user_id`, made by
    /// `ctx`'s request at `now_ms`, with a fresh random id.
    pub fn new(
        kind: EventType,
        reason: Option<Reason>,
        user_id: Option<&str>,
        session_id: Option<&str>,
        ctx: &Context,
        now_ms: i64,
        random: &impl Random,
    ) -> Result<Event, SessionError> {
        let mut bytes = [0u8; 16];
        random.fill(&mut bytes)?;
        Ok(Event {
            id: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            kind,
            time: rfc3339(now_ms),
            user_id: user_id.map(str::to_owned),
            session_id: session_id.map(str::to_owned),
            reason,
            actor: ctx.actor(),
            ip: ctx.ip.clone(),
            country: ctx.country.clone(),
            request_id: ctx.request_id.clone(),
        })
    }

    /// A `session.created` event's reason follows from who created it.
    pub(crate) fn created_reason(ctx: &Context) -> Reason {
        match ctx.actor() {
            Actor::Origin => Reason::Handoff,
            _ => Reason::Admin,
        }
    }
}

/// The address cut to its network: IPv4 to /24, IPv6 to /48. An IPv6
/// address that carries an IPv4 one (mapped `::ffff:0:0/96`, 6to4
/// `2002::/16`, NAT64 `64:ff9b::/96`) is cut as that IPv4 address: a 6to4
/// /48 would otherwise name one IPv4 host. `None` when it does not parse.
pub fn truncate_ip(ip: &str) -> Option<String> {
    match ip.trim().parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            Some(format!("{a}.{b}.{c}.0/24"))
        }
        IpAddr::V6(v6) => match embedded_ipv4(&v6) {
            Some(v4) => truncate_ip(&v4.to_string()),
            None => {
                let s = v6.segments();
                Some(format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]))
            }
        },
    }
}

/// The IPv4 address an IPv6 one carries, for the forms that name a host.
fn embedded_ipv4(v6: &std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let s = v6.segments();
    let v4 = |hi: u16, lo: u16| std::net::Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        [0x2002, hi, lo, ..] => Some(v4(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(v4(hi, lo)),
        _ => v6.to_ipv4_mapped(),
    }
}

/// The events one request made, kept until the Worker sends them
/// (`eventual` mode, and what the HTTP layer reports itself).
#[derive(Debug, Default)]
pub struct EventLog {
    events: RefCell<Vec<Event>>,
}

impl EventLog {
    pub fn push(&self, event: Event) {
        self.events.borrow_mut().push(event);
    }

    /// The events kept so far, leaving none.
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut self.events.borrow_mut())
    }
}

/// Where events go: the `EVENTS` Queue (`src/` adapter), or a test double.
#[allow(async_fn_in_trait)]
pub trait EventQueue {
    /// Sends `events` in one batch (at most [`MAX_BATCH`]).
    async fn send_batch(&self, events: &[Event]) -> Result<(), StoreError>;
}

/// Most messages of one `sendBatch`.
pub const MAX_BATCH: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_cut_to_their_network() {
        assert_eq!(
            truncate_ip("203.0.113.77").as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(
            truncate_ip("2001:db8:abcd:12::1").as_deref(),
            Some("2001:db8:abcd::/48")
        );
        assert_eq!(
            truncate_ip("::ffff:198.51.100.9").as_deref(),
            Some("198.51.100.0/24")
        );
        // 6to4 carries the whole IPv4 address in its /48: cut as that address.
        assert_eq!(
            truncate_ip("2002:cb00:7107:1::1").as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(
            truncate_ip("64:ff9b::cb00:7107").as_deref(),
            Some("203.0.113.0/24")
        );
        for bad in ["", "x", "1.2.3", "1.2.3.4.5", "1.2.3.4/24", "[::1]"] {
            assert_eq!(truncate_ip(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_event_reads_as_the_contract_says() {
        let ctx =
            Context::new(Actor::User).from_request(Some("203.0.113.7"), Some("FR"), Some("8a1"));
        let random = crate::testing::SeededRandom::new(1);
        let e = Event::new(
            EventType::Revoked,
            Some(Reason::Logout),
            Some("alice"),
            Some("sid"),
            &ctx,
            1_700_000_000_000,
            &random,
        )
        .unwrap();
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["type"], "session.revoked");
        assert_eq!(json["reason"], "logout");
        assert_eq!(json["actor"], "user");
        assert_eq!(json["ip"], "203.0.113.0/24");
        assert_eq!(json["requestId"], "8a1");
        assert_eq!(json["time"], "2023-11-14T22:13:20.000Z");
        assert_eq!(json["id"].as_str().unwrap().len(), 32);
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "actor",
                "country",
                "id",
                "ip",
                "reason",
                "requestId",
                "sessionId",
                "time",
                "type",
                "userId"
            ]
        );
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }
}

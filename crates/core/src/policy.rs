//! Session lifetimes: the TTL bounds, the defaults, and the policy that
//! turns a request's optional TTLs into a session's. Every TTL rule of the
//! contract is stated here once; configuration, the admin API, the handoff
//! and stored records all check through it.

use crate::session::ValidationError;

/// Shortest TTL, in seconds (KV's minimum `expirationTtl`).
pub const MIN_TTL: u64 = 60;
/// Longest TTL, in seconds (365 days).
pub const MAX_TTL: u64 = 31_536_000;
/// Default idle TTL, seconds (7 days).
pub const DEFAULT_IDLE_TTL: u64 = 604_800;
/// Default absolute TTL, seconds (30 days).
pub const DEFAULT_ABSOLUTE_TTL: u64 = 2_592_000;

/// What the two TTLs are called where they are read: fields of a request
/// body, or vars of the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtlNames {
    pub idle: &'static str,
    pub absolute: &'static str,
}

/// The names of the session JSON, the admin API and `X-Session-Issue`.
pub const TTL_FIELDS: TtlNames = TtlNames {
    idle: "idleTtl",
    absolute: "absoluteTtl",
};

/// The names of the configuration's vars.
pub const TTL_VARS: TtlNames = TtlNames {
    idle: "SESSION_IDLE_TTL",
    absolute: "SESSION_ABSOLUTE_TTL",
};

/// One TTL within [`MIN_TTL`]..=[`MAX_TTL`]; the reason otherwise.
pub fn check_ttl(secs: u64) -> Result<u64, String> {
    if secs < MIN_TTL {
        Err(format!("is below the minimum of {MIN_TTL} seconds"))
    } else if secs > MAX_TTL {
        Err(format!(
            "is above the maximum of {MAX_TTL} seconds (365 days)"
        ))
    } else {
        Ok(secs)
    }
}

/// Both TTLs in bounds and `idle <= absolute`; the error names the TTL at
/// fault by `names` (the absolute one when it is shorter than the idle one).
pub fn check_ttls(idle: u64, absolute: u64, names: TtlNames) -> Result<(), ValidationError> {
    check_ttl(idle).map_err(|reason| ValidationError::new(names.idle, reason))?;
    check_ttl(absolute).map_err(|reason| ValidationError::new(names.absolute, reason))?;
    if absolute < idle {
        return Err(ValidationError::new(
            names.absolute,
            format!("is less than {}; it must be at least as long", names.idle),
        ));
    }
    Ok(())
}

/// The var capping a user's sessions.
pub const MAX_SESSIONS_VAR: &str = "MAX_SESSIONS_PER_USER";
/// Largest `MAX_SESSIONS_PER_USER`.
pub const MAX_SESSIONS_CAP: u32 = 100_000;

/// Default TTLs of sessions created without explicit ones, and the cap on
/// a user's sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Seconds (`SESSION_IDLE_TTL`).
    pub idle_ttl: u64,
    /// Seconds (`SESSION_ABSOLUTE_TTL`).
    pub absolute_ttl: u64,
    /// `MAX_SESSIONS_PER_USER`: creating a session beyond it revokes the
    /// user's least recently seen ones. `None`: no cap.
    pub max_sessions_per_user: Option<u32>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            idle_ttl: DEFAULT_IDLE_TTL,
            absolute_ttl: DEFAULT_ABSOLUTE_TTL,
            max_sessions_per_user: None,
        }
    }
}

/// `MAX_SESSIONS_PER_USER`: a whole number from 1 to [`MAX_SESSIONS_CAP`],
/// in plain decimal digits as every number of the configuration (`+5` is
/// refused, as `+60` is for a TTL); the reason otherwise (never the value).
pub fn parse_session_cap(text: &str) -> Result<u32, String> {
    let text = text.trim();
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<u32>() {
        Ok(n) if digits && (1..=MAX_SESSIONS_CAP).contains(&n) => Ok(n),
        _ => Err(format!(
            "must be a whole number from 1 to {MAX_SESSIONS_CAP}"
        )),
    }
}

impl Policy {
    /// A policy after [`check_ttls`], the error naming the var at fault
    /// (`SESSION_IDLE_TTL` or `SESSION_ABSOLUTE_TTL`).
    pub fn new(idle_ttl: u64, absolute_ttl: u64) -> Result<Self, ValidationError> {
        check_ttls(idle_ttl, absolute_ttl, TTL_VARS)?;
        Ok(Self {
            idle_ttl,
            absolute_ttl,
            max_sessions_per_user: None,
        })
    }

    /// This policy with the cap `MAX_SESSIONS_PER_USER`.
    pub fn with_session_cap(self, cap: Option<u32>) -> Self {
        Self {
            max_sessions_per_user: cap,
            ..self
        }
    }

    /// The TTLs of a new session that asked for `idle` and `absolute`: a
    /// missing one takes the default, adjusted to keep idle <= absolute (a
    /// missing idle TTL is at most the given absolute one, a missing absolute
    /// TTL at least the given idle one). Errors name the fields.
    pub fn ttls_for(
        &self,
        idle: Option<u64>,
        absolute: Option<u64>,
    ) -> Result<(u64, u64), ValidationError> {
        for (given, field) in [(idle, TTL_FIELDS.idle), (absolute, TTL_FIELDS.absolute)] {
            if let Some(secs) = given {
                check_ttl(secs).map_err(|reason| ValidationError::new(field, reason))?;
            }
        }
        let ttls = match (idle, absolute) {
            (Some(idle), Some(absolute)) => (idle, absolute),
            (Some(idle), None) => (idle, self.absolute_ttl.max(idle)),
            (None, Some(absolute)) => (self.idle_ttl.min(absolute), absolute),
            (None, None) => (self.idle_ttl, self.absolute_ttl),
        };
        check_ttls(ttls.0, ttls.1, TTL_FIELDS)?;
        Ok(ttls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cap_parses_whole_numbers_in_range_only() {
        assert_eq!(parse_session_cap("1"), Ok(1));
        assert_eq!(parse_session_cap(" 50 "), Ok(50));
        assert_eq!(parse_session_cap("100000"), Ok(MAX_SESSIONS_CAP));
        for bad in [
            "0",
            "-1",
            "+1",
            "100001",
            "1.5",
            "",
            "ten",
            "1e3",
            "99999999999",
        ] {
            let reason = parse_session_cap(bad).unwrap_err();
            assert!(reason.contains("whole number"), "{bad}: {reason}");
        }
    }

    #[test]
    fn bounds() {
        assert_eq!(check_ttl(60), Ok(60));
        assert_eq!(check_ttl(MAX_TTL), Ok(MAX_TTL));
        assert!(check_ttl(59).unwrap_err().contains("minimum of 60"));
        assert!(check_ttl(MAX_TTL + 1).unwrap_err().contains("maximum"));
        assert!(check_ttls(60, 60, TTL_FIELDS).is_ok());
        assert_eq!(
            check_ttls(59, 600, TTL_FIELDS).unwrap_err().field,
            "idleTtl"
        );
        assert_eq!(
            check_ttls(60, 59, TTL_FIELDS).unwrap_err().field,
            "absoluteTtl"
        );
        let e = check_ttls(601, 600, TTL_FIELDS).unwrap_err();
        assert_eq!(e.field, "absoluteTtl");
        assert_eq!(
            e.reason,
            "is less than idleTtl; it must be at least as long"
        );
        let e = Policy::new(700, 600).unwrap_err();
        assert_eq!(e.field, "SESSION_ABSOLUTE_TTL");
        assert_eq!(
            e.reason,
            "is less than SESSION_IDLE_TTL; it must be at least as long"
        );
    }

    #[test]
    fn defaults_adjust_to_the_given_ttl() {
        let p = Policy::new(120, 600).unwrap();
        assert_eq!(p.ttls_for(None, None), Ok((120, 600)));
        assert_eq!(p.ttls_for(None, Some(60)), Ok((60, 60)));
        assert_eq!(p.ttls_for(Some(3000), None), Ok((3000, 3000)));
        assert_eq!(
            p.ttls_for(Some(700), Some(600)).unwrap_err().field,
            "absoluteTtl"
        );
        assert_eq!(p.ttls_for(Some(59), None).unwrap_err().field, "idleTtl");
        assert_eq!(
            p.ttls_for(None, Some(MAX_TTL + 1)).unwrap_err().field,
            "absoluteTtl"
        );
    }
}

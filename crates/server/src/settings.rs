//! The server's bounds, each a named setting with a documented default (`docs/serve.md`,
//! "Limits"), and the clock modes.

use std::time::Duration;

use lnp_model::Timestamp;

/// Every bound the server keeps, whatever a client does. `lnpsim serve --limit NAME=VALUE`
/// changes one; the names are the field names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `max_body_bytes`: the largest request body; a larger one is answered `413`.
    pub max_body_bytes: usize,
    /// `rate_per_second`: requests one carrier may make per second (a token bucket of this
    /// size, refilled at this rate); more are answered `429` with `Retry-After`. The admin is
    /// not limited.
    pub rate_per_second: u32,
    /// `request_queue`: requests waiting for the simulation task; a handler waits for room.
    pub request_queue: usize,
    /// `page_rows`: the most rows one `GET /v1/messages` answer carries (`next` says where to
    /// go on).
    pub page_rows: usize,
    /// `max_wait_secs`: the longest long poll (`wait`).
    pub max_wait_secs: u64,
    /// `sse_backlog`: events an SSE client may leave unread before the server waits for it.
    pub sse_backlog: usize,
    /// `sse_stall_secs`: how long the server waits for an SSE client with a full backlog before
    /// it cuts the client off (the client resumes with `Last-Event-ID`).
    pub sse_stall_secs: u64,
    /// `webhook_queue`: rows held for one carrier's webhook at a time (the retry queue); the
    /// rest wait in the trace and are fetched by `seq` as the queue empties.
    pub webhook_queue: usize,
    /// `webhook_max_backoff_ms`: the cap of the doubling wait between retries of one delivery.
    pub webhook_max_backoff_ms: u64,
    /// `webhook_timeout_ms`: how long one webhook delivery may take.
    pub webhook_timeout_ms: u64,
    /// `tick_ms`: in `realtime` and `scaled` modes, how often (wall clock) the virtual clock
    /// is moved on and the live audit looks for duties whose deadline has passed.
    pub tick_ms: u64,
    /// `max_rows`: the most trace rows the server keeps; a message past it is answered `507`.
    pub max_rows: u64,
    /// `shutdown_grace_secs`: on SIGINT/SIGTERM, how long requests in hand may take to finish.
    pub shutdown_grace_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            rate_per_second: 100,
            request_queue: 1024,
            page_rows: 1000,
            max_wait_secs: 60,
            sse_backlog: 256,
            sse_stall_secs: 30,
            webhook_queue: 100,
            webhook_max_backoff_ms: 30_000,
            webhook_timeout_ms: 10_000,
            tick_ms: 250,
            max_rows: 10_000_000,
            shutdown_grace_secs: 10,
        }
    }
}

impl Limits {
    /// The names `set` accepts.
    pub const NAMES: [&'static str; 13] = [
        "max_body_bytes",
        "rate_per_second",
        "request_queue",
        "page_rows",
        "max_wait_secs",
        "sse_backlog",
        "sse_stall_secs",
        "webhook_queue",
        "webhook_max_backoff_ms",
        "webhook_timeout_ms",
        "tick_ms",
        "max_rows",
        "shutdown_grace_secs",
    ];

    /// Sets one bound from `NAME=VALUE` (a positive whole number).
    pub fn set(&mut self, assignment: &str) -> Result<(), String> {
        let Some((name, value)) = assignment.split_once('=') else {
            return Err(format!("{assignment:?}: expected NAME=VALUE, e.g. rate_per_second=200"));
        };
        let (name, value) = (name.trim(), value.trim());
        let n: u64 = value
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{name}: {value:?} is not a positive whole number"))?;
        let small = |n: u64| usize::try_from(n).map_err(|_| format!("{name}: {n} is too large"));
        match name {
            "max_body_bytes" => self.max_body_bytes = small(n)?,
            "rate_per_second" => {
                self.rate_per_second = u32::try_from(n).map_err(|_| format!("{name}: {n} is too large"))?;
            }
            "request_queue" => self.request_queue = small(n)?,
            "page_rows" => self.page_rows = small(n)?,
            "max_wait_secs" => self.max_wait_secs = n,
            "sse_backlog" => self.sse_backlog = small(n)?,
            "sse_stall_secs" => self.sse_stall_secs = n,
            "webhook_queue" => self.webhook_queue = small(n)?,
            "webhook_max_backoff_ms" => self.webhook_max_backoff_ms = n,
            "webhook_timeout_ms" => self.webhook_timeout_ms = n,
            "tick_ms" => self.tick_ms = n,
            "max_rows" => self.max_rows = n,
            "shutdown_grace_secs" => self.shutdown_grace_secs = n,
            _ => {
                return Err(format!(
                    "{name:?} is not a limit; the limits are {}",
                    Self::NAMES.join(", ")
                ))
            }
        }
        Ok(())
    }

    pub fn tick(&self) -> Duration {
        Duration::from_millis(self.tick_ms)
    }
}

/// How virtual time moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockMode {
    /// Only `POST /v1/clock/advance` moves it.
    Manual,
    /// One virtual second per wall-clock second.
    Realtime,
    /// N virtual seconds per wall-clock second.
    Scaled(u32),
}

impl ClockMode {
    /// Virtual milliseconds per wall-clock millisecond (`None`: manual).
    pub fn rate(self) -> Option<u32> {
        match self {
            Self::Manual => None,
            Self::Realtime => Some(1),
            Self::Scaled(n) => Some(n),
        }
    }

    /// Where a running clock stands `wall_ms` after it stood at `base`.
    pub fn virtual_after(self, base: Timestamp, wall_ms: u64) -> Timestamp {
        let rate = i64::from(self.rate().unwrap_or(0));
        let ms = i64::try_from(wall_ms).unwrap_or(i64::MAX).saturating_mul(rate);
        let t = base.plus_millis(ms);
        if t.in_range() {
            t
        } else {
            Timestamp::LAST
        }
    }
}

impl std::fmt::Display for ClockMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Manual => f.write_str("manual"),
            Self::Realtime => f.write_str("realtime"),
            Self::Scaled(n) => write!(f, "scaled:{n}"),
        }
    }
}

impl std::str::FromStr for ClockMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "manual" => Ok(Self::Manual),
            "realtime" => Ok(Self::Realtime),
            other => {
                let Some(n) = other.strip_prefix("scaled:") else {
                    return Err(format!(
                        "{other:?}: the clock is manual, realtime or scaled:N (N virtual seconds per second)"
                    ));
                };
                match n.trim().parse::<u32>() {
                    Ok(n) if n > 0 => Ok(Self::Scaled(n)),
                    _ => Err(format!(
                        "{other:?}: N in scaled:N is a positive whole number, e.g. scaled:3600"
                    )),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_set_by_name() {
        let mut l = Limits::default();
        l.set("rate_per_second=5").expect("set");
        assert_eq!(l.rate_per_second, 5);
        assert!(l.set("rate_per_second=0").is_err());
        let e = l.set("nonsense=1").expect_err("unknown");
        assert!(e.contains("max_body_bytes"), "{e}");
        assert!(l.set("max_rows").is_err());
    }

    #[test]
    fn clock_modes_parse() {
        assert_eq!("manual".parse(), Ok(ClockMode::Manual));
        assert_eq!("scaled:3600".parse(), Ok(ClockMode::Scaled(3600)));
        assert!("scaled:0".parse::<ClockMode>().is_err());
        assert!("fast".parse::<ClockMode>().is_err());
        assert_eq!(ClockMode::Scaled(60).to_string(), "scaled:60");
    }
}

//! The task that owns the [`Core`]: it runs on a thread of its own (the engine's work is
//! synchronous and may be long: an advance over days of a large market), takes requests from a
//! bounded channel, answers each through a oneshot, and makes every accepted input durable in the
//! journal before it answers.
//!
//! Requests that change the state are taken in batches: each is applied and journaled, then one
//! fsync covers the batch and only then are they answered (group commit). A request that only
//! reads waits until what came before it is durable, so nothing unacknowledged is ever shown.

use std::sync::Arc;
use std::time::Duration;

use lnp_model::{Span, Timestamp};
use tokio::sync::{mpsc, oneshot, watch};

use crate::core::{Core, Event, Refusal, Row, Task};
use crate::input::Incoming;
use crate::journal::{Entry, Journal};
use crate::settings::ClockMode;
use crate::tokens::Principal;

/// Where the clock is asked to go.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    By(Span),
    To(Timestamp),
}

/// An answer the simulation task gives to a request that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// `400`: the request makes no sense for this market (a clock going back, a sender that is
    /// not external); the field named.
    Bad { field: Option<String>, error: String },
    /// `409`: the clock is not manual.
    Conflict(String),
    /// `507`: the trace is full.
    Full(String),
    /// `503`: the journal could not be written, or the simulation stopped.
    Unavailable(String),
}

/// What the head of the state is: handlers wait for it to move.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Head {
    pub rows: u64,
    pub findings: usize,
    pub tasks: u64,
    pub now: Timestamp,
}

pub type Reply<T> = oneshot::Sender<T>;

/// A request to the simulation task.
pub enum Request {
    Post {
        input: Incoming,
        reply: Reply<Result<Arc<Row>, Failure>>,
    },
    Advance {
        target: Target,
        reply: Reply<Result<(Timestamp, u64), Failure>>,
    },
    /// Now, and when the engine next has something to do.
    Now {
        reply: Reply<(Timestamp, Option<Timestamp>)>,
    },
    Rows {
        viewer: Principal,
        after: u64,
        limit: usize,
        reply: Reply<Vec<Arc<Row>>>,
    },
    Events {
        viewer: Principal,
        after: u64,
        finding_from: Option<usize>,
        limit: usize,
        reply: Reply<(Vec<Event>, usize)>,
    },
    Tasks {
        viewer: Principal,
        after: u64,
        reply: Reply<Vec<Arc<Task>>>,
    },
    Report {
        viewer: Principal,
        reply: Reply<String>,
    },
    Trace {
        reply: Reply<(Timestamp, Vec<Arc<Row>>)>,
    },
    /// Finish: make everything durable and stop.
    Stop {
        reply: Reply<()>,
    },
}

/// A handle on the simulation task, for the HTTP side.
#[derive(Clone)]
pub struct Handle {
    tx: mpsc::Sender<Request>,
    pub head: watch::Receiver<Head>,
}

/// The simulation task went away (the server is stopping).
#[derive(Debug)]
pub struct Gone;

impl Handle {
    pub fn new(tx: mpsc::Sender<Request>, head: watch::Receiver<Head>) -> Self {
        Self { tx, head }
    }

    pub async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, Gone> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| Gone)?;
        rx.await.map_err(|_| Gone)
    }
}

/// A mutation applied but not yet durable, with its answer.
enum Pending {
    Post(Reply<Result<Arc<Row>, Failure>>, Result<Arc<Row>, Failure>),
    Advance(
        Reply<Result<(Timestamp, u64), Failure>>,
        Result<(Timestamp, u64), Failure>,
    ),
}

/// The simulation task's state besides the core.
pub struct Owner<'a> {
    pub core: Core<'a>,
    pub journal: Option<Journal>,
    pub mode: ClockMode,
    pub head: watch::Sender<Head>,
    /// A journal write failed: the state in memory is ahead of the disk, so nothing more is
    /// accepted.
    pub broken: Option<String>,
}

/// How many requests one batch takes at most.
const BATCH: usize = 256;

fn refusal(e: &Refusal) -> Failure {
    match e {
        Refusal::Full(_) => Failure::Full(e.to_string()),
        Refusal::Step(lnp_sim::StepError::ClockBackwards { .. }) => Failure::Bad {
            field: None,
            error: e.to_string(),
        },
        Refusal::Step(lnp_sim::StepError::UnknownCarrier(_) | lnp_sim::StepError::NotExternal(_)) => Failure::Bad {
            field: Some("from".into()),
            error: e.to_string(),
        },
        Refusal::Step(_) => Failure::Unavailable(e.to_string()),
    }
}

impl Owner<'_> {
    fn publish(&self) {
        let head = Head {
            rows: self.core.rows(),
            findings: self.core.findings_count(),
            tasks: self.core.tasks_after(Principal::Admin, 0).len() as u64,
            now: self.core.now(),
        };
        self.head.send_if_modified(|h| {
            let changed = *h != head;
            *h = head;
            changed
        });
    }

    /// Makes the batch durable, then answers it.
    fn flush(&mut self, pending: &mut Vec<Pending>) {
        if let Some(j) = self.journal.as_mut().filter(|j| j.pending()) {
            if let Err(e) = j.commit() {
                let why = format!("{}: the journal cannot be written: {e}", j.path().display());
                tracing::error!("{why}");
                eprintln!("lnpsim serve: {why}; refusing further input");
                self.broken = Some(why);
            }
        }
        for p in pending.drain(..) {
            match (p, &self.broken) {
                (Pending::Post(tx, _), Some(why)) => {
                    let _ = tx.send(Err(Failure::Unavailable(why.clone())));
                }
                (Pending::Advance(tx, _), Some(why)) => {
                    let _ = tx.send(Err(Failure::Unavailable(why.clone())));
                }
                (Pending::Post(tx, r), None) => {
                    let _ = tx.send(r);
                }
                (Pending::Advance(tx, r), None) => {
                    let _ = tx.send(r);
                }
            }
        }
        self.publish();
    }

    fn post(&mut self, input: Incoming) -> Result<Arc<Row>, Failure> {
        if let Some(why) = &self.broken {
            return Err(Failure::Unavailable(why.clone()));
        }
        let row = self.core.accept(input).map_err(|e| refusal(&e))?;
        if let Some(j) = self.journal.as_mut() {
            j.append(&Entry::Row(row.json().to_string()));
        }
        Ok(row)
    }

    fn advance(&mut self, target: Target) -> Result<(Timestamp, u64), Failure> {
        if let Some(why) = &self.broken {
            return Err(Failure::Unavailable(why.clone()));
        }
        if self.mode != ClockMode::Manual {
            return Err(Failure::Conflict(format!(
                "the clock is {}: it follows the wall clock, and only a manual clock is advanced",
                self.mode
            )));
        }
        let now = self.core.now();
        let to = match target {
            Target::To(t) => t,
            Target::By(span) => {
                if span.is_negative() {
                    return Err(Failure::Bad {
                        field: Some("by".into()),
                        error: format!("{span} is negative: the clock does not go back"),
                    });
                }
                let t = self.core.calendar().add(now, span);
                if !t.in_range() {
                    return Err(Failure::Bad {
                        field: Some("by".into()),
                        error: format!("{span} after {now} is past the last instant lnpsim handles"),
                    });
                }
                t
            }
        };
        if to < now {
            let field = match target {
                Target::To(_) => "to",
                Target::By(_) => "by",
            };
            return Err(Failure::Bad {
                field: Some(field.into()),
                error: format!("the clock is at {now} and does not go back to {to}"),
            });
        }
        let rows = self.core.advance_to(to).map_err(|e| refusal(&e))?;
        if let Some(j) = self.journal.as_mut() {
            j.append(&Entry::Clock(to.to_string()));
        }
        Ok((self.core.now(), rows))
    }

    /// Moves a running clock to `t` (realtime and scaled modes). A move that makes rows or
    /// findings is journaled, as a manual advance is, and the next flush makes it durable
    /// before anyone can read them: after a crash the clock starts again from the last instant
    /// whose consequences may have been seen, so a row shown keeps its `seq` whatever arrives
    /// after the restart, and a finding shown stays. A move that makes nothing is not
    /// journaled. Once the journal has failed, the clock stands still.
    fn move_running_clock(&mut self, t: Timestamp) {
        if self.broken.is_some() || t <= self.core.now() {
            return;
        }
        let before = (self.core.rows(), self.core.findings_count());
        let moved = self.core.advance_to(t).is_ok();
        if moved && (self.core.rows(), self.core.findings_count()) != before {
            if let Some(j) = self.journal.as_mut() {
                j.append(&Entry::Clock(t.to_string()));
            }
        }
    }

    /// Answers requests until told to stop or every handle is gone.
    pub async fn run(mut self, mut rx: mpsc::Receiver<Request>, tick: Duration) {
        self.publish();
        let running = self.mode.rate().is_some();
        #[allow(clippy::disallowed_methods, reason = "a running clock follows the wall clock")]
        let wall_start = std::time::Instant::now();
        let virtual_start = self.core.now();
        let mode = self.mode;
        let virtual_now = move || {
            let ms = u64::try_from(wall_start.elapsed().as_millis()).unwrap_or(u64::MAX);
            mode.virtual_after(virtual_start, ms)
        };
        let mut stop_reply = None;
        let mut pending = Vec::new();
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        'serve: loop {
            let first = if running {
                tokio::select! {
                    r = rx.recv() => r,
                    _ = ticker.tick() => {
                        self.move_running_clock(virtual_now());
                        self.flush(&mut pending);
                        continue;
                    }
                }
            } else {
                rx.recv().await
            };
            let Some(first) = first else { break };
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            for req in batch {
                match req {
                    Request::Post { input, reply } => {
                        if running {
                            self.move_running_clock(virtual_now());
                        }
                        let r = self.post(input);
                        pending.push(Pending::Post(reply, r));
                    }
                    Request::Advance { target, reply } => {
                        let r = self.advance(target);
                        pending.push(Pending::Advance(reply, r));
                    }
                    Request::Stop { reply } => {
                        stop_reply = Some(reply);
                        break 'serve;
                    }
                    read => {
                        self.flush(&mut pending);
                        self.read(read);
                    }
                }
            }
            self.flush(&mut pending);
        }
        self.flush(&mut pending);
        if let Some(r) = stop_reply {
            let _ = r.send(());
        }
    }

    fn read(&self, req: Request) {
        let core = &self.core;
        match req {
            Request::Now { reply } => {
                let _ = reply.send((core.now(), core.next_event_at()));
            }
            Request::Rows {
                viewer,
                after,
                limit,
                reply,
            } => {
                let _ = reply.send(core.rows_after(viewer, after, limit));
            }
            Request::Events {
                viewer,
                after,
                finding_from,
                limit,
                reply,
            } => {
                let _ = reply.send(core.events_after(viewer, after, finding_from, limit));
            }
            Request::Tasks { viewer, after, reply } => {
                let _ = reply.send(core.tasks_after(viewer, after));
            }
            Request::Report { viewer, reply } => {
                let _ = reply.send(core.report(viewer));
            }
            Request::Trace { reply } => {
                let _ = reply.send(core.trace());
            }
            Request::Post { .. } | Request::Advance { .. } | Request::Stop { .. } => {}
        }
    }
}

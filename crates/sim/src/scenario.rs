//! Scenario files (`scenario-format.md`): the types a scenario loads into.
//!
//! Loading and validation live in [`Scenario::from_toml`].

use std::path::PathBuf;

use lnp_model::{CarrierCode, Category, MsgKind, NumberRange, PortRef, RejectCode, RuleId, Span, TelephoneNumber, Timestamp};

/// A whole scenario, validated: every reference resolves, every value parsed.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub start: Timestamp,
    pub until: Option<Timestamp>,
    pub seed: u64,
    /// Resolved relative to the scenario file's folder.
    pub rulebook: Option<PathBuf>,
    /// Resolved relative to the scenario file's folder.
    pub holidays: Option<PathBuf>,
    pub carriers: Vec<CarrierSpec>,
    pub agreements: Vec<AgreementSpec>,
    pub services: Vec<ServiceSpec>,
    pub ports: Vec<PortSpec>,
    pub load: Option<LoadSpec>,
    pub faults: Vec<FaultSpec>,
    pub expects: Vec<Expect>,
}

#[derive(Clone, Debug)]
pub struct CarrierSpec {
    pub code: CarrierCode,
    pub name: String,
    pub ranges: Vec<NumberRange>,
    /// Default 5m.
    pub answers_within: Span,
    pub daily_cap: Option<u32>,
    pub reads_plnr: ReadsPlnr,
}

/// When a carrier loads donors' PLNR records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadsPlnr {
    /// `next-bd HH:MM` (default `next-bd 03:00`): at that local time on the next business day
    /// after publication.
    NextBusinessDay { hour: u32, minute: u32 },
    /// `never`.
    Never,
}

#[derive(Clone, Debug)]
pub struct AgreementSpec {
    pub carriers: [CarrierCode; 2],
    pub after_hours: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceKind {
    Simple,
    Complex,
    Cancelled,
    PendingCancellation,
}

#[derive(Clone, Debug)]
pub struct ServiceSpec {
    /// Individual numbers and ranges as written.
    pub numbers: Vec<NumberRange>,
    pub carrier: CarrierCode,
    pub account: String,
    pub customer: String,
    pub kind: ServiceKind,
}

#[derive(Clone, Debug)]
pub struct PortSpec {
    /// The scenario's name for the port (`P1`); expectations refer to it.
    pub id: PortRef,
    pub category: Category,
    pub numbers: Vec<TelephoneNumber>,
    pub gaining: CarrierCode,
    /// `None`: found from services (or the donor) when the port is submitted.
    pub losing: Option<CarrierCode>,
    pub customer: String,
    pub account: String,
    pub ca_date: chrono::NaiveDate,
    pub submit_at: Timestamp,
    pub cutover: Timestamp,
    /// Cat C: validate with a PNV first.
    pub pnv: bool,
    pub retarget: Vec<Timestamp>,
    pub withdraw_at: Option<Timestamp>,
    pub return_at: Option<Timestamp>,
    /// A ported number disconnected and given back to its donor at this instant.
    pub give_back_at: Option<Timestamp>,
    pub line: usize,
}

#[derive(Clone, Debug)]
pub struct LoadSpec {
    pub ports: u64,
    /// Share of Cat A (the rest Cat C), 0..=1.
    pub share_a: f64,
    pub share_c: f64,
    pub share_d: f64,
    pub numbers_per_cat_c: (u32, u32),
    pub window: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultAction {
    Delay,
    Drop,
    Reject,
    Accept,
    Skip,
    Shift,
}

#[derive(Clone, Debug)]
pub struct FaultSpec {
    pub carrier: CarrierCode,
    /// `None` for `"*"`.
    pub on: Option<MsgKind>,
    pub action: FaultAction,
    pub by: Option<Span>,
    pub code: Option<RejectCode>,
    /// `None`: every time.
    pub times: Option<u32>,
    pub line: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortState {
    Completed,
    Rejected,
    Withdrawn,
    Returned,
    Expired,
    Pending,
}

#[derive(Clone, Debug)]
pub enum RouteExpect {
    Path(Vec<CarrierCode>),
    Unreachable,
}

#[derive(Clone, Debug)]
pub enum ExpectKind {
    Port { port: PortRef, state: PortState },
    Route { number: TelephoneNumber, from: CarrierCode, at: Timestamp, path: RouteExpect },
    Plnr { donor: CarrierCode, number: TelephoneNumber, at: Option<Timestamp>, current: Option<CarrierCode>, status: Option<lnp_model::PortStatus>, absent: bool },
    Violations(Vec<RuleId>),
}

#[derive(Clone, Debug)]
pub struct Expect {
    pub kind: ExpectKind,
    /// 1-based line of the `[[expect]]` header in the file.
    pub line: usize,
}

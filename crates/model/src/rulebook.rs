//! The Code's rules as data (`rules.md`): every rule's ID, meaning, value, cited clause and
//! source; the built-in defaults; overrides from TOML; and the reject-code table.
//!
//! The carrier actors read a `Rulebook` to decide what to do and when; the audit reads the same
//! `Rulebook` to judge a trace. Neither has a rule value of its own.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveTime;
use serde::Serialize;
use thiserror::Error;

use crate::calendar::BusinessCalendar;
use crate::message::{MsgKind, RejectCode};
use crate::time::{parse_time_of_day, Span};

macro_rules! rule_ids {
    ($( $variant:ident => $id:literal, $clause:literal, $source:literal, $meaning:literal; )*) => {
        /// A rule's stable ID.
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        pub enum RuleId { $( $variant, )* }

        impl RuleId {
            /// Every rule, in `rules.md` order.
            pub const ALL: &'static [RuleId] = &[ $( RuleId::$variant, )* ];

            pub fn as_str(self) -> &'static str {
                match self { $( RuleId::$variant => $id, )* }
            }

            /// The clause of C540 the rule cites, or how it is sourced when none is cited.
            pub fn clause(self) -> &'static str {
                match self { $( RuleId::$variant => $clause, )* }
            }

            /// Where the value comes from: `article` (cited in the domain source), `default`
            /// (the simulator's choice where the source is silent), or `interpretation`.
            pub fn source(self) -> &'static str {
                match self { $( RuleId::$variant => $source, )* }
            }

            /// What the rule requires, in one sentence.
            pub fn meaning(self) -> &'static str {
                match self { $( RuleId::$variant => $meaning, )* }
            }
        }

        impl FromStr for RuleId {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $id => Ok(RuleId::$variant), )*
                    _ => Err(format!("unknown rule ID {s:?}")),
                }
            }
        }
    };
}

rule_ids! {
    CaAge => "CA-AGE", "4.1.5, 4.2.4", "article", "the Customer Authority date is no more than N days before the Sydney date of the PNV, SNA or CNA that relies on it, and not after it; a stale one is rejected with 001";
    SnaOneNumber => "SNA-ONE-NUMBER", "Cat A is for one simple service", "article", "an SNA carries exactly one number";
    PortPending => "PORT-PENDING", "4.2.4", "article", "a number is in at most one pending port at a time; the losing carrier rejects a second with 008";
    SnaResponse => "SNA-RESPONSE", "none cited", "default", "the losing carrier answers an SNA with SNA_CONFIRM or SNA_REJECT within N business days";
    SnaValidity => "SNA-VALIDITY", "4.2.27", "article", "an SNA_CONFIRM is valid for N days: an ECA sent later is rejected with 101";
    EcaNeedsSna => "ECA-NEEDS-SNA", "4.2.27", "article", "an ECA needs a valid SNA_CONFIRM for the same ref and number; otherwise it is rejected with 102";
    EcaResponse => "ECA-RESPONSE", "4.2.32, 4.2.33", "article", "the losing carrier answers an ECA with ECA_CONFIRM or ECA_REJECT within N minutes";
    Completion => "COMPLETION", "4.2.34", "default", "after ECA_CONFIRM the losing carrier cuts the number over and sends COMPLETION within N minutes";
    WithdrawBeforeEca => "WITHDRAW-BEFORE-ECA", "retailer practice", "article", "a Cat A port can be withdrawn only before its ECA, a Cat C port only before its CCA; a later withdrawal is rejected with 107";
    RetargetLimit => "RETARGET-LIMIT", "4.2.9", "article", "at most N re-targets per port; a further one is rejected with 104";
    CatANotRejectable => "CAT-A-NOT-REJECTABLE", "stated in the article", "article", "a valid Cat A port may not be rejected as complex: code 005 only when the service really is complex";
    NoContractReject => "NO-CONTRACT-REJECT", "4.1.4, the 2016 variation", "article", "an outstanding contract or a mismatched service account number is never a ground for rejection: codes 009 and 010 are never valid";
    PnvResponse => "PNV-RESPONSE", "4.3.9", "article", "at least P percent of PNVs are answered within N business days";
    PnvCodes => "PNV-CODES", "4.3.8", "article", "PNV response codes are P A S R D SS; reject codes 1-7; 1 and 2 reject the whole request, 3-7 one number";
    CnaReceipt => "CNA-RECEIPT", "4.4.1", "default", "the losing carrier sends CNA_RECEIPT within N business days of a CNA";
    CnaResponse => "CNA-RESPONSE", "4.4.6", "interpretation", "the losing carrier answers a CNA with CNA_CONFIRM or CNA_REJECT within N business days";
    CnaAllOrNothing => "CNA-ALL-OR-NOTHING", "stated in the article", "article", "a CNA_REJECT rejects the whole batch; no number of a rejected batch is cut over";
    CcaNeedsCna => "CCA-NEEDS-CNA", "4.4.8, 4.4.27", "article", "a CCA needs a CNA_CONFIRM for the same batch; otherwise it is rejected with 105";
    CcaResponse => "CCA-RESPONSE", "4.4.27", "default", "the losing carrier answers a CCA within N business days";
    CutoverHours => "CUTOVER-HOURS", "3.8.1", "article", "a cutover happens inside Standard Hours unless the pair's bilateral agreement allows after-hours ports; otherwise it is rejected with 103";
    CutoverAtAgreed => "CUTOVER-AT-AGREED", "4.4.48", "default", "a Cat C cutover happens within N minutes either side of the agreed CCA time";
    Bilateral => "BILATERAL", "stated in the article", "article", "carriers port between themselves only under a bilateral agreement; a third-party port needs all three pairs";
    DonorNotify => "DONOR-NOTIFY", "stated in the article", "default", "in a third-party port the losing carrier sends the donor DONOR_NOTIFY status=P no later than the cutover, and C, N or R within N business days of that outcome";
    DtrDuration => "DTR-DURATION", "stated in the article", "article", "the donor starts donor transit routing at cutover and keeps it for at least N business days; a compliant donor stops it when that period ends";
    PlnrUpdate => "PLNR-UPDATE", "stated in the article", "article", "the donor publishes the completed port in its PLNR within N business days after the later of completion and the end of the return window, and not before that window ends";
    EmergencyReturn => "EMERGENCY-RETURN", "stated in the article", "default", "a reversal (Cat A) or emergency return (Cat C) is accepted only within N hours of cutover; later ones are rejected with 108";
    Quarantine => "QUARANTINE", "stated in the article", "article", "a number given back to the donor is not allocated again for N months";
    DailyCap => "DAILY-CAP", "stated in the article (a carrier's limit)", "article", "a losing carrier confirms at most its daily cap of ECAs and CCAs whose cutover falls on one Sydney date; a further one is rejected with 106";
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One entry of the reject-code table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RejectCodeInfo {
    pub meaning: String,
    /// The messages it answers (`SNA`, `ECA`, …).
    pub on: Vec<MsgKind>,
    /// Whether it is ever a valid ground for rejection (`009`, `010` are not).
    pub valid_ground: bool,
}

/// The rulebook: every rule's value, and the reject-code table.
#[derive(Clone, Debug, PartialEq)]
pub struct Rulebook {
    /// `CA-AGE`: the oldest a Customer Authority may be (calendar days).
    pub ca_age: Span,
    /// `SNA-RESPONSE`.
    pub sna_response: Span,
    /// `SNA-VALIDITY`: how long an `SNA_CONFIRM` stays valid.
    pub sna_validity: Span,
    /// `SNA-VALIDITY`'s optional literal reading of "less than 2 days old" (off by default).
    pub eca_max_sna_age: Option<Span>,
    /// `ECA-RESPONSE`.
    pub eca_response: Span,
    /// `COMPLETION`.
    pub completion: Span,
    /// `RETARGET-LIMIT`.
    pub retargets_max: u32,
    /// `PNV-RESPONSE`: the share (percent) that must be answered in time.
    pub pnv_response_percent: f64,
    /// `PNV-RESPONSE`: the time allowed.
    pub pnv_response: Span,
    /// `CNA-RECEIPT`.
    pub cna_receipt: Span,
    /// `CNA-RESPONSE`.
    pub cna_response: Span,
    /// `CCA-RESPONSE`.
    pub cca_response: Span,
    /// `CUTOVER-AT-AGREED`: tolerance either side of the agreed time.
    pub cutover_at_agreed: Span,
    /// `DONOR-NOTIFY`: time allowed for the outcome notice.
    pub donor_notify: Span,
    /// `DTR-DURATION`: how long donor transit routing lasts at least.
    pub dtr_duration: Span,
    /// `DTR-DURATION`: how late after the cutover a `DTR_START` may come.
    pub dtr_start_grace: Span,
    /// `PLNR-UPDATE`.
    pub plnr_update: Span,
    /// `PLNR-UPDATE`: whether a donor that never published the pending record (`P`) of a port
    /// that cut over is charged (off by default: `P` may be published, need not be).
    pub plnr_pending_required: bool,
    /// `EMERGENCY-RETURN`: the reversal / emergency-return window.
    pub return_window: Span,
    /// `QUARANTINE`.
    pub quarantine: Span,
    /// Standard Hours (clause 3.8.1), inclusive.
    pub standard_hours_start: NaiveTime,
    pub standard_hours_end: NaiveTime,
    /// The reject-code table.
    pub reject_codes: BTreeMap<RejectCode, RejectCodeInfo>,
}

/// A row of the printed rulebook.
#[derive(Clone, Debug, Serialize)]
pub struct RuleInfo {
    pub id: RuleId,
    pub meaning: &'static str,
    pub value: String,
    pub clause: &'static str,
    pub source: &'static str,
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

fn default_reject_codes() -> BTreeMap<RejectCode, RejectCodeInfo> {
    use MsgKind as K;
    let table: [(u16, &str, &[MsgKind]); 18] = [
        (1, "Customer Authority date invalid or too old", &[K::Sna]),
        (2, "insufficient information", &[K::Sna]),
        (3, "number belongs to a different customer", &[K::Sna]),
        (4, "service cancelled or pending cancellation", &[K::Sna]),
        (5, "complex service: cannot be ported as Cat A", &[K::Sna]),
        (6, "number is not with the losing carrier", &[K::Sna]),
        (7, "number not found", &[K::Sna]),
        (8, "a port is already pending for the number", &[K::Sna]),
        (
            9,
            "outstanding contract (never a valid ground: NO-CONTRACT-REJECT)",
            &[K::Sna],
        ),
        (
            10,
            "service account number mismatch (never a valid ground since 2016)",
            &[K::Sna],
        ),
        (101, "SNA confirmation expired", &[K::Eca]),
        (102, "no valid SNA for this ECA", &[K::Eca]),
        (
            103,
            "outside Standard Hours without an agreement",
            &[K::Eca, K::Cca, K::Retarget],
        ),
        (104, "re-target limit reached", &[K::Retarget]),
        (105, "CCA without a confirmed CNA", &[K::Cca]),
        (106, "daily port capacity reached", &[K::Eca, K::Cca]),
        (107, "withdrawal too late", &[K::Withdraw]),
        (
            108,
            "reversal or emergency return outside its window",
            &[K::Reversal, K::EmergencyReturn],
        ),
    ];
    table
        .into_iter()
        .filter_map(|(code, meaning, on)| {
            Some((
                RejectCode::new(code)?,
                RejectCodeInfo {
                    meaning: meaning.into(),
                    on: on.to_vec(),
                    valid_ground: !matches!(code, 9 | 10),
                },
            ))
        })
        .collect()
}

impl Default for Rulebook {
    fn default() -> Self {
        Self {
            ca_age: Span::Days(90),
            sna_response: Span::BusinessDays(5),
            sna_validity: Span::Days(30),
            eca_max_sna_age: None,
            eca_response: Span::Minutes(15),
            completion: Span::Minutes(60),
            retargets_max: 2,
            pnv_response_percent: 99.0,
            pnv_response: Span::BusinessDays(5),
            cna_receipt: Span::BusinessDays(1),
            cna_response: Span::BusinessDays(5),
            cca_response: Span::BusinessDays(1),
            cutover_at_agreed: Span::Minutes(30),
            donor_notify: Span::BusinessDays(1),
            dtr_duration: Span::BusinessDays(5),
            dtr_start_grace: Span::Minutes(15),
            plnr_update: Span::BusinessDays(1),
            plnr_pending_required: false,
            return_window: Span::Hours(4),
            quarantine: Span::Months(6),
            standard_hours_start: time(8, 0),
            standard_hours_end: time(17, 0),
            reject_codes: default_reject_codes(),
        }
    }
}

/// A bad rulebook file: the key at fault, its line, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}key `{key}`: {message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct RulebookError {
    pub key: String,
    pub line: Option<usize>,
    pub message: String,
}

#[allow(clippy::naive_bytecount, reason = "rulebook files are a few lines long")]
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

impl Rulebook {
    /// The meaning, value, clause and source of every rule, in `rules.md` order.
    pub fn rules(&self) -> Vec<RuleInfo> {
        RuleId::ALL
            .iter()
            .map(|&id| RuleInfo {
                id,
                meaning: id.meaning(),
                value: self.value_text(id),
                clause: id.clause(),
                source: id.source(),
            })
            .collect()
    }

    /// The rule's value as a person reads it ("15 minutes", "99% within 5 business days").
    pub fn value_text(&self, id: RuleId) -> String {
        use RuleId as R;
        match id {
            R::CaAge => self.ca_age.describe(),
            R::SnaResponse => self.sna_response.describe(),
            R::SnaValidity => match self.eca_max_sna_age {
                None => self.sna_validity.describe(),
                Some(a) => format!(
                    "{}; ECA needs an SNA younger than {}",
                    self.sna_validity.describe(),
                    a.describe()
                ),
            },
            R::EcaResponse => self.eca_response.describe(),
            R::Completion => self.completion.describe(),
            R::RetargetLimit => self.retargets_max.to_string(),
            R::PnvResponse => format!("{}% within {}", self.pnv_response_percent, self.pnv_response.describe()),
            R::CnaReceipt => self.cna_receipt.describe(),
            R::CnaResponse => self.cna_response.describe(),
            R::CcaResponse => self.cca_response.describe(),
            R::CutoverAtAgreed => self.cutover_at_agreed.describe(),
            R::DonorNotify => self.donor_notify.describe(),
            R::DtrDuration => format!(
                "{} (start within {})",
                self.dtr_duration.describe(),
                self.dtr_start_grace.describe()
            ),
            R::PlnrUpdate if self.plnr_pending_required => {
                format!("{}; a pending record is required", self.plnr_update.describe())
            }
            R::PlnrUpdate => self.plnr_update.describe(),
            R::EmergencyReturn => self.return_window.describe(),
            R::Quarantine => self.quarantine.describe(),
            R::CutoverHours => format!(
                "Standard Hours {}-{} on business days",
                self.standard_hours_start.format("%H:%M"),
                self.standard_hours_end.format("%H:%M")
            ),
            R::DailyCap => "per carrier (scenario `daily_cap`)".into(),
            R::SnaOneNumber
            | R::PortPending
            | R::EcaNeedsSna
            | R::WithdrawBeforeEca
            | R::CatANotRejectable
            | R::NoContractReject
            | R::PnvCodes
            | R::CnaAllOrNothing
            | R::CcaNeedsCna
            | R::Bilateral => "—".into(),
        }
    }

    /// A business calendar with this rulebook's Standard Hours.
    /// A complete override file (`lnpsim rules --example`): every setting of every rule, the
    /// Standard Hours and the reject-code table, with this rulebook's values, each rule with its
    /// meaning. Loading it gives this rulebook back.
    pub fn example_toml(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::from(
            "# An lnpsim rulebook: every setting, with its value. Delete what you do not change;\n\
             # durations are 15m, 4h, 2d (calendar days), 5bd (business days), 6mo (docs/rules.md).\n",
        );
        for rule in RuleId::ALL {
            let _ = write!(out, "\n# {}\n[{rule}]\n", rule.meaning());
            let q = |s: Span| format!("\"{s}\"");
            let lines: Vec<String> = match rule {
                RuleId::CaAge => vec![format!("value = {}", q(self.ca_age))],
                RuleId::SnaResponse => vec![format!("value = {}", q(self.sna_response))],
                RuleId::SnaValidity => vec![
                    format!("value = {}", q(self.sna_validity)),
                    format!(
                        "eca_max_sna_age = {}",
                        self.eca_max_sna_age.map_or_else(|| "\"off\"".to_string(), q)
                    ),
                ],
                RuleId::EcaResponse => vec![format!("value = {}", q(self.eca_response))],
                RuleId::Completion => vec![format!("value = {}", q(self.completion))],
                RuleId::RetargetLimit => vec![format!("value = {}", self.retargets_max)],
                RuleId::PnvResponse => vec![
                    format!("percent = {:?}", self.pnv_response_percent),
                    format!("value = {}", q(self.pnv_response)),
                ],
                RuleId::CnaReceipt => vec![format!("value = {}", q(self.cna_receipt))],
                RuleId::CnaResponse => vec![format!("value = {}", q(self.cna_response))],
                RuleId::CcaResponse => vec![format!("value = {}", q(self.cca_response))],
                RuleId::CutoverAtAgreed => vec![format!("value = {}", q(self.cutover_at_agreed))],
                RuleId::DonorNotify => vec![format!("value = {}", q(self.donor_notify))],
                RuleId::DtrDuration => vec![
                    format!("value = {}", q(self.dtr_duration)),
                    format!("start_grace = {}", q(self.dtr_start_grace)),
                ],
                RuleId::PlnrUpdate => vec![
                    format!("value = {}", q(self.plnr_update)),
                    format!("plnr_pending_required = {}", self.plnr_pending_required),
                ],
                RuleId::EmergencyReturn => vec![format!("value = {}", q(self.return_window))],
                RuleId::Quarantine => vec![format!("value = {}", q(self.quarantine))],
                RuleId::CutoverHours => vec!["# its times are [standard-hours] below".to_string()],
                RuleId::DailyCap => vec!["# a carrier's cap is set per carrier in a scenario (daily_cap)".to_string()],
                _ => vec!["# (no settings)".to_string()],
            };
            for l in lines {
                let _ = writeln!(out, "{l}");
            }
        }
        let _ = write!(
            out,
            "\n# Standard Hours (clause 3.8.1), inclusive, on business days\n[standard-hours]\nstart = \"{}\"\nend = \"{}\"\n",
            self.standard_hours_start.format("%H:%M"),
            self.standard_hours_end.format("%H:%M")
        );
        out.push_str("\n# The reject codes: what each means, which requests it answers, whether it is ever a ground\n");
        for (code, info) in &self.reject_codes {
            let on: Vec<String> = info.on.iter().map(|k| format!("\"{}\"", k.keyword())).collect();
            let _ = write!(
                out,
                "[reject-codes.\"{code}\"]\nmeaning = {:?}\non = [{}]\nvalid_ground = {}\n",
                info.meaning,
                on.join(", "),
                info.valid_ground
            );
        }
        out
    }

    pub fn calendar(&self) -> BusinessCalendar {
        BusinessCalendar::new().with_standard_hours(self.standard_hours_start, self.standard_hours_end)
    }

    /// Whether `code` is a valid ground for rejecting `kind`.
    pub fn code_allowed_on(&self, code: RejectCode, kind: MsgKind) -> bool {
        self.reject_codes
            .get(&code)
            .is_some_and(|info| info.valid_ground && info.on.contains(&kind))
    }

    /// The built-in defaults with the overrides of a TOML file applied. Every key is checked:
    /// unknown rule IDs, unknown settings and bad values are errors naming the key and line.
    ///
    /// ```toml
    /// [ECA-RESPONSE]
    /// value = "20m"
    /// [PNV-RESPONSE]
    /// percent = 95.0
    /// value = "5bd"
    /// [standard-hours]
    /// start = "08:00"
    /// end = "18:00"
    /// [reject-codes."011"]
    /// meaning = "porting system maintenance"
    /// on = ["SNA"]
    /// ```
    pub fn from_toml(text: &str) -> Result<Self, Vec<RulebookError>> {
        let mut book = Self::default();
        book.apply_toml(text)?;
        Ok(book)
    }

    /// Applies the overrides of a TOML file to this rulebook.
    pub fn apply_toml(&mut self, text: &str) -> Result<(), Vec<RulebookError>> {
        let top: toml::Table = toml::from_str(text).map_err(|e| {
            vec![RulebookError {
                key: "(file)".into(),
                line: e.span().map(|s| line_of(text, s.start)),
                message: e.message().to_string(),
            }]
        })?;
        let mut errors = Vec::new();
        for (name, value) in &top {
            let name = name.as_str();
            let line = Some(section_line(text, name));
            let Some(section) = value.as_table() else {
                errors.push(RulebookError {
                    key: name.into(),
                    line,
                    message: "expected a table of settings, e.g. [ECA-RESPONSE] value = \"15m\"".into(),
                });
                continue;
            };
            let section = attach_lines(text, name, section);
            match name {
                "standard-hours" => self.apply_hours(&section, &mut errors),
                "reject-codes" => self.apply_codes(&section, &mut errors),
                _ => match name.parse::<RuleId>() {
                    Ok(id) => self.apply_rule(id, &section, &mut errors),
                    Err(_) => errors.push(RulebookError {
                        key: name.into(),
                        line,
                        message:
                            "unknown rule ID (see `lnpsim rules`), or section other than standard-hours / reject-codes"
                                .into(),
                    }),
                },
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn apply_rule(&mut self, id: RuleId, section: &[(String, usize, toml::Value)], errors: &mut Vec<RulebookError>) {
        use RuleId as R;
        for (k, line, v) in section {
            let key = format!("{id}.{k}");
            let err = |message: String| RulebookError {
                key: key.clone(),
                line: Some(*line),
                message,
            };
            let span = || -> Result<Span, RulebookError> {
                let s = v.as_str().ok_or_else(|| {
                    err("expected a duration string such as \"15m\", \"4h\", \"2d\" or \"5bd\"".into())
                })?;
                let sp: Span = s.parse().map_err(|e: crate::time::TimeError| err(e.to_string()))?;
                if sp.is_negative() {
                    return Err(err("a rule's duration cannot be negative".into()));
                }
                Ok(sp)
            };
            let result: Result<(), RulebookError> = match (id, k.as_str()) {
                (R::CaAge, "value") => span().map(|s| self.ca_age = s),
                (R::SnaResponse, "value") => span().map(|s| self.sna_response = s),
                (R::SnaValidity, "value") => span().map(|s| self.sna_validity = s),
                (R::SnaValidity, "eca_max_sna_age") => {
                    if v.as_str() == Some("off") {
                        self.eca_max_sna_age = None;
                        Ok(())
                    } else {
                        span().map(|s| self.eca_max_sna_age = Some(s))
                    }
                }
                (R::EcaResponse, "value") => span().map(|s| self.eca_response = s),
                (R::Completion, "value") => span().map(|s| self.completion = s),
                (R::RetargetLimit, "value") => match v.as_integer() {
                    Some(n) if (0..=1000).contains(&n) => {
                        self.retargets_max = n as u32;
                        Ok(())
                    }
                    _ => Err(err(format!("expected a whole number from 0 to 1000, found {v}"))),
                },
                (R::PnvResponse, "percent") => match v.as_float().or_else(|| v.as_integer().map(|i| i as f64)) {
                    Some(p) if (0.0..=100.0).contains(&p) => {
                        self.pnv_response_percent = p;
                        Ok(())
                    }
                    _ => Err(err(format!("expected a percentage from 0 to 100, found {v}"))),
                },
                (R::PnvResponse, "value") => span().map(|s| self.pnv_response = s),
                (R::CnaReceipt, "value") => span().map(|s| self.cna_receipt = s),
                (R::CnaResponse, "value") => span().map(|s| self.cna_response = s),
                (R::CcaResponse, "value") => span().map(|s| self.cca_response = s),
                (R::CutoverAtAgreed, "value") => span().map(|s| self.cutover_at_agreed = s),
                (R::DonorNotify, "value") => span().map(|s| self.donor_notify = s),
                (R::DtrDuration, "value") => span().map(|s| self.dtr_duration = s),
                (R::DtrDuration, "start_grace") => span().map(|s| self.dtr_start_grace = s),
                (R::PlnrUpdate, "value") => span().map(|s| self.plnr_update = s),
                (R::PlnrUpdate, "plnr_pending_required") => match v.as_bool() {
                    Some(b) => {
                        self.plnr_pending_required = b;
                        Ok(())
                    }
                    None => Err(err("expected true or false".into())),
                },
                (R::EmergencyReturn, "value") => span().map(|s| self.return_window = s),
                (R::Quarantine, "value") => span().map(|s| self.quarantine = s),
                _ => Err(err(format!(
                    "{id} has no setting {k:?}; its settings are: {}",
                    settings_of(id)
                ))),
            };
            if let Err(e) = result {
                errors.push(e);
            }
        }
    }

    fn apply_hours(&mut self, section: &[(String, usize, toml::Value)], errors: &mut Vec<RulebookError>) {
        for (k, line, v) in section {
            let key = format!("standard-hours.{k}");
            let parsed = v.as_str().map(parse_time_of_day);
            match (k.as_str(), parsed) {
                ("start", Some(Ok(t))) => self.standard_hours_start = t,
                ("end", Some(Ok(t))) => self.standard_hours_end = t,
                ("start" | "end", _) => errors.push(RulebookError {
                    key,
                    line: Some(*line),
                    message: format!("expected a local time \"HH:MM\", found {v}"),
                }),
                _ => errors.push(RulebookError {
                    key,
                    line: Some(*line),
                    message: "unknown setting; standard-hours has start and end".into(),
                }),
            }
        }
        if self.standard_hours_end <= self.standard_hours_start {
            errors.push(RulebookError {
                key: "standard-hours".into(),
                line: section.first().map(|s| s.1),
                message: "end must be later than start".into(),
            });
        }
    }

    fn apply_codes(&mut self, section: &[(String, usize, toml::Value)], errors: &mut Vec<RulebookError>) {
        for (k, line, v) in section {
            let key = format!("reject-codes.{k}");
            let err = |message: String| RulebookError {
                key: key.clone(),
                line: Some(*line),
                message,
            };
            let Some(code) = (k.len() == 3)
                .then(|| k.parse::<u16>().ok())
                .flatten()
                .and_then(RejectCode::new)
            else {
                errors.push(err("reject codes are three digits, e.g. \"011\"".into()));
                continue;
            };
            let Some(t) = v.as_table() else {
                errors.push(err(
                    "expected a table with meaning, on and optionally valid_ground".into()
                ));
                continue;
            };
            let mut info = self.reject_codes.get(&code).cloned().unwrap_or(RejectCodeInfo {
                meaning: String::new(),
                on: Vec::new(),
                valid_ground: true,
            });
            let mut ok = true;
            for (field, fv) in t {
                match (field.as_str(), fv) {
                    ("meaning", toml::Value::String(s)) => info.meaning.clone_from(s),
                    ("valid_ground", toml::Value::Boolean(b)) => info.valid_ground = *b,
                    ("on", toml::Value::Array(items)) => {
                        let mut on = Vec::new();
                        for it in items {
                            match it.as_str().map(str::parse::<MsgKind>) {
                                Some(Ok(kind)) if !kind.answers().is_empty() => on.push(kind),
                                _ => {
                                    errors.push(err(format!(
                                        "on: {it} is not a request keyword (SNA, ECA, CCA, RETARGET, …)"
                                    )));
                                    ok = false;
                                }
                            }
                        }
                        info.on = on;
                    }
                    _ => {
                        errors.push(err(format!("unknown or mistyped field {field:?}; fields: meaning (text), on (list), valid_ground (true/false)")));
                        ok = false;
                    }
                }
            }
            if info.meaning.is_empty() && ok {
                errors.push(err("a new code needs a meaning".into()));
                ok = false;
            }
            if ok {
                self.reject_codes.insert(code, info);
            }
        }
    }
}

fn settings_of(id: RuleId) -> &'static str {
    use RuleId as R;
    match id {
        R::SnaValidity => "value, eca_max_sna_age",
        R::PnvResponse => "percent, value",
        R::DtrDuration => "value, start_grace",
        R::PlnrUpdate => "value, plnr_pending_required",
        R::SnaOneNumber
        | R::PortPending
        | R::EcaNeedsSna
        | R::WithdrawBeforeEca
        | R::CatANotRejectable
        | R::NoContractReject
        | R::PnvCodes
        | R::CnaAllOrNothing
        | R::CcaNeedsCna
        | R::Bilateral
        | R::CutoverHours
        | R::DailyCap => "none (CUTOVER-HOURS uses [standard-hours]; DAILY-CAP is per carrier in the scenario)",
        _ => "value",
    }
}

/// Finds the line of each key inside a section by scanning the section's text: the toml crate
/// gives spans for top-level keys only through `Spanned`, so nested keys are located here.
fn section_line(text: &str, section: &str) -> usize {
    text.lines()
        .position(|l| {
            let t = l.trim();
            t.starts_with('[')
                && t.trim_start_matches('[')
                    .trim_start()
                    .trim_start_matches('"')
                    .starts_with(section)
        })
        .map_or(1, |p| p + 1)
}

fn attach_lines(text: &str, section: &str, table: &toml::Table) -> Vec<(String, usize, toml::Value)> {
    let header_line = section_line(text, section);
    table
        .iter()
        .map(|(k, v)| {
            let key = k.clone();
            let line = text
                .lines()
                .enumerate()
                .skip(header_line)
                .find(|(_, l)| {
                    let t = l.trim_start().trim_start_matches('"');
                    t.starts_with(key.as_str())
                        && t[key.len()..]
                            .trim_start()
                            .trim_start_matches('"')
                            .trim_start()
                            .starts_with(['=', '.'])
                        || l.trim_start().starts_with(&format!("[{section}.\"{key}\"]"))
                        || l.trim_start().starts_with(&format!("[{section}.{key}]"))
                })
                .map_or(header_line, |(i, _)| i + 1);
            (key, line, v.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_rules_md() {
        let b = Rulebook::default();
        assert_eq!(RuleId::ALL.len(), 28);
        assert_eq!(b.value_text(RuleId::EcaResponse), "15 minutes");
        assert_eq!(b.value_text(RuleId::PnvResponse), "99% within 5 business days");
        assert_eq!(b.value_text(RuleId::Quarantine), "6 months");
        assert_eq!(b.reject_codes.len(), 18);
        assert!(!b.code_allowed_on(RejectCode::CONTRACT, MsgKind::Sna));
        assert!(b.code_allowed_on(RejectCode::OUTSIDE_HOURS, MsgKind::Cca));
        assert!(!b.code_allowed_on(RejectCode::OUTSIDE_HOURS, MsgKind::Sna));
        for id in RuleId::ALL {
            assert_eq!(id.as_str().parse::<RuleId>().unwrap(), *id);
        }
    }

    #[test]
    fn overrides_apply() {
        let b = Rulebook::from_toml(
            "[ECA-RESPONSE]\nvalue = \"20m\"\n\n[PNV-RESPONSE]\npercent = 95\nvalue = \"3bd\"\n[RETARGET-LIMIT]\nvalue = 3\n\
             [SNA-VALIDITY]\neca_max_sna_age = \"2d\"\n[standard-hours]\nend = \"18:00\"\n\
             [reject-codes.\"011\"]\nmeaning = \"maintenance\"\non = [\"SNA\"]\n",
        )
        .unwrap();
        assert_eq!(b.eca_response, Span::Minutes(20));
        assert!((b.pnv_response_percent - 95.0).abs() < f64::EPSILON);
        assert_eq!(b.pnv_response, Span::BusinessDays(3));
        assert_eq!(b.retargets_max, 3);
        assert_eq!(b.eca_max_sna_age, Some(Span::Days(2)));
        assert_eq!(b.standard_hours_end, time(18, 0));
        assert!(b.code_allowed_on(RejectCode::new(11).unwrap(), MsgKind::Sna));
    }

    #[test]
    fn errors_name_the_key_and_line() {
        let errs = Rulebook::from_toml(
            "[ECA-RESPONSE]\nvalue = \"soon\"\n[NOT-A-RULE]\nvalue = \"1d\"\n[COMPLETION]\nlimit = \"1h\"\n",
        )
        .unwrap_err();
        let got: Vec<(String, Option<usize>)> = errs.iter().map(|e| (e.key.clone(), e.line)).collect();
        assert_eq!(
            got,
            vec![
                ("COMPLETION.limit".to_string(), Some(6)),
                ("ECA-RESPONSE.value".to_string(), Some(2)),
                ("NOT-A-RULE".to_string(), Some(3)),
            ]
        );
        let errs = Rulebook::from_toml("[RETARGET-LIMIT]\nvalue = \"two\"\n").unwrap_err();
        assert_eq!(
            errs[0].to_string(),
            "line 2: key `RETARGET-LIMIT.value`: expected a whole number from 0 to 1000, found \"two\""
        );
        let errs = Rulebook::from_toml("[ECA-RESPONSE\n").unwrap_err();
        assert_eq!(errs[0].line, Some(1));
        let errs = Rulebook::from_toml("[CUTOVER-AT-AGREED]\nvalue = \"-5m\"\n").unwrap_err();
        assert!(errs[0].message.contains("negative"));
    }
}

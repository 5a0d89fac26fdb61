//! The messages carriers exchange and the actions they take, as typed values: the vocabulary of
//! `trace-format.md`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::carrier::{CarrierCode, Category, PortRef};
use crate::number::TelephoneNumber;
use crate::time::Timestamp;

macro_rules! msg_kinds {
    ($( $variant:ident => $kw:literal, $action:literal, $doc:literal; )*) => {
        /// Every message keyword and action keyword of the trace format.
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        pub enum MsgKind { $( #[doc = $doc] $variant, )* }

        impl MsgKind {
            /// Every kind, in the order of the trace spec's tables.
            pub const ALL: &'static [MsgKind] = &[ $( MsgKind::$variant, )* ];

            /// The keyword as written in a trace (`SNA_CONFIRM`).
            pub fn keyword(self) -> &'static str {
                match self { $( MsgKind::$variant => $kw, )* }
            }

            /// Actions are taken by one carrier (`to` is empty); messages cross between two.
            pub fn is_action(self) -> bool {
                match self { $( MsgKind::$variant => $action, )* }
            }

            /// The kind whose keyword these bytes are, as [`str::parse`] reads it.
            pub fn from_keyword(b: &[u8]) -> Option<MsgKind> {
                $( if b == $kw.as_bytes() { return Some(MsgKind::$variant); } )*
                None
            }
        }

        impl FromStr for MsgKind {
            type Err = UnknownKeyword;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_keyword(s.as_bytes()).ok_or_else(|| UnknownKeyword { found: s.into() })
            }
        }
    };
}

msg_kinds! {
    Pnv => "PNV", false, "Pre-port number validation request (Cat C), gaining to losing.";
    PnvResponse => "PNV_RESPONSE", false, "Per-number response and reject codes, losing to gaining.";
    Sna => "SNA", false, "Porting Notification Order carrying a Simple Notification Advice (Cat A).";
    SnaConfirm => "SNA_CONFIRM", false, "SNA Confirmation Advice.";
    SnaReject => "SNA_REJECT", false, "SNA Reject Advice, with a code.";
    Eca => "ECA", false, "Electronic Cutover Advice.";
    EcaConfirm => "ECA_CONFIRM", false, "ECA Confirmation Advice.";
    EcaReject => "ECA_REJECT", false, "ECA Reject Advice, with a code.";
    Completion => "COMPLETION", false, "Electronic Completion Advice: the port-out is done.";
    Cna => "CNA", false, "Porting Notification Order carrying a Complex Notification Advice (Cat C).";
    CnaReceipt => "CNA_RECEIPT", false, "CNA Receipt Advice.";
    CnaConfirm => "CNA_CONFIRM", false, "CNA Confirmation Advice, naming the losing project manager.";
    CnaReject => "CNA_REJECT", false, "CNA Reject Advice, per-number codes.";
    Cca => "CCA", false, "Complex Cutover Advice: the agreed cutover date and time.";
    CcaConfirm => "CCA_CONFIRM", false, "CCA Confirmation Advice.";
    CcaReject => "CCA_REJECT", false, "CCA Reject Advice, with a code.";
    Retarget => "RETARGET", false, "Change of cutover date and time for a pending port.";
    RetargetConfirm => "RETARGET_CONFIRM", false, "Re-target accepted.";
    RetargetReject => "RETARGET_REJECT", false, "Re-target refused, with a code.";
    Withdraw => "WITHDRAW", false, "Withdrawal of a pending port.";
    WithdrawConfirm => "WITHDRAW_CONFIRM", false, "Withdrawal accepted.";
    WithdrawReject => "WITHDRAW_REJECT", false, "Withdrawal refused, with a code.";
    Reversal => "REVERSAL", false, "Cat A reversal during the reversal period.";
    ReversalConfirm => "REVERSAL_CONFIRM", false, "Reversal accepted.";
    ReversalReject => "REVERSAL_REJECT", false, "Reversal refused, with a code.";
    EmergencyReturn => "EMERGENCY_RETURN", false, "Cat C emergency return during its window.";
    EmergencyReturnConfirm => "EMERGENCY_RETURN_CONFIRM", false, "Emergency return accepted.";
    EmergencyReturnReject => "EMERGENCY_RETURN_REJECT", false, "Emergency return refused, with a code.";
    DonorNotify => "DONOR_NOTIFY", false, "Losing carrier tells the donor of a third-party port's status.";
    Cutover => "CUTOVER", true, "Action: the number leaves the losing carrier's network.";
    DtrStart => "DTR_START", true, "Action: the donor starts donor transit routing.";
    DtrStop => "DTR_STOP", true, "Action: the donor stops donor transit routing.";
    PlnrPublish => "PLNR_PUBLISH", true, "Action: the donor publishes register records.";
    GiveBack => "GIVE_BACK", true, "Action: a disconnected ported number goes back to the donor.";
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown message keyword {}", crate::message::excerpt(found))]
pub struct UnknownKeyword {
    pub found: String,
}

impl fmt::Display for MsgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

impl MsgKind {
    /// For an answer, the request it answers (`SNA_CONFIRM` → `SNA`): the inverse of
    /// [`MsgKind::answers`]. `None` for anything that answers no request.
    pub fn answered_request(self) -> Option<MsgKind> {
        // Written out (every row of an audit asks): `answers_and_answered_request_are_inverse`
        // checks it against `answers`.
        use MsgKind as K;
        Some(match self {
            K::PnvResponse => K::Pnv,
            K::SnaConfirm | K::SnaReject => K::Sna,
            K::EcaConfirm | K::EcaReject => K::Eca,
            K::CnaConfirm | K::CnaReject => K::Cna,
            K::CcaConfirm | K::CcaReject => K::Cca,
            K::RetargetConfirm | K::RetargetReject => K::Retarget,
            K::WithdrawConfirm | K::WithdrawReject => K::Withdraw,
            K::ReversalConfirm | K::ReversalReject => K::Reversal,
            K::EmergencyReturnConfirm | K::EmergencyReturnReject => K::EmergencyReturn,
            _ => return None,
        })
    }

    /// For a request, the kinds that answer it (confirm, reject).
    pub fn answers(self) -> &'static [MsgKind] {
        use MsgKind as K;
        match self {
            K::Pnv => &[K::PnvResponse],
            K::Sna => &[K::SnaConfirm, K::SnaReject],
            K::Eca => &[K::EcaConfirm, K::EcaReject],
            K::Cna => &[K::CnaConfirm, K::CnaReject],
            K::Cca => &[K::CcaConfirm, K::CcaReject],
            K::Retarget => &[K::RetargetConfirm, K::RetargetReject],
            K::Withdraw => &[K::WithdrawConfirm, K::WithdrawReject],
            K::Reversal => &[K::ReversalConfirm, K::ReversalReject],
            K::EmergencyReturn => &[K::EmergencyReturnConfirm, K::EmergencyReturnReject],
            _ => &[],
        }
    }

    /// Whether this kind is a reject advice.
    pub fn is_reject(self) -> bool {
        use MsgKind as K;
        matches!(
            self,
            K::SnaReject
                | K::EcaReject
                | K::CnaReject
                | K::CcaReject
                | K::RetargetReject
                | K::WithdrawReject
                | K::ReversalReject
                | K::EmergencyReturnReject
        )
    }
}

/// A 3-digit reject code of the simulator's table (`003`, `104`), written with three digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RejectCode(u16);

impl RejectCode {
    pub const CA_INVALID: Self = Self(1);
    pub const INSUFFICIENT_INFO: Self = Self(2);
    pub const DIFFERENT_CUSTOMER: Self = Self(3);
    pub const CANCELLED: Self = Self(4);
    pub const COMPLEX_SERVICE: Self = Self(5);
    pub const NOT_WITH_LOSING: Self = Self(6);
    pub const NOT_FOUND: Self = Self(7);
    pub const PORT_PENDING: Self = Self(8);
    pub const CONTRACT: Self = Self(9);
    pub const ACCOUNT_MISMATCH: Self = Self(10);
    pub const SNA_EXPIRED: Self = Self(101);
    pub const NO_VALID_SNA: Self = Self(102);
    pub const OUTSIDE_HOURS: Self = Self(103);
    pub const RETARGET_LIMIT: Self = Self(104);
    pub const CCA_WITHOUT_CNA: Self = Self(105);
    pub const DAILY_CAP: Self = Self(106);
    pub const WITHDRAW_TOO_LATE: Self = Self(107);
    pub const OUTSIDE_RETURN_WINDOW: Self = Self(108);

    pub fn new(v: u16) -> Option<Self> {
        (v <= 999).then_some(Self(v))
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for RejectCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

impl fmt::Debug for RejectCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

/// PNV response codes (clause 4.3.8): what kind of service a number is.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum PnvResponse {
    /// `P`: prime / directory service number.
    Prime,
    /// `A`: associated service number.
    Associated,
    /// `S`: standalone number.
    Standalone,
    /// `R`: reserved number.
    Reserved,
    /// `D`: exchange-based diversion.
    Diversion,
    /// `SS`: secondary service linked to this number (e.g. DSL).
    SecondaryService,
}

impl PnvResponse {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prime => "P",
            Self::Associated => "A",
            Self::Standalone => "S",
            Self::Reserved => "R",
            Self::Diversion => "D",
            Self::SecondaryService => "SS",
        }
    }
}

/// PNV reject codes 1–7 (clause 4.3.8); also used per number in `CNA_REJECT`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct PnvReject(u8);

impl PnvReject {
    pub const CA_DATE: Self = Self(1);
    pub const INSUFFICIENT_INFO: Self = Self(2);
    pub const DIFFERENT_CUSTOMER: Self = Self(3);
    pub const CANCELLED: Self = Self(4);
    pub const BAD_SEQUENCE: Self = Self(5);
    pub const OTHER_PROVIDER: Self = Self(6);
    pub const NOT_FOUND: Self = Self(7);

    pub fn new(v: u8) -> Option<Self> {
        (1..=7).contains(&v).then_some(Self(v))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// Codes 1 and 2 reject the whole request; 3–7 one number.
    pub fn is_whole_request(self) -> bool {
        self.0 <= 2
    }
}

/// The code a number carries in a per-number code list.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum NumberCode {
    Response(PnvResponse),
    Reject(PnvReject),
    /// A code outside the PNV tables, kept so that the audit can name it (`PNV-CODES`).
    Other(OtherCode),
}

/// Up to 3 printable characters of a code not in any table.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct OtherCode {
    len: u8,
    bytes: [u8; 3],
}

impl OtherCode {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("?")
    }
}

impl FromStr for NumberCode {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "P" => Self::Response(PnvResponse::Prime),
            "A" => Self::Response(PnvResponse::Associated),
            "S" => Self::Response(PnvResponse::Standalone),
            "R" => Self::Response(PnvResponse::Reserved),
            "D" => Self::Response(PnvResponse::Diversion),
            "SS" => Self::Response(PnvResponse::SecondaryService),
            _ => {
                if let Some(r) = s.parse::<u8>().ok().and_then(PnvReject::new).filter(|_| s.len() == 1) {
                    Self::Reject(r)
                } else if !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    let mut bytes = [0u8; 3];
                    bytes[..s.len()].copy_from_slice(s.as_bytes());
                    Self::Other(OtherCode {
                        len: s.len() as u8,
                        bytes,
                    })
                } else {
                    return Err(CodeError::BadNumberCode { found: s.into() });
                }
            }
        })
    }
}

impl fmt::Display for NumberCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Response(r) => f.write_str(r.as_str()),
            Self::Reject(r) => write!(f, "{}", r.0),
            Self::Other(o) => f.write_str(o.as_str()),
        }
    }
}

/// A whole-message code.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum WholeCode {
    /// A three-digit reject code (`003`).
    Reject(RejectCode),
    /// A PNV reject code for a whole request (`1`, `2`).
    Pnv(PnvReject),
}

/// The `code` column: nothing, a code for the whole message, or a code per number.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub enum Code {
    #[default]
    None,
    Whole(WholeCode),
    PerNumber(Vec<(TelephoneNumber, NumberCode)>),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CodeError {
    #[error(
        "{found:?} is not a code: expected a 3-digit reject code (003), a PNV reject code 1-7, or number:code pairs"
    )]
    BadWholeCode { found: String },
    #[error(
        "{} is not a per-number code: expected P, A, S, R, D, SS or 1-7",
        crate::message::excerpt(found)
    )]
    BadNumberCode { found: String },
    #[error("number in code list: {0}")]
    BadNumber(#[from] crate::number::NumberError),
}

impl Code {
    pub fn whole(code: RejectCode) -> Self {
        Self::Whole(WholeCode::Reject(code))
    }

    /// The three-digit reject code, when the message has one.
    pub fn reject_code(&self) -> Option<RejectCode> {
        match self {
            Self::Whole(WholeCode::Reject(c)) => Some(*c),
            _ => None,
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self, Self::None)
    }
}

impl FromStr for Code {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(Self::None);
        }
        if s.contains(':') {
            let mut pairs = Vec::new();
            for part in s.split(';') {
                let (n, c) = part
                    .split_once(':')
                    .ok_or_else(|| CodeError::BadNumberCode { found: part.into() })?;
                pairs.push((n.trim().parse()?, c.trim().parse()?));
            }
            return Ok(Self::PerNumber(pairs));
        }
        if s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) {
            let v: u16 = s.parse().map_err(|_| CodeError::BadWholeCode { found: s.into() })?;
            return Ok(Self::Whole(WholeCode::Reject(RejectCode(v))));
        }
        if let Some(r) = s.parse::<u8>().ok().and_then(PnvReject::new).filter(|_| s.len() == 1) {
            return Ok(Self::Whole(WholeCode::Pnv(r)));
        }
        Err(CodeError::BadWholeCode { found: s.into() })
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => Ok(()),
            Self::Whole(WholeCode::Reject(c)) => write!(f, "{c}"),
            Self::Whole(WholeCode::Pnv(c)) => write!(f, "{}", c.0),
            Self::PerNumber(pairs) => {
                for (i, (n, c)) in pairs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(";")?;
                    }
                    write!(f, "{n}:{c}")?;
                }
                Ok(())
            }
        }
    }
}

/// PLNR and `DONOR_NOTIFY` status: pending, completed, did not proceed, returned.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub enum PortStatus {
    P,
    C,
    N,
    R,
}

impl PortStatus {
    pub fn as_char(self) -> char {
        match self {
            Self::P => 'P',
            Self::C => 'C',
            Self::N => 'N',
            Self::R => 'R',
        }
    }

    pub fn from_char(c: char) -> Option<Self> {
        match c {
            'P' => Some(Self::P),
            'C' => Some(Self::C),
            'N' => Some(Self::N),
            'R' => Some(Self::R),
            _ => None,
        }
    }
}

impl fmt::Display for PortStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// The `detail` column: the keys the trace spec defines, typed, plus any other keys (kept in
/// order and ignored by the audit).
///
/// The free-text keys (`account`, `pm`, `reason` and the others) live together in one box that
/// exists only while one of them is set: most rows carry none, and a record that is moved and
/// read by other threads is smaller without them (a `TraceRecord` is 152 bytes, not 240). Reach
/// them through [`Detail::account`], [`Detail::set_account`] and the like.
#[derive(PartialEq, Eq, Default)]
pub struct Detail {
    pub ca_date: Option<NaiveDate>,
    pub cutover: Option<Timestamp>,
    pub status: Option<PortStatus>,
    pub current: Option<CarrierCode>,
    pub file_seq: Option<u32>,
    /// `PLNR_PUBLISH`: the carrier the number was ported from (the register's losing carrier).
    pub losing: Option<CarrierCode>,
    /// `PLNR_PUBLISH`: when the record took effect, where that is not the publication itself
    /// (a completed record: the cutover).
    pub effective: Option<Timestamp>,
    /// `None` whenever every text key is unset (never an empty box), so that the derived
    /// equality compares content.
    pub(crate) text: Option<Box<DetailText>>,
}

/// The free-text keys of a [`Detail`].
#[derive(PartialEq, Eq, Default)]
pub(crate) struct DetailText {
    pub(crate) account: Option<String>,
    pub(crate) pm: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) extra: Vec<(String, String)>,
}

impl DetailText {
    fn is_empty(&self) -> bool {
        self.account.is_none() && self.pm.is_none() && self.reason.is_none() && self.extra.is_empty()
    }
}

impl Clone for DetailText {
    fn clone(&self) -> Self {
        Self {
            account: self.account.clone(),
            pm: self.pm.clone(),
            reason: self.reason.clone(),
            extra: self.extra.clone(),
        }
    }

    /// Field by field, so that copying into a record written over keeps its strings' buffers.
    fn clone_from(&mut self, src: &Self) {
        let Self {
            account,
            pm,
            reason,
            extra,
        } = src;
        self.account.clone_from(account);
        self.pm.clone_from(pm);
        self.reason.clone_from(reason);
        self.extra.clone_from(extra);
    }
}

impl Clone for Detail {
    fn clone(&self) -> Self {
        Self {
            ca_date: self.ca_date,
            cutover: self.cutover,
            status: self.status,
            current: self.current,
            file_seq: self.file_seq,
            losing: self.losing,
            effective: self.effective,
            text: self.text.clone(),
        }
    }

    /// Field by field (the pattern names every field), so that copying into a record written
    /// over keeps its buffers where both hold text.
    fn clone_from(&mut self, src: &Self) {
        let Self {
            ca_date,
            cutover,
            status,
            current,
            file_seq,
            losing,
            effective,
            text,
        } = src;
        self.ca_date = *ca_date;
        self.cutover = *cutover;
        self.status = *status;
        self.current = *current;
        self.file_seq = *file_seq;
        self.losing = *losing;
        self.effective = *effective;
        self.text.clone_from(text);
    }
}

/// As the derived form of the plain struct would print it: every key by name, in `pairs` order.
#[allow(clippy::missing_fields_in_debug, reason = "the text box is printed as its four keys")]
impl fmt::Debug for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Detail")
            .field("ca_date", &self.ca_date)
            .field("account", &self.account())
            .field("cutover", &self.cutover)
            .field("pm", &self.pm())
            .field("status", &self.status)
            .field("current", &self.current)
            .field("file_seq", &self.file_seq)
            .field("reason", &self.reason())
            .field("losing", &self.losing)
            .field("effective", &self.effective)
            .field("extra", &self.extra())
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("detail key {key:?}: {message}")]
pub struct DetailError {
    pub key: String,
    pub message: String,
}

impl Detail {
    /// `account`: the customer's account number (`SNA`, `PNV`, `CNA`).
    pub fn account(&self) -> Option<&str> {
        self.text.as_ref()?.account.as_deref()
    }

    /// `pm`: the project manager's name (`CNA`, `CNA_CONFIRM`).
    pub fn pm(&self) -> Option<&str> {
        self.text.as_ref()?.pm.as_deref()
    }

    /// `reason`: free text saying why (a reject, a returned cutover).
    pub fn reason(&self) -> Option<&str> {
        self.text.as_ref()?.reason.as_deref()
    }

    /// The keys the spec does not define, in order as read or pushed.
    pub fn extra(&self) -> &[(String, String)] {
        self.text.as_ref().map_or(&[], |t| t.extra.as_slice())
    }

    pub fn set_account(&mut self, v: Option<String>) {
        self.set_text(v, |t| &mut t.account);
    }

    pub fn set_pm(&mut self, v: Option<String>) {
        self.set_text(v, |t| &mut t.pm);
    }

    pub fn set_reason(&mut self, v: Option<String>) {
        self.set_text(v, |t| &mut t.reason);
    }

    /// Appends one key the spec does not define.
    pub fn push_extra(&mut self, key: String, value: String) {
        self.text.get_or_insert_default().extra.push((key, value));
    }

    /// Replaces the keys the spec does not define.
    pub fn set_extra(&mut self, extra: Vec<(String, String)>) {
        if extra.is_empty() {
            if let Some(t) = &mut self.text {
                t.extra.clear();
            }
            self.drop_empty_text();
        } else {
            self.text.get_or_insert_default().extra = extra;
        }
    }

    fn set_text(&mut self, v: Option<String>, field: fn(&mut DetailText) -> &mut Option<String>) {
        if let Some(v) = v {
            *field(self.text.get_or_insert_default()) = Some(v);
        } else {
            if let Some(t) = &mut self.text {
                *field(t) = None;
            }
            self.drop_empty_text();
        }
    }

    /// Keeps the invariant of [`Detail::text`]: no empty box.
    fn drop_empty_text(&mut self) {
        if self.text.as_ref().is_some_and(|t| t.is_empty()) {
            self.text = None;
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The pairs in canonical order (the spec's keys first, then the others as read).
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut v = Vec::new();
        if let Some(d) = self.ca_date {
            v.push(("ca_date".into(), d.format("%Y-%m-%d").to_string()));
        }
        if let Some(a) = self.account() {
            v.push(("account".into(), a.into()));
        }
        if let Some(c) = self.cutover {
            v.push(("cutover".into(), c.to_string()));
        }
        if let Some(p) = self.pm() {
            v.push(("pm".into(), p.into()));
        }
        if let Some(s) = self.status {
            v.push(("status".into(), s.to_string()));
        }
        if let Some(c) = self.current {
            v.push(("current".into(), c.to_string()));
        }
        if let Some(s) = self.file_seq {
            v.push(("file_seq".into(), s.to_string()));
        }
        if let Some(r) = self.reason() {
            v.push(("reason".into(), r.into()));
        }
        if let Some(c) = self.losing {
            v.push(("losing".into(), c.to_string()));
        }
        if let Some(t) = self.effective {
            v.push(("effective".into(), t.to_string()));
        }
        v.extend(self.extra().iter().cloned());
        v
    }

    /// Sets one key from its text value.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), DetailError> {
        let err = |m: String| DetailError {
            key: key.into(),
            message: m,
        };
        if value.contains(';') {
            return Err(err("values may not contain ';'".into()));
        }
        match key {
            "ca_date" => self.ca_date = Some(crate::time::parse_date(value).map_err(|e| err(e.to_string()))?),
            "account" => self.set_account(Some(value.into())),
            "cutover" => self.cutover = Some(Timestamp::parse_rfc3339(value).map_err(|e| err(e.to_string()))?),
            "pm" => self.set_pm(Some(value.into())),
            "status" => {
                let mut chars = value.chars();
                self.status = match (chars.next(), chars.next()) {
                    (Some(c), None) => PortStatus::from_char(c),
                    _ => None,
                };
                if self.status.is_none() {
                    return Err(err(format!("{value:?} is not a status: expected P, C, N or R")));
                }
            }
            "current" => {
                self.current = Some(
                    value
                        .parse()
                        .map_err(|e: crate::carrier::CarrierCodeError| err(e.to_string()))?,
                );
            }
            "file_seq" => {
                self.file_seq = Some(
                    value
                        .parse()
                        .map_err(|_| err(format!("{value:?} is not a file sequence number")))?,
                );
            }
            "reason" => self.set_reason(Some(value.into())),
            "losing" => {
                self.losing = Some(
                    value
                        .parse()
                        .map_err(|e: crate::carrier::CarrierCodeError| err(e.to_string()))?,
                );
            }
            "effective" => {
                self.effective = Some(Timestamp::parse_rfc3339(value).map_err(|e| err(e.to_string()))?);
            }
            _ => {
                if key.is_empty() || key.contains(['=', ';']) {
                    return Err(err("keys are non-empty and contain no '=' or ';'".into()));
                }
                self.push_extra(key.into(), value.into());
            }
        }
        Ok(())
    }

    /// Parses `key=value;key=value`.
    pub fn parse(s: &str) -> Result<Self, DetailError> {
        let mut d = Self::default();
        if s.trim().is_empty() {
            return Ok(d);
        }
        // Split by bytes (`;` and `=` are ASCII, so every cut is a character boundary): what
        // `split(';')` and `split_once('=')` give, without their searchers (every SNA row of a
        // trace has a detail).
        let b = s.as_bytes();
        let mut start = 0;
        while start <= b.len() {
            let end = b[start..]
                .iter()
                .position(|&c| c == b';')
                .map_or(b.len(), |i| start + i);
            let part = &s[start..end];
            let Some(eq) = b[start..end].iter().position(|&c| c == b'=') else {
                return Err(DetailError {
                    key: part.into(),
                    message: "expected key=value".into(),
                });
            };
            d.set(part[..eq].trim(), &part[eq + 1..])?;
            start = end + 1;
        }
        Ok(d)
    }

    /// As a JSON object (the JSON Lines form).
    pub fn to_json(&self) -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> = self
            .pairs()
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        serde_json::Value::Object(map)
    }
}

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (k, v)) in self.pairs().iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{k}={v}")?;
        }
        Ok(())
    }
}

/// An input value as an error message quotes it: in Rust string syntax, cut at 60 characters
/// with the full length said, so that a 10 MB line is not echoed back.
pub fn excerpt(s: &str) -> String {
    const KEEP: usize = 60;
    if s.chars().count() <= KEEP {
        return format!("{s:?}");
    }
    let head: String = s.chars().take(KEEP).collect();
    format!("{head:?}… ({} bytes in all)", s.len())
}

/// Free text as a detail value can carry it (`customer=`, `pm=`, `reason=`): the separators `;`
/// and `=` and every control character become spaces, and runs of spaces one. A carrier compares
/// names in this form, so that what it sent and what it holds compare alike.
pub fn detail_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for ch in s.trim().chars() {
        let ch = if ch == ';' || ch == '=' || ch.is_control() {
            ' '
        } else {
            ch
        };
        if ch == ' ' {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(ch);
            space = false;
        }
    }
    out.trim_end().to_string()
}

/// A message's numbers: up to four inline (in the room a `Vec` takes), more on the heap. Nearly
/// every message of a market names one number, so writing, copying and freeing one allocates
/// nothing.
pub type Numbers = smallvec::SmallVec<[TelephoneNumber; 4]>;

/// One message or action: what a carrier sends (with `to`) or does (without).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Message {
    pub kind: MsgKind,
    pub port_ref: Option<PortRef>,
    pub category: Option<Category>,
    pub numbers: Numbers,
    pub code: Code,
    pub detail: Detail,
}

impl Message {
    pub fn new(kind: MsgKind, port_ref: PortRef) -> Self {
        Self {
            kind,
            port_ref: Some(port_ref),
            category: None,
            numbers: Numbers::new(),
            code: Code::None,
            detail: Detail::default(),
        }
    }
}

/// A message in flight between two carriers.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Envelope {
    pub from: CarrierCode,
    pub to: CarrierCode,
    pub message: Message,
}

/// Numbers grouped by value, for display.
pub fn numbers_text(numbers: &[TelephoneNumber]) -> String {
    let mut s = String::with_capacity(numbers.len() * 11);
    for (i, n) in numbers.iter().enumerate() {
        if i > 0 {
            s.push(';');
        }
        s.push_str(&n.to_string());
    }
    s
}

/// Parses `0255501234;0255501235`.
pub fn parse_numbers(s: &str) -> Result<Vec<TelephoneNumber>, crate::number::NumberError> {
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    s.split(';').map(|n| n.trim().parse()).collect()
}

/// Counts per key, ordered (used by summaries).
pub type Counts = BTreeMap<String, u64>;

impl Serialize for MsgKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.keyword())
    }
}

impl Serialize for RejectCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four numbers inline take no more room than a `Vec`'s pointer, length and capacity, so a
    /// message is no larger for holding them; a fifth goes to the heap.
    #[test]
    fn numbers_fit_inline_in_a_vecs_room() {
        assert_eq!(
            std::mem::size_of::<Numbers>(),
            std::mem::size_of::<Vec<TelephoneNumber>>()
        );
        let n = |i: u32| TelephoneNumber::from_nsn(250_000_000 + i).unwrap();
        let mut numbers: Numbers = (0..4).map(n).collect();
        assert!(!numbers.spilled());
        numbers.push(n(4));
        assert!(numbers.spilled());
        assert_eq!(numbers.len(), 5);
    }

    #[test]
    fn keywords_round_trip() {
        for k in MsgKind::ALL {
            assert_eq!(k.keyword().parse::<MsgKind>().unwrap(), *k);
        }
        assert_eq!(MsgKind::ALL.len(), 34);
        assert!(MsgKind::Cutover.is_action());
        assert!(!MsgKind::Eca.is_action());
        assert!("ECA_ACK".parse::<MsgKind>().is_err());
    }

    #[test]
    fn answers_and_answered_request_are_inverse() {
        for k in MsgKind::ALL {
            let by_search = MsgKind::ALL.iter().copied().find(|req| req.answers().contains(k));
            assert_eq!(k.answered_request(), by_search, "{k}");
        }
    }

    #[test]
    fn codes() {
        assert_eq!(
            "003".parse::<Code>().unwrap(),
            Code::whole(RejectCode::DIFFERENT_CUSTOMER)
        );
        assert_eq!(
            "1".parse::<Code>().unwrap(),
            Code::Whole(WholeCode::Pnv(PnvReject::CA_DATE))
        );
        let per: Code = "0255501234:S;0255501235:3".parse().unwrap();
        assert_eq!(per.to_string(), "0255501234:S;0255501235:3");
        assert!("03".parse::<Code>().is_err());
        assert!("0255501234:ZZZZ".parse::<Code>().is_err());
        let other: Code = "0255501234:9".parse().unwrap();
        assert!(matches!(other, Code::PerNumber(ref v) if matches!(v[0].1, NumberCode::Other(_))));
    }

    #[test]
    fn detail_is_split_as_split_and_split_once_split_it() {
        for text in [
            "a=1",
            "a=1;b=2",
            "a=1;",
            ";a=1",
            "a=1;;b=2",
            "a==1",
            "=1",
            "a=",
            " a = 1 ;b=2",
            "novalue",
            "a=1;novalue",
            "é=ü;ß=x",
            "a=1;b",
        ] {
            let by_str = (|| {
                let mut d = Detail::default();
                for part in text.split(';') {
                    let (k, v) = part.split_once('=').ok_or_else(|| DetailError {
                        key: part.into(),
                        message: "expected key=value".into(),
                    })?;
                    d.set(k.trim(), v)?;
                }
                Ok(d)
            })();
            assert_eq!(Detail::parse(text), by_str, "{text:?}");
        }
    }

    /// The text box is there only while a text key is set, so equality compares content.
    #[test]
    fn detail_text_is_boxed_only_while_set() {
        let mut d = Detail::default();
        d.set_reason(Some("r".into()));
        d.set_pm(Some("p".into()));
        assert!(d.text.is_some() && !d.is_empty());
        assert_eq!((d.reason(), d.pm(), d.account()), (Some("r"), Some("p"), None));
        d.set_reason(None);
        assert!(d.text.is_some());
        d.set_pm(None);
        assert!(d.text.is_none() && d.is_empty());
        assert_eq!(d, Detail::default());
        d.push_extra("k".into(), "v".into());
        assert_eq!(d.extra(), [("k".to_string(), "v".to_string())]);
        d.set_extra(Vec::new());
        assert!(d.text.is_none());
        d.set_account(None);
        assert!(d.text.is_none());
        // Copying over a detail with text keeps the box only where the source has text.
        let mut dst = Detail::parse("account=A;x=1").unwrap();
        dst.clone_from(&Detail::parse("pm=B").unwrap());
        assert_eq!(dst, Detail::parse("pm=B").unwrap());
        dst.clone_from(&Detail::parse("status=C").unwrap());
        assert!(dst.text.is_none());
        assert_eq!(
            format!("{:?}", Detail::parse("account=A").unwrap()),
            "Detail { ca_date: None, account: Some(\"A\"), cutover: None, pm: None, status: None, \
             current: None, file_seq: None, reason: None, losing: None, effective: None, extra: [] }"
        );
    }

    #[test]
    fn detail_round_trip() {
        let d = Detail::parse("ca_date=2026-02-25;account=ACC-1;x-extra=1;status=C;current=9002").unwrap();
        assert_eq!(
            d.to_string(),
            "ca_date=2026-02-25;account=ACC-1;status=C;current=9002;x-extra=1"
        );
        assert_eq!(Detail::parse(&d.to_string()).unwrap(), d);
        assert_eq!(Detail::parse("status=X").unwrap_err().key, "status");
        assert_eq!(Detail::parse("cutover=tomorrow").unwrap_err().key, "cutover");
        assert!(Detail::parse("novalue").is_err());
    }
}

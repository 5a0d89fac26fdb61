//! Scenario files (`scenario-format.md`): the types a scenario loads into, and the loader.
//!
//! [`Scenario::from_toml`] parses and validates a scenario; every key is documented in
//! `docs/scenario-reference.md`. Errors name the dotted key path (`ports[2].cutover`, indexes
//! counted from 0) and the 1-based line, and every error in a file is reported, not just the first.
//! The loader does no I/O: `rulebook` and `holidays` are only resolved to paths (or, for
//! `holidays`, a built-in state set), and the caller reads the files.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Timelike};
use lnp_model::time::{parse_date, parse_time_of_day};
use lnp_model::{
    CarrierCode, Category, MsgKind, NumberRange, PortRef, PortStatus, RejectCode, RuleId, Span, State, TelephoneNumber,
    Timestamp,
};

/// A whole scenario, validated: every reference resolves, every value parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    /// Default empty.
    pub description: String,
    pub start: Timestamp,
    pub until: Option<Timestamp>,
    /// Default 0.
    pub seed: u64,
    /// Resolved relative to the scenario file's folder.
    pub rulebook: Option<PathBuf>,
    /// Extra holidays: CSV files (resolved relative to the scenario file's folder) and
    /// built-in state sets, in the order written. Default none: national holidays only.
    pub holidays: Vec<HolidaySource>,
    pub carriers: Vec<CarrierSpec>,
    pub agreements: Vec<Agreement>,
    pub services: Vec<ServiceHolding>,
    pub ports: Vec<PortSpec>,
    pub load: Option<LoadSpec>,
    pub faults: Vec<FaultSpec>,
    pub expects: Vec<Expect>,
    /// Narration for a replay report (`[[notes]]`, and `notes` of a `[[ports]]` table), in file
    /// order. A run ignores them.
    pub notes: Vec<Note>,
}

/// Where extra holidays come from: one value of a scenario's `holidays`, or of the CLI's
/// `--holidays`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HolidaySource {
    /// A CSV file of `date,name` rows.
    File(PathBuf),
    /// A state's built-in public holidays ([`State::holidays`]).
    State(State),
}

impl HolidaySource {
    /// Reads one value: a state code (`nsw`, `VIC`, any case) is that state's set; a bare word
    /// of letters that is not a code is refused, as a mistyped code (a file of that name is
    /// written `./name`); anything else is a path, a relative one resolved against `base_dir`
    /// when there is one. No I/O: the file is neither opened nor looked for.
    pub fn parse(value: &str, base_dir: Option<&Path>) -> Result<Self, String> {
        if value.trim().is_empty() {
            return Err("the value is empty: give a state code or a CSV file's path".into());
        }
        if let Ok(state) = value.parse::<State>() {
            return Ok(Self::State(state));
        }
        if value.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(format!(
                "{}; a file of that name is written ./{value}",
                lnp_model::UnknownState(value.to_string())
            ));
        }
        let p = PathBuf::from(value);
        Ok(Self::File(match base_dir {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p,
        }))
    }
}

impl fmt::Display for HolidaySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(p) => write!(f, "{}", p.display()),
            Self::State(s) => write!(f, "{s}"),
        }
    }
}
/// A trainer's note: shown in a replay report at its instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub at: Timestamp,
    /// The port the note is about (`ref` of a `[[notes]]` table, or the `[[ports]]` table it
    /// sits in): a report filtered to another port hides it.
    pub port: Option<PortRef>,
    pub text: String,
    /// 1-based line of the note's table.
    pub line: usize,
}

/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarrierSpec {
    pub code: CarrierCode,
    /// Default: the code.
    pub name: String,
    /// Default none.
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

impl Default for ReadsPlnr {
    fn default() -> Self {
        Self::NextBusinessDay { hour: 3, minute: 0 }
    }
}

/// `[[agreements]]`: the market's one agreement type.
pub use lnp_model::Agreement;

pub use lnp_model::ServiceKind;

pub use lnp_model::{Service, ServiceHolding};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSpec {
    /// The scenario's name for the port (`P1`); expectations refer to it.
    pub id: PortRef,
    pub category: Category,
    /// Ranges written in the file are expanded; at most [`MAX_NUMBERS_PER_PORT`].
    pub numbers: Vec<TelephoneNumber>,
    pub gaining: CarrierCode,
    /// `None`: found from services (or the donor) when the port is submitted.
    pub losing: Option<CarrierCode>,
    /// Default: the customer of the service holding the first number, else empty.
    pub customer: String,
    /// Default: the account of the service holding the first number, else empty.
    pub account: String,
    /// Default: the Sydney date of `submit_at`.
    pub ca_date: NaiveDate,
    pub submit_at: Timestamp,
    pub cutover: Timestamp,
    /// Cat C: validate with a PNV first.
    pub pnv: bool,
    pub retarget: Vec<Timestamp>,
    pub withdraw_at: Option<Timestamp>,
    pub return_at: Option<Timestamp>,
    /// A ported number disconnected and given back to its donor at this instant.
    pub give_back_at: Option<Timestamp>,
    /// Trainers' notes about this port (`notes`), for a replay report.
    pub notes: Vec<Note>,
    /// 1-based line of the `[[ports]]` header in the file.
    pub line: usize,
}

/// The most numbers one port (or one generated Cat C port) may carry.
pub const MAX_NUMBERS_PER_PORT: u32 = 1000;
/// The most ports `[load]` may generate.
pub const MAX_LOAD_PORTS: u64 = 10_000_000;

#[derive(Clone, Debug, PartialEq)]
pub struct LoadSpec {
    /// 1-based line of the `[load]` table.
    pub line: usize,
    pub ports: u64,
    /// Shares of Cat A, C and D ports, each in 0..=1, summing to 1 (within 1e-9).
    pub share_a: f64,
    pub share_c: f64,
    pub share_d: f64,
    /// Inclusive; `1 <= min <= max <= 1000`. `(1, 1)` when no Cat C share is given.
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

impl FaultAction {
    pub const ALL: [FaultAction; 6] = [
        Self::Delay,
        Self::Drop,
        Self::Reject,
        Self::Accept,
        Self::Skip,
        Self::Shift,
    ];

    pub fn keyword(self) -> &'static str {
        match self {
            Self::Delay => "delay",
            Self::Drop => "drop",
            Self::Reject => "reject",
            Self::Accept => "accept",
            Self::Skip => "skip",
            Self::Shift => "shift",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSpec {
    pub carrier: CarrierCode,
    /// `None` for `"*"`.
    pub on: Option<MsgKind>,
    pub action: FaultAction,
    /// Present exactly for `delay` (non-negative) and `shift` (may be negative).
    pub by: Option<Span>,
    /// Present exactly for `reject`.
    pub code: Option<RejectCode>,
    /// `None`: every time.
    pub times: Option<u32>,
    /// 1-based line of the `[[faults]]` header in the file.
    pub line: usize,
}

pub use lnp_model::Outcome;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteExpect {
    Path(Vec<CarrierCode>),
    Unreachable,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectKind {
    Port {
        port: PortRef,
        state: Outcome,
    },
    Route {
        number: TelephoneNumber,
        from: CarrierCode,
        at: Timestamp,
        path: RouteExpect,
    },
    /// The donor's register at `at` (`None`: the end). `absent`: the number has no record.
    Plnr {
        donor: CarrierCode,
        number: TelephoneNumber,
        at: Option<Timestamp>,
        current: Option<CarrierCode>,
        status: Option<PortStatus>,
        absent: bool,
    },
    /// Exactly these rules (a set) are violated in the trace.
    Violations(Vec<RuleId>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expect {
    pub kind: ExpectKind,
    /// 1-based line of the `[[expect]]` header in the file.
    pub line: usize,
}

/// One problem in a scenario file: where (line and dotted key path) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// 1-based line, when the problem has one.
    pub line: Option<usize>,
    /// Dotted path such as `ports[2].cutover` (indexes from 0); `(file)` for TOML syntax errors.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl Scenario {
    /// Parses and validates a scenario. `base_dir` resolves `rulebook` and `holidays` paths.
    ///
    /// Every problem found is returned, sorted by line.
    pub fn from_toml(text: &str, base_dir: Option<&Path>) -> Result<Scenario, Vec<ScenarioError>> {
        Self::load(text, base_dir, Part::All)
    }

    /// Loads only the market of a scenario (its top level, `[[carriers]]`, `[[agreements]]` and
    /// `[[services]]`), as the audit reads it: the story (`[[ports]]`, `[load]`, `[[faults]]`,
    /// `[[expect]]`) is left unread, so an error there does not stop an audit that ignores it.
    pub fn market_from_toml(text: &str, base_dir: Option<&Path>) -> Result<Scenario, Vec<ScenarioError>> {
        Self::load(text, base_dir, Part::Market)
    }

    /// Loads the market as [`Scenario::market_from_toml`] does, and the notes a replay report
    /// shows (`[[notes]]`, and the `notes` and `ref` of each `[[ports]]` table): the rest of the
    /// story is left unread.
    pub fn market_and_notes_from_toml(text: &str, base_dir: Option<&Path>) -> Result<Scenario, Vec<ScenarioError>> {
        Self::load(text, base_dir, Part::MarketAndNotes)
    }

    fn load(text: &str, base_dir: Option<&Path>, part: Part) -> Result<Scenario, Vec<ScenarioError>> {
        let lines = Lines::new(text);
        let doc = toml_edit::ImDocument::parse(text).map_err(|e| {
            vec![ScenarioError {
                line: e.span().map(|s| lines.line(s.start)),
                key: "(file)".into(),
                message: e.message().trim().to_string(),
            }]
        })?;
        let root = table_entries(doc.as_table().iter(), |k| doc.as_table().get_key_value(k), 1, &lines);
        let mut cx = Cx { part, ..Cx::default() };
        let scenario = cx.scenario(&Tbl::root(&root), base_dir);
        match scenario {
            Some(s) if cx.errors.is_empty() => Ok(s),
            _ => {
                let mut errors = cx.errors;
                if errors.is_empty() {
                    errors.push(ScenarioError {
                        line: None,
                        key: "(file)".into(),
                        message: "the scenario could not be loaded".into(),
                    });
                }
                errors.sort_by_key(|e| e.line);
                Err(errors)
            }
        }
    }

    /// Donor of a number from the carriers' ranges.
    pub fn donor_of(&self, n: TelephoneNumber) -> Option<CarrierCode> {
        self.carriers
            .iter()
            .find(|c| c.ranges.iter().any(|r| r.contains(n)))
            .map(|c| c.code)
    }

    /// Whether two carriers have an agreement, and whether it allows after-hours ports.
    pub fn agreement(&self, a: CarrierCode, b: CarrierCode) -> Option<&Agreement> {
        self.agreements
            .iter()
            .find(|g| g.carriers == [a, b] || g.carriers == [b, a])
    }

    /// The `[[services]]` entry holding a number, if any.
    pub fn service_of(&self, n: TelephoneNumber) -> Option<&ServiceHolding> {
        self.services.iter().find(|s| s.numbers.iter().any(|r| r.contains(n)))
    }

    /// The carrier declared with this code.
    pub fn carrier(&self, code: CarrierCode) -> Option<&CarrierSpec> {
        self.carriers.iter().find(|c| c.code == code)
    }
}

// ---------------------------------------------------------------------------------------------
// A spanned view of the TOML document: every key and value with its line.

struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    /// 1-based line of a byte offset.
    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }
}

#[derive(Debug)]
enum Val {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A bare TOML date-time, as its text.
    Datetime(String),
    Array(Vec<Node>),
    Table(Vec<Entry>),
}

#[derive(Debug)]
struct Node {
    line: usize,
    val: Val,
}

#[derive(Debug)]
struct Entry {
    key: String,
    /// Line of the key.
    line: usize,
    node: Node,
}

fn span_line(span: Option<std::ops::Range<usize>>, lines: &Lines, fallback: usize) -> usize {
    span.map_or(fallback, |s| lines.line(s.start))
}

fn table_entries<'a, I, G>(items: I, key_of: G, fallback: usize, lines: &Lines) -> Vec<Entry>
where
    I: Iterator<Item = (&'a str, &'a toml_edit::Item)>,
    G: Fn(&str) -> Option<(&'a toml_edit::Key, &'a toml_edit::Item)>,
{
    items
        .filter_map(|(k, item)| {
            let key_span = key_of(k).and_then(|(key, _)| key.span());
            let line = span_line(key_span.or_else(|| item.span()), lines, fallback);
            item_node(item, line, lines).map(|node| Entry {
                key: k.to_string(),
                line,
                node,
            })
        })
        .collect()
}

fn item_node(item: &toml_edit::Item, fallback: usize, lines: &Lines) -> Option<Node> {
    match item {
        toml_edit::Item::None => None,
        toml_edit::Item::Value(v) => Some(value_node(v, fallback, lines)),
        toml_edit::Item::Table(t) => Some(std_table_node(t, fallback, lines)),
        toml_edit::Item::ArrayOfTables(a) => Some(Node {
            line: span_line(a.span(), lines, fallback),
            val: Val::Array(a.iter().map(|t| std_table_node(t, fallback, lines)).collect()),
        }),
    }
}

fn std_table_node(t: &toml_edit::Table, fallback: usize, lines: &Lines) -> Node {
    let line = span_line(t.span(), lines, fallback);
    Node {
        line,
        val: Val::Table(table_entries(t.iter(), |k| t.get_key_value(k), line, lines)),
    }
}

fn value_node(v: &toml_edit::Value, fallback: usize, lines: &Lines) -> Node {
    use toml_edit::Value as V;
    let line = span_line(v.span(), lines, fallback);
    let val = match v {
        V::String(s) => Val::Str(s.value().clone()),
        V::Integer(i) => Val::Int(*i.value()),
        V::Float(f) => Val::Float(*f.value()),
        V::Boolean(b) => Val::Bool(*b.value()),
        V::Datetime(d) => Val::Datetime(d.value().to_string()),
        V::Array(a) => Val::Array(a.iter().map(|x| value_node(x, line, lines)).collect()),
        V::InlineTable(t) => {
            let items = t
                .iter()
                .filter_map(|(k, _)| t.get_key_value(k).map(|(_, item)| (k, item)));
            Val::Table(table_entries(items, |k| t.get_key_value(k), line, lines))
        }
    };
    Node { line, val }
}

fn kind_of(v: &Val) -> &'static str {
    match v {
        Val::Str(_) => "a string",
        Val::Int(_) => "an integer",
        Val::Float(_) => "a float",
        Val::Bool(_) => "a boolean",
        Val::Datetime(_) => "a bare date-time",
        Val::Array(_) => "an array",
        Val::Table(_) => "a table",
    }
}

// ---------------------------------------------------------------------------------------------
// Converters from one value to a typed one; the message is the error's text.

type Conv<T> = fn(&Val) -> Result<T, String>;

fn wrong(expected: &str, v: &Val) -> String {
    format!("expected {expected}, found {}", kind_of(v))
}

fn c_str(v: &Val) -> Result<String, String> {
    match v {
        Val::Str(s) => Ok(s.clone()),
        _ => Err(wrong("a string", v)),
    }
}

/// A name or account: plain text, no control characters (an escape sequence would reach the
/// terminal and the trace as it is).
fn c_text(v: &Val) -> Result<String, String> {
    let s = c_str(v)?;
    match s.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!(
            "contains the control character U+{:04X}; names and accounts are plain text on one line",
            u32::from(c)
        )),
        None => Ok(s),
    }
}

/// A note's text: not blank, at most [`MAX_NOTE_CHARS`] characters, lines of plain text (a
/// newline or a tab is fine; other control characters would reach the report as they are).
fn c_note_text(v: &Val) -> Result<String, String> {
    let s = c_str(v)?;
    if s.trim().is_empty() {
        return Err("the note is empty; write what the trainer says at this point".into());
    }
    let chars = s.chars().count();
    if chars > MAX_NOTE_CHARS {
        return Err(format!(
            "the note is {chars} characters long; a note has at most {MAX_NOTE_CHARS}"
        ));
    }
    match s.chars().find(|c| c.is_control() && !matches!(c, '\n' | '\t')) {
        Some(c) => Err(format!(
            "contains the control character U+{:04X}; a note is plain text (newlines and tabs are fine)",
            u32::from(c)
        )),
        None => Ok(s),
    }
}

/// A processing time (`answers_within`): elapsed time, in seconds, minutes or hours.
fn c_elapsed_span(v: &Val) -> Result<Span, String> {
    let span = c_span(v)?;
    if span.fixed_millis().is_none() {
        return Err(format!(
            "{span} is not elapsed time: a processing time is written in seconds, minutes or hours (\"5m\", \"2h\")"
        ));
    }
    Ok(span)
}

fn c_bool(v: &Val) -> Result<bool, String> {
    match v {
        Val::Bool(b) => Ok(*b),
        _ => Err(wrong("true or false", v)),
    }
}

fn c_int(v: &Val) -> Result<i64, String> {
    match v {
        Val::Int(i) => Ok(*i),
        _ => Err(wrong("an integer", v)),
    }
}

fn c_share(v: &Val) -> Result<f64, String> {
    let x = match v {
        Val::Float(f) => *f,
        Val::Int(i) => *i as f64,
        _ => return Err(wrong("a number between 0 and 1", v)),
    };
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(format!("share {x} is not between 0 and 1"))
    }
}

fn c_instant(v: &Val) -> Result<Timestamp, String> {
    match v {
        Val::Str(s) | Val::Datetime(s) => Timestamp::parse_rfc3339(s).map_err(|e| e.to_string()),
        _ => Err(wrong(
            "an RFC 3339 instant with offset (e.g. \"2026-03-02T09:15:00+11:00\")",
            v,
        )),
    }
}

fn c_date(v: &Val) -> Result<NaiveDate, String> {
    match v {
        Val::Str(s) | Val::Datetime(s) => parse_date(s).map_err(|e| e.to_string()),
        _ => Err(wrong("a date (\"YYYY-MM-DD\")", v)),
    }
}

fn c_span_any(v: &Val) -> Result<Span, String> {
    match v {
        Val::Str(s) => s.parse::<Span>().map_err(|e| e.to_string()),
        _ => Err(wrong("a duration string such as \"15m\", \"4h\", \"2d\" or \"5bd\"", v)),
    }
}

fn c_span(v: &Val) -> Result<Span, String> {
    let span = c_span_any(v)?;
    if span.is_negative() {
        Err(format!(
            "{span} is negative; a leading `-` is allowed only in a shift fault's `by`"
        ))
    } else {
        Ok(span)
    }
}

fn c_positive_span(v: &Val) -> Result<Span, String> {
    let span = c_span(v)?;
    if span.count() == 0 {
        Err(format!("{span} is zero; it must be positive"))
    } else {
        Ok(span)
    }
}

fn c_carrier(v: &Val) -> Result<CarrierCode, String> {
    match v {
        Val::Str(s) => s.parse::<CarrierCode>().map_err(|e| e.to_string()),
        _ => Err(wrong("a carrier code string such as \"9001\"", v)),
    }
}

fn c_number(v: &Val) -> Result<TelephoneNumber, String> {
    match v {
        Val::Str(s) => s.parse::<TelephoneNumber>().map_err(|e| e.to_string()),
        _ => Err(wrong("a telephone number string such as \"0255501234\"", v)),
    }
}

fn c_range(v: &Val) -> Result<NumberRange, String> {
    match v {
        Val::Str(s) => s.parse::<NumberRange>().map_err(|e| e.to_string()),
        _ => Err(wrong("a number or range string such as \"0255500000-0255509999\"", v)),
    }
}

fn c_port_ref(v: &Val) -> Result<PortRef, String> {
    match v {
        Val::Str(s) => s.parse::<PortRef>().map_err(|e| e.to_string()),
        _ => Err(wrong("a port reference string such as \"P1\"", v)),
    }
}

fn c_category(v: &Val) -> Result<Category, String> {
    match v {
        Val::Str(s) => s.parse::<Category>().map_err(|e| e.to_string()),
        _ => Err(wrong("a category string (\"A\", \"C\" or \"D\")", v)),
    }
}

fn c_rule(v: &Val) -> Result<RuleId, String> {
    match v {
        Val::Str(s) => s
            .parse::<RuleId>()
            .map_err(|_| format!("{s:?} is not a rule ID of rules.md (e.g. \"ECA-RESPONSE\"); see `lnpsim rules`")),
        _ => Err(wrong("a rule ID string such as \"ECA-RESPONSE\"", v)),
    }
}

fn keyword_list<T: Copy>(all: &[T], kw: fn(T) -> &'static str) -> String {
    all.iter().map(|x| kw(*x)).collect::<Vec<_>>().join(" | ")
}

fn c_keyword<T: Copy>(v: &Val, all: &[T], kw: fn(T) -> &'static str) -> Result<T, String> {
    let Val::Str(s) = v else {
        return Err(wrong(&format!("one of {}", keyword_list(all, kw)), v));
    };
    all.iter()
        .copied()
        .find(|x| kw(*x) == s)
        .ok_or_else(|| format!("{s:?} is not one of {}", keyword_list(all, kw)))
}

fn c_kind(v: &Val) -> Result<ServiceKind, String> {
    c_keyword(v, &ServiceKind::ALL, ServiceKind::keyword)
}

fn c_action(v: &Val) -> Result<FaultAction, String> {
    c_keyword(v, &FaultAction::ALL, FaultAction::keyword)
}

fn c_state(v: &Val) -> Result<Outcome, String> {
    c_keyword(v, &Outcome::ALL, Outcome::as_str)
}

fn c_status(v: &Val) -> Result<PortStatus, String> {
    let bad = || {
        format!(
            "expected a PLNR status \"P\", \"C\", \"N\" or \"R\", found {}",
            kind_of(v)
        )
    };
    match v {
        Val::Str(s) => {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => {
                    PortStatus::from_char(c).ok_or_else(|| format!("{s:?} is not a PLNR status: P, C, N or R"))
                }
                _ => Err(format!("{s:?} is not a PLNR status: P, C, N or R")),
            }
        }
        _ => Err(bad()),
    }
}

fn c_on(v: &Val) -> Result<Option<MsgKind>, String> {
    match v {
        Val::Str(s) if s == "*" => Ok(None),
        Val::Str(s) => s.parse::<MsgKind>().map(Some).map_err(|_| {
            format!(
                "{s:?} is not a message or action keyword of the trace format (e.g. \"ECA\", \"DTR_STOP\"), nor \"*\""
            )
        }),
        _ => Err(wrong("a message or action keyword, or \"*\"", v)),
    }
}

fn c_reject_code(v: &Val) -> Result<RejectCode, String> {
    match v {
        Val::Str(s) if !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit()) => s
            .parse::<u16>()
            .ok()
            .and_then(RejectCode::new)
            .ok_or_else(|| format!("{s:?} is not a reject code")),
        Val::Str(s) => Err(format!("{s:?} is not a reject code: write 1 to 3 digits, e.g. \"003\"")),
        _ => Err(wrong("a reject code string such as \"003\"", v)),
    }
}

fn c_reads_plnr(v: &Val) -> Result<ReadsPlnr, String> {
    let Val::Str(s) = v else {
        return Err(wrong("\"never\" or \"next-bd HH:MM\"", v));
    };
    if s == "never" {
        return Ok(ReadsPlnr::Never);
    }
    let bad = || format!("{s:?} is neither \"never\" nor \"next-bd HH:MM\" (e.g. \"next-bd 03:00\")");
    let hhmm = s.strip_prefix("next-bd ").ok_or_else(bad)?;
    if hhmm.len() != 5 {
        return Err(bad());
    }
    let t = parse_time_of_day(hhmm).map_err(|_| bad())?;
    Ok(ReadsPlnr::NextBusinessDay {
        hour: t.hour(),
        minute: t.minute(),
    })
}

// ---------------------------------------------------------------------------------------------
// The validating walk.

/// A table being read: its dotted path and header line.
struct Tbl<'a> {
    path: String,
    line: Option<usize>,
    entries: &'a [Entry],
}

impl<'a> Tbl<'a> {
    fn root(entries: &'a [Entry]) -> Self {
        Self {
            path: String::new(),
            line: None,
            entries,
        }
    }

    fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn get(&self, key: &str) -> Option<&'a Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    fn line_of(&self, key: &str) -> Option<usize> {
        self.get(key).map(|e| e.line).or(self.line)
    }
}

/// The field was present but wrong; its error is recorded.
#[derive(Clone, Copy, Debug)]
struct Bad;

type Got<T> = Result<Option<T>, Bad>;

/// A range as declared: the range, its carrier, its key path and its line.
type RangeSite = (NumberRange, CarrierCode, String, usize);

/// Where a declared item sits in the file, for cross-reference messages.
#[derive(Clone)]
struct Site {
    path: String,
    line: usize,
}

#[derive(Default)]
struct Cx {
    errors: Vec<ScenarioError>,
    /// Carrier codes declared (even by a `[[carriers]]` entry with other errors).
    carriers: BTreeMap<CarrierCode, Site>,
    /// Donor ranges of the carriers that loaded.
    donor_ranges: Vec<(NumberRange, CarrierCode)>,
    /// Whether every `[[carriers]]` entry loaded, so that `donor_ranges` is complete.
    carriers_ok: bool,
    /// Port refs declared (even by a `[[ports]]` entry with other errors).
    ports: BTreeMap<PortRef, Site>,
    /// How much of the file to read.
    part: Part,
}

/// How much of a scenario file the loader reads.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Part {
    #[default]
    All,
    /// See [`Scenario::market_from_toml`].
    Market,
    /// See [`Scenario::market_and_notes_from_toml`].
    MarketAndNotes,
}

const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "start",
    "until",
    "seed",
    "rulebook",
    "holidays",
    "carriers",
    "agreements",
    "services",
    "ports",
    "load",
    "faults",
    "expect",
    "notes",
];
const CARRIER_KEYS: &[&str] = &["code", "name", "ranges", "answers_within", "daily_cap", "reads_plnr"];
const AGREEMENT_KEYS: &[&str] = &["carriers", "after_hours"];
const SERVICE_KEYS: &[&str] = &["numbers", "carrier", "account", "customer", "kind"];
const PORT_KEYS: &[&str] = &[
    "ref",
    "category",
    "numbers",
    "gaining",
    "losing",
    "customer",
    "account",
    "ca_date",
    "submit_at",
    "cutover",
    "pnv",
    "retarget",
    "withdraw_at",
    "return_at",
    "give_back_at",
    "notes",
];
const NOTE_KEYS: &[&str] = &["at", "text", "ref"];
const PORT_NOTE_KEYS: &[&str] = &["at", "text"];
const LOAD_KEYS: &[&str] = &["ports", "categories", "numbers_per_cat_c", "window"];
const FAULT_KEYS: &[&str] = &["carrier", "on", "action", "by", "code", "times"];
const EXPECT_PORT_KEYS: &[&str] = &["port", "state"];
const EXPECT_ROUTE_KEYS: &[&str] = &["route", "from", "at", "path"];
const EXPECT_PLNR_KEYS: &[&str] = &["plnr", "number", "current", "status", "at", "absent"];
const EXPECT_VIOLATIONS_KEYS: &[&str] = &["violations"];

impl Cx {
    fn err(&mut self, line: Option<usize>, key: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ScenarioError {
            line,
            key: key.into(),
            message: message.into(),
        });
    }

    /// Reports every key of `t` not in `allowed`.
    fn check_keys(&mut self, t: &Tbl<'_>, allowed: &[&str], what: &str) {
        for e in t.entries {
            if !allowed.contains(&e.key.as_str()) {
                self.err(
                    Some(e.line),
                    t.path_of(&e.key),
                    format!("unknown key in {what}; the keys are: {}", allowed.join(", ")),
                );
            }
        }
    }

    fn opt<T>(&mut self, t: &Tbl<'_>, key: &str, conv: impl FnOnce(&Val) -> Result<T, String>) -> Got<T> {
        let Some(e) = t.get(key) else { return Ok(None) };
        match conv(&e.node.val) {
            Ok(v) => Ok(Some(v)),
            Err(m) => {
                self.err(Some(e.line), t.path_of(key), m);
                Err(Bad)
            }
        }
    }

    fn req<T>(&mut self, t: &Tbl<'_>, key: &str, conv: impl FnOnce(&Val) -> Result<T, String>) -> Option<T> {
        match self.opt(t, key, conv) {
            Ok(Some(v)) => Some(v),
            Ok(None) => {
                self.err(t.line, t.path_of(key), "missing required key");
                None
            }
            Err(Bad) => None,
        }
    }

    /// An optional array whose elements convert one by one; each bad element is reported at its
    /// own line. Elements come back with their lines.
    fn opt_list<T>(&mut self, t: &Tbl<'_>, key: &str, conv: Conv<T>) -> Got<Vec<(T, usize)>> {
        let Some(e) = t.get(key) else { return Ok(None) };
        let path = t.path_of(key);
        let Val::Array(items) = &e.node.val else {
            self.err(Some(e.line), path, wrong("an array", &e.node.val));
            return Err(Bad);
        };
        let mut out = Vec::with_capacity(items.len());
        let mut bad = false;
        for (i, item) in items.iter().enumerate() {
            match conv(&item.val) {
                Ok(v) => out.push((v, item.line)),
                Err(m) => {
                    self.err(Some(item.line), format!("{path}[{i}]"), m);
                    bad = true;
                }
            }
        }
        if bad {
            Err(Bad)
        } else {
            Ok(Some(out))
        }
    }

    fn req_list<T>(&mut self, t: &Tbl<'_>, key: &str, conv: Conv<T>) -> Option<Vec<(T, usize)>> {
        match self.opt_list(t, key, conv) {
            Ok(Some(v)) => Some(v),
            Ok(None) => {
                self.err(t.line, t.path_of(key), "missing required key");
                None
            }
            Err(Bad) => None,
        }
    }

    /// The tables of an array of tables (`[[key]]`), with their paths and header lines.
    fn tables<'a>(&mut self, t: &Tbl<'a>, key: &str) -> Vec<Tbl<'a>> {
        let Some(e) = t.get(key) else { return Vec::new() };
        let path = t.path_of(key);
        let Val::Array(items) = &e.node.val else {
            self.err(
                Some(e.line),
                path,
                format!(
                    "expected an array of tables ([[{key}]]), found {}",
                    kind_of(&e.node.val)
                ),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match &item.val {
                Val::Table(entries) => out.push(Tbl {
                    path: format!("{path}[{i}]"),
                    line: Some(item.line),
                    entries,
                }),
                other => self.err(
                    Some(item.line),
                    format!("{path}[{i}]"),
                    format!("expected a table ([[{key}]]), found {}", kind_of(other)),
                ),
            }
        }
        out
    }

    /// A carrier code that must be declared in `[[carriers]]`.
    fn carrier_ref(&mut self, t: &Tbl<'_>, key: &str, required: bool) -> Got<CarrierCode> {
        let got = if required {
            self.req(t, key, c_carrier).ok_or(Bad).map(Some)
        } else {
            self.opt(t, key, c_carrier)
        };
        if let Ok(Some(code)) = got {
            if !self.carriers.contains_key(&code) {
                self.err(
                    t.line_of(key),
                    t.path_of(key),
                    format!("carrier {code} is not declared in [[carriers]]"),
                );
                return Err(Bad);
            }
        }
        got
    }

    /// Carrier codes in a list, each of which must be declared.
    fn carrier_list(&mut self, t: &Tbl<'_>, key: &str) -> Got<Vec<CarrierCode>> {
        let Some(list) = self.opt_list(t, key, c_carrier)? else {
            return Ok(None);
        };
        let path = t.path_of(key);
        let mut ok = true;
        for (i, (code, line)) in list.iter().enumerate() {
            if !self.carriers.contains_key(code) {
                self.err(
                    Some(*line),
                    format!("{path}[{i}]"),
                    format!("carrier {code} is not declared in [[carriers]]"),
                );
                ok = false;
            }
        }
        if ok {
            Ok(Some(list.into_iter().map(|(c, _)| c).collect()))
        } else {
            Err(Bad)
        }
    }

    fn path_buf(&mut self, t: &Tbl<'_>, key: &str, base_dir: Option<&Path>) -> Got<PathBuf> {
        let Some(s) = self.opt(t, key, c_str)? else {
            return Ok(None);
        };
        if s.trim().is_empty() {
            self.err(t.line_of(key), t.path_of(key), "the path is empty");
            return Err(Bad);
        }
        let p = PathBuf::from(s);
        Ok(Some(match base_dir {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p,
        }))
    }

    /// `holidays`: one value or an array of them ([`HolidaySource::parse`]).
    fn holidays(&mut self, t: &Tbl<'_>, base_dir: Option<&Path>) -> Result<Vec<HolidaySource>, Bad> {
        let Some(e) = t.get("holidays") else {
            return Ok(Vec::new());
        };
        let path = t.path_of("holidays");
        let items: Vec<(&Node, String)> = match &e.node.val {
            Val::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, n)| (n, format!("{path}[{i}]")))
                .collect(),
            _ => vec![(&e.node, path.clone())],
        };
        let mut out = Vec::with_capacity(items.len());
        let mut bad = false;
        for (node, at) in items {
            let line = if matches!(e.node.val, Val::Array(_)) {
                node.line
            } else {
                e.line
            };
            let got = match &node.val {
                Val::Str(s) => HolidaySource::parse(s, base_dir),
                other => Err(wrong("a state code or a CSV file's path (a string)", other)),
            };
            match got {
                Ok(h) => out.push(h),
                Err(m) => {
                    self.err(Some(line), at, m);
                    bad = true;
                }
            }
        }
        if bad {
            Err(Bad)
        } else {
            Ok(out)
        }
    }

    fn scenario(&mut self, top: &Tbl<'_>, base_dir: Option<&Path>) -> Option<Scenario> {
        self.check_keys(top, TOP_KEYS, "the scenario's top level");
        let name = self.req(top, "name", c_text);
        let description = self.opt(top, "description", c_str).map(Option::unwrap_or_default);
        let start = self.req(top, "start", c_instant);
        let until = self.opt(top, "until", c_instant);
        if let (Some(s), Ok(Some(u))) = (start, &until) {
            if *u <= s {
                self.err(
                    top.line_of("until"),
                    "until",
                    format!("until {u} is not after start {s}"),
                );
            }
        }
        let seed = self.opt(top, "seed", |v| {
            let n = c_int(v)?;
            u64::try_from(n).map_err(|_| format!("seed {n} is negative; use a non-negative integer"))
        });
        let rulebook = self.path_buf(top, "rulebook", base_dir);
        let holidays = self.holidays(top, base_dir);

        let carriers = self.carriers_section(top);
        let agreements = self.agreements_section(top);
        let services = self.services_section(top);
        let (ports, load, faults, expects) = if self.part == Part::All {
            (
                self.ports_section(top, start, services.as_deref()),
                self.load_section(top, agreements.as_deref()),
                self.faults_section(top),
                self.expects_section(top, start),
            )
        } else {
            (Some(Vec::new()), Ok(None), Some(Vec::new()), Some(Vec::new()))
        };
        let notes = match self.part {
            Part::All => {
                let mut notes: Vec<Note> = ports.iter().flatten().flat_map(|p| p.notes.iter().cloned()).collect();
                notes.extend(self.notes_section(top, start));
                Some(notes)
            }
            Part::MarketAndNotes => {
                let mut notes = self.port_notes_only(top, start);
                notes.extend(self.notes_section(top, start));
                Some(notes)
            }
            Part::Market => Some(Vec::new()),
        };
        let notes = notes.map(|mut n| {
            n.sort_by_key(|n| n.line);
            n
        });

        Some(Scenario {
            name: name?,
            description: description.ok()?,
            start: start?,
            until: until.ok()?,
            seed: seed.ok()?.unwrap_or(0),
            rulebook: rulebook.ok()?,
            holidays: holidays.ok()?,
            carriers: carriers?,
            agreements: agreements?,
            services: services?,
            ports: ports?,
            load: load.ok()?,
            faults: faults?,
            expects: expects?,
            notes: notes?,
        })
    }

    // --- carriers --------------------------------------------------------------------------

    fn carriers_section(&mut self, top: &Tbl<'_>) -> Option<Vec<CarrierSpec>> {
        let tables = self.tables(top, "carriers");
        let before = self.errors.len();
        // Codes first, so that every later reference can be checked even if a carrier has errors.
        let mut codes = Vec::with_capacity(tables.len());
        for t in &tables {
            let code = self.req(t, "code", c_carrier);
            if let Some(code) = code {
                if let Some(first) = self.carriers.get(&code) {
                    let msg = format!(
                        "carrier code {code} is already declared by {} (line {})",
                        first.path, first.line
                    );
                    self.err(t.line_of("code"), t.path_of("code"), msg);
                } else {
                    let site = Site {
                        path: t.path.clone(),
                        line: t.line.unwrap_or(0),
                    };
                    self.carriers.insert(code, site);
                }
            }
            codes.push(code);
        }
        let mut out = Vec::with_capacity(tables.len());
        let mut sites: Vec<RangeSite> = Vec::new();
        for (t, code) in tables.iter().zip(codes) {
            self.check_keys(t, CARRIER_KEYS, "a [[carriers]] table");
            let name = self.opt(t, "name", c_text);
            let ranges = self.opt_list(t, "ranges", c_range);
            let answers_within = self.opt(t, "answers_within", c_elapsed_span);
            let daily_cap = self.opt(t, "daily_cap", |v| {
                let n = c_int(v)?;
                u32::try_from(n)
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| format!("daily cap {n} is not between 1 and {}", u32::MAX))
            });
            let reads_plnr = self.opt(t, "reads_plnr", c_reads_plnr);
            let (Some(code), Ok(name), Ok(ranges), Ok(answers_within), Ok(daily_cap), Ok(reads_plnr)) =
                (code, name, ranges, answers_within, daily_cap, reads_plnr)
            else {
                continue;
            };
            let ranges = ranges.unwrap_or_default();
            for (i, (r, line)) in ranges.iter().enumerate() {
                sites.push((*r, code, format!("{}.ranges[{i}]", t.path), *line));
            }
            out.push(CarrierSpec {
                code,
                name: name.unwrap_or_else(|| code.to_string()),
                ranges: ranges.into_iter().map(|(r, _)| r).collect(),
                answers_within: answers_within.unwrap_or(Span::Minutes(5)),
                daily_cap,
                reads_plnr: reads_plnr.unwrap_or_default(),
            });
        }
        self.overlaps(&mut sites, |a, b| {
            if a.1 == b.1 {
                format!("range {} overlaps {} ({}) of the same carrier", a.0, b.0, b.2)
            } else {
                format!(
                    "range {} of carrier {} overlaps range {} of carrier {} ({}, line {}): a number has one donor",
                    a.0, a.1, b.0, b.1, b.2, b.3
                )
            }
        });
        self.donor_ranges = sites.iter().map(|s| (s.0, s.1)).collect();
        self.carriers_ok = self.errors.len() == before;
        self.carriers_ok.then_some(out)
    }

    /// Reports ranges that overlap an earlier one (sorted by start), naming both.
    fn overlaps<F>(&mut self, sites: &mut [RangeSite], describe: F)
    where
        F: Fn(&RangeSite, &RangeSite) -> String,
    {
        sites.sort_by_key(|site| (site.0.first, site.3));
        let mut reach: Option<usize> = None;
        for i in 0..sites.len() {
            if let Some(j) = reach {
                if sites[i].0.first <= sites[j].0.last {
                    let msg = describe(&sites[i], &sites[j]);
                    self.err(Some(sites[i].3), sites[i].2.clone(), msg);
                }
            }
            if reach.is_none_or(|j| sites[i].0.last > sites[j].0.last) {
                reach = Some(i);
            }
        }
    }

    // --- agreements ------------------------------------------------------------------------

    fn agreements_section(&mut self, top: &Tbl<'_>) -> Option<Vec<Agreement>> {
        let tables = self.tables(top, "agreements");
        let before = self.errors.len();
        let mut out: Vec<Agreement> = Vec::new();
        let mut seen: BTreeMap<(CarrierCode, CarrierCode), Site> = BTreeMap::new();
        for t in &tables {
            self.check_keys(t, AGREEMENT_KEYS, "an [[agreements]] table");
            let after_hours = self.opt(t, "after_hours", c_bool);
            let carriers = match self.carrier_list(t, "carriers") {
                Ok(Some(c)) => Some(c),
                Ok(None) => {
                    self.err(t.line, t.path_of("carriers"), "missing required key");
                    None
                }
                Err(Bad) => None,
            };
            let line = t.line_of("carriers");
            let pair = match carriers.as_deref() {
                Some([a, b]) if a == b => {
                    self.err(
                        line,
                        t.path_of("carriers"),
                        format!("an agreement needs two different carriers, found {a} twice"),
                    );
                    None
                }
                Some([a, b]) => Some([*a, *b]),
                Some(other) => {
                    let n = other.len();
                    self.err(
                        line,
                        t.path_of("carriers"),
                        format!("an agreement names exactly two carriers, found {n}"),
                    );
                    None
                }
                None => None,
            };
            let (Some(pair), Ok(after_hours)) = (pair, after_hours) else {
                continue;
            };
            let key = (pair[0].min(pair[1]), pair[0].max(pair[1]));
            if let Some(first) = seen.get(&key) {
                let msg = format!(
                    "{} and {} already have an agreement at {} (line {})",
                    key.0, key.1, first.path, first.line
                );
                self.err(line, t.path_of("carriers"), msg);
                continue;
            }
            seen.insert(
                key,
                Site {
                    path: t.path.clone(),
                    line: t.line.unwrap_or(0),
                },
            );
            out.push(Agreement {
                carriers: pair,
                after_hours: after_hours.unwrap_or(false),
            });
        }
        (self.errors.len() == before).then_some(out)
    }

    // --- services --------------------------------------------------------------------------

    fn services_section(&mut self, top: &Tbl<'_>) -> Option<Vec<ServiceHolding>> {
        let tables = self.tables(top, "services");
        let before = self.errors.len();
        let mut out = Vec::new();
        let mut sites: Vec<RangeSite> = Vec::new();
        for t in &tables {
            self.check_keys(t, SERVICE_KEYS, "a [[services]] table");
            let numbers = self.req_list(t, "numbers", c_range);
            let carrier = self.carrier_ref(t, "carrier", true);
            let account = self.opt(t, "account", c_text);
            let customer = self.opt(t, "customer", c_text);
            let kind = self.opt(t, "kind", c_kind);
            if let Some(numbers) = &numbers {
                if numbers.is_empty() {
                    self.err(
                        t.line_of("numbers"),
                        t.path_of("numbers"),
                        "a service holds at least one number",
                    );
                    continue;
                }
            }
            let (Some(numbers), Ok(Some(carrier)), Ok(account), Ok(customer), Ok(kind)) =
                (numbers, carrier, account, customer, kind)
            else {
                continue;
            };
            for (i, (r, line)) in numbers.iter().enumerate() {
                sites.push((*r, carrier, format!("{}.numbers[{i}]", t.path), *line));
            }
            out.push(ServiceHolding {
                numbers: numbers.into_iter().map(|(r, _)| r).collect(),
                carrier,
                service: Service {
                    account: account.unwrap_or_default(),
                    customer: customer.unwrap_or_default(),
                    kind: kind.unwrap_or(ServiceKind::Simple),
                },
            });
        }
        self.overlaps(&mut sites, |a, b| {
            format!(
                "{} is also held by {} (line {}): a number belongs to one service",
                a.0, b.2, b.3
            )
        });
        (self.errors.len() == before).then_some(out)
    }

    // --- ports -----------------------------------------------------------------------------

    fn ports_section(
        &mut self,
        top: &Tbl<'_>,
        start: Option<Timestamp>,
        services: Option<&[ServiceHolding]>,
    ) -> Option<Vec<PortSpec>> {
        let tables = self.tables(top, "ports");
        let before = self.errors.len();
        let mut out = Vec::new();
        for t in &tables {
            if let Some(p) = self.port(t, start, services) {
                out.push(p);
            }
        }
        (self.errors.len() == before).then_some(out)
    }

    fn port(&mut self, t: &Tbl<'_>, start: Option<Timestamp>, services: Option<&[ServiceHolding]>) -> Option<PortSpec> {
        self.check_keys(t, PORT_KEYS, "a [[ports]] table");
        let id = self.req(t, "ref", c_port_ref);
        if let Some(id) = id {
            if let Some(first) = self.ports.get(&id) {
                let msg = format!("port ref {id} is already used by {} (line {})", first.path, first.line);
                self.err(t.line_of("ref"), t.path_of("ref"), msg);
            } else {
                let site = Site {
                    path: t.path.clone(),
                    line: t.line.unwrap_or(0),
                };
                self.ports.insert(id, site);
            }
        }
        let category = self.req(t, "category", c_category);
        let numbers = self.port_numbers(t, category);
        let gaining = self.carrier_ref(t, "gaining", true);
        let losing = self.carrier_ref(t, "losing", false);
        if let (Ok(Some(g)), Ok(Some(l))) = (gaining, losing) {
            if g == l {
                self.err(
                    t.line_of("losing"),
                    t.path_of("losing"),
                    format!("the losing carrier {l} is also the gaining carrier"),
                );
            }
        }
        if let (Some(nums), Ok(None), Some(services), true) = (&numbers, losing, services, self.carriers_ok) {
            self.check_held(t, nums, services);
        }
        let customer = self.opt(t, "customer", c_text);
        let account = self.opt(t, "account", c_text);
        let ca_date = self.opt(t, "ca_date", c_date);
        let submit_at = self.req(t, "submit_at", c_instant);
        let cutover = self.req(t, "cutover", c_instant);
        let pnv = self.opt(t, "pnv", c_bool);
        let retarget = self.opt_list(t, "retarget", c_instant);
        let withdraw_at = self.opt(t, "withdraw_at", c_instant);
        let return_at = self.opt(t, "return_at", c_instant);
        let give_back_at = self.opt(t, "give_back_at", c_instant);
        let notes = self.notes_of(t, "notes", PORT_NOTE_KEYS, id, start);

        if let (Ok(Some(true)), Some(cat)) = (pnv, category) {
            if cat != Category::C {
                self.err(
                    t.line_of("pnv"),
                    t.path_of("pnv"),
                    format!("pnv applies to Cat C ports only; this one is Cat {cat}"),
                );
            }
        }
        if let (Some(s), Some(start)) = (submit_at, start) {
            if s < start {
                self.err(
                    t.line_of("submit_at"),
                    t.path_of("submit_at"),
                    format!("submit_at {s} is before the scenario's start {start}"),
                );
            }
        }
        if let Some(s) = submit_at {
            if let Some(c) = cutover.filter(|c| *c <= s) {
                self.err(
                    t.line_of("cutover"),
                    t.path_of("cutover"),
                    format!("cutover {c} is not after submit_at {s}"),
                );
            }
            if let Ok(Some(list)) = &retarget {
                for (i, (r, line)) in list.iter().enumerate() {
                    if *r <= s {
                        self.err(
                            Some(*line),
                            format!("{}[{i}]", t.path_of("retarget")),
                            format!("re-target {r} is not after submit_at {s}"),
                        );
                    }
                }
            }
            if let Ok(Some(w)) = withdraw_at {
                if w <= s {
                    self.err(
                        t.line_of("withdraw_at"),
                        t.path_of("withdraw_at"),
                        format!("withdraw_at {w} is not after submit_at {s}"),
                    );
                }
            }
        }
        // The last cutover the scenario asks for: the last re-target, or the cutover.
        let planned = match &retarget {
            Ok(Some(list)) if !list.is_empty() => list.last().map(|(r, _)| *r),
            _ => cutover,
        };
        if let Some(c) = planned {
            for key in ["return_at", "give_back_at"] {
                let v = if key == "return_at" { return_at } else { give_back_at };
                if let Ok(Some(at)) = v {
                    if at <= c {
                        self.err(
                            t.line_of(key),
                            t.path_of(key),
                            format!("{key} {at} is not after the (last planned) cutover {c}"),
                        );
                    }
                }
            }
        }

        let numbers = numbers?;
        let held = numbers
            .first()
            .and_then(|n| services?.iter().find(|s| s.numbers.iter().any(|r| r.contains(*n))));
        let submit_at = submit_at?;
        Some(PortSpec {
            id: id?,
            category: category?,
            gaining: gaining.ok()??,
            losing: losing.ok()?,
            customer: customer
                .ok()?
                .unwrap_or_else(|| held.map(|s| s.service.customer.clone()).unwrap_or_default()),
            account: account
                .ok()?
                .unwrap_or_else(|| held.map(|s| s.service.account.clone()).unwrap_or_default()),
            ca_date: ca_date.ok()?.unwrap_or_else(|| submit_at.sydney_date()),
            submit_at,
            cutover: cutover?,
            pnv: pnv.ok()?.unwrap_or(false),
            retarget: retarget.ok()?.unwrap_or_default().into_iter().map(|(r, _)| r).collect(),
            withdraw_at: withdraw_at.ok()?,
            return_at: return_at.ok()?,
            give_back_at: give_back_at.ok()?,
            notes: notes?,
            numbers,
            line: t.line.unwrap_or(0),
        })
    }

    // --- notes -----------------------------------------------------------------------------

    /// The `[[notes]]` tables: `at`, `text`, and optionally the `ref` of a declared port.
    fn notes_section(&mut self, top: &Tbl<'_>, start: Option<Timestamp>) -> Vec<Note> {
        self.notes_of(top, "notes", NOTE_KEYS, None, start).unwrap_or_default()
    }

    /// In [`Part::MarketAndNotes`]: each `[[ports]]` table's `ref` (so that a note can name it)
    /// and `notes`, and nothing else of it.
    fn port_notes_only(&mut self, top: &Tbl<'_>, start: Option<Timestamp>) -> Vec<Note> {
        let mut out = Vec::new();
        for t in self.tables(top, "ports") {
            let id = self.opt(&t, "ref", c_port_ref).ok().flatten();
            if let Some(id) = id {
                let site = Site {
                    path: t.path.clone(),
                    line: t.line.unwrap_or(0),
                };
                self.ports.entry(id).or_insert(site);
            }
            out.extend(
                self.notes_of(&t, "notes", PORT_NOTE_KEYS, id, start)
                    .unwrap_or_default(),
            );
        }
        out
    }

    /// The notes of `key` in `t` (an array of tables), each with the keys `allowed`. Notes of a
    /// port table belong to `port`; others may name one with `ref`. `None` when one is wrong.
    fn notes_of(
        &mut self,
        t: &Tbl<'_>,
        key: &str,
        allowed: &[&str],
        port: Option<PortRef>,
        start: Option<Timestamp>,
    ) -> Option<Vec<Note>> {
        let before = self.errors.len();
        let mut out = Vec::new();
        let what = if port.is_some() || !t.path.is_empty() {
            "a note of a [[ports]] table"
        } else {
            "a [[notes]] table"
        };
        for n in self.tables(t, key) {
            self.check_keys(&n, allowed, what);
            let at = self.req(&n, "at", c_instant);
            let text = self.req(&n, "text", c_note_text);
            let named = if allowed.contains(&"ref") {
                self.opt(&n, "ref", c_port_ref)
            } else {
                Ok(None)
            };
            if let Ok(Some(r)) = named {
                if !self.ports.contains_key(&r) {
                    self.err(
                        n.line_of("ref"),
                        n.path_of("ref"),
                        format!("port {r} is not declared in [[ports]]"),
                    );
                }
            }
            if let (Some(at), Some(start)) = (at, start) {
                if at < start {
                    self.err(
                        n.line_of("at"),
                        n.path_of("at"),
                        format!("at {at} is before the scenario's start {start}"),
                    );
                }
            }
            if let (Some(at), Some(text), Ok(named)) = (at, text, named) {
                out.push(Note {
                    at,
                    port: named.or(port),
                    text,
                    line: n.line.unwrap_or(0),
                });
            }
        }
        (self.errors.len() == before).then_some(out)
    }

    /// A port's numbers: individual numbers or ranges, expanded; no repeats; at most
    /// [`MAX_NUMBERS_PER_PORT`]; exactly one for Cat A and D.
    fn port_numbers(&mut self, t: &Tbl<'_>, category: Option<Category>) -> Option<Vec<TelephoneNumber>> {
        let list = self.req_list(t, "numbers", c_range)?;
        let path = t.path_of("numbers");
        let line = t.line_of("numbers");
        let total: u64 = list.iter().map(|(r, _)| r.len()).sum();
        if total == 0 {
            self.err(line, path, "a port needs at least one number");
            return None;
        }
        if total > u64::from(MAX_NUMBERS_PER_PORT) {
            self.err(
                line,
                path,
                format!("{total} numbers; a port carries at most {MAX_NUMBERS_PER_PORT}"),
            );
            return None;
        }
        if let Some(cat) = category.filter(|c| c.is_simple()) {
            if total != 1 {
                self.err(
                    line,
                    path,
                    format!("a Cat {cat} port carries exactly one number (SNA-ONE-NUMBER), found {total}; use Cat C"),
                );
                return None;
            }
        }
        let mut seen = BTreeSet::new();
        let mut out = Vec::with_capacity(total as usize);
        let mut ok = true;
        for (i, (r, l)) in list.iter().enumerate() {
            for n in r.iter() {
                if seen.insert(n) {
                    out.push(n);
                } else {
                    self.err(
                        Some(*l),
                        format!("{path}[{i}]"),
                        format!("{n} is listed twice in this port"),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// Without `losing`, every number must have a holder: a carrier's range or a service.
    fn check_held(&mut self, t: &Tbl<'_>, numbers: &[TelephoneNumber], services: &[ServiceHolding]) {
        let orphans: Vec<TelephoneNumber> = numbers
            .iter()
            .copied()
            .filter(|n| {
                !self.donor_ranges.iter().any(|(r, _)| r.contains(*n))
                    && !services.iter().any(|s| s.numbers.iter().any(|r| r.contains(*n)))
            })
            .collect();
        if let Some(first) = orphans.first() {
            let more = if orphans.len() > 1 {
                format!(" (and {} more)", orphans.len() - 1)
            } else {
                String::new()
            };
            self.err(
                t.line_of("numbers"),
                t.path_of("numbers"),
                format!(
                    "{first}{more} is in no carrier's ranges and no [[services]] entry, so the losing carrier is unknown; give `losing`"
                ),
            );
        }
    }

    // --- load ------------------------------------------------------------------------------

    fn load_section(&mut self, top: &Tbl<'_>, agreements: Option<&[Agreement]>) -> Got<LoadSpec> {
        let Some(entry) = top.get("load") else { return Ok(None) };
        let Val::Table(entries) = &entry.node.val else {
            self.err(Some(entry.line), "load", wrong("a table ([load])", &entry.node.val));
            return Err(Bad);
        };
        let t = Tbl {
            path: "load".into(),
            line: Some(entry.node.line),
            entries,
        };
        let before = self.errors.len();
        self.check_keys(&t, LOAD_KEYS, "[load]");
        let ports = self.req(&t, "ports", |v| {
            let n = c_int(v)?;
            u64::try_from(n)
                .ok()
                .filter(|n| *n <= MAX_LOAD_PORTS)
                .ok_or_else(|| format!("{n} ports is not between 0 and {MAX_LOAD_PORTS}"))
        });
        let shares = self.shares(&t);
        let window = self.req(&t, "window", c_positive_span);
        let per_c = self.opt(&t, "numbers_per_cat_c", |v| {
            let Val::Array(items) = v else {
                return Err(wrong("[min, max]", v));
            };
            let bounds: Vec<i64> = items.iter().filter_map(|n| c_int(&n.val).ok()).collect();
            let max = i64::from(MAX_NUMBERS_PER_PORT);
            match bounds[..] {
                [lo, hi] if items.len() == 2 && 1 <= lo && lo <= hi && hi <= max => Ok((lo as u32, hi as u32)),
                _ => Err(format!(
                    "expected [min, max] with 1 <= min <= max <= {max} (numbers per port)"
                )),
            }
        });
        if let (Some((_, c, _)), Ok(None)) = (shares, &per_c) {
            if c > 0.0 {
                self.err(
                    t.line,
                    "load.numbers_per_cat_c",
                    "missing: required when the Cat C share is above 0",
                );
            }
        }
        if let (Some(n), Some(list)) = (ports, agreements) {
            if n > 0 && list.is_empty() {
                self.err(
                    top.line_of("load"),
                    "load",
                    "generated ports are drawn among carriers with an agreement, but there is no [[agreements]]",
                );
            }
        }
        if self.errors.len() > before {
            return Err(Bad);
        }
        let (Some(ports), Some((a, c, d)), Some(window), Ok(per_c)) = (ports, shares, window, per_c) else {
            return Err(Bad);
        };
        Ok(Some(LoadSpec {
            line: entry.node.line,
            ports,
            share_a: a,
            share_c: c,
            share_d: d,
            numbers_per_cat_c: per_c.unwrap_or((1, 1)),
            window,
        }))
    }

    fn shares(&mut self, t: &Tbl<'_>) -> Option<(f64, f64, f64)> {
        let Some(entry) = t.get("categories") else {
            self.err(
                t.line,
                "load.categories",
                "missing required key (e.g. { A = 0.9, C = 0.1 })",
            );
            return None;
        };
        let Val::Table(entries) = &entry.node.val else {
            let msg = wrong("a table such as { A = 0.9, C = 0.1 }", &entry.node.val);
            self.err(Some(entry.line), "load.categories", msg);
            return None;
        };
        let cats = Tbl {
            path: "load.categories".into(),
            line: Some(entry.line),
            entries,
        };
        self.check_keys(&cats, &["A", "C", "D"], "load.categories (a share per category)");
        let share_a = self.opt(&cats, "A", c_share);
        let share_c = self.opt(&cats, "C", c_share);
        let share_d = self.opt(&cats, "D", c_share);
        let (Ok(share_a), Ok(share_c), Ok(share_d)) = (share_a, share_c, share_d) else {
            return None;
        };
        let shares = (share_a.unwrap_or(0.0), share_c.unwrap_or(0.0), share_d.unwrap_or(0.0));
        let sum = shares.0 + shares.1 + shares.2;
        if (sum - 1.0).abs() > 1e-9 {
            self.err(
                Some(entry.line),
                "load.categories",
                format!("the shares sum to {sum}, not 1"),
            );
            return None;
        }
        Some(shares)
    }

    // --- faults ----------------------------------------------------------------------------

    fn faults_section(&mut self, top: &Tbl<'_>) -> Option<Vec<FaultSpec>> {
        let tables = self.tables(top, "faults");
        let before = self.errors.len();
        let mut out = Vec::new();
        for t in &tables {
            self.check_keys(t, FAULT_KEYS, "a [[faults]] table");
            let carrier = self.carrier_ref(t, "carrier", true);
            let on = self.req(t, "on", c_on);
            let action = self.req(t, "action", c_action);
            let by = self.opt(t, "by", c_span_any);
            let code = self.opt(t, "code", c_reject_code);
            let times = self.opt(t, "times", |v| {
                let n = c_int(v)?;
                u32::try_from(n)
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| format!("times {n} is not between 1 and {}", u32::MAX))
            });
            if let Some(action) = action {
                self.check_fault(t, action, on.flatten(), by, code);
            }
            let (Ok(Some(carrier)), Some(on), Some(action), Ok(by), Ok(code), Ok(times)) =
                (carrier, on, action, by, code, times)
            else {
                continue;
            };
            out.push(FaultSpec {
                carrier,
                on,
                action,
                by,
                code,
                times,
                line: t.line.unwrap_or(0),
            });
        }
        (self.errors.len() == before).then_some(out)
    }

    fn check_fault(
        &mut self,
        t: &Tbl<'_>,
        action: FaultAction,
        on: Option<MsgKind>,
        by: Got<Span>,
        code: Got<RejectCode>,
    ) {
        use FaultAction as A;
        let kw = action.keyword();
        match (action, by) {
            (A::Delay | A::Shift, Ok(None)) => {
                self.err(
                    t.line,
                    t.path_of("by"),
                    format!("missing: a {kw} fault needs `by` (e.g. \"40m\")"),
                );
            }
            (A::Delay, Ok(Some(s))) if s.is_negative() => {
                self.err(
                    t.line_of("by"),
                    t.path_of("by"),
                    format!("{s} is negative; only a shift may move something earlier"),
                );
            }
            (A::Drop | A::Reject | A::Accept | A::Skip, Ok(Some(_))) => {
                self.err(
                    t.line_of("by"),
                    t.path_of("by"),
                    format!("`by` applies to delay and shift faults, not {kw}"),
                );
            }
            _ => {}
        }
        match (action, code) {
            (A::Reject, Ok(None)) => {
                self.err(
                    t.line,
                    t.path_of("code"),
                    "missing: a reject fault needs `code` (e.g. \"003\")",
                );
            }
            (A::Reject, Ok(Some(c))) => {
                if let Some(k @ (MsgKind::Cna | MsgKind::Pnv)) = on {
                    if !(1..=7).contains(&c.get()) {
                        self.err(
                            t.line_of("code"),
                            t.path_of("code"),
                            format!("{k} is rejected with a PNV reject code 1-7, not {c}"),
                        );
                    }
                }
            }
            (_, Ok(Some(_))) => {
                self.err(
                    t.line_of("code"),
                    t.path_of("code"),
                    format!("`code` applies to reject faults, not {kw}"),
                );
            }
            _ => {}
        }
        if let Some(k) = on {
            let received = matches!(action, A::Delay | A::Drop | A::Reject | A::Accept);
            if received && k.is_action() {
                self.err(
                    t.line_of("on"),
                    t.path_of("on"),
                    format!("{k} is an action a carrier takes, not a message it receives; a {kw} fault is on a received message"),
                );
            } else if action == A::Reject && k.answers().is_empty()
                || action == A::Accept && k.answers().is_empty() && !k.is_reject()
            {
                self.err(
                    t.line_of("on"),
                    t.path_of("on"),
                    format!("{k} is not a request that can be confirmed or rejected (nor, for accept, a reject advice the gaining carrier can ignore), so it cannot be the subject of a {kw} fault"),
                );
            }
        }
    }

    // --- expectations ----------------------------------------------------------------------

    fn expects_section(&mut self, top: &Tbl<'_>, start: Option<Timestamp>) -> Option<Vec<Expect>> {
        let tables = self.tables(top, "expect");
        let before = self.errors.len();
        let mut out = Vec::new();
        for t in &tables {
            if let Some(kind) = self.expect(t, start) {
                out.push(Expect {
                    kind,
                    line: t.line.unwrap_or(0),
                });
            }
        }
        (self.errors.len() == before).then_some(out)
    }

    fn expect(&mut self, t: &Tbl<'_>, start: Option<Timestamp>) -> Option<ExpectKind> {
        let forms: Vec<&str> = ["port", "route", "plnr", "violations"]
            .into_iter()
            .filter(|k| t.get(k).is_some())
            .collect();
        match forms[..] {
            [] => {
                let all: Vec<&str> = [
                    EXPECT_PORT_KEYS,
                    EXPECT_ROUTE_KEYS,
                    EXPECT_PLNR_KEYS,
                    EXPECT_VIOLATIONS_KEYS,
                ]
                .concat();
                let all: BTreeSet<&str> = all.into_iter().collect();
                let all: Vec<&str> = all.into_iter().collect();
                self.check_keys(t, &all, "an [[expect]] table");
                self.err(
                    t.line,
                    t.path.clone(),
                    "an expectation needs one of `port`, `route`, `plnr` or `violations`",
                );
                None
            }
            ["port"] => {
                self.check_keys(t, EXPECT_PORT_KEYS, "a port expectation");
                let port = self.req(t, "port", c_port_ref);
                let state = self.req(t, "state", c_state);
                if let Some(p) = port {
                    if !self.ports.contains_key(&p) {
                        self.err(
                            t.line_of("port"),
                            t.path_of("port"),
                            format!("no [[ports]] entry has ref {p}"),
                        );
                        return None;
                    }
                }
                Some(ExpectKind::Port {
                    port: port?,
                    state: state?,
                })
            }
            ["route"] => {
                self.check_keys(t, EXPECT_ROUTE_KEYS, "a route expectation");
                let number = self.req(t, "route", c_number);
                let from = self.carrier_ref(t, "from", true);
                let at = self.req(t, "at", c_instant);
                self.not_before_start(t, at, start);
                let path = self.route_path(t);
                if let (Ok(Some(from)), Some(RouteExpect::Path(p))) = (from, &path) {
                    if p.first() != Some(&from) {
                        self.err(
                            t.line_of("path"),
                            t.path_of("path"),
                            format!("a call's path starts at the calling carrier {from}"),
                        );
                        return None;
                    }
                }
                Some(ExpectKind::Route {
                    number: number?,
                    from: from.ok()??,
                    at: at?,
                    path: path?,
                })
            }
            ["plnr"] => {
                self.check_keys(t, EXPECT_PLNR_KEYS, "a PLNR expectation");
                let donor = self.carrier_ref(t, "plnr", true);
                let number = self.req(t, "number", c_number);
                let current = self.carrier_ref(t, "current", false);
                let status = self.opt(t, "status", c_status);
                let at = self.opt(t, "at", c_instant);
                if let Ok(a) = at {
                    self.not_before_start(t, a, start);
                }
                let absent = self.opt(t, "absent", c_bool);
                if let (Ok(Some(true)), Ok(c), Ok(s)) = (absent, current, status) {
                    if c.is_some() || s.is_some() {
                        self.err(
                            t.line_of("absent"),
                            t.path_of("absent"),
                            "absent = true says the number has no record, so `current` and `status` cannot be given",
                        );
                        return None;
                    }
                }
                if let (Ok(Some(d)), Some(n), true) = (donor, number, self.carriers_ok) {
                    let real = self.donor_ranges.iter().find(|(r, _)| r.contains(n)).map(|(_, c)| *c);
                    if real != Some(d) {
                        let why = real.map_or_else(
                            || format!("{n} is in no carrier's ranges"),
                            |r| format!("the donor of {n} is {r}"),
                        );
                        self.err(
                            t.line_of("plnr"),
                            t.path_of("plnr"),
                            format!("{why}, not {d}: only a number's donor keeps its PLNR record"),
                        );
                        return None;
                    }
                }
                Some(ExpectKind::Plnr {
                    donor: donor.ok()??,
                    number: number?,
                    at: at.ok()?,
                    current: current.ok()?,
                    status: status.ok()?,
                    absent: absent.ok()?.unwrap_or(false),
                })
            }
            ["violations"] => {
                self.check_keys(t, EXPECT_VIOLATIONS_KEYS, "a violations expectation");
                let list = self.req_list(t, "violations", c_rule)?;
                let mut seen = BTreeSet::new();
                let mut ok = true;
                for (i, (r, line)) in list.iter().enumerate() {
                    if !seen.insert(*r) {
                        self.err(
                            Some(*line),
                            format!("{}[{i}]", t.path_of("violations")),
                            format!("{r} is listed twice; the list is a set of rule IDs"),
                        );
                        ok = false;
                    }
                }
                ok.then(|| ExpectKind::Violations(list.into_iter().map(|(r, _)| r).collect()))
            }
            _ => {
                self.err(
                    t.line,
                    t.path.clone(),
                    format!(
                        "one expectation per [[expect]] table; this one has {}",
                        forms.join(", ")
                    ),
                );
                None
            }
        }
    }

    fn not_before_start(&mut self, t: &Tbl<'_>, at: Option<Timestamp>, start: Option<Timestamp>) {
        if let (Some(a), Some(s)) = (at, start) {
            if a < s {
                self.err(
                    t.line_of("at"),
                    t.path_of("at"),
                    format!("{a} is before the scenario's start {s}"),
                );
            }
        }
    }

    fn route_path(&mut self, t: &Tbl<'_>) -> Option<RouteExpect> {
        let Some(e) = t.get("path") else {
            self.err(
                t.line,
                t.path_of("path"),
                "missing required key (a list of carrier codes, or \"unreachable\")",
            );
            return None;
        };
        match &e.node.val {
            Val::Str(s) if s == "unreachable" => Some(RouteExpect::Unreachable),
            Val::Array(_) => {
                let list = self.carrier_list(t, "path").ok()??;
                if list.is_empty() {
                    self.err(
                        Some(e.line),
                        t.path_of("path"),
                        "a path names at least the calling carrier",
                    );
                    return None;
                }
                Some(RouteExpect::Path(list))
            }
            other => {
                let msg = match other {
                    Val::Str(s) => format!("{s:?} is neither a list of carrier codes nor \"unreachable\""),
                    _ => wrong("a list of carrier codes or \"unreachable\"", other),
                };
                self.err(Some(e.line), t.path_of("path"), msg);
                None
            }
        }
    }
}

//! Loading and validating scenario files: `Scenario::from_toml`.

use std::path::{Path, PathBuf};

use lnp_model::{
    CarrierCode, Category, MsgKind, PortRef, PortStatus, RejectCode, RuleId, Span, State, TelephoneNumber, Timestamp,
};
use lnp_sim::scenario::{
    ExpectKind, FaultAction, HolidaySource, Outcome, ReadsPlnr, RouteExpect, Scenario, ScenarioError, ServiceKind,
};
use proptest::prelude::*;

/// The spec's example, extended with every optional key.
const FULL: &str = r#"name = "Cat A simple port, happy path"
description = "One number moves from Alpha to Bravo; Charlie's calls follow it."
start = "2026-03-02T08:00:00+11:00"
until = "2026-04-01T00:00:00+11:00"
seed = 7
rulebook = "rulebooks/strict.toml"
holidays = "holidays-nsw.csv"

[[carriers]]
code = "9001"
name = "Alpha Telecom"
ranges = ["0255500000-0255509999"]
answers_within = "5m"
daily_cap = 20000
reads_plnr = "next-bd 03:00"

[[carriers]]
code = "9002"
name = "Bravo Networks"
ranges = ["0370100000-0370109999", "0755500000-0755500999"]
answers_within = "10m"
reads_plnr = "never"

[[carriers]]
code = "9003"
name = "Charlie Comms"
ranges = []

[[agreements]]
carriers = ["9001", "9002"]
after_hours = false

[[agreements]]
carriers = ["9003", "9002"]
after_hours = true

[[services]]
numbers = ["0255501234"]
carrier = "9001"
account = "ACC-1001"
customer = "Harbour Bakery Pty Ltd"
kind = "simple"

[[services]]
numbers = ["0255502000-0255502099", "0255503000"]
carrier = "9001"
account = "ACC-2000"
customer = "Quay Lawyers"
kind = "pending-cancellation"

[[ports]]
ref = "P1"
category = "A"
numbers = ["0255501234"]
gaining = "9002"
losing = "9001"
customer = "Harbour Bakery Pty Ltd"
account = "ACC-1001"
ca_date = "2026-02-25"
submit_at = "2026-03-02T09:00:00+11:00"
cutover = "2026-03-09T10:00:00+11:00"
retarget = ["2026-03-10T10:00:00+11:00", "2026-03-11T10:00:00+11:00"]
return_at = "2026-03-11T11:00:00+11:00"
give_back_at = "2026-05-01T10:00:00+10:00"

[[ports]]
ref = "P2"
category = "C"
numbers = ["0255502000-0255502009", "0255503000"]
gaining = "9003"
submit_at = "2026-03-02T09:30:00+11:00"
cutover = "2026-03-20T10:00:00+11:00"
pnv = true
withdraw_at = "2026-03-04T12:00:00+11:00"

[load]
ports = 1000
categories = { A = 0.9, C = 0.1 }
numbers_per_cat_c = [2, 100]
window = "30d"

[[faults]]
carrier = "9001"
on = "ECA"
action = "delay"
by = "40m"
times = 1

[[faults]]
carrier = "9001"
on = "DTR_STOP"
action = "shift"
by = "-3bd"

[[faults]]
carrier = "9002"
on = "SNA"
action = "reject"
code = "003"

[[faults]]
carrier = "9003"
on = "*"
action = "drop"

[[expect]]
port = "P1"
state = "completed"

[[expect]]
route = "0255501234"
from = "9003"
at = "2026-03-09T12:00:00+11:00"
path = ["9003", "9001", "9002"]

[[expect]]
route = "0255501234"
from = "9003"
at = "2026-03-30T12:00:00+11:00"
path = "unreachable"

[[expect]]
plnr = "9001"
number = "0255501234"
current = "9002"
status = "C"

[[expect]]
plnr = "9001"
number = "0255502000"
at = "2026-03-05T00:00:00+11:00"
absent = true

[[expect]]
violations = []

[[expect]]
violations = ["ECA-RESPONSE", "DTR-DURATION"]
"#;

fn code(s: &str) -> CarrierCode {
    s.parse().unwrap()
}

fn num(s: &str) -> TelephoneNumber {
    s.parse().unwrap()
}

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn load(text: &str) -> Scenario {
    match Scenario::from_toml(text, None) {
        Ok(s) => s,
        Err(errors) => panic!("expected a valid scenario, got:\n{}", render(&errors)),
    }
}

fn render(errors: &[ScenarioError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

fn errors(text: &str) -> Vec<ScenarioError> {
    match Scenario::from_toml(text, None) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e,
    }
}

/// The errors must include one at `line` for `key` whose message contains `needle`.
#[track_caller]
fn assert_error(errors: &[ScenarioError], line: usize, key: &str, needle: &str) {
    assert!(
        errors
            .iter()
            .any(|e| e.line == Some(line) && e.key == key && e.message.contains(needle)),
        "no error at line {line} for {key} containing {needle:?}; got:\n{}",
        render(errors)
    );
}

/// Exactly one error, at `line` for `key`, containing `needle`.
#[track_caller]
fn assert_only(text: &str, line: usize, key: &str, needle: &str) {
    let errs = errors(text);
    assert_eq!(errs.len(), 1, "expected one error, got:\n{}", render(&errs));
    assert_error(&errs, line, key, needle);
}

/// 1-based line of the first line of `text` containing `needle` (after `from`).
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1).unwrap()
}

/// The minimal valid scenario the error tests extend; its lines are 1..=12.
const BASE: &str = r#"name = "base"
start = "2026-03-02T08:00:00+11:00"

[[carriers]]
code = "9001"
ranges = ["0255500000-0255509999"]

[[carriers]]
code = "9002"
ranges = ["0370100000-0370109999"]

"#;

fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

const PORT_P1: &str = r#"[[ports]]
ref = "P1"
category = "A"
numbers = ["0255501234"]
gaining = "9002"
submit_at = "2026-03-02T09:00:00+11:00"
cutover = "2026-03-09T10:00:00+11:00"
"#;

// --- a full valid scenario ------------------------------------------------------------------

#[test]
fn full_scenario_loads_every_key() {
    let s = match Scenario::from_toml(FULL, Some(Path::new("/scenarios"))) {
        Ok(s) => s,
        Err(e) => panic!("{}", render(&e)),
    };
    assert_eq!(s.name, "Cat A simple port, happy path");
    assert!(s.description.starts_with("One number moves"));
    assert_eq!(s.start, at("2026-03-02T08:00:00+11:00"));
    assert_eq!(s.until, Some(at("2026-04-01T00:00:00+11:00")));
    assert_eq!(s.seed, 7);
    assert_eq!(
        s.rulebook.as_deref(),
        Some(Path::new("/scenarios/rulebooks/strict.toml"))
    );
    assert_eq!(
        s.holidays,
        [HolidaySource::File(PathBuf::from("/scenarios/holidays-nsw.csv"))]
    );

    assert_eq!(s.carriers.len(), 3);
    let alpha = &s.carriers[0];
    assert_eq!((alpha.code, alpha.name.as_str()), (code("9001"), "Alpha Telecom"));
    assert_eq!(alpha.ranges, vec!["0255500000-0255509999".parse().unwrap()]);
    assert_eq!(alpha.answers_within, Span::Minutes(5));
    assert_eq!(alpha.daily_cap, Some(20_000));
    assert_eq!(alpha.reads_plnr, ReadsPlnr::NextBusinessDay { hour: 3, minute: 0 });
    let bravo = &s.carriers[1];
    assert_eq!(bravo.ranges.len(), 2);
    assert_eq!(bravo.answers_within, Span::Minutes(10));
    assert_eq!(bravo.daily_cap, None);
    assert_eq!(bravo.reads_plnr, ReadsPlnr::Never);
    assert!(s.carriers[2].ranges.is_empty());

    assert_eq!(s.agreements.len(), 2);
    assert_eq!(s.agreements[0].carriers, [code("9001"), code("9002")]);
    assert!(!s.agreements[0].after_hours);
    assert!(s.agreements[1].after_hours);
    assert!(s.agreement(code("9002"), code("9001")).is_some());
    assert!(s.agreement(code("9002"), code("9003")).is_some_and(|a| a.after_hours));
    assert!(s.agreement(code("9001"), code("9003")).is_none());

    assert_eq!(s.donor_of(num("0255501234")), Some(code("9001")));
    assert_eq!(s.donor_of(num("0755500999")), Some(code("9002")));
    assert_eq!(s.donor_of(num("0855501234")), None);

    assert_eq!(s.services.len(), 2);
    assert_eq!(s.services[0].service.kind, ServiceKind::Simple);
    assert_eq!(s.services[1].service.kind, ServiceKind::PendingCancellation);
    assert_eq!(s.services[1].numbers.len(), 2);
    assert_eq!(s.services[1].numbers[0].len(), 100);
    assert_eq!(
        s.service_of(num("0255502050")).map(|sv| sv.service.account.as_str()),
        Some("ACC-2000")
    );

    assert_eq!(s.ports.len(), 2);
    let p1 = &s.ports[0];
    assert_eq!(p1.id, "P1".parse::<PortRef>().unwrap());
    assert_eq!(p1.category, Category::A);
    assert_eq!(p1.numbers, vec![num("0255501234")]);
    assert_eq!(p1.gaining, code("9002"));
    assert_eq!(p1.losing, Some(code("9001")));
    assert_eq!(p1.customer, "Harbour Bakery Pty Ltd");
    assert_eq!(p1.account, "ACC-1001");
    assert_eq!(p1.ca_date, chrono::NaiveDate::from_ymd_opt(2026, 2, 25).unwrap());
    assert_eq!(p1.submit_at, at("2026-03-02T09:00:00+11:00"));
    assert_eq!(p1.cutover, at("2026-03-09T10:00:00+11:00"));
    assert!(!p1.pnv);
    assert_eq!(
        p1.retarget,
        vec![at("2026-03-10T10:00:00+11:00"), at("2026-03-11T10:00:00+11:00")]
    );
    assert_eq!(p1.withdraw_at, None);
    assert_eq!(p1.return_at, Some(at("2026-03-11T11:00:00+11:00")));
    assert_eq!(p1.give_back_at, Some(at("2026-05-01T10:00:00+10:00")));
    assert_eq!(p1.line, line_of(FULL, "ref = \"P1\"") - 1);
    let p2 = &s.ports[1];
    assert_eq!(p2.category, Category::C);
    assert_eq!(p2.numbers.len(), 11);
    assert_eq!(p2.numbers[10], num("0255503000"));
    assert_eq!(p2.losing, None);
    assert!(p2.pnv);
    // Defaults from the service holding the first number, and the submission date.
    assert_eq!(p2.customer, "Quay Lawyers");
    assert_eq!(p2.account, "ACC-2000");
    assert_eq!(p2.ca_date, chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
    assert_eq!(p2.withdraw_at, Some(at("2026-03-04T12:00:00+11:00")));

    let load = s.load.as_ref().unwrap();
    assert_eq!(load.ports, 1000);
    assert!((load.share_a - 0.9).abs() < 1e-12 && (load.share_c - 0.1).abs() < 1e-12 && load.share_d == 0.0);
    assert_eq!(load.numbers_per_cat_c, (2, 100));
    assert_eq!(load.window, Span::Days(30));

    assert_eq!(s.faults.len(), 4);
    let f = &s.faults[0];
    assert_eq!(
        (f.carrier, f.on, f.action),
        (code("9001"), Some(MsgKind::Eca), FaultAction::Delay)
    );
    assert_eq!((f.by, f.code, f.times), (Some(Span::Minutes(40)), None, Some(1)));
    assert_eq!(f.line, line_of(FULL, "on = \"ECA\"") - 2);
    assert_eq!(s.faults[1].by, Some(Span::BusinessDays(-3)));
    assert_eq!(s.faults[1].on, Some(MsgKind::DtrStop));
    assert_eq!(s.faults[2].code, RejectCode::new(3));
    assert_eq!(s.faults[2].action, FaultAction::Reject);
    assert_eq!(
        (s.faults[3].on, s.faults[3].action, s.faults[3].times),
        (None, FaultAction::Drop, None)
    );

    assert_eq!(s.expects.len(), 7);
    assert_eq!(
        s.expects[0].kind,
        ExpectKind::Port {
            port: "P1".parse().unwrap(),
            state: Outcome::Completed
        }
    );
    assert_eq!(s.expects[0].line, line_of(FULL, "port = \"P1\"") - 1);
    assert_eq!(
        s.expects[1].kind,
        ExpectKind::Route {
            number: num("0255501234"),
            from: code("9003"),
            at: at("2026-03-09T12:00:00+11:00"),
            path: RouteExpect::Path(vec![code("9003"), code("9001"), code("9002")]),
        }
    );
    assert!(matches!(
        s.expects[2].kind,
        ExpectKind::Route {
            path: RouteExpect::Unreachable,
            ..
        }
    ));
    assert_eq!(
        s.expects[3].kind,
        ExpectKind::Plnr {
            donor: code("9001"),
            number: num("0255501234"),
            at: None,
            current: Some(code("9002")),
            status: Some(PortStatus::C),
            absent: false,
        }
    );
    assert!(matches!(
        s.expects[4].kind,
        ExpectKind::Plnr {
            absent: true,
            at: Some(_),
            current: None,
            status: None,
            ..
        }
    ));
    assert_eq!(s.expects[5].kind, ExpectKind::Violations(vec![]));
    assert_eq!(
        s.expects[6].kind,
        ExpectKind::Violations(vec![RuleId::EcaResponse, RuleId::DtrDuration])
    );
    let lines: Vec<usize> = s.expects.iter().map(|e| e.line).collect();
    let headers: Vec<usize> = FULL
        .lines()
        .enumerate()
        .filter(|(_, l)| *l == "[[expect]]")
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines, headers);
}

#[test]
fn defaults_of_a_minimal_scenario() {
    let s = load(&with(PORT_P1));
    assert_eq!(s.description, "");
    assert_eq!(s.seed, 0);
    assert_eq!(s.until, None);
    assert_eq!((s.rulebook.clone(), s.holidays.clone()), (None, Vec::new()));
    let c = &s.carriers[0];
    assert_eq!(c.name, "9001");
    assert_eq!(c.answers_within, Span::Minutes(5));
    assert_eq!(c.reads_plnr, ReadsPlnr::NextBusinessDay { hour: 3, minute: 0 });
    assert_eq!(c.daily_cap, None);
    let p = &s.ports[0];
    assert_eq!(
        (p.losing, p.pnv, p.customer.as_str(), p.account.as_str()),
        (None, false, "", "")
    );
    assert!(p.retarget.is_empty());
    assert!(s.load.is_none() && s.faults.is_empty() && s.expects.is_empty());
}

#[test]
fn relative_paths_without_base_dir_stay_relative_and_absolute_ones_stay_put() {
    let s = load(&format!("rulebook = \"r.toml\"\nholidays = \"/etc/h.csv\"\n{BASE}"));
    assert_eq!(s.rulebook.as_deref(), Some(Path::new("r.toml")));
    let s = Scenario::from_toml(&format!("holidays = \"/etc/h.csv\"\n{BASE}"), Some(Path::new("/x"))).unwrap();
    assert_eq!(s.holidays, [HolidaySource::File(PathBuf::from("/etc/h.csv"))]);
}

#[test]
fn holidays_name_a_state_a_file_or_several() {
    let dir = Some(Path::new("/x"));
    let s = Scenario::from_toml(&format!("holidays = \"NSW\"\n{BASE}"), dir).unwrap();
    assert_eq!(s.holidays, [HolidaySource::State(State::Nsw)]);
    // A file named like a code is written with its folder.
    let s = Scenario::from_toml(&format!("holidays = \"./nsw\"\n{BASE}"), dir).unwrap();
    assert_eq!(s.holidays, [HolidaySource::File(PathBuf::from("/x/./nsw"))]);
    let s = Scenario::from_toml(&format!("holidays = [\"vic\", \"gf.csv\"]\n{BASE}"), dir).unwrap();
    assert_eq!(
        s.holidays,
        [
            HolidaySource::State(State::Vic),
            HolidaySource::File(PathBuf::from("/x/gf.csv"))
        ]
    );
    let s = Scenario::from_toml(&format!("holidays = []\n{BASE}"), dir).unwrap();
    assert!(s.holidays.is_empty());
}

#[test]
fn an_unknown_state_code_names_the_codes() {
    let e = errors(&format!("holidays = \"nws\"\n{BASE}"));
    assert_eq!(e.len(), 1, "{}", render(&e));
    assert_eq!(
        e[0].to_string(),
        "line 1: holidays: \"nws\" is not a state code: expected one of nsw, vic, qld, sa, wa, tas, act, nt; \
         a file of that name is written ./nws"
    );
    let e = errors(&format!("holidays = [\"nsw\",\n  \"victoria\", 3]\n{BASE}"));
    let got: Vec<String> = e.iter().map(ToString::to_string).collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[0].starts_with("line 2: holidays[1]: \"victoria\" is not a state code"),
        "{got:?}"
    );
    assert!(
        got[1].starts_with("line 2: holidays[2]: expected a state code or a CSV file's path"),
        "{got:?}"
    );
    let e = errors(&format!("holidays = \" \"\n{BASE}"));
    assert!(
        e[0].to_string().contains("holidays: the value is empty"),
        "{}",
        render(&e)
    );
}

#[test]
fn bare_toml_datetimes_and_dates_are_accepted() {
    let text = BASE.replace("\"2026-03-02T08:00:00+11:00\"", "2026-03-02T08:00:00+11:00")
        + &PORT_P1.replace("ref = \"P1\"", "ref = \"P1\"\nca_date = 2026-02-20");
    let s = load(&text);
    assert_eq!(s.start, at("2026-03-02T08:00:00+11:00"));
    assert_eq!(
        s.ports[0].ca_date,
        chrono::NaiveDate::from_ymd_opt(2026, 2, 20).unwrap()
    );
}

#[test]
fn service_kinds_and_inline_tables() {
    // Top-level keys come before the first table header; later ones would belong to that table.
    let services = r#"services = [
  { numbers = ["0255500001"], carrier = "9001", kind = "complex" },
  { numbers = ["0255500002"], carrier = "9001", kind = "cancelled" },
  { numbers = ["0255500003"], carrier = "9001" },
]
"#;
    let s = load(&format!("{services}{BASE}"));
    let kinds: Vec<ServiceKind> = s.services.iter().map(|x| x.service.kind).collect();
    assert_eq!(
        kinds,
        [ServiceKind::Complex, ServiceKind::Cancelled, ServiceKind::Simple]
    );
    let services = "services = [\n  { numbers = [\"0255500001\"], carrier = \"9001\", kind = \"odd\" },\n  { numbers = [\"0255500002\"], carrier = \"9001\", colour = 1 },\n]\n";
    let errs = errors(&format!("{services}{BASE}"));
    assert_eq!(errs.len(), 2, "{}", render(&errs));
    assert_error(
        &errs,
        2,
        "services[0].kind",
        "simple | complex | cancelled | pending-cancellation",
    );
    assert_error(&errs, 3, "services[1].colour", "unknown key");
}

// --- syntax, unknown keys, types ------------------------------------------------------------

#[test]
fn toml_syntax_error_has_a_line() {
    let errs = errors(&with("[[ports]]\nref = \"P1\nx = 1\n"));
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].key, "(file)");
    assert_eq!(errs[0].line, Some(13));
    let errs = errors("name = \"x\"\nname = \"y\"\n");
    assert_eq!((errs[0].key.as_str(), errs[0].line), ("(file)", Some(2)));
}

#[test]
fn unknown_key_at_top_level() {
    assert_only(
        &BASE.replace("name = \"base\"", "name = \"base\"\ncolour = \"blue\""),
        2,
        "colour",
        "unknown key in the scenario's top level",
    );
    // After a table header the key belongs to that table.
    assert_only(
        &with("colour = \"blue\"\n"),
        12,
        "carriers[1].colour",
        "unknown key in a [[carriers]] table",
    );
    // Before the first table too.
    assert_only(&format!("sede = 3\n{BASE}"), 1, "sede", "unknown key");
}

#[test]
fn unknown_keys_nested() {
    let text = with(&PORT_P1.replace("category = \"A\"", "category = \"A\"\ncutover_at = 1"));
    assert_only(&text, 15, "ports[0].cutover_at", "unknown key in a [[ports]] table");
    let text = BASE.replace(
        "ranges = [\"0370100000-0370109999\"]",
        "ranges = [\"0370100000-0370109999\"]\ndonor = true",
    );
    assert_only(&text, 11, "carriers[1].donor", "unknown key");
    let text = with("[load]\nports = 1\ncategories = { A = 1.0, B = 0.0 }\nwindow = \"1d\"\nspeed = 2\n[[agreements]]\ncarriers = [\"9001\", \"9002\"]\n");
    let errs = errors(&text);
    assert_eq!(errs.len(), 2, "{}", render(&errs));
    assert_error(&errs, 14, "load.categories.B", "unknown key");
    assert_error(&errs, 16, "load.speed", "unknown key");
    let text = with("[[faults]]\ncarrier = \"9001\"\non = \"ECA\"\naction = \"drop\"\nwhen = 1\n");
    assert_only(&text, 16, "faults[0].when", "unknown key");
    let text = with("[[agreements]]\ncarriers = [\"9001\", \"9002\"]\nafterhours = true\n");
    assert_only(&text, 14, "agreements[0].afterhours", "unknown key");
    // A table where a value belongs.
    let text = with("[carriers.extra]\nx = 1\n");
    let errs = errors(&text);
    assert!(!errs.is_empty());
}

#[test]
fn keys_of_another_expectation_form_are_unknown() {
    let text = with(&format!(
        "{PORT_P1}[[expect]]\nport = \"P1\"\nstate = \"completed\"\nfrom = \"9001\"\n"
    ));
    assert_only(&text, 22, "expect[0].from", "unknown key in a port expectation");
    let text = with("[[expect]]\nstate = \"completed\"\n");
    assert_only(
        &text,
        12,
        "expect[0]",
        "needs one of `port`, `route`, `plnr` or `violations`",
    );
    let text = with(&format!("{PORT_P1}[[expect]]\nport = \"P1\"\nviolations = []\n"));
    assert_only(&text, 19, "expect[0]", "one expectation per [[expect]] table");
}

#[test]
fn wrong_types_name_the_key_and_line() {
    assert_only(
        &BASE.replace("name = \"base\"", "name = 3"),
        1,
        "name",
        "expected a string, found an integer",
    );
    assert_only(
        &format!("seed = \"7\"\n{BASE}"),
        1,
        "seed",
        "expected an integer, found a string",
    );
    assert_only(&format!("seed = -1\n{BASE}"), 1, "seed", "negative");
    let text = BASE.replace("code = \"9002\"", "code = 9002");
    let errs = errors(&text);
    assert_error(&errs, 9, "carriers[1].code", "expected a carrier code string");
    let text = BASE.replace(
        "ranges = [\"0370100000-0370109999\"]",
        "ranges = \"0370100000-0370109999\"",
    );
    assert_only(&text, 10, "carriers[1].ranges", "expected an array, found a string");
    assert_only(
        &format!("ports = 3\n{BASE}"),
        1,
        "ports",
        "expected an array of tables ([[ports]]), found an integer",
    );
    assert_only(
        &format!("ports = [3]\n{BASE}"),
        1,
        "ports[0]",
        "expected a table ([[ports]]), found an integer",
    );
    let text = with("[[agreements]]\ncarriers = [\"9001\", \"9002\"]\nafter_hours = \"yes\"\n");
    assert_only(&text, 14, "agreements[0].after_hours", "expected true or false");
    let text = format!("load = 5\n{BASE}");
    assert_only(&text, 1, "load", "expected a table ([load])");
    let text = format!("expect = {{ port = \"P1\" }}\n{BASE}");
    assert_only(&text, 1, "expect", "expected an array of tables ([[expect]])");
}

#[test]
fn missing_required_keys_point_at_the_table_header() {
    let text = with(&PORT_P1.replace("gaining = \"9002\"\n", ""));
    assert_only(&text, 12, "ports[0].gaining", "missing required key");
    let errs = errors(&BASE.replace("name = \"base\"\n", ""));
    assert_eq!(errs.len(), 1);
    assert_eq!((errs[0].line, errs[0].key.as_str()), (None, "name"));
    assert_eq!(errs[0].to_string(), "name: missing required key");
}

// --- values ---------------------------------------------------------------------------------

#[test]
fn display_matches_the_documented_form() {
    let text = with(&PORT_P1.replace("cutover = \"2026-03-09T10:00:00+11:00\"", "cutover = \"2026-13-01\""));
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{}", render(&errs));
    assert_eq!(
        errs[0].to_string(),
        "line 18: ports[0].cutover: \"2026-13-01\" is not an RFC 3339 instant with offset (e.g. 2026-03-02T09:15:00+11:00)"
    );
}

#[test]
fn bad_instants_dates_and_durations() {
    assert_only(&BASE.replace("+11:00\"", "\""), 2, "start", "not an RFC 3339 instant");
    let text = format!("until = \"2026-03-01T00:00:00+11:00\"\n{BASE}");
    assert_only(&text, 1, "until", "is not after start");
    let text = with(&PORT_P1.replace("ref = \"P1\"", "ref = \"P1\"\nca_date = \"25/02/2026\""));
    assert_only(&text, 14, "ports[0].ca_date", "is not a date");
    let text = BASE.replace("code = \"9001\"", "code = \"9001\"\nanswers_within = \"5 minutes\"");
    assert_only(&text, 6, "carriers[0].answers_within", "is not a duration");
    let text = BASE.replace("code = \"9001\"", "code = \"9001\"\nanswers_within = \"-5m\"");
    assert_only(&text, 6, "carriers[0].answers_within", "negative");
    let text = BASE.replace("code = \"9001\"", "code = \"9001\"\nreads_plnr = \"next-bd 3am\"");
    assert_only(&text, 6, "carriers[0].reads_plnr", "next-bd HH:MM");
    let text = BASE.replace("code = \"9001\"", "code = \"9001\"\nreads_plnr = \"next-bd 25:00\"");
    assert_only(&text, 6, "carriers[0].reads_plnr", "next-bd HH:MM");
    let text = BASE.replace("code = \"9001\"", "code = \"9001\"\nreads_plnr = \"next-bd 04:30\"");
    assert_eq!(
        load(&text).carriers[0].reads_plnr,
        ReadsPlnr::NextBusinessDay { hour: 4, minute: 30 }
    );
    let text = BASE.replace("code = \"9001\"", "code = \"9001\"\ndaily_cap = 0");
    assert_only(&text, 6, "carriers[0].daily_cap", "not between 1");
}

#[test]
fn bad_numbers_and_carrier_codes() {
    let text = BASE.replace("code = \"9002\"", "code = \"902\"");
    assert_only(&text, 9, "carriers[1].code", "exactly 4 digits");
    let text = BASE.replace("0370100000-0370109999", "0470100000-0470109999");
    assert_only(&text, 10, "carriers[1].ranges[0]", "not geographic");
    let text = BASE.replace("0370100000-0370109999", "0370109999-0370100000");
    assert_only(&text, 10, "carriers[1].ranges[0]", "ends before it starts");
    let text = with(&PORT_P1.replace("0255501234", "0255501234x"));
    assert_only(&text, 15, "ports[0].numbers[0]", "not allowed in a telephone number");
    let text = with(&PORT_P1.replace("numbers = [\"0255501234\"]", "numbers = [\"0455501234\"]"));
    assert_only(&text, 15, "ports[0].numbers[0]", "not geographic");
    let text = with(&PORT_P1.replace("gaining = \"9002\"", "gaining = \"Bravo\""));
    assert_only(&text, 16, "ports[0].gaining", "exactly 4 digits");
    // Errors in multi-line arrays are at the element's own line.
    let text = BASE.replace(
        "ranges = [\"0370100000-0370109999\"]",
        "ranges = [\n  \"0370100000-0370109999\",\n  \"junk\",\n]",
    );
    assert_only(&text, 12, "carriers[1].ranges[1]", "");
}

#[test]
fn bad_port_values() {
    let text = with(&PORT_P1.replace("ref = \"P1\"", "ref = \"P 1\""));
    assert_only(&text, 13, "ports[0].ref", "contains ' '");
    let text = with(&PORT_P1.replace("category = \"A\"", "category = \"B\""));
    assert_only(&text, 14, "ports[0].category", "category must be A, C or D");
    let text = with(&PORT_P1.replace("\"0255501234\"]", "\"0255501234\", \"0255501235\"]"));
    assert_only(&text, 15, "ports[0].numbers", "exactly one number");
    let text = with(
        &PORT_P1
            .replace("category = \"A\"", "category = \"C\"")
            .replace("\"0255501234\"]", "\"0255500000-0255501000\"]"),
    );
    assert_only(&text, 15, "ports[0].numbers", "at most 1000");
    let text = with(
        &PORT_P1
            .replace("category = \"A\"", "category = \"C\"")
            .replace("\"0255501234\"]", "\"0255500000-0255500009\", \"0255500005\"]"),
    );
    assert_only(&text, 15, "ports[0].numbers[1]", "0255500005 is listed twice");
    let text = with(&PORT_P1.replace("\"0255501234\"]", "]"));
    assert_only(&text, 15, "ports[0].numbers", "at least one number");
    let text = with(&PORT_P1.replace("ref = \"P1\"", "ref = \"P1\"\npnv = true"));
    assert_only(&text, 14, "ports[0].pnv", "Cat C ports only");
    let text = with(&PORT_P1.replace(
        "cutover = \"2026-03-09T10:00:00+11:00\"",
        "cutover = \"2026-03-02T09:00:00+11:00\"",
    ));
    assert_only(&text, 18, "ports[0].cutover", "is not after submit_at");
    let text = with(&PORT_P1.replace(
        "submit_at = \"2026-03-02T09:00:00+11:00\"",
        "submit_at = \"2026-03-01T09:00:00+11:00\"",
    ));
    assert_only(&text, 17, "ports[0].submit_at", "before the scenario's start");
    let text = with(&format!("{PORT_P1}withdraw_at = \"2026-03-02T08:30:00+11:00\"\nretarget = [\"2026-03-09T10:00:00+11:00\", \"2026-03-01T10:00:00+11:00\"]\n"));
    let errs = errors(&text);
    assert_eq!(errs.len(), 2, "{}", render(&errs));
    assert_error(&errs, 19, "ports[0].withdraw_at", "is not after submit_at");
    assert_error(&errs, 20, "ports[0].retarget[1]", "is not after submit_at");
    let text = with(&format!("{PORT_P1}retarget = [\"2026-03-12T10:00:00+11:00\"]\nreturn_at = \"2026-03-11T10:00:00+11:00\"\ngive_back_at = \"2026-03-12T10:00:00+11:00\"\n"));
    let errs = errors(&text);
    assert_eq!(errs.len(), 2, "{}", render(&errs));
    assert_error(&errs, 20, "ports[0].return_at", "last planned");
    assert_error(&errs, 21, "ports[0].give_back_at", "last planned");
}

// --- cross references -----------------------------------------------------------------------

#[test]
fn duplicate_carrier_codes() {
    let text = BASE
        .replace("code = \"9002\"", "code = \"9001\"")
        .replace("0370100000-0370109999", "0370100000-0370100009");
    assert_only(&text, 9, "carriers[1].code", "already declared by carriers[0] (line 4)");
}

#[test]
fn overlapping_ranges_name_both() {
    let text = BASE.replace("0370100000-0370109999", "0255509000-0255519999");
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{}", render(&errs));
    assert_error(
        &errs,
        10,
        "carriers[1].ranges[0]",
        "overlaps range 0255500000-0255509999 of carrier 9001 (carriers[0].ranges[0], line 6)",
    );
    assert!(errs[0].message.contains("carrier 9002"));
    // Contained entirely, declared first.
    let text = BASE.replace("0370100000-0370109999", "0255500000-0255599999");
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{}", render(&errs));
    assert!(
        errs[0].message.contains("9001") && errs[0].message.contains("9002"),
        "{}",
        render(&errs)
    );
    // The same carrier twice.
    let text = BASE.replace(
        "[\"0370100000-0370109999\"]",
        "[\"0370100000-0370109999\", \"0370100005\"]",
    );
    assert_only(&text, 10, "carriers[1].ranges[1]", "of the same carrier");
}

#[test]
fn references_to_undeclared_carriers() {
    let text = with("[[agreements]]\ncarriers = [\"9001\", \"9009\"]\n");
    assert_only(&text, 13, "agreements[0].carriers[1]", "carrier 9009 is not declared");
    let text = with("[[agreements]]\ncarriers = [\"9001\", \"9001\"]\n");
    assert_only(&text, 13, "agreements[0].carriers", "two different carriers");
    let text = with("[[agreements]]\ncarriers = [\"9001\"]\n");
    assert_only(&text, 13, "agreements[0].carriers", "exactly two carriers");
    let text =
        with("[[agreements]]\ncarriers = [\"9001\", \"9002\"]\n[[agreements]]\ncarriers = [\"9002\", \"9001\"]\n");
    assert_only(
        &text,
        15,
        "agreements[1].carriers",
        "already have an agreement at agreements[0] (line 12)",
    );
    let text = with("[[services]]\nnumbers = [\"0255501234\"]\ncarrier = \"9005\"\n");
    assert_only(&text, 14, "services[0].carrier", "not declared");
    let text = with(&PORT_P1.replace("gaining = \"9002\"", "gaining = \"9002\"\nlosing = \"9007\""));
    assert_only(&text, 17, "ports[0].losing", "carrier 9007 is not declared");
    let text = with(&PORT_P1.replace("gaining = \"9002\"", "gaining = \"9002\"\nlosing = \"9002\""));
    assert_only(&text, 17, "ports[0].losing", "also the gaining carrier");
    let text = with("[[faults]]\ncarrier = \"9004\"\non = \"ECA\"\naction = \"drop\"\n");
    assert_only(&text, 13, "faults[0].carrier", "not declared");
    let text = with("[[expect]]\nroute = \"0255501234\"\nfrom = \"9002\"\nat = \"2026-03-09T12:00:00+11:00\"\npath = [\"9002\", \"9008\"]\n");
    assert_only(&text, 16, "expect[0].path[1]", "not declared");
}

#[test]
fn overlapping_services() {
    let text = with("[[services]]\nnumbers = [\"0255501200-0255501299\"]\ncarrier = \"9001\"\n[[services]]\nnumbers = [\"0255501234\"]\ncarrier = \"9001\"\n");
    assert_only(
        &text,
        16,
        "services[1].numbers[0]",
        "is also held by services[0].numbers[0] (line 13)",
    );
}

#[test]
fn port_numbers_need_a_holder_unless_losing_is_given() {
    let text = with(&PORT_P1.replace("0255501234", "0855501234"));
    assert_only(&text, 15, "ports[0].numbers", "give `losing`");
    let text = with(
        &PORT_P1
            .replace("0255501234", "0855501234")
            .replace("gaining = \"9002\"", "gaining = \"9002\"\nlosing = \"9001\""),
    );
    load(&text);
    let text = with(&format!(
        "[[services]]\nnumbers = [\"0855501234\"]\ncarrier = \"9001\"\ncustomer = \"Z\"\n{}",
        PORT_P1.replace("0255501234", "0855501234")
    ));
    assert_eq!(load(&text).ports[0].customer, "Z");
}

#[test]
fn duplicate_port_refs() {
    let text = with(&format!("{PORT_P1}{}", PORT_P1.replace("0255501234", "0255501235")));
    assert_only(&text, 20, "ports[1].ref", "already used by ports[0] (line 12)");
}

#[test]
fn faults_need_their_amounts_and_valid_subjects() {
    let fault = |body: &str| with(&format!("[[faults]]\ncarrier = \"9001\"\n{body}"));
    assert_only(
        &fault("on = \"ECA\"\naction = \"delay\"\n"),
        12,
        "faults[0].by",
        "needs `by`",
    );
    assert_only(
        &fault("on = \"ECA\"\naction = \"shift\"\n"),
        12,
        "faults[0].by",
        "needs `by`",
    );
    assert_only(
        &fault("on = \"ECA\"\naction = \"reject\"\n"),
        12,
        "faults[0].code",
        "needs `code`",
    );
    assert_only(
        &fault("on = \"ECA\"\naction = \"delay\"\nby = \"-4h\"\n"),
        16,
        "faults[0].by",
        "negative",
    );
    assert_only(
        &fault("on = \"ECA\"\naction = \"drop\"\nby = \"4h\"\n"),
        16,
        "faults[0].by",
        "not drop",
    );
    assert_only(
        &fault("on = \"ECA\"\naction = \"skip\"\ncode = \"003\"\n"),
        16,
        "faults[0].code",
        "not skip",
    );
    assert_only(
        &fault("on = \"ECA\"\naction = \"reject\"\ncode = \"3x\"\n"),
        16,
        "faults[0].code",
        "not a reject code",
    );
    assert_only(
        &fault("on = \"CNA\"\naction = \"reject\"\ncode = \"103\"\n"),
        16,
        "faults[0].code",
        "PNV reject code 1-7",
    );
    assert_only(
        &fault("on = \"ECAA\"\naction = \"drop\"\n"),
        14,
        "faults[0].on",
        "not a message or action keyword",
    );
    assert_only(
        &fault("on = \"ECA\"\naction = \"explode\"\n"),
        15,
        "faults[0].action",
        "delay | drop | reject | accept | skip | shift",
    );
    assert_only(
        &fault("on = \"DTR_START\"\naction = \"delay\"\nby = \"1m\"\n"),
        14,
        "faults[0].on",
        "is an action",
    );
    assert_only(
        &fault("on = \"COMPLETION\"\naction = \"accept\"\n"),
        14,
        "faults[0].on",
        "not a request",
    );
    assert_only(
        &fault("on = \"ECA\"\naction = \"drop\"\ntimes = 0\n"),
        16,
        "faults[0].times",
        "not between 1",
    );
    let s = load(&fault("on = \"PLNR_PUBLISH\"\naction = \"shift\"\nby = \"2bd\"\n"));
    assert_eq!(s.faults[0].by, Some(Span::BusinessDays(2)));
    let s = load(&fault("on = \"CNA\"\naction = \"reject\"\ncode = \"3\"\n"));
    assert_eq!(s.faults[0].code, RejectCode::new(3));
    assert_eq!(s.faults[0].line, 12);
}

#[test]
fn expectations_reference_existing_things() {
    let exp = |body: &str| with(&format!("{PORT_P1}[[expect]]\n{body}"));
    assert_only(
        &exp("port = \"P9\"\nstate = \"completed\"\n"),
        20,
        "expect[0].port",
        "no [[ports]] entry has ref P9",
    );
    assert_only(
        &exp("port = \"P1\"\nstate = \"done\"\n"),
        21,
        "expect[0].state",
        "completed | rejected | withdrawn | returned | expired | pending",
    );
    assert_only(&exp("port = \"P1\"\n"), 19, "expect[0].state", "missing required key");
    assert_only(
        &exp("violations = [\"ECA-RESPONSE\", \"ECA-LATE\"]\n"),
        20,
        "expect[0].violations[1]",
        "not a rule ID",
    );
    assert_only(
        &exp("violations = [\"ECA-RESPONSE\", \"ECA-RESPONSE\"]\n"),
        20,
        "expect[0].violations[1]",
        "listed twice",
    );
    let route = "route = \"0255501234\"\nfrom = \"9002\"\nat = \"2026-03-09T12:00:00+11:00\"\n";
    assert_only(
        &exp(&format!("{route}path = [\"9001\", \"9002\"]\n")),
        23,
        "expect[0].path",
        "starts at the calling carrier 9002",
    );
    assert_only(
        &exp(&format!("{route}path = \"nowhere\"\n")),
        23,
        "expect[0].path",
        "neither a list",
    );
    assert_only(
        &exp(&format!("{route}path = []\n")),
        23,
        "expect[0].path",
        "at least the calling carrier",
    );
    assert_only(
        &exp(&format!(
            "{}path = \"unreachable\"\n",
            route.replace("2026-03-09", "2026-03-01")
        )),
        22,
        "expect[0].at",
        "before the scenario's start",
    );
    let plnr = "plnr = \"9001\"\nnumber = \"0255501234\"\n";
    assert_only(
        &exp(&format!("{plnr}absent = true\nstatus = \"C\"\n")),
        22,
        "expect[0].absent",
        "cannot be given",
    );
    assert_only(
        &exp(&format!("{plnr}status = \"X\"\n")),
        22,
        "expect[0].status",
        "not a PLNR status",
    );
    assert_only(
        &exp("plnr = \"9002\"\nnumber = \"0255501234\"\n"),
        20,
        "expect[0].plnr",
        "the donor of 0255501234 is 9001, not 9002",
    );
    let s = load(&exp(plnr));
    assert!(matches!(
        s.expects[0].kind,
        ExpectKind::Plnr {
            absent: false,
            current: None,
            status: None,
            ..
        }
    ));
}

#[test]
fn load_section_is_checked() {
    let agreement = "[[agreements]]\ncarriers = [\"9001\", \"9002\"]\n";
    let ld = |body: &str| with(&format!("{agreement}[load]\n{body}"));
    let ok = load(&ld("ports = 5\ncategories = { A = 0.5, D = 0.5 }\nwindow = \"2bd\"\n"));
    let spec = ok.load.unwrap();
    assert_eq!(spec.numbers_per_cat_c, (1, 1));
    assert_eq!((spec.share_a, spec.share_c, spec.share_d), (0.5, 0.0, 0.5));
    assert_only(
        &ld("ports = 5\ncategories = { A = 0.5, C = 0.4 }\nnumbers_per_cat_c = [1, 2]\nwindow = \"2d\"\n"),
        16,
        "load.categories",
        "sum to",
    );
    assert_only(
        &ld("ports = 5\ncategories = { A = 1.5 }\nwindow = \"2d\"\n"),
        16,
        "load.categories.A",
        "not between 0 and 1",
    );
    assert_only(
        &ld("ports = 5\ncategories = { A = 0.9, C = 0.1 }\nwindow = \"2d\"\n"),
        14,
        "load.numbers_per_cat_c",
        "required when the Cat C share",
    );
    assert_only(
        &ld("ports = 5\ncategories = { C = 1 }\nnumbers_per_cat_c = [5, 2]\nwindow = \"2d\"\n"),
        17,
        "load.numbers_per_cat_c",
        "1 <= min <= max <= 1000",
    );
    assert_only(
        &ld("ports = 5\ncategories = { C = 1 }\nnumbers_per_cat_c = [1, 1001]\nwindow = \"2d\"\n"),
        17,
        "load.numbers_per_cat_c",
        "1 <= min <= max <= 1000",
    );
    assert_only(
        &ld("ports = 5\ncategories = { C = 1 }\nnumbers_per_cat_c = [0, 3]\nwindow = \"2d\"\n"),
        17,
        "load.numbers_per_cat_c",
        "1 <= min",
    );
    assert_only(
        &ld("ports = 10000001\ncategories = { A = 1 }\nwindow = \"2d\"\n"),
        15,
        "load.ports",
        "not between 0 and 10000000",
    );
    assert_only(
        &ld("ports = 5\ncategories = { A = 1 }\nwindow = \"0d\"\n"),
        17,
        "load.window",
        "positive",
    );
    assert_only(
        &ld("ports = 5\ncategories = { A = 1 }\n"),
        14,
        "load.window",
        "missing required key",
    );
    assert_only(
        &with("[load]\nports = 5\ncategories = { A = 1 }\nwindow = \"2d\"\n"),
        12,
        "load",
        "no [[agreements]]",
    );
    let exact =
        ld("ports = 5\ncategories = { A = 0.7, C = 0.2, D = 0.1 }\nnumbers_per_cat_c = [2, 2]\nwindow = \"2d\"\n");
    load(&exact);
}

// --- many errors at once --------------------------------------------------------------------

#[test]
fn all_errors_are_collected_and_sorted_by_line() {
    let text = r#"name = "many"
start = "2026-03-02T08:00:00+11:00"
seed = -4
colour = "red"

[[carriers]]
code = "90A1"
ranges = ["0255500000-0255509999"]

[[carriers]]
code = "9002"
ranges = ["0255505000-0255505999"]
reads_plnr = "sometimes"

[[ports]]
ref = "P1"
category = "A"
numbers = ["0255501234"]
gaining = "9009"
submit_at = "2026-03-02T09:00:00+11:00"
cutover = "yesterday"

[[faults]]
carrier = "9002"
on = "ECA"
action = "delay"

[[expect]]
port = "P2"
state = "completed"
"#;
    let errs = errors(text);
    let got: Vec<(Option<usize>, &str)> = errs.iter().map(|e| (e.line, e.key.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (Some(3), "seed"),
            (Some(4), "colour"),
            (Some(7), "carriers[0].code"),
            (Some(13), "carriers[1].reads_plnr"),
            (Some(19), "ports[0].gaining"),
            (Some(21), "ports[0].cutover"),
            (Some(23), "faults[0].by"),
            (Some(29), "expect[0].port"),
        ],
        "{}",
        render(&errs)
    );
}

// --- robustness -----------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = Scenario::from_toml(&text, None);
    }

    #[test]
    fn toml_looking_text_never_panics(text in "(\\[\\[?[a-z]{1,8}\\]\\]?\n|[a-z_]{1,10} = (\"[0-9A-Z:+ -]{0,25}\"|-?[0-9]{1,12}|true|\\[\"[0-9-]{0,22}\"\\]|\\{ A = 1 \\})\n){0,12}") {
        let _ = Scenario::from_toml(&text, None);
    }

    #[test]
    fn mutated_full_scenario_never_panics(cut in 0usize..4000, len in 0usize..40, insert in "\\PC{0,8}") {
        let mut text = FULL.to_string();
        let start = text.char_indices().map(|(i, _)| i).nth(cut % FULL.chars().count()).unwrap_or(0);
        let end = text[start..].char_indices().map(|(i, _)| start + i).nth(len).unwrap_or(text.len());
        text.replace_range(start..end, &insert);
        if let Err(errs) = Scenario::from_toml(&text, None) {
            prop_assert!(!errs.is_empty());
            for e in errs {
                prop_assert!(!e.key.is_empty());
                if let Some(l) = e.line {
                    prop_assert!(l >= 1 && l <= text.lines().count() + 1, "line {} of {}", l, text.lines().count());
                }
            }
        }
    }
}

#[test]
fn dotted_keys_and_sub_table_headers_have_lines() {
    let agreement = "[[agreements]]\ncarriers = [\"9001\", \"9002\"]\n";
    let text = with(&format!(
        "{agreement}[load]\nports = 5\nwindow = \"1d\"\n[load.categories]\nA = 0.5\nC = 0.5\nE = 0.0\n"
    ));
    let errs = errors(&text);
    assert_eq!(errs.len(), 2, "{}", render(&errs));
    assert_error(&errs, 14, "load.numbers_per_cat_c", "required when the Cat C share");
    assert_error(&errs, 20, "load.categories.E", "unknown key");
    let text = format!("load.ports = 5\nload.window = \"1d\"\nload.categories = {{ A = 1 }}\nload.colour = 1\n{BASE}[[agreements]]\ncarriers = [\"9001\", \"9002\"]\n");
    assert_only(&text, 4, "load.colour", "unknown key");
    let text = with(&PORT_P1.replace("ref = \"P1\"", "ref = \"P1\"\nextra.deep = 1"));
    assert_only(&text, 14, "ports[0].extra", "unknown key");
}

// --- notes -----------------------------------------------------------------------------------

#[test]
fn notes_load_at_top_level_and_per_port_in_file_order() {
    let text = with(&format!(
        "{PORT_P1}notes = [{{ at = \"2026-03-02T09:30:00+11:00\", text = \"The SNA is in.\" }}]\n\n\
         [[notes]]\nat = \"2026-03-02T08:30:00+11:00\"\ntext = \"\"\"Two lines:\nthe first and the second.\"\"\"\n\n\
         [[notes]]\nat = \"2026-03-09T10:00:00+11:00\"\nref = \"P1\"\ntext = \"Cutover day.\"\n"
    ));
    let s = load(&text);
    assert_eq!(s.notes.len(), 3, "{:?}", s.notes);
    let p1: PortRef = "P1".parse().unwrap();
    assert_eq!(s.notes[0].port, Some(p1));
    assert_eq!(s.notes[0].text, "The SNA is in.");
    assert_eq!(s.notes[0].line, line_of(&text, "notes = ["));
    assert_eq!(s.notes[1].port, None);
    assert_eq!(s.notes[1].text, "Two lines:\nthe first and the second.");
    assert_eq!(s.notes[2].port, Some(p1));
    assert_eq!(s.notes[2].at, at("2026-03-09T10:00:00+11:00"));
    assert_eq!(s.ports[0].notes.len(), 1);
    // The audit's view leaves them out; the report's reads them, and the port notes' refs.
    let market = Scenario::market_from_toml(&text, None).unwrap();
    assert!(market.notes.is_empty());
    let report = Scenario::market_and_notes_from_toml(&text, None).unwrap();
    assert_eq!(report.notes, s.notes);
    assert!(report.ports.is_empty());
}

#[test]
fn bad_notes_name_the_line_and_field() {
    let note = |body: &str| with(&format!("{PORT_P1}\n[[notes]]\n{body}\n"));
    let text = note("at = \"2026-03-02T09:00:00+11:00\"\ntext = \"   \"");
    assert_only(&text, line_of(&text, "text ="), "notes[0].text", "the note is empty");
    let text = note("text = \"no time\"");
    assert_only(
        &text,
        line_of(&text, "[[notes]]"),
        "notes[0].at",
        "missing required key",
    );
    let text = note("at = \"2026-03-01T09:00:00+11:00\"\ntext = \"early\"");
    assert_only(
        &text,
        line_of(&text, "at = \"2026-03-01"),
        "notes[0].at",
        "before the scenario's start",
    );
    let text = note("at = \"2026-03-02T09:00:00+11:00\"\ntext = \"x\"\nref = \"P9\"");
    assert_only(
        &text,
        line_of(&text, "ref = \"P9"),
        "notes[0].ref",
        "port P9 is not declared",
    );
    let text = note("at = \"2026-03-02T09:00:00+11:00\"\ntext = \"x\"\ncolour = \"red\"");
    assert_only(
        &text,
        line_of(&text, "colour"),
        "notes[0].colour",
        "unknown key in a [[notes]] table",
    );
    let text = note("at = \"2026-03-02T09:00:00+11:00\"\ntext = \"bell \\u0007\"");
    assert_only(
        &text,
        line_of(&text, "text ="),
        "notes[0].text",
        "control character U+0007",
    );
    let long = "x".repeat(lnp_sim::scenario::MAX_NOTE_CHARS + 1);
    let text = note(&format!("at = \"2026-03-02T09:00:00+11:00\"\ntext = \"{long}\""));
    assert_only(&text, line_of(&text, "text ="), "notes[0].text", "at most 2000");
    // A port's note has no `ref`: it is the port's.
    let text = with(&format!(
        "{PORT_P1}notes = [{{ at = \"2026-03-02T09:30:00+11:00\", text = \"x\", ref = \"P1\" }}]\n"
    ));
    assert_only(
        &text,
        line_of(&text, "notes = ["),
        "ports[0].notes[0].ref",
        "unknown key in a note of a [[ports]] table",
    );
    // The report's reading checks notes too, naming the line.
    let text = note("at = \"not a time\"\ntext = \"x\"");
    let errs = Scenario::market_and_notes_from_toml(&text, None).unwrap_err();
    assert_error(&errs, line_of(&text, "at = \"not"), "notes[0].at", "");
}

//! The built-in state holiday sets against an independent table of 2020–2040 (the Python
//! package `holidays`; see `data/README.md`). Dates are compared, not names: a date is a holiday
//! in a state or it is not. Every difference must be listed in [`KNOWN_DIFFERENCES`] with the
//! reason lnpsim's rule stands, and every listed difference must still occur.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use lnp_model::State;

const TABLE: &str = include_str!("data/au-state-holidays-2020-2040.csv");
const YEARS: std::ops::RangeInclusive<i32> = 2020..=2040;

/// Which side has a date that the other lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Only {
    /// In the Python table, not in lnpsim's set.
    Table,
    /// In lnpsim's set, not in the Python table.
    Lnpsim,
}

/// A known difference: the state, which side has the date, the table's holiday name (for a
/// table-only date: every table row on that date must have this name) or lnpsim's, the years
/// it covers, and why lnpsim's rule stands.
struct Known {
    state: State,
    only: Only,
    name: &'static str,
    years: std::ops::RangeInclusive<i32>,
    why: &'static str,
}

const KNOWN_DIFFERENCES: &[Known] = &[
    Known {
        state: State::Qld,
        only: Only::Table,
        name: "The Royal Queensland Show",
        years: 2020..=2040,
        why: "the Ekka Wednesday is a show holiday appointed for the Brisbane area only (Holidays \
              Act 1983 (Qld), s 4: show days are appointed district by district), not a \
              state-wide public holiday; lnpsim leaves regional days out",
    },
    Known {
        state: State::Vic,
        only: Only::Table,
        name: "Friday before the AFL Grand Final",
        years: 2026..=2040,
        why: "appointed each year by the Minister once the AFL fixes the Grand Final; the \
              table projects 'the Friday before the last Saturday of September', lnpsim lists \
              only the gazetted dates (VIC_GRAND_FINAL_FRIDAY, through 2025)",
    },
    Known {
        state: State::Wa,
        only: Only::Table,
        name: "King's Birthday",
        years: 2026..=2040,
        why: "appointed each year by proclamation (Public and Bank Holidays Act 1972, Schedule \
              2); the table projects 'the last Monday of September', which 2024's proclamation \
              (23 September) shows is no rule; lnpsim lists only the proclaimed dates \
              (WA_KINGS_BIRTHDAY, through 2025)",
    },
    Known {
        state: State::Tas,
        only: Only::Table,
        name: "Easter Sunday",
        years: 2027..=2040,
        why: "the table cites a 2026 amendment of the Statutory Holidays Act 2000 that lnpsim \
              could not confirm; Easter Sunday is a Sunday, so business days are the same \
              either way",
    },
];

/// The table's holidays: state -> date -> names.
fn table() -> BTreeMap<State, BTreeMap<NaiveDate, Vec<String>>> {
    let mut out: BTreeMap<State, BTreeMap<NaiveDate, Vec<String>>> = BTreeMap::new();
    let mut rows = 0;
    for (i, line) in TABLE.lines().enumerate() {
        if line.starts_with('#') || line == "state,date,name" || line.is_empty() {
            continue;
        }
        let mut f = line.splitn(3, ',');
        let (Some(st), Some(date), Some(name)) = (f.next(), f.next(), f.next()) else {
            panic!("line {}: {line:?}", i + 1);
        };
        let state: State = st.parse().unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        let date = lnp_model::time::parse_date(date).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        assert!(YEARS.contains(&date.year()), "line {}: {date}", i + 1);
        out.entry(state)
            .or_default()
            .entry(date)
            .or_default()
            .push(name.to_string());
        rows += 1;
    }
    assert!(rows > 2000, "the table has {rows} rows");
    assert_eq!(out.len(), 8, "every state is in the table");
    out
}

/// lnpsim's holidays: date -> names, for one state over [`YEARS`].
fn ours(state: State) -> BTreeMap<NaiveDate, Vec<String>> {
    let mut out: BTreeMap<NaiveDate, Vec<String>> = BTreeMap::new();
    for year in YEARS {
        for h in state.holidays(year) {
            assert_eq!(h.date.year(), year, "{state} {year}: {} on {}", h.name, h.date);
            out.entry(h.date).or_default().push(h.name);
        }
    }
    out
}

fn explained(state: State, only: Only, date: NaiveDate, names: &[String]) -> Option<usize> {
    KNOWN_DIFFERENCES.iter().position(|k| {
        k.state == state && k.only == only && k.years.contains(&date.year()) && names.iter().all(|n| n == k.name)
    })
}

#[test]
fn the_state_sets_match_the_independent_table_but_for_known_differences() {
    let table = table();
    let mut unexplained = Vec::new();
    let mut used = BTreeSet::new();
    let mut compared = 0;
    for state in State::ALL {
        let theirs = &table[&state];
        let mine = ours(state);
        let dates: BTreeSet<NaiveDate> = theirs.keys().chain(mine.keys()).copied().collect();
        for date in dates {
            compared += 1;
            let (only, names) = match (theirs.get(&date), mine.get(&date)) {
                (Some(_), Some(_)) => continue,
                (Some(n), None) => (Only::Table, n),
                (None, Some(n)) => (Only::Lnpsim, n),
                (None, None) => unreachable!(),
            };
            match explained(state, only, date, names) {
                Some(i) => {
                    used.insert(i);
                }
                None => unexplained.push(format!("{state} {date} {only:?} only: {names:?}")),
            }
        }
    }
    assert!(compared > 2000, "compared {compared} dates");
    assert!(
        unexplained.is_empty(),
        "{} unexplained difference(s):\n  {}",
        unexplained.len(),
        unexplained.join("\n  ")
    );
    for (i, k) in KNOWN_DIFFERENCES.iter().enumerate() {
        assert!(
            used.contains(&i),
            "known difference no longer occurs: {} {:?} {} ({})",
            k.state,
            k.only,
            k.name,
            k.why
        );
    }
}

#[test]
fn each_known_difference_covers_every_year_it_claims() {
    // A difference claimed for a span of years is about a holiday that side has in each of
    // them (on a date the other side lacks, unless it falls on another holiday of that side, as
    // Easter Sunday on Anzac Day in 2038): no entry covers more years than it should.
    let table = table();
    for k in KNOWN_DIFFERENCES {
        let theirs = &table[&k.state];
        let mine = ours(k.state);
        let (side, other) = match k.only {
            Only::Table => (theirs, &mine),
            Only::Lnpsim => (&mine, theirs),
        };
        for year in k.years.clone() {
            let days: Vec<&NaiveDate> = side
                .iter()
                .filter(|(d, n)| d.year() == year && n.iter().any(|x| x == k.name))
                .map(|(d, _)| d)
                .collect();
            assert!(!days.is_empty(), "{} {year}: no {} ({:?})", k.state, k.name, k.only);
            let differs = days.iter().any(|d| !other.contains_key(*d));
            let coincides = days.iter().all(|d| side[*d].len() > 1 || other.contains_key(*d));
            assert!(differs || coincides, "{} {year}: {} ({:?})", k.state, k.name, k.only);
        }
    }
}

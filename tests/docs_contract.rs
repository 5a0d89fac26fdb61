//! The reference in `docs/` against the code it describes, so that neither drifts unnoticed:
//!
//! - the rules table of `docs/rules.md` names exactly the rule IDs of `RuleId::ALL`, in that
//!   order, with the built-in rulebook's value, source and clause for each;
//! - its reject-code table is the built-in reject-code table;
//! - the message and action tables of `docs/trace-format.md` name exactly the keywords of
//!   `MsgKind`, each in the right table, and its columns table lists the trace's columns;
//! - the record tables of `docs/plnr-format.md` are the built-in PLNR-SIM/1 layout;
//! - the state-holidays table of `docs/rules.md` names every built-in state, in order, with the
//!   Act `State::act` cites.
//!
//! Tables are found by their header row, so the prose around them can change freely.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use lnp_model::{MsgKind, RuleId, Rulebook, State};
use lnp_plnr::{Layout, RecordLayout};

fn doc(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One Markdown table: its header cells and its body rows, each with its 1-based line.
struct Table {
    header: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

/// The cells of a table line (`| a | b |`), trimmed. Cells may not contain `|`.
fn cells(line: &str) -> Vec<String> {
    let t = line.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = t.strip_suffix('|').unwrap_or(t);
    t.split('|').map(|c| c.trim().to_string()).collect()
}

fn is_separator(cells: &[String]) -> bool {
    cells
        .iter()
        .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':')))
}

/// Every table of a document outside fenced code blocks (quoted tables too, after `> `).
fn tables(text: &str) -> Vec<Table> {
    let mut out: Vec<Table> = Vec::new();
    let mut in_fence = false;
    let mut current: Option<Table> = None;
    let mut pending_header: Option<Vec<String>> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_start().trim_start_matches('>').trim();
        if line.starts_with("```") {
            in_fence = !in_fence;
        }
        if in_fence || !line.starts_with('|') {
            out.extend(current.take());
            pending_header = None;
            continue;
        }
        let row = cells(line);
        if let Some(table) = current.as_mut() {
            table.rows.push((i + 1, row));
        } else if let Some(header) = pending_header.take() {
            if is_separator(&row) {
                current = Some(Table {
                    header,
                    rows: Vec::new(),
                });
            } else {
                pending_header = Some(row);
            }
        } else {
            pending_header = Some(row);
        }
    }
    out.extend(current);
    out
}

/// The tables whose header row is exactly `header`.
fn tables_with<'a>(all: &'a [Table], header: &[&str]) -> Vec<&'a Table> {
    all.iter().filter(|t| t.header == header).collect()
}

/// The one table whose header row is exactly `header`.
fn table<'a>(all: &'a [Table], doc_name: &str, header: &[&str]) -> &'a Table {
    let found = tables_with(all, header);
    assert!(
        found.len() == 1,
        "docs/{doc_name}: expected one table with the header | {} |, found {}",
        header.join(" | "),
        found.len()
    );
    found[0]
}

/// The text of a cell that is one backquoted token (`` `CA-AGE` ``), else `None`.
fn backquoted(cell: &str) -> Option<&str> {
    let inner = cell.strip_prefix('`')?.strip_suffix('`')?;
    (!inner.is_empty() && !inner.contains('`')).then_some(inner)
}

/// Every backquoted token in a cell (`` `A`, `B` `` gives `A` and `B`).
fn backquoted_tokens(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).filter(|t| !t.is_empty()).collect()
}

/// The clause numbers in a text (`4.2.32`, `3.8.1`), ignoring everything else.
fn clause_numbers(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map(|t| t.trim_matches('.'))
        .filter(|t| t.contains('.') && t.split('.').all(|part| !part.is_empty()))
        .map(str::to_string)
        .collect()
}

/// The rows of the rules table whose first cell is a backquoted rule ID, in document order.
fn rule_rows(all: &[Table]) -> Vec<(usize, String, Vec<String>)> {
    let t = table(all, "rules.md", &["ID", "value", "source", "clause", "in short"]);
    t.rows
        .iter()
        .filter_map(|(line, row)| {
            let id = backquoted(row.first()?)?;
            Some((*line, id.to_string(), row.clone()))
        })
        .collect()
}

#[test]
fn rules_table_lists_every_rule_id_and_no_other() {
    let all = tables(&doc("rules.md"));
    let rows = rule_rows(&all);
    let mut seen = BTreeSet::new();
    let twice: Vec<&str> = rows
        .iter()
        .filter(|(_, id, _)| !seen.insert(id.as_str()))
        .map(|(_, id, _)| id.as_str())
        .collect();
    let known: BTreeSet<&str> = RuleId::ALL.iter().copied().map(RuleId::as_str).collect();
    let unknown: Vec<String> = rows
        .iter()
        .filter(|(_, id, _)| !known.contains(id.as_str()))
        .map(|(line, id, _)| format!("{id} (line {line})"))
        .collect();
    let missing: Vec<&str> = RuleId::ALL
        .iter()
        .copied()
        .map(RuleId::as_str)
        .filter(|id| !seen.contains(id))
        .collect();
    assert!(
        unknown.is_empty() && missing.is_empty() && twice.is_empty(),
        "docs/rules.md's rules table and RuleId::ALL differ.\n  in the doc but not a rule ID: {unknown:?}\n  \
         rule IDs missing from the doc: {missing:?}\n  listed more than once: {twice:?}"
    );
    let doc_order: Vec<&str> = rows.iter().map(|(_, id, _)| id.as_str()).collect();
    let code_order: Vec<&str> = RuleId::ALL.iter().copied().map(RuleId::as_str).collect();
    assert_eq!(
        doc_order, code_order,
        "docs/rules.md lists the rules in another order than RuleId::ALL"
    );
}

#[test]
fn rules_table_values_sources_and_clauses_are_the_built_in_rulebook() {
    let all = tables(&doc("rules.md"));
    let by_id: BTreeMap<String, (usize, Vec<String>)> = rule_rows(&all)
        .into_iter()
        .map(|(line, id, row)| (id, (line, row)))
        .collect();
    let book = Rulebook::default();
    let mut wrong = Vec::new();
    for &id in RuleId::ALL {
        let Some((line, row)) = by_id.get(id.as_str()) else {
            continue; // reported by rules_table_lists_every_rule_id_and_no_other
        };
        let [_, value, source, clause, _] = row.as_slice() else {
            wrong.push(format!("line {line}: {id}: expected 5 cells, found {}", row.len()));
            continue;
        };
        let want = book.value_text(id);
        if *value != want {
            wrong.push(format!(
                "line {line}: {id}: value {value:?}, the rulebook says {want:?}"
            ));
        }
        if source != id.source() {
            wrong.push(format!(
                "line {line}: {id}: source {source:?}, the code says {:?}",
                id.source()
            ));
        }
        let (doc_clauses, code_clauses) = (clause_numbers(clause), clause_numbers(id.clause()));
        if doc_clauses != code_clauses {
            wrong.push(format!(
                "line {line}: {id}: clauses {doc_clauses:?}, the code cites {code_clauses:?}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "docs/rules.md's rules table:\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn reject_code_table_is_the_built_in_table() {
    let all = tables(&doc("rules.md"));
    let t = table(&all, "rules.md", &["code", "meaning", "answers", "valid ground"]);
    let book = Rulebook::default();
    let built_in: BTreeMap<String, _> = book
        .reject_codes
        .iter()
        .map(|(c, info)| (c.to_string(), info))
        .collect();
    let mut in_doc = BTreeSet::new();
    let mut wrong = Vec::new();
    for (line, row) in &t.rows {
        let [code, meaning, answers, valid] = row.as_slice() else {
            wrong.push(format!("line {line}: expected 4 cells, found {}", row.len()));
            continue;
        };
        let Some(code) = backquoted(code) else {
            wrong.push(format!("line {line}: the code {code:?} is not backquoted"));
            continue;
        };
        if !in_doc.insert(code.to_string()) {
            wrong.push(format!("line {line}: code {code} is listed twice"));
        }
        let Some(info) = built_in.get(code) else {
            wrong.push(format!("line {line}: code {code} is not in the built-in table"));
            continue;
        };
        let meaning = meaning.replace('`', "");
        if meaning != info.meaning {
            wrong.push(format!(
                "line {line}: {code}: meaning {meaning:?}, the table says {:?}",
                info.meaning
            ));
        }
        let doc_on: Result<BTreeSet<MsgKind>, _> = answers
            .split(',')
            .map(|k| k.trim().trim_matches('`').parse::<MsgKind>())
            .collect();
        let code_on: BTreeSet<MsgKind> = info.on.iter().copied().collect();
        match doc_on {
            Ok(doc_on) if doc_on == code_on => {}
            Ok(doc_on) => wrong.push(format!(
                "line {line}: {code}: answers {doc_on:?}, the table says {code_on:?}"
            )),
            Err(e) => wrong.push(format!("line {line}: {code}: answers {answers:?}: {e}")),
        }
        let want = if info.valid_ground { "yes" } else { "no" };
        if valid != want {
            wrong.push(format!(
                "line {line}: {code}: valid ground {valid:?}, the table says {want:?}"
            ));
        }
    }
    let missing: Vec<&String> = built_in.keys().filter(|c| !in_doc.contains(*c)).collect();
    if !missing.is_empty() {
        wrong.push(format!("codes of the built-in table missing from the doc: {missing:?}"));
    }
    assert!(
        wrong.is_empty(),
        "docs/rules.md's reject-code table:\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn trace_keyword_tables_name_every_msg_kind() {
    let all = tables(&doc("trace-format.md"));
    let messages = table(&all, "trace-format.md", &["msg", "from → to", "meaning"]);
    let actions = table(&all, "trace-format.md", &["msg", "by", "meaning"]);
    let mut seen = BTreeSet::new();
    let mut wrong = Vec::new();
    for (t, want_action) in [(messages, false), (actions, true)] {
        for (line, row) in &t.rows {
            let first = row.first().map_or("", String::as_str);
            let keywords = backquoted_tokens(first);
            if keywords.is_empty() {
                wrong.push(format!("line {line}: no backquoted keyword in {first:?}"));
            }
            for kw in keywords {
                match kw.parse::<MsgKind>() {
                    Ok(kind) => {
                        if !seen.insert(kind) {
                            wrong.push(format!("line {line}: {kw} is listed twice"));
                        }
                        if kind.is_action() != want_action {
                            let (table, is) = if want_action {
                                ("actions", "a message")
                            } else {
                                ("messages", "an action")
                            };
                            wrong.push(format!("line {line}: {kw} is in the {table} table but is {is}"));
                        }
                    }
                    Err(e) => wrong.push(format!("line {line}: {kw}: {e}")),
                }
            }
        }
    }
    let missing: Vec<&str> = MsgKind::ALL
        .iter()
        .filter(|k| !seen.contains(*k))
        .map(|k| k.keyword())
        .collect();
    if !missing.is_empty() {
        wrong.push(format!("MsgKind keywords missing from the doc: {missing:?}"));
    }
    assert!(
        wrong.is_empty(),
        "docs/trace-format.md's keyword tables:\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn trace_columns_table_lists_the_trace_columns_in_order() {
    let all = tables(&doc("trace-format.md"));
    let t = table(&all, "trace-format.md", &["column", "content"]);
    let doc_columns: Vec<&str> = t.rows.iter().filter_map(|(_, row)| backquoted(row.first()?)).collect();
    assert_eq!(
        doc_columns,
        lnp_model::trace::COLUMNS,
        "docs/trace-format.md's columns table and the trace's columns differ"
    );
}

/// `2-9` gives (2, 9); `42` gives (42, 42).
fn positions(cell: &str) -> Option<(usize, usize)> {
    let (first, last) = cell.split_once('-').unwrap_or((cell, cell));
    Some((first.trim().parse().ok()?, last.trim().parse().ok()?))
}

/// The layout's fields of one record type as (start, end, width, name), the record type first.
fn layout_rows(layout: &Layout, record: &RecordLayout) -> Vec<(usize, usize, usize, String)> {
    let rt = &layout.record_type;
    let mut rows = vec![(rt.start, rt.start + rt.width - 1, rt.width, rt.name.clone())];
    rows.extend(
        record
            .fields
            .iter()
            .map(|f| (f.start, f.end(), f.width, f.name.clone())),
    );
    rows
}

#[test]
fn plnr_record_tables_are_the_built_in_layout() {
    let all = tables(&doc("plnr-format.md"));
    let layout = Layout::builtin();
    let record_tables = tables_with(&all, &["pos", "len", "field", "content"]);
    let mut wrong = Vec::new();
    for record in [&layout.header, &layout.detail, &layout.trailer] {
        let code = format!("`{}`", record.code);
        // A record's table is the one whose first row (the record type) holds its code.
        let Some(t) = record_tables
            .iter()
            .find(|t| t.rows.first().is_some_and(|(_, row)| row.get(3) == Some(&code)))
        else {
            wrong.push(format!("no record table for record type {code}"));
            continue;
        };
        let mut doc_rows = Vec::new();
        for (line, row) in &t.rows {
            let [pos, len, field, _] = row.as_slice() else {
                wrong.push(format!("line {line}: expected 4 cells, found {}", row.len()));
                continue;
            };
            match (positions(pos), len.parse::<usize>()) {
                (Some((start, end)), Ok(width)) => doc_rows.push((start, end, width, field.clone())),
                _ => wrong.push(format!("line {line}: cannot read pos {pos:?} and len {len:?}")),
            }
        }
        let want = layout_rows(&layout, record);
        if doc_rows != want {
            wrong.push(format!(
                "record {code}: the doc has {doc_rows:?}\n    the built-in layout has {want:?}"
            ));
        }
        if let Some(&(_, end, _, _)) = want.last() {
            if end != layout.record_length {
                wrong.push(format!(
                    "record {code} ends at column {end}, not {}",
                    layout.record_length
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "docs/plnr-format.md's record tables:\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn state_holidays_table_names_every_state_and_its_act() {
    let all = tables(&doc("rules.md"));
    let header = [
        "state",
        "source",
        "whole-day public holidays (beyond New Year's Day, Australia Day, Good Friday, Easter Monday, Anzac Day, Christmas Day, Boxing Day)",
        "weekend substitution",
    ];
    let t = table(&all, "rules.md", &header);
    let codes: Vec<&str> = t.rows.iter().filter_map(|(_, r)| backquoted(&r[0])).collect();
    assert_eq!(codes, State::CODES, "docs/rules.md: the state rows");
    for ((line, row), state) in t.rows.iter().zip(State::ALL) {
        assert_eq!(row[1], state.act(), "docs/rules.md:{line}: the source of {state}");
    }
}

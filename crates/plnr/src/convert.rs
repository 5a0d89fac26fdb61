//! Conversions: CSV (both ways), JSON Lines, and the routing feed (`number;carrier`).

use std::io::{self, Read, Write};

use chrono::NaiveDateTime;
use lnp_model::{CarrierCode, Category, PortStatus, TelephoneNumber};
use serde_json::{json, Value};
use thiserror::Error;

use crate::types::{Action, FileKind, Header, Record, Trailer};

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 8] = [
    "action",
    "number",
    "current",
    "losing",
    "status",
    "effective_at",
    "category",
    "ref",
];

const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// A Sydney local time as written in CSV and JSON: `2026-03-02T09:15:00` (no offset; it is
/// the register's local time, so it converts back exactly).
pub fn format_local(t: NaiveDateTime) -> String {
    t.format(TIME_FORMAT).to_string()
}

/// Writes records as CSV with a header row.
pub struct CsvOut<W: Write> {
    w: csv::Writer<W>,
}

impl<W: Write> CsvOut<W> {
    pub fn new(out: W) -> io::Result<Self> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(CSV_COLUMNS).map_err(io::Error::other)?;
        Ok(Self { w })
    }

    pub fn write(&mut self, r: &Record) -> io::Result<()> {
        self.w
            .write_record([
                r.action.to_string(),
                r.number.to_string(),
                r.current.to_string(),
                r.losing.to_string(),
                r.status.to_string(),
                format_local(r.effective_at),
                r.category.to_string(),
                r.port_ref.clone(),
            ])
            .map_err(io::Error::other)
    }

    pub fn finish(self) -> io::Result<W> {
        self.w.into_inner().map_err(|e| io::Error::other(e.to_string()))
    }
}

/// A CSV row that is not a record.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {message}")]
pub struct CsvError {
    pub line: u64,
    pub message: String,
}

/// Reads records from CSV with the header row [`CSV_COLUMNS`].
pub fn read_csv<R: Read>(src: R) -> impl Iterator<Item = Result<Record, CsvError>> {
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(src);
    let header_ok = match rdr.headers() {
        Ok(h) if h.iter().eq(CSV_COLUMNS) => Ok(()),
        Ok(h) => Err(CsvError {
            line: 1,
            message: format!(
                "columns are {:?}, expected {}",
                h.iter().collect::<Vec<_>>(),
                CSV_COLUMNS.join(",")
            ),
        }),
        Err(e) => Err(CsvError {
            line: 1,
            message: e.to_string(),
        }),
    };
    let first = header_ok.err().map(Err);
    let failed = first.is_some();
    let rows = rdr.into_records().map(|row| {
        let row = row.map_err(|e| CsvError {
            line: e.position().map_or(0, csv::Position::line),
            message: e.to_string(),
        })?;
        let line = row.position().map_or(0, csv::Position::line);
        parse_row(&row).map_err(|message| CsvError { line, message })
    });
    first.into_iter().chain(rows.take_while(move |_| !failed))
}

fn parse_row(row: &csv::StringRecord) -> Result<Record, String> {
    if row.len() != CSV_COLUMNS.len() {
        return Err(format!("{} fields, expected {}", row.len(), CSV_COLUMNS.len()));
    }
    let col = |i: usize| row.get(i).unwrap_or_default();
    let one_char = |s: &str| {
        let mut it = s.chars();
        match (it.next(), it.next()) {
            (Some(c), None) => Some(c),
            _ => None,
        }
    };
    let action = one_char(col(0))
        .and_then(Action::from_char)
        .ok_or_else(|| format!("action {:?}: expected A, C or D", col(0)))?;
    let number: TelephoneNumber = col(1).parse().map_err(|e| format!("number {:?}: {e}", col(1)))?;
    let current: CarrierCode = col(2).parse().map_err(|e| format!("current: {e}"))?;
    let losing: CarrierCode = col(3).parse().map_err(|e| format!("losing: {e}"))?;
    let status = one_char(col(4))
        .and_then(PortStatus::from_char)
        .ok_or_else(|| format!("status {:?}: expected P, C, N or R", col(4)))?;
    let effective_at = NaiveDateTime::parse_from_str(col(5), TIME_FORMAT)
        .map_err(|_| format!("effective_at {:?}: expected YYYY-MM-DDTHH:MM:SS", col(5)))?;
    let category: Category = col(6).parse().map_err(|e| format!("category: {e}"))?;
    Ok(Record {
        action,
        number,
        current,
        losing,
        status,
        effective_at,
        category,
        port_ref: col(7).to_string(),
    })
}

pub fn header_json(h: &Header) -> Value {
    json!({
        "record": "header",
        "donor": h.donor.to_string(),
        "file_date": h.file_date.format("%Y-%m-%d").to_string(),
        "file_seq": h.file_seq,
        "created_at": format_local(h.created_at),
        "kind": h.kind.to_string(),
    })
}

pub fn record_json(r: &Record) -> Value {
    json!({
        "record": "detail",
        "action": r.action.to_string(),
        "number": r.number.to_string(),
        "current": r.current.to_string(),
        "losing": r.losing.to_string(),
        "status": r.status.to_string(),
        "effective_at": format_local(r.effective_at),
        "category": r.category.to_string(),
        "ref": r.port_ref,
    })
}

pub fn trailer_json(t: &Trailer) -> Value {
    json!({"record": "trailer", "detail_count": t.detail_count, "hash_total": t.hash_total})
}

/// The carrier a record tells routing software to send the number to, or `None` when it
/// changes nothing. In a full snapshot: a completed port routes to its current carrier; a
/// pending one still routes to its losing carrier (listed unless that is the donor, which
/// needs no entry). In an update: completed routes to the current carrier (the donor, for
/// `D`); did-not-proceed and returned route as before, to the losing carrier; pending
/// changes nothing yet.
pub fn feed_carrier(kind: FileKind, donor: CarrierCode, r: &Record) -> Option<CarrierCode> {
    match (kind, r.status) {
        (_, PortStatus::C) => Some(r.current),
        (FileKind::Full, PortStatus::P) => (r.losing != donor).then_some(r.losing),
        (FileKind::Full, PortStatus::N | PortStatus::R) | (FileKind::Update, PortStatus::P) => None,
        (FileKind::Update, PortStatus::N | PortStatus::R) => Some(r.losing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(action: Action, current: u16, losing: u16, status: PortStatus) -> Record {
        Record {
            action,
            number: TelephoneNumber::from_nsn(255_501_234).unwrap(),
            current: CarrierCode::new(current).unwrap(),
            losing: CarrierCode::new(losing).unwrap(),
            status,
            effective_at: NaiveDateTime::parse_from_str("2026-03-02T09:15:00", TIME_FORMAT).unwrap(),
            category: Category::A,
            port_ref: "SNA-000001".into(),
        }
    }

    #[test]
    fn csv_round_trip() {
        let records = vec![
            rec(Action::A, 9002, 9001, PortStatus::C),
            rec(Action::D, 9001, 9002, PortStatus::C),
        ];
        let mut out = CsvOut::new(Vec::new()).unwrap();
        for r in &records {
            out.write(r).unwrap();
        }
        let bytes = out.finish().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&bytes).lines().nth(1),
            Some("A,0255501234,9002,9001,C,2026-03-02T09:15:00,A,SNA-000001")
        );
        let back: Result<Vec<Record>, CsvError> = read_csv(&bytes[..]).collect();
        assert_eq!(back, Ok(records));
    }

    #[test]
    fn csv_errors_name_the_line() {
        let text = "action,number,current,losing,status,effective_at,category,ref\nA,0455501234,9002,9001,C,2026-03-02T09:15:00,A,X\n";
        let got: Vec<Result<Record, CsvError>> = read_csv(text.as_bytes()).collect();
        assert_eq!(got.len(), 1);
        assert!(
            matches!(&got[0], Err(CsvError { line: 2, message }) if message.contains("not geographic")),
            "{got:?}"
        );
        let bad_header: Vec<_> = read_csv("a,b\n1,2\n".as_bytes()).collect();
        assert!(
            matches!(&bad_header[..], [Err(CsvError { line: 1, .. })]),
            "{bad_header:?}"
        );
    }

    #[test]
    fn feed_targets() {
        let donor = CarrierCode::new(9001).unwrap();
        let c = |r: &Record, k| feed_carrier(k, donor, r).map(CarrierCode::get);
        assert_eq!(
            c(&rec(Action::A, 9002, 9001, PortStatus::C), FileKind::Full),
            Some(9002)
        );
        assert_eq!(c(&rec(Action::A, 9002, 9001, PortStatus::P), FileKind::Full), None);
        assert_eq!(
            c(&rec(Action::C, 9003, 9002, PortStatus::P), FileKind::Full),
            Some(9002)
        );
        assert_eq!(
            c(&rec(Action::C, 9003, 9002, PortStatus::R), FileKind::Update),
            Some(9002)
        );
        assert_eq!(
            c(&rec(Action::D, 9001, 9002, PortStatus::C), FileKind::Update),
            Some(9001)
        );
        assert_eq!(c(&rec(Action::A, 9002, 9001, PortStatus::P), FileKind::Update), None);
    }
}

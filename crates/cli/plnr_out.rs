//! The register files a run's donors published, in PLNR-SIM/1: one update file per file
//! sequence the donor used, then a full snapshot of the register at the end of the run.

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::Timelike;
use lnp_model::{CarrierCode, Timestamp};
use lnp_plnr::{Action, FileKind, Header, Record};
use lnp_sim::Publication;

fn action_of(p: &Publication) -> Action {
    match p.status {
        // A return to the donor (a reversal: `R`) or a give back (`C`: the return is complete).
        _ if p.current == p.donor => Action::D,
        _ if p.losing == p.donor => Action::A,
        _ => Action::C,
    }
}

/// A register time: Sydney local time to the whole second (the register has no finer field; a
/// run's instants may carry milliseconds, such as a lapse one millisecond after a validity).
fn local_second(t: Timestamp) -> chrono::NaiveDateTime {
    let local = t.sydney().naive_local();
    local.with_nanosecond(0).unwrap_or(local)
}

fn record_of(p: &Publication) -> Record {
    Record {
        action: action_of(p),
        number: p.number,
        current: p.current,
        losing: p.losing,
        status: p.status,
        effective_at: local_second(p.effective),
        category: p.category,
        port_ref: p.port_ref.to_string(),
    }
}

/// `(file name, contents)` for every file, in donor and sequence order.
pub fn register_files(publications: &[Publication], end: Timestamp) -> Result<Vec<(String, Vec<u8>)>> {
    let mut groups: BTreeMap<(CarrierCode, u32), Vec<&Publication>> = BTreeMap::new();
    for p in publications.iter().filter(|p| !p.initial) {
        groups.entry((p.donor, p.file_seq)).or_default().push(p);
    }
    let mut files = Vec::new();
    let mut last_seq: BTreeMap<CarrierCode, u32> = BTreeMap::new();
    for ((donor, seq), pubs) in &groups {
        let Some(first) = pubs.first() else { continue };
        // A file is created when its first record is published: a donor publishes each file at
        // one instant, so no record in it is later than the file.
        let created = pubs.iter().map(|p| p.at).min().unwrap_or(first.at);
        let header = Header {
            donor: *donor,
            file_date: first.at.sydney_date(),
            file_seq: *seq,
            created_at: local_second(created),
            kind: FileKind::Update,
        };
        let records: Vec<Record> = pubs.iter().map(|p| record_of(p)).collect();
        files.push((
            format!("{donor}-{seq:06}-U.plnr"),
            lnp_plnr::write_file(&header, &records)?,
        ));
        last_seq.insert(*donor, *seq);
    }
    let donors: std::collections::BTreeSet<CarrierCode> = publications.iter().map(|p| p.donor).collect();
    for donor in donors {
        let seq = last_seq.get(&donor).copied().unwrap_or(0);
        let reg = lnp_sim::register_of(publications.iter().filter(|p| p.donor == donor));
        let header = Header {
            donor,
            file_date: end.sydney_date(),
            file_seq: seq + 1,
            created_at: local_second(end),
            kind: FileKind::Full,
        };
        let records: Vec<Record> = reg.values().map(|p| record_of(p)).collect();
        files.push((
            format!("{donor}-{:06}-F.plnr", seq + 1),
            lnp_plnr::write_file(&header, &records)?,
        ));
    }
    Ok(files)
}

//! The register files a run's donors published, in PLNR-SIM/1: one update file per file
//! sequence the donor used, then a full snapshot of the register at the end of the run.

use std::collections::BTreeMap;

use anyhow::Result;
use lnp_model::{CarrierCode, PortStatus, Timestamp};
use lnp_plnr::{Action, FileKind, Header, Record};
use lnp_sim::Publication;

fn action_of(p: &Publication) -> Action {
    match p.status {
        PortStatus::R | PortStatus::N if p.current == p.donor => Action::D,
        _ if p.losing == p.donor => Action::A,
        _ => Action::C,
    }
}

fn record_of(p: &Publication) -> Record {
    Record {
        action: action_of(p),
        number: p.number,
        current: p.current,
        losing: p.losing,
        status: p.status,
        effective_at: p.at.sydney().naive_local(),
        category: p.category,
        port_ref: p.port_ref.to_string(),
    }
}

/// `(file name, contents)` for every file, in donor and sequence order.
pub fn register_files(publications: &[Publication], end: Timestamp) -> Result<Vec<(String, Vec<u8>)>> {
    let mut groups: BTreeMap<(CarrierCode, u32), Vec<&Publication>> = BTreeMap::new();
    for p in publications {
        groups.entry((p.donor, p.file_seq)).or_default().push(p);
    }
    let mut files = Vec::new();
    let mut last_seq: BTreeMap<CarrierCode, u32> = BTreeMap::new();
    for ((donor, seq), pubs) in &groups {
        let Some(first) = pubs.first() else { continue };
        let created = pubs.iter().map(|p| p.at).max().unwrap_or(first.at);
        let header = Header {
            donor: *donor,
            file_date: first.at.sydney_date(),
            file_seq: *seq,
            created_at: created.sydney().naive_local(),
            kind: FileKind::Update,
        };
        let records: Vec<Record> = pubs.iter().map(|p| record_of(p)).collect();
        files.push((
            format!("{donor}-{seq:06}-U.plnr"),
            lnp_plnr::write_file(&header, &records)?,
        ));
        last_seq.insert(*donor, *seq);
    }
    for (donor, seq) in last_seq {
        let mut reg: BTreeMap<_, &Publication> = BTreeMap::new();
        for p in publications.iter().filter(|p| p.donor == donor) {
            if matches!(p.status, PortStatus::C | PortStatus::P) && p.current != donor {
                reg.insert(p.number, p);
            } else {
                reg.remove(&p.number);
            }
        }
        let header = Header {
            donor,
            file_date: end.sydney_date(),
            file_seq: seq + 1,
            created_at: end.sydney().naive_local(),
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

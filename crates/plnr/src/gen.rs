//! Synthetic registers for tests and benchmarks, deterministic from a seed.
//!
//! Up to 80,000 records use only ACMA's fictitious ranges ((02), (03), (07), (08) 5550 xxxx and
//! 7010 xxxx); larger registers spread over every geographic number, as the rules allow for
//! generated market-scale data. Carriers are the fictional codes 9001 to 9012. Numbers are
//! distinct and in ascending order: the space is cut into as many equal slices as records and
//! one number drawn from each, so a register of any size streams in constant memory.

use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime};
use lnp_model::{CarrierCode, Category, PortStatus, TelephoneNumber};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::types::{Action, FileKind, Header, Record};

/// How many numbers the fictitious ranges hold.
pub const FICTITIOUS_NUMBERS: u64 = 80_000;
/// How many geographic numbers there are.
pub const GEOGRAPHIC_NUMBERS: u64 = 400_000_000;
/// How far before the file date a generated record may take effect, in days.
pub const MAX_DAYS_BACK: u64 = 365;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenParams {
    pub records: u64,
    pub donor: CarrierCode,
    pub seed: u64,
    pub file_date: NaiveDate,
    pub file_seq: u32,
}

impl GenParams {
    /// The full-snapshot header of the generated file, created at 01:30 on the file date.
    pub fn header(&self) -> Header {
        Header {
            donor: self.donor,
            file_date: self.file_date,
            file_seq: self.file_seq,
            created_at: self
                .file_date
                .and_time(NaiveTime::from_hms_opt(1, 30, 0).unwrap_or_default()),
            kind: FileKind::Full,
        }
    }
}

/// The generated records, in number order.
pub struct Generator {
    params: GenParams,
    rng: ChaCha8Rng,
    next: u64,
    space: u64,
    carriers: Vec<CarrierCode>,
}

/// Why parameters cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenError {
    #[error("cannot generate {records} records: there are only {max} geographic numbers")]
    TooManyRecords { records: u64, max: u64 },
    /// Some record could not be written: register dates run from 0001-01-01 to 9999-12-31, and
    /// records take effect up to [`MAX_DAYS_BACK`] days before the file date.
    #[error(
        "a register dated {date} cannot be generated: its records take effect up to {MAX_DAYS_BACK} \
         days before the file date and register dates run from 0001-01-01 to 9999-12-31, so the \
         file date must be from {earliest} to {latest}"
    )]
    DateOutOfRange {
        date: NaiveDate,
        earliest: NaiveDate,
        latest: NaiveDate,
    },
}

/// The file dates whose every record can be written (see [`GenError::DateOutOfRange`]).
pub fn file_dates() -> (NaiveDate, NaiveDate) {
    let first = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN);
    let earliest = first.checked_add_days(Days::new(MAX_DAYS_BACK)).unwrap_or(first);
    (
        earliest,
        NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX),
    )
}

impl Generator {
    pub fn new(params: GenParams) -> Result<Self, GenError> {
        if params.records > GEOGRAPHIC_NUMBERS {
            return Err(GenError::TooManyRecords {
                records: params.records,
                max: GEOGRAPHIC_NUMBERS,
            });
        }
        let (earliest, latest) = file_dates();
        if !(earliest..=latest).contains(&params.file_date) {
            return Err(GenError::DateOutOfRange {
                date: params.file_date,
                earliest,
                latest,
            });
        }
        let space = if params.records <= FICTITIOUS_NUMBERS {
            FICTITIOUS_NUMBERS
        } else {
            GEOGRAPHIC_NUMBERS
        };
        let carriers = (9001..=9012)
            .filter_map(CarrierCode::new)
            .filter(|c| *c != params.donor)
            .collect();
        Ok(Self {
            rng: ChaCha8Rng::seed_from_u64(params.seed),
            params,
            next: 0,
            space,
            carriers,
        })
    }

    fn nsn(&self, index: u64) -> u64 {
        if self.space == FICTITIOUS_NUMBERS {
            let area = [2u64, 3, 7, 8][(index / 20_000) as usize % 4];
            let block = if (index % 20_000) < 10_000 { 5550 } else { 7010 };
            area * 100_000_000 + block * 10_000 + index % 10_000
        } else if index < 200_000_000 {
            200_000_000 + index
        } else {
            500_000_000 + index
        }
    }

    fn below(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n.max(1)
    }

    fn carrier_other_than(&mut self, not: CarrierCode) -> CarrierCode {
        let choices: Vec<CarrierCode> = self.carriers.iter().copied().filter(|c| *c != not).collect();
        let i = self.below(choices.len() as u64) as usize;
        choices.get(i).copied().unwrap_or(not)
    }
}

impl Iterator for Generator {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        let n = self.params.records;
        let k = self.next;
        if k >= n {
            return None;
        }
        self.next += 1;
        let lo = u64::try_from(u128::from(k) * u128::from(self.space) / u128::from(n)).ok()?;
        let hi = u64::try_from(u128::from(k + 1) * u128::from(self.space) / u128::from(n)).ok()?;
        let index = lo + self.below(hi - lo);
        let number = TelephoneNumber::from_nsn(u32::try_from(self.nsn(index)).ok()?).ok()?;
        let donor = self.params.donor;
        let current = self.carrier_other_than(donor);
        let (action, losing) = if self.below(10) == 0 {
            (Action::C, self.carrier_other_than(current))
        } else {
            (Action::A, donor)
        };
        let status = if self.below(33) == 0 {
            PortStatus::P
        } else {
            PortStatus::C
        };
        let category = match self.below(10) {
            0..=6 => Category::A,
            7 | 8 => Category::C,
            _ => Category::D,
        };
        let days_back = self.below(MAX_DAYS_BACK);
        let date = self.params.file_date.checked_sub_days(Days::new(days_back + 1))?;
        let secs = 8 * 3600 + self.below(9 * 3600) as u32;
        let time = NaiveTime::from_num_seconds_from_midnight_opt(secs, 0)?;
        let prefix = if category == Category::C { "CNA-" } else { "SNA-" };
        Some(Record {
            action,
            number,
            current,
            losing,
            status,
            effective_at: NaiveDateTime::new(date, time),
            category,
            port_ref: format!("{prefix}{:08}", k % 100_000_000),
        })
    }
}

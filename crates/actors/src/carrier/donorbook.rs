//! The donor's standing register records, one per number, and the earlier ones they stand in
//! place of.
//!
//! A pending third-party port's `P` (or a second port's `C`) stands in place of an earlier `C`,
//! which stands again when the port does not proceed or is returned; that record may itself
//! stand in place of one before it. Nearly every number has no earlier record, so the earlier
//! ones are kept apart, per number, the latest last: a standing record is 32 bytes, not the 40
//! it took with a pointer to its earlier one (a national year keeps millions of them).
//!
//! [`DonorBook::take`] hands out a number's record with its earlier ones and
//! [`DonorBook::put`] sets both, so the two are only ever moved together.

use lnp_model::fasthash::FastMap;
use lnp_model::TelephoneNumber;

use super::numbermap::NumberMap;
use super::DonorEntry;

/// A number's earlier records, the one that stands next last.
pub(super) type Earlier = Vec<DonorEntry>;

#[derive(Clone, Debug, Default)]
pub(super) struct DonorBook {
    standing: NumberMap<DonorEntry>,
    /// Only numbers that have earlier records.
    earlier: FastMap<TelephoneNumber, Earlier>,
}

impl DonorBook {
    pub(super) fn get(&self, n: TelephoneNumber) -> Option<&DonorEntry> {
        self.standing.get(n)
    }

    /// The standing record, to change in place (its earlier records stay as they are).
    pub(super) fn get_mut(&mut self, n: TelephoneNumber) -> Option<&mut DonorEntry> {
        self.standing.get_mut(n)
    }

    /// Removes the number's record and hands it out with its earlier ones.
    pub(super) fn take(&mut self, n: TelephoneNumber) -> Option<(DonorEntry, Earlier)> {
        let e = self.standing.remove(n)?;
        Some((e, self.earlier.remove(&n).unwrap_or_default()))
    }

    /// Sets the number's record and its earlier ones, replacing any it had.
    pub(super) fn put(&mut self, n: TelephoneNumber, e: DonorEntry, earlier: Earlier) {
        self.standing.insert(n, e);
        if earlier.is_empty() {
            self.earlier.remove(&n);
        } else {
            self.earlier.insert(n, earlier);
        }
    }
}

impl FromIterator<(TelephoneNumber, DonorEntry)> for DonorBook {
    fn from_iter<I: IntoIterator<Item = (TelephoneNumber, DonorEntry)>>(iter: I) -> Self {
        Self {
            standing: iter.into_iter().collect(),
            earlier: FastMap::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lnp_model::{CarrierCode, Category, PortStatus, Timestamp};

    fn entry(losing: &str) -> DonorEntry {
        DonorEntry {
            current: "9001".parse().unwrap(),
            losing: losing.parse::<CarrierCode>().unwrap(),
            port_ref: super::super::refset::RefTable::default().code("P1".parse().unwrap()),
            category: Category::A,
            status: PortStatus::C,
            effective: Timestamp::from_millis(1),
            published: true,
            dtr_gen: 0,
        }
    }

    #[test]
    fn a_standing_record_is_32_bytes() {
        assert_eq!(std::mem::size_of::<Option<DonorEntry>>(), 32);
    }

    #[test]
    fn earlier_records_move_with_their_number() {
        let n = TelephoneNumber::from_nsn(250_000_001).unwrap();
        let m = TelephoneNumber::from_nsn(250_000_002).unwrap();
        let mut book = DonorBook::default();
        book.put(n, entry("9002"), vec![entry("9003"), entry("9004")]);
        book.put(m, entry("9005"), Vec::new());
        let (e, mut earlier) = book.take(n).unwrap();
        assert_eq!(e.losing.to_string(), "9002");
        assert_eq!(
            earlier.iter().map(|e| e.losing.to_string()).collect::<Vec<_>>(),
            ["9003", "9004"]
        );
        // The one that stands next, with the rest still behind it.
        let next = earlier.pop().unwrap();
        book.put(n, next, earlier);
        let (e, earlier) = book.take(n).unwrap();
        assert_eq!(e.losing.to_string(), "9004");
        assert_eq!(earlier.len(), 1);
        // Set without earlier records, a number has none left behind.
        book.put(n, e, Vec::new());
        assert!(book.take(n).unwrap().1.is_empty());
        assert!(book.take(m).unwrap().1.is_empty());
        assert!(book.take(n).is_none());
    }
}

//! Fuzzes the PLNR reader: any bytes are either a valid file, which the strict reader reads
//! and the writer writes back byte for byte, or reported, with the strict reader stopping at
//! the validator's first error. Nothing panics.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lnp_plnr::{validate, Layout, PlnrReader, PlnrWriter, ReadError};

fuzz_target!(|data: &[u8]| {
    let layout = Layout::builtin();
    let report = validate(data, "fuzz.plnr", &layout, 0).expect("a byte slice cannot fail to read");
    let strict = PlnrReader::new(data, "fuzz.plnr", &layout).and_then(|mut r| {
        let mut records = Vec::new();
        while let Some(rec) = r.next_record()? {
            records.push(rec);
        }
        Ok((r.header().clone(), records, r.line_end(), r.final_line_end()))
    });
    match strict {
        Ok((header, records, line_end, final_line_end)) => {
            assert!(
                report.is_valid(),
                "strict read passed, validate found {:?}",
                report.errors
            );
            let mut w = PlnrWriter::new(Vec::new(), &layout, &header, line_end).expect("header writes");
            for r in &records {
                w.write_record(r).expect("record writes");
            }
            w.set_final_line_end(final_line_end);
            let out = w.finish().expect("trailer writes");
            assert_eq!(out, data, "read-then-write changed the bytes");
        }
        Err(ReadError::Invalid(d)) => assert_eq!(Some(&*d), report.errors.first()),
        Err(e) => panic!("unexpected error: {e}"),
    }
});

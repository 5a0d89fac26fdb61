//! Walks `plnr-samples/` through the library: each invalid file's diagnostics are the lines of
//! the `.expected` file beside it (less the CLI's closing summary line), include the error kind
//! its name starts with, and a strict read stops at the first of them; each valid file reads
//! without error and writes back byte for byte. (`tests/plnr_samples.rs` at the workspace root
//! checks the same folder through the `lnpsim` binary, and blesses the `.expected` files.)

use std::fs;
use std::path::{Path, PathBuf};

use lnp_plnr::{validate, Layout, PlnrReader, PlnrWriter, ReadError, SequenceCheck};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plnr-samples")
}

fn plnr_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .expect("samples folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "plnr"))
        .collect();
    v.sort();
    v
}

fn name(p: &Path) -> String {
    p.file_name().expect("name").to_string_lossy().into_owned()
}

/// The diagnostics the library reports for files validated together, as text lines.
fn diagnostics(files: &[PathBuf]) -> Vec<String> {
    let layout = Layout::builtin();
    let mut seq = SequenceCheck::new();
    let mut lines = Vec::new();
    for f in files {
        let bytes = fs::read(f).expect("read sample");
        let mut report = validate(&bytes[..], &name(f), &layout, 100).expect("validate");
        if let Some(h) = &report.header {
            if let Some(d) = seq.check(&name(f), h, &layout) {
                let at = report
                    .errors
                    .iter()
                    .position(|e| e.line > d.line)
                    .unwrap_or(report.errors.len());
                report.errors.insert(at, d);
            }
        }
        lines.extend(report.errors.iter().map(ToString::to_string));
    }
    lines
}

fn expected_diagnostics(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| l.split_once(": ").is_some_and(|(at, _)| at.contains(':')))
        .map(str::to_string)
        .collect()
}

#[test]
fn invalid_samples_report_what_is_kept_beside_them() {
    let dir = samples().join("invalid");
    let files = plnr_files(&dir);
    assert!(
        files.len() >= 25,
        "one invalid sample per error kind, found {}",
        files.len()
    );
    for f in files {
        let got = diagnostics(std::slice::from_ref(&f));
        let want = expected_diagnostics(&f.with_extension("expected"));
        assert_eq!(got, want, "{}", f.display());
        assert!(!got.is_empty(), "{} must be invalid", f.display());
        let stem = name(&f).trim_end_matches(".plnr").to_string();
        let bytes = fs::read(&f).expect("read");
        let report = validate(&bytes[..], &name(&f), &Layout::builtin(), 0).expect("validate");
        if stem != "many-errors" {
            assert!(
                report.errors.iter().any(|d| stem.starts_with(d.kind.id())),
                "{stem}: no diagnostic of that kind in {got:?}"
            );
        }
        // A strict read stops at the first error the validator reports.
        let strict = PlnrReader::new(&bytes[..], &name(&f), &Layout::builtin()).and_then(PlnrReader::read_all);
        match strict {
            Err(ReadError::Invalid(d)) => assert_eq!(d.to_string(), got[0], "{}", f.display()),
            other => panic!("{}: strict read gave {other:?}", f.display()),
        }
    }
}

#[test]
fn sequence_gap_sample_reports_the_gap() {
    let dir = samples().join("invalid/sequence-gap");
    let got = diagnostics(&plnr_files(&dir));
    assert_eq!(got, expected_diagnostics(&dir.join("expected")));
    assert_eq!(got.len(), 1);
}

#[test]
fn valid_samples_read_and_write_back_byte_for_byte() {
    let files = plnr_files(&samples().join("valid"));
    assert!(files.len() >= 6);
    for f in files {
        let bytes = fs::read(&f).expect("read");
        assert_eq!(
            diagnostics(std::slice::from_ref(&f)),
            Vec::<String>::new(),
            "{}",
            f.display()
        );
        let layout = Layout::builtin();
        let mut r = PlnrReader::new(&bytes[..], &name(&f), &layout).expect("header");
        let mut w = PlnrWriter::new(Vec::new(), &layout, r.header(), r.line_end()).expect("writer");
        while let Some(rec) = r.next_record().expect("record") {
            w.write_record(&rec).expect("write");
        }
        w.set_final_line_end(r.final_line_end());
        let out = w.finish().expect("finish");
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&bytes),
            "{}",
            f.display()
        );
    }
}

//! Walks `plnr-samples/` through the binary: `lnpsim plnr validate` on each sample must print
//! exactly the `.expected` file beside it (for a folder of files validated together, the
//! folder's `expected`) and exit 0 for `valid/`, 1 for `invalid/`. Each valid sample must also
//! convert back to itself byte for byte. Re-bless the expected output with `LNPSIM_BLESS=1`
//! after a deliberate change, and review the diff.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("plnr-samples")
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .expect("samples folder")
        .map(|e| e.expect("entry").path())
        .collect();
    v.sort();
    v
}

fn file_name(p: &Path) -> String {
    p.file_name().expect("name").to_string_lossy().into_owned()
}

/// Runs `lnpsim plnr validate FILES` in `dir` and compares its output with `expected`.
fn check(dir: &Path, files: &[String], expected: &Path, code: i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_lnpsim"))
        .current_dir(dir)
        .args(["plnr", "validate"])
        .args(files)
        .output()
        .expect("run lnpsim");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if std::env::var_os("LNPSIM_BLESS").is_some() {
        fs::write(expected, &stdout).expect("bless");
    }
    let want = fs::read_to_string(expected).unwrap_or_else(|e| panic!("{}: {e}", expected.display()));
    assert_eq!(stdout, want, "{files:?} in {}", dir.display());
    assert_eq!(
        out.status.code(),
        Some(code),
        "{files:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn valid_samples_validate_and_convert_back_to_themselves() {
    let dir = samples().join("valid");
    let files: Vec<PathBuf> = entries(&dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "plnr"))
        .collect();
    assert!(files.len() >= 6, "valid samples: {files:?}");
    for f in &files {
        check(&dir, &[file_name(f)], &f.with_extension("expected"), 0);
        let out = Command::new(env!("CARGO_BIN_EXE_lnpsim"))
            .args(["plnr", "convert", "--to", "plnr"])
            .arg(f)
            .output()
            .expect("run lnpsim");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            out.stdout,
            fs::read(f).expect("read"),
            "{} did not convert back to itself",
            f.display()
        );
    }
}

#[test]
fn invalid_samples_print_their_expected_diagnostics() {
    let dir = samples().join("invalid");
    let mut seen = 0;
    for entry in entries(&dir) {
        if entry.is_dir() {
            let files: Vec<String> = entries(&entry)
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "plnr"))
                .map(|p| file_name(p))
                .collect();
            check(&entry, &files, &entry.join("expected"), 1);
            seen += 1;
        } else if entry.extension().is_some_and(|e| e == "plnr") {
            check(&dir, &[file_name(&entry)], &entry.with_extension("expected"), 1);
            seen += 1;
        }
    }
    assert!(seen >= 26, "one invalid sample per error kind, found {seen}");
}

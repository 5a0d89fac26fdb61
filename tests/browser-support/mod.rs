//! What the HTML report's browser test and its first-paint benchmark share: the binary under
//! test and headless Chromium.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn lnpsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lnpsim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run lnpsim")
}

/// The Chromium to use: `LNPSIM_CHROMIUM`, else the first of the usual names on the `PATH`.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LNPSIM_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Chromium, or `None` after saying why the test skips; in CI a missing Chromium fails.
pub fn chromium() -> Option<PathBuf> {
    match find_chromium() {
        Some(p) => Some(p),
        None if std::env::var_os("CI").is_some() => panic!(
            "CI is set and no Chromium was found: the browser test must run in CI \
             (.ci/run installs it with apt-get install chromium; LNPSIM_CHROMIUM names another binary)"
        ),
        None => {
            eprintln!(
                "SKIPPED: no Chromium found (apt-get install chromium, or set LNPSIM_CHROMIUM); \
                 the HTML report's browser test did not run"
            );
            None
        }
    }
}

/// Runs headless Chromium on `url` with `args`, in a profile of its own, for at most a minute.
pub fn run_chromium(bin: &Path, args: &[String], url: &str) -> Output {
    let profile = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(bin)
        .arg("--headless")
        .arg("--no-sandbox")
        .arg("--disable-gpu")
        .arg("--no-first-run")
        .arg("--hide-scrollbars")
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    // A minute, counted in naps (no wall clock in tests).
    let mut naps = 0;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for chromium") {
            break s;
        }
        naps += 1;
        if naps > 1200 {
            let _ = child.kill();
            panic!("chromium did not finish within a minute: {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

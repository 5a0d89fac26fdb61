//! Helpers shared by the subcommands: logging, loading the rulebook and calendar from files,
//! output selection.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use lnp_model::{BusinessCalendar, Rulebook};

/// Installs the `tracing` subscriber (stderr, filtered by `RUST_LOG`, default `warn`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Reads a text file, naming it in the error.
pub fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// The built-in rulebook, or the built-in one with a file's overrides.
pub fn load_rulebook(path: Option<&Path>) -> Result<Rulebook> {
    let Some(path) = path else {
        return Ok(Rulebook::default());
    };
    let text = read_text(path)?;
    Rulebook::from_toml(&text).map_err(|errs| {
        let lines: Vec<String> = errs.iter().map(|e| format!("{}: {e}", path.display())).collect();
        anyhow::anyhow!("invalid rulebook\n  {}", lines.join("\n  "))
    })
}

/// The rulebook's calendar with extra holidays from a CSV file (`date,name`).
pub fn load_calendar(rulebook: &Rulebook, holidays: Option<&Path>) -> Result<BusinessCalendar> {
    let mut cal = rulebook.calendar();
    if let Some(path) = holidays {
        let text = read_text(path)?;
        if let Err(errs) = cal.load_holidays_csv(&text) {
            let lines: Vec<String> = errs
                .iter()
                .map(|e| format!("{}:{}: {}", path.display(), e.line, e.message))
                .collect();
            bail!("invalid holidays file\n  {}", lines.join("\n  "));
        }
    }
    Ok(cal)
}

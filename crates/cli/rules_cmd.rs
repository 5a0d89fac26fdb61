//! `lnpsim rules`: print the rulebook.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, ValueEnum};
use lnp_model::Rulebook;

use crate::common::load_rulebook;

#[derive(Clone, Copy, ValueEnum)]
pub enum RulesFormat {
    Text,
    Json,
}

#[derive(Args)]
#[command(
    after_help = "Examples:\n  lnpsim rules\n  lnpsim rules --example > my-rulebook.toml\n  lnpsim rules --rulebook my-rulebook.toml --format json\n\nThe rulebook file format is in docs/rules.md (\"The rulebook file\")."
)]
pub struct RulesArgs {
    /// Rulebook overrides (TOML); the built-in defaults otherwise.
    #[arg(long, value_name = "FILE")]
    rulebook: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: RulesFormat,
    /// Print a complete rulebook override file (every setting, with the values in force) instead.
    #[arg(long)]
    example: bool,
}

pub fn run(args: &RulesArgs) -> Result<ExitCode> {
    let book = load_rulebook(args.rulebook.as_deref())?;
    if args.example {
        out!("{}", book.example_toml());
        return Ok(ExitCode::SUCCESS);
    }
    match args.format {
        RulesFormat::Text => out!("{}", text(&book)),
        RulesFormat::Json => outln!("{}", serde_json::to_string_pretty(&json(&book))?),
    }
    Ok(ExitCode::SUCCESS)
}

fn text(book: &Rulebook) -> String {
    let mut out = String::new();
    for r in book.rules() {
        let _ = writeln!(out, "{:<22} {}", r.id.as_str(), r.value);
        let _ = writeln!(out, "{:<22} clause: {} ({})", "", r.clause, r.source);
        let _ = writeln!(out, "{:<22} {}\n", "", r.meaning);
    }
    out.push_str("Reject codes:\n");
    for (code, info) in &book.reject_codes {
        let on: Vec<&str> = info.on.iter().map(|k| k.keyword()).collect();
        let ground = if info.valid_ground {
            ""
        } else {
            "  [never a valid ground]"
        };
        let _ = writeln!(out, "  {code}  {:<18} {}{ground}", on.join(","), info.meaning);
    }
    out
}

fn json(book: &Rulebook) -> serde_json::Value {
    let codes: Vec<serde_json::Value> = book
        .reject_codes
        .iter()
        .map(|(code, info)| {
            serde_json::json!({
                "code": code.to_string(),
                "meaning": info.meaning,
                "on": info.on.iter().map(|k| k.keyword()).collect::<Vec<_>>(),
                "valid_ground": info.valid_ground,
            })
        })
        .collect();
    serde_json::json!({
        "rules": book.rules(),
        "standard_hours": {
            "start": book.standard_hours_start.format("%H:%M").to_string(),
            "end": book.standard_hours_end.format("%H:%M").to_string(),
        },
        "reject_codes": codes,
    })
}

//! `lnpsim serve`: a scenario's market as a network service in which outside systems play the
//! carriers named with `--external` (docs/serve.md).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use lnp_model::CarrierCode;
use lnp_server::journal::Identity;
use lnp_server::{ClockMode, Limits, ServeConfig, ServeError, TlsFiles, Tokens};
use lnp_sim::{HolidaySource, Scenario};

use crate::common::{load_calendar, load_rulebook, read_text};

const EXAMPLES: &str = "\
Example (from the repository's root): your system plays Bravo (9002), the simulator plays Alpha
(9001) and Charlie. A tokens file first (refused if others can read it), then the server:

  printf '%s\\n' 'admin = \"admin-example-token-0001\"' '[carriers]' \\
    '\"9002\" = \"bravo-example-token-0002\"' > /tmp/lnp-tokens.toml && chmod 600 /tmp/lnp-tokens.toml
  lnpsim serve scenarios/serve/cat-a.toml --external 9002 --tokens /tmp/lnp-tokens.toml &

The admin moves the clock to the customer's request (GET /v1/tasks shows it), Bravo sends the
SNA, the clock moves on, and Bravo reads Alpha's answer and the live audit:

  A='Authorization: Bearer admin-example-token-0001'
  B='Authorization: Bearer bravo-example-token-0002'
  curl -s -X POST localhost:8540/v1/clock/advance -H \"$A\" -d '{\"to\": \"2026-03-02T09:00:00+11:00\"}'
  curl -s localhost:8540/v1/tasks -H \"$B\"
  curl -s -X POST localhost:8540/v1/messages -H \"$B\" -d '{\"msg\": \"SNA\", \"from\": \"9002\",
    \"to\": \"9001\", \"ref\": \"P1\", \"category\": \"A\", \"numbers\": [\"0255501234\"],
    \"detail\": {\"ca_date\": \"2026-02-25\", \"account\": \"ACC-1001\",
    \"customer\": \"Harbour Bakery Pty Ltd\", \"cutover\": \"2026-03-09T10:00:00+11:00\"}}'
  curl -s -X POST localhost:8540/v1/clock/advance -H \"$A\" -d '{\"by\": \"15m\"}'
  curl -s 'localhost:8540/v1/messages?after=1' -H \"$B\"
  curl -s localhost:8540/v1/findings -H \"$B\"

Without --tokens, random tokens are written to ./lnpsim-tokens.toml (mode 0600).
The whole story, and one where your system is the losing carrier: README.md, \"Test your
porting system\". The contract: docs/serve.md, and GET /openapi.json.

Exit status: 0 stopped by SIGINT or SIGTERM; 2 refused (an invalid scenario, tokens file or
journal, bad TLS files) or it could not listen.";

#[derive(Args)]
#[command(after_help = EXAMPLES)]
pub struct ServeArgs {
    /// The scenario (TOML) whose market is served.
    #[arg(value_name = "SCENARIO")]
    scenario: PathBuf,
    /// A carrier played from outside (its 4-digit code); give it again for more.
    #[arg(long, value_name = "CODE", required = true, value_parser = parse_carrier)]
    external: Vec<CarrierCode>,
    /// Address to listen on; port 0 picks a free port (the first line on stdout names it).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8540")]
    listen: SocketAddr,
    /// The tokens file (TOML: admin, [carriers], [webhooks]); must not be readable by others.
    #[arg(long, value_name = "FILE")]
    tokens: Option<PathBuf>,
    /// Append every accepted input here, durably, and replay it on start.
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// How virtual time moves: manual (POST /v1/clock/advance), realtime, or scaled:N (N
    /// virtual seconds per second).
    #[arg(long, value_name = "MODE", default_value = "manual", value_parser = parse_clock)]
    clock: ClockMode,
    /// Serve HTTPS with this certificate chain (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Require client certificates signed by this CA (PEM); a certificate's common name must be
    /// the carrier code whose token it presents (`admin` for the admin's).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    client_ca: Option<PathBuf>,
    #[arg(
        long,
        value_name = "NAME=VALUE",
        help = "Change a bound: NAME=VALUE (max_body_bytes, rate_per_second, request_queue, page_rows, \
                max_wait_secs, sse_backlog, sse_stall_secs, webhook_queue, webhook_max_backoff_ms, \
                webhook_timeout_ms, tick_ms, max_rows, shutdown_grace_secs; docs/serve.md has the defaults)"
    )]
    limit: Vec<String>,
}

fn parse_carrier(s: &str) -> Result<CarrierCode, String> {
    s.parse::<CarrierCode>().map_err(|e| e.to_string())
}

fn parse_clock(s: &str) -> Result<ClockMode, String> {
    s.parse()
}

fn refuse(message: &str) -> ExitCode {
    eprintln!("lnpsim serve: {message}");
    ExitCode::from(2)
}

/// The texts a journal's identity covers besides the scenario's own: its rulebook and holiday
/// files.
fn extra_texts(scenario: &Scenario) -> Result<Vec<String>> {
    let mut texts = Vec::new();
    if let Some(p) = &scenario.rulebook {
        texts.push(read_text(p)?);
    }
    for h in &scenario.holidays {
        match h {
            HolidaySource::File(p) => texts.push(read_text(p)?),
            HolidaySource::State(s) => texts.push(format!("state {s:?}")),
        }
    }
    Ok(texts)
}

pub fn run(args: &ServeArgs) -> Result<ExitCode> {
    let path = &args.scenario;
    let text = read_text(path)?;
    let scenario = match Scenario::from_toml(&text, path.parent()) {
        Ok(s) => s,
        Err(errors) => {
            for e in &errors {
                eprintln!("{}: {e}", path.display());
            }
            return Ok(refuse(&format!("{}: invalid scenario", path.display())));
        }
    };
    let market: Vec<CarrierCode> = scenario.carriers.iter().map(|c| c.code).collect();
    let external: BTreeSet<CarrierCode> = args.external.iter().copied().collect();
    if let Some(c) = external.iter().find(|c| !market.contains(c)) {
        return Ok(refuse(&format!("--external {c}: carrier {c} is not in the scenario")));
    }
    let mut limits = Limits::default();
    for l in &args.limit {
        if let Err(e) = limits.set(l) {
            return Ok(refuse(&format!("--limit {e}")));
        }
    }
    let tokens = if let Some(p) = &args.tokens {
        match Tokens::load(p, &market) {
            Ok(t) => t,
            Err(e) => return Ok(refuse(&e)),
        }
    } else {
        let ext: Vec<CarrierCode> = external.iter().copied().collect();
        let t = Tokens::generate(&ext).map_err(anyhow::Error::msg)?;
        let file = Path::new("lnpsim-tokens.toml");
        if let Err(e) = t.write(file) {
            return Ok(refuse(&format!("{}: cannot write the tokens: {e}", file.display())));
        }
        eprintln!(
            "lnpsim serve: no --tokens: wrote random tokens for the admin and {} to {} (mode 0600)",
            ext.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
            file.display()
        );
        t
    };
    for c in external.iter().filter(|c| tokens.carrier(**c).is_none()) {
        eprintln!("lnpsim serve: warning: external carrier {c} has no token: only the admin can send as it");
    }
    let rulebook = load_rulebook(scenario.rulebook.as_deref())?;
    let calendar = load_calendar(&rulebook, &scenario.holidays)?;
    let mut texts = vec![text.clone()];
    texts.extend(extra_texts(&scenario)?);
    let text_refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let ext_names: Vec<String> = external.iter().map(ToString::to_string).collect();
    let identity = Identity::new(&scenario.name, &text_refs, scenario.seed, &ext_names);
    let tls = args.tls_cert.as_ref().map(|cert| TlsFiles {
        cert: cert.clone(),
        key: args.tls_key.clone().unwrap_or_default(),
        client_ca: args.client_ca.clone(),
    });
    let config = ServeConfig {
        scenario,
        rulebook,
        calendar,
        identity,
        external,
        listen: args.listen,
        tokens,
        journal: args.journal.clone(),
        clock: args.clock,
        tls,
        limits,
    };
    let result = lnp_server::serve(config, |ready| {
        use std::io::Write as _;
        if ready.replayed > 0 {
            eprintln!("lnpsim serve: replayed {} journal entries", ready.replayed);
        }
        let scheme = if ready.https { "https" } else { "http" };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {scheme}://{}", ready.addr);
        let _ = out.flush();
    });
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(ServeError::Refused(e) | ServeError::Failed(e)) => Ok(refuse(&e)),
    }
}

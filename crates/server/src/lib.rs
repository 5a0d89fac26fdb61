//! lnp-server: `lnpsim serve`, a scenario's market as a network service in which outside
//! systems play the carriers marked external (`docs/serve.md`).
//!
//! One task owns the engine ([`lnp_sim::Sim`]), the live audit and the trace ([`core::Core`],
//! driven by [`owner::Owner`] on a thread of its own); the HTTP handlers ([`http`]) reach it
//! through a bounded channel and get their answers on oneshot channels. The simulation stays
//! synchronous and deterministic; this crate is where the network, the wall clock, files and
//! tokio live.

pub mod core;
pub mod http;
pub mod input;
pub mod journal;
pub mod owner;
pub mod settings;
pub mod tls;
pub mod tokens;
pub mod webhook;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use lnp_model::{BusinessCalendar, CarrierCode, Rulebook, Timestamp};
use lnp_sim::Scenario;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

pub use settings::{ClockMode, Limits};
pub use tls::TlsFiles;
pub use tokens::{Principal, Tokens};

/// Everything `lnpsim serve` needs, read and checked by the caller.
pub struct ServeConfig {
    pub scenario: Scenario,
    pub rulebook: Rulebook,
    pub calendar: BusinessCalendar,
    /// What a journal must belong to.
    pub identity: journal::Identity,
    pub external: BTreeSet<CarrierCode>,
    pub listen: SocketAddr,
    pub tokens: Tokens,
    pub journal: Option<PathBuf>,
    pub clock: ClockMode,
    pub tls: Option<TlsFiles>,
    pub limits: Limits,
}

/// Why the server did not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Refused before serving (a journal of another story, a corrupt journal, bad TLS files):
    /// `lnpsim serve` exits 2.
    #[error("{0}")]
    Refused(String),
    /// Failed while serving, or could not listen.
    #[error("{0}")]
    Failed(String),
}

/// What the server tells its caller once it accepts connections.
pub struct Ready {
    pub addr: SocketAddr,
    pub https: bool,
    /// Journal entries replayed.
    pub replayed: usize,
}

/// Sets up the simulation task: builds the core, opens and replays the journal, and returns
/// the handle once the state is what the journal acknowledged.
fn start_owner(config: &mut ServeConfig) -> Result<(owner::Handle, std::thread::JoinHandle<()>, usize), ServeError> {
    let (tx, rx) = mpsc::channel(config.limits.request_queue.max(1));
    let (head_tx, head_rx) = watch::channel(owner::Head::default());
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<usize, ServeError>>();
    let scenario = config.scenario.clone();
    let rulebook = config.rulebook.clone();
    let calendar = config.calendar.clone();
    let external = config.external.clone();
    let journal_path = config.journal.clone();
    let identity = config.identity.clone();
    let mode = config.clock;
    let tick = config.limits.tick();
    let max_rows = config.limits.max_rows;
    let thread = std::thread::Builder::new()
        .name("lnpsim-sim".into())
        .spawn(move || {
            let context = lnp_sim::context::audit_context(&scenario);
            let mut core = match core::Core::new(&scenario, &rulebook, &calendar, &context, &external, max_rows) {
                Ok(c) => c,
                Err(e) => {
                    let _ = ready_tx.send(Err(ServeError::Refused(e)));
                    return;
                }
            };
            let mut journal = None;
            let mut replayed = 0;
            if let Some(path) = &journal_path {
                match replay(&mut core, path, &identity) {
                    Ok((j, n)) => {
                        journal = Some(j);
                        replayed = n;
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                }
            }
            let rt = match tokio::runtime::Builder::new_current_thread().enable_time().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(ServeError::Failed(format!(
                        "cannot start the simulation task: {e}"
                    ))));
                    return;
                }
            };
            let owner = owner::Owner {
                core,
                journal,
                mode,
                head: head_tx,
                broken: None,
            };
            let _ = ready_tx.send(Ok(replayed));
            rt.block_on(owner.run(rx, tick));
        })
        .map_err(|e| ServeError::Failed(format!("cannot start the simulation thread: {e}")))?;
    let replayed = ready_rx
        .recv()
        .map_err(|_| ServeError::Failed("the simulation thread stopped while starting".into()))??;
    Ok((owner::Handle::new(tx, head_rx), thread, replayed))
}

/// Opens the journal and replays it into `core`.
fn replay(
    core: &mut core::Core<'_>,
    path: &std::path::Path,
    identity: &journal::Identity,
) -> Result<(journal::Journal, usize), ServeError> {
    // A journal that cannot be read is refused like one that does not match.
    let opened = journal::Journal::open(path, identity).map_err(|e| ServeError::Refused(e.to_string()))?;
    if let Some(torn) = &opened.torn {
        eprintln!(
            "lnpsim serve: warning: {}: {torn}: a write cut short (a crash or power cut while writing); \
             it was never acknowledged, and is dropped",
            path.display()
        );
    }
    let n = opened.entries.len();
    for (i, entry) in opened.entries.iter().enumerate() {
        let result = match entry {
            journal::Entry::Clock(to) => to
                .parse::<Timestamp>()
                .map_err(|e| format!("{to:?}: {e}"))
                .and_then(|t| {
                    if t < core.now() {
                        Err(format!("the clock goes back from {} to {t}", core.now()))
                    } else {
                        core.advance_to(t).map(|_| ()).map_err(|e| e.to_string())
                    }
                }),
            journal::Entry::Row(row) => core.replay_row(row),
        };
        if let Err(e) = result {
            return Err(ServeError::Refused(format!(
                "{}: record {}: {e}: the journal does not replay to the state it recorded (corrupt, or written by \
                 another version of lnpsim); refused",
                path.display(),
                i + 1
            )));
        }
    }
    Ok((opened.journal, n))
}

/// Installs the SIGINT and SIGTERM handlers at once (so that a signal sent as soon as the server
/// says it is listening is not lost to the default action) and returns a future that ends when
/// either arrives. Must be called inside the runtime.
fn stop_signals() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).ok();
        let mut int = signal(SignalKind::interrupt()).ok();
        async move {
            let term = async {
                match term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let int = async {
                match int.as_mut() {
                    Some(i) => {
                        i.recv().await;
                    }
                    None => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            };
            tokio::select! {
                () = term => {}
                () = int => {}
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Runs the server until SIGINT or SIGTERM. `on_ready` is called once it accepts connections
/// (after any journal has been replayed).
pub fn serve(mut config: ServeConfig, on_ready: impl FnOnce(&Ready)) -> Result<(), ServeError> {
    // Parts that can be refused are checked before anything else starts.
    let tls = config
        .tls
        .as_ref()
        .map(tls::server_config)
        .transpose()
        .map_err(ServeError::Refused)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError::Failed(format!("cannot start the runtime: {e}")))?;
    let (handle, thread, replayed) = start_owner(&mut config)?;
    let result = rt.block_on(serve_http(&config, handle.clone(), tls, replayed, on_ready));
    // The simulation task: make everything durable and stop.
    let _ = rt.block_on(handle.ask(|reply| owner::Request::Stop { reply }));
    drop(handle);
    let _ = thread.join();
    rt.shutdown_timeout(Duration::from_secs(1));
    result
}

async fn serve_http(
    config: &ServeConfig,
    handle: owner::Handle,
    tls: Option<Arc<rustls::ServerConfig>>,
    replayed: usize,
    on_ready: impl FnOnce(&Ready),
) -> Result<(), ServeError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| ServeError::Failed(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Failed(format!("cannot listen on {}: {e}", config.listen)))?;
    let (stop_tx, stopping) = watch::channel(false);
    let mtls = config.tls.as_ref().is_some_and(|t| t.client_ca.is_some());
    let state = http::AppState {
        handle: handle.clone(),
        tokens: Arc::new(config.tokens.clone()),
        limits: Arc::new(config.limits.clone()),
        carriers: Arc::new(config.scenario.carriers.iter().map(|c| c.code).collect()),
        externals: Arc::new(config.external.clone()),
        rate: Arc::new(http::RateLimiter::default()),
        mode: config.clock,
        stopping: stopping.clone(),
        mtls,
        openapi: Arc::new(http::openapi()),
    };
    let app = http::router(state);
    let mut hooks = Vec::new();
    for (carrier, hook) in &config.tokens.webhooks {
        hooks.push(tokio::spawn(webhook::run(
            handle.clone(),
            *carrier,
            hook.clone(),
            config.limits.clone(),
            stopping.clone(),
        )));
    }
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let stop = stop_signals();
    on_ready(&Ready {
        addr,
        https: acceptor.is_some(),
        replayed,
    });
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut stop => break,
        };
        let Ok((stream, _peer)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30));
            match acceptor {
                None => {
                    let svc = TowerToHyperService::new(app);
                    let conn = builder.serve_connection(TokioIo::new(stream), svc);
                    let _ = watcher.watch(conn).await;
                }
                Some(acceptor) => {
                    let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(30), acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let cn = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .and_then(|c| tls::common_name(c));
                    let app = app.layer(axum::Extension(http::PeerCn(cn)));
                    let svc = TowerToHyperService::new(app);
                    let conn = builder.serve_connection(TokioIo::new(tls), svc);
                    let _ = watcher.watch(conn).await;
                }
            }
        });
    }
    drop(listener);
    // Stop long polls, event streams and webhooks; let requests in hand finish.
    let _ = stop_tx.send(true);
    let grace = Duration::from_secs(config.limits.shutdown_grace_secs);
    let _ = tokio::time::timeout(grace, graceful.shutdown()).await;
    for h in hooks {
        h.abort();
    }
    Ok(())
}

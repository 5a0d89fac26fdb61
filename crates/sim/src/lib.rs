//! lnp-sim: the discrete-event engine, scenario files and trace sink.

pub mod scenario;

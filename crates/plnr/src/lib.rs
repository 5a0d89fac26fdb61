//! lnp-plnr: Ported Local Number Register files.
//!
//! PLNR-SIM/1 is the simulator's own fixed-width register format (`docs/plnr-format.md`),
//! designed to behave like the industry's; it is not G602.1's layout, which is not public. The
//! reader, validator and writer are driven by a [`Layout`] description, so a carrier's own layout
//! loads from TOML and works the same way.
//!
//! - [`PlnrReader`]: streaming and strict (stops at the first error); [`validate`]: reports every
//!   error up to a limit, as [`Diagnostic`]s that print as
//!   `register.plnr:17: field "telephone number" (cols 3-12): found "02555O1234", expected 10 digits`.
//!   Both read a line at a time: memory does not grow with the file.
//! - [`Validation`]: the validator fed a chunk at a time, with [`RecordCheck::scan`] doing each
//!   record's own checks apart (on as many threads as the caller runs), for the same report.
//! - [`PlnrWriter`]: writes exactly what the reader accepts (it runs the reader's checks on each
//!   line) and computes the trailer; read-then-write of a valid file is byte-identical.
//! - [`Register`]: a snapshot; applying updates and diffing snapshots.
//! - [`convert`]: CSV (both ways), JSON Lines, the `number;carrier` routing feed.
//! - [`gen`]: synthetic registers, deterministic from a seed.
//!
//! What this crate does not do: no file system access (callers pass `BufRead`/`Write`), no
//! clock, no unseeded randomness, no threads.

mod check;
pub mod chunked;
pub mod convert;
pub mod diag;
mod field;
pub mod gen;
pub mod layout;
mod lines;
pub mod reader;
pub mod register;
pub mod stats;
pub mod types;
pub mod writer;

pub use chunked::{RecordCheck, Scan, Validation};
pub use diag::{Diagnostic, ErrorKind, Subject};
pub use layout::{Field, FieldKind, Layout, LayoutError, RecordLayout, Role};
pub use reader::{validate, validate_each, PlnrReader, ReadError, Report, SequenceCheck};
pub use register::{diff, Register};
pub use stats::Stats;
pub use types::{Action, FileKind, Header, LineEnd, Record, RecordBrief, Trailer};
pub use writer::{write_file, PlnrWriter};

//! Helpers shared by the subcommands: logging, loading the rulebook and calendar from files,
//! output selection, and writing output files all or nothing.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use lnp_model::{BusinessCalendar, Rulebook};
use lnp_sim::HolidaySource;

/// Installs the `tracing` subscriber (stderr, filtered by `RUST_LOG`, default `warn`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        // Colours only where a person reads them: never into a pipe or a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Whether a path argument is `-`: standard input where a file is read, standard output where
/// one is written.
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Reads a text file (`-`: standard input), naming it in the error.
pub fn read_text(path: &Path) -> Result<String> {
    if is_stdio(path) {
        let mut text = String::new();
        io::Read::read_to_string(&mut io::stdin().lock(), &mut text).context("standard input: cannot read")?;
        return Ok(text);
    }
    fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// Opens a file to stream (`-`: standard input), naming it in the error.
pub fn open_input(path: &Path, capacity: usize) -> Result<Box<dyn io::BufRead + Send>> {
    if is_stdio(path) {
        return Ok(Box::new(io::BufReader::with_capacity(capacity, io::stdin())));
    }
    let f = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    Ok(Box::new(io::BufReader::with_capacity(capacity, f)))
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

/// The rulebook's calendar with extra holidays: built-in state sets and CSV files (`date,name`),
/// in the order given.
pub fn load_calendar(rulebook: &Rulebook, holidays: &[HolidaySource]) -> Result<BusinessCalendar> {
    let mut cal = rulebook.calendar();
    for source in holidays {
        match source {
            HolidaySource::State(state) => cal.add_state(*state),
            HolidaySource::File(path) => {
                let text = read_text(path)?;
                if let Err(errs) = cal.load_holidays_csv(&text) {
                    let lines: Vec<String> = errs
                        .iter()
                        .map(|e| format!("{}:{}: {}", path.display(), e.line, e.message))
                        .collect();
                    bail!("invalid holidays file\n  {}", lines.join("\n  "));
                }
            }
        }
    }
    Ok(cal)
}

/// `--holidays`'s value: a state code or a CSV file ([`HolidaySource::parse`]).
pub fn parse_holidays(value: &str) -> Result<HolidaySource, String> {
    HolidaySource::parse(value, None)
}

macro_rules! holidays_help {
    () => {
        "Extra holidays: a state's built-in public holidays (nsw, vic, qld, sa, wa, tas, act, nt; \
any case) or a CSV file of `date,name` rows (a file named like a code is written ./nsw). Give it again to add more"
    };
}

/// The help of every `--holidays`.
pub const HOLIDAYS_HELP: &str = holidays_help!();

/// The help of `--holidays` where a scenario may name holidays of its own.
pub const HOLIDAYS_OVER_SCENARIO_HELP: &str =
    concat!(holidays_help!(), ". Given, these replace the scenario's `holidays`");

/// The buffer of an output file or of standard output.
const OUT_BUF: usize = 1 << 18;

/// An output file written all or nothing. The bytes go to a temporary file in the target's
/// directory, and [`OutputFile::commit`] renames it over the target. Dropped without `commit`
/// (an error on the way), the temporary file is removed: nothing is left behind, and a file
/// already at the target is untouched.
///
/// The file gets the mode a new file would get (an existing target keeps its own), and through a
/// symbolic link the file it points to is replaced. A target that exists and is not a regular
/// file (`/dev/null`, a FIFO) cannot be replaced, so it is written directly.
pub struct OutputFile {
    /// As the user named it, for messages.
    path: PathBuf,
    out: BufWriter<Sink>,
}

enum Sink {
    Temp {
        file: tempfile::NamedTempFile,
        target: PathBuf,
    },
    Direct(File),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Temp { file, .. } => file.write(buf),
            Sink::Direct(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Temp { file, .. } => file.flush(),
            Sink::Direct(f) => f.flush(),
        }
    }
}

impl OutputFile {
    pub fn create(path: &Path) -> Result<Self> {
        let cannot = || format!("{}: cannot create", path.display());
        let sink = match fs::metadata(path) {
            Ok(m) if !m.is_file() => Sink::Direct(File::create(path).with_context(cannot)?),
            found => {
                let existing = found.ok();
                let target = match existing {
                    Some(_) => fs::canonicalize(path).with_context(cannot)?,
                    None => path.to_path_buf(),
                };
                let dir = match target.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => Path::new("."),
                };
                let name = target.file_name().map(|n| n.to_string_lossy().into_owned());
                let prefix = format!(".{}.", name.unwrap_or_default());
                let mut builder = tempfile::Builder::new();
                builder.prefix(&prefix).suffix(".tmp");
                #[cfg(unix)]
                {
                    // As `File::create` opens a new file: 0666 less the umask (not 0600).
                    use std::os::unix::fs::PermissionsExt as _;
                    builder.permissions(fs::Permissions::from_mode(0o666));
                }
                let file = builder
                    .tempfile_in(dir)
                    .map_err(without_temp_path)
                    .with_context(cannot)?;
                if let Some(m) = existing {
                    fs::set_permissions(file.path(), m.permissions()).with_context(cannot)?;
                }
                Sink::Temp { file, target }
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(OUT_BUF, sink),
        })
    }

    /// Flushes the file and renames it over the target.
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        let cannot = || format!("{}: cannot write", path.display());
        let sink = self
            .out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
            .with_context(cannot)?;
        if let Sink::Temp { file, target } = sink {
            file.as_file().sync_all().with_context(cannot)?;
            file.persist(&target).map_err(|e| e.error).with_context(cannot)?;
        }
        Ok(())
    }

    /// An I/O error, naming the file.
    fn named(&self, e: &io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("{}: cannot write: {e}", self.path.display()))
    }
}

/// tempfile's error without the ` at path "…/.out.txt.a1B2c3.tmp"` it appends: the message names
/// the target, and the temporary file is the helper's business.
fn without_temp_path(e: io::Error) -> io::Error {
    let text = e.to_string();
    match text.rsplit_once(" at path \"") {
        Some((msg, _)) => io::Error::new(e.kind(), msg.to_string()),
        None => e,
    }
}

/// Writes a whole file all or nothing (see [`OutputFile`]).
pub fn write_file(path: &Path, bytes: impl AsRef<[u8]>) -> Result<()> {
    let mut out = OutputFile::create(path)?;
    out.write_all(bytes.as_ref())?;
    out.commit()
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf).map_err(|e| self.named(&e))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf).map_err(|e| self.named(&e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush().map_err(|e| self.named(&e))
    }
}

/// Where a command's output goes: a file (`-o FILE`, written all or nothing) or standard output.
pub enum Output {
    File(OutputFile),
    Stdout(BufWriter<io::StdoutLock<'static>>),
}

impl Output {
    pub fn create(path: Option<&Path>) -> Result<Self> {
        Ok(match path {
            Some(p) if !is_stdio(p) => Self::File(OutputFile::create(p)?),
            _ => Self::Stdout(BufWriter::with_capacity(OUT_BUF, io::stdout().lock())),
        })
    }

    /// Commits the file, or flushes standard output.
    pub fn finish(self) -> Result<()> {
        match self {
            Self::File(f) => f.commit(),
            Self::Stdout(mut s) => Ok(s.flush()?),
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::File(f) => f.write(buf),
            Self::Stdout(s) => s.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Self::File(f) => f.write_all(buf),
            Self::Stdout(s) => s.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::File(f) => f.flush(),
            Self::Stdout(s) => s.flush(),
        }
    }
}

/// Progress of long work on stderr, drawn only when stderr is a terminal (a pipe or a file gets
/// nothing): a spinner with a count and what the count is of, refreshed a few times a second.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    count: u64,
    unit: &'static str,
    every: u64,
}

impl Progress {
    /// How often, in counted items, the message is rebuilt (the bar itself limits redraws).
    const EVERY: u64 = 65_536;

    pub fn new(what: &str, unit: &'static str) -> Self {
        Self::every(what, unit, Self::EVERY)
    }

    /// As [`Progress::new`], with the message rebuilt every `every` items (for slow items).
    pub fn every(what: &str, unit: &'static str, every: u64) -> Self {
        use std::io::IsTerminal as _;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_prefix(what.to_string());
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        Self {
            bar,
            count: 0,
            unit,
            every: every.max(1),
        }
    }

    /// Counts one item; `detail` says where the work is (built only when it is shown).
    pub fn tick(&mut self, detail: impl FnOnce() -> String) {
        self.count += 1;
        if self.count.is_multiple_of(self.every) {
            if let Some(bar) = &self.bar {
                bar.set_message(format!("{} {}, {}", self.count, self.unit, detail()));
            }
        }
    }

    /// Ends the display, leaving the terminal as it was.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn an_output_file_appears_only_when_committed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("out.txt");
        let mut f = OutputFile::create(&target).expect("create");
        f.write_all(b"new").expect("write");
        f.flush().expect("flush");
        assert!(!target.exists(), "visible before commit");
        drop(f);
        assert!(names(dir.path()).is_empty(), "left behind: {:?}", names(dir.path()));
        fs::write(&target, "old").expect("write");
        let mut f = OutputFile::create(&target).expect("create");
        f.write_all(b"new").expect("write");
        drop(f);
        assert_eq!(fs::read_to_string(&target).expect("read"), "old");
        write_file(&target, "new").expect("write_file");
        assert_eq!(fs::read_to_string(&target).expect("read"), "new");
        assert_eq!(names(dir.path()), ["out.txt"]);
    }

    #[cfg(unix)]
    #[test]
    fn through_a_symlink_the_file_it_points_to_is_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("real.txt");
        let link = dir.path().join("link.txt");
        fs::write(&real, "old").expect("write");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        write_file(&link, "new").expect("write_file");
        assert!(fs::symlink_metadata(&link).expect("link").file_type().is_symlink());
        assert_eq!(fs::read_to_string(&real).expect("read"), "new");
        assert_eq!(names(dir.path()), ["link.txt", "real.txt"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_written_directly() {
        use std::os::unix::fs::FileTypeExt as _;
        write_file(Path::new("/dev/null"), "x").expect("write /dev/null");
        assert!(fs::metadata("/dev/null")
            .expect("dev null")
            .file_type()
            .is_char_device());
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("missing").join("out.txt");
        let e = write_file(&target, "x").expect_err("no such directory");
        let text = format!("{e:#}");
        assert!(
            text.starts_with(&format!("{}: cannot create: ", target.display())),
            "{text}"
        );
        assert!(!text.contains(".out.txt.") && !text.contains("at path"), "{text}");
    }
}

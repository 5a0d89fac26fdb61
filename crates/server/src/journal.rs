//! The journal (`--journal FILE`): every accepted input, appended and made durable before the
//! server answers it, so that a restart replays them through the deterministic engine and comes
//! back to exactly the state that was acknowledged.
//!
//! # Format (version 1)
//!
//! ```text
//! magic     8 bytes   "LNPSIMJ\n"
//! version   u32 LE    1
//! header    record    JSON: {"scenario": NAME, "identity": SHA-256 hex, "seed": N, "external": [CODE, ...]}
//! entries   record*   JSON: {"clock": INSTANT} or {"row": "TRACE-ROW"} (the row's JSON Lines text)
//! record    = length u32 LE | CRC32 (IEEE) of payload u32 LE | payload (length bytes)
//! ```
//!
//! A `clock` entry is an advance of the manual clock to that instant; a `row` entry is an
//! external carrier's message or action as it was recorded (the trace row's JSON Lines object,
//! with its `seq` and `time`): replayed, the engine is advanced to its time and the row must come
//! out with the same `seq` and content.
//!
//! Reading: a last record cut short (its length runs past the end of the file) or whose CRC
//! fails and that ends exactly at the end of the file is a torn write: it is dropped with a
//! warning and the file is cut back to the record before it. Anything else that does not read
//! (a bad CRC with records after it, a length beyond [`MAX_RECORD`], bad magic, another version,
//! another scenario or seed) is refused.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const MAGIC: &[u8; 8] = b"LNPSIMJ\n";
pub const VERSION: u32 = 1;
/// The longest record: a request body is at most 64 KiB by default; a record is far shorter
/// than this unless the file is corrupt.
pub const MAX_RECORD: u32 = 16 * 1024 * 1024;

/// What a journal belongs to: another scenario, seed or set of external carriers is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// The scenario's name (for messages; the digest decides).
    pub scenario: String,
    /// SHA-256 (hex) of the scenario's text, the rulebook and holiday files it uses, the seed
    /// and the external carriers.
    pub identity: String,
    pub seed: u64,
    pub external: Vec<String>,
}

impl Identity {
    /// `texts`: the scenario file's text first, then each rulebook or holidays file's.
    pub fn new(name: &str, texts: &[&str], seed: u64, external: &[String]) -> Self {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"lnpsim journal identity 1\n");
        for t in texts {
            h.update((t.len() as u64).to_le_bytes());
            h.update(t.as_bytes());
        }
        h.update(seed.to_le_bytes());
        for e in external {
            h.update(e.as_bytes());
            h.update(b"\n");
        }
        Self {
            scenario: name.to_string(),
            identity: crate::tokens::hex(&h.finalize()),
            seed,
            external: external.to_vec(),
        }
    }
}

/// One accepted input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Entry {
    /// The manual clock advanced to this instant (RFC 3339).
    #[serde(rename = "clock")]
    Clock(String),
    /// An external carrier's row, as recorded: the trace row's JSON Lines text, kept as text
    /// so that the replayed row can be compared with it byte for byte.
    #[serde(rename = "row")]
    Row(String),
}

/// Why a journal cannot be used. Every case is refused (exit 2), never guessed around.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: {message}")]
    Refused { path: PathBuf, message: String },
}

/// What opening found.
pub struct Opened {
    pub journal: Journal,
    pub entries: Vec<Entry>,
    /// A torn last record that was dropped: what to warn about.
    pub torn: Option<String>,
    /// The file was made now.
    pub created: bool,
}

/// An open journal, positioned at its end.
pub struct Journal {
    file: File,
    path: PathBuf,
    buf: Vec<u8>,
    records: u64,
}

fn frame(payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Makes a file's directory entry durable (a new file survives a power cut only once its
/// directory is synced).
fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
    }
    Ok(())
}

impl Journal {
    /// Opens `path` for `identity`: creates it (header, file and directory synced) when it does
    /// not exist or is empty, else reads every entry for replay.
    pub fn open(path: &Path, identity: &Identity) -> Result<Opened, JournalError> {
        let io_err = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        let refuse = |message: String| JournalError::Refused {
            path: path.to_path_buf(),
            message,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_err)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_err)?;
        let header_len = MAGIC.len() + 4;
        // A file cut short inside its header was never acknowledged anything: start it anew.
        let header_torn = bytes.len() < header_len && MAGIC.starts_with(&bytes[..bytes.len().min(8)]);
        if bytes.is_empty() || header_torn {
            let mut j = Self {
                file,
                path: path.to_path_buf(),
                buf: Vec::new(),
                records: 0,
            };
            j.file.set_len(0).map_err(io_err)?;
            j.file.seek(SeekFrom::Start(0)).map_err(io_err)?;
            let mut head = Vec::new();
            head.extend_from_slice(MAGIC);
            head.extend_from_slice(&VERSION.to_le_bytes());
            let header = serde_json::to_vec(identity).map_err(|e| io_err(io::Error::other(e)))?;
            frame(&header, &mut head);
            j.file.write_all(&head).map_err(io_err)?;
            j.file.sync_all().map_err(io_err)?;
            sync_dir(path).map_err(io_err)?;
            return Ok(Opened {
                journal: j,
                entries: Vec::new(),
                torn: None,
                created: true,
            });
        }
        if bytes.len() < header_len || &bytes[..8] != MAGIC {
            return Err(refuse("not an lnpsim journal (bad magic bytes)".into()));
        }
        let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if version != VERSION {
            return Err(refuse(format!(
                "journal format version {version}; this lnpsim reads version {VERSION}"
            )));
        }
        let mut pos = header_len;
        let mut payloads: Vec<&[u8]> = Vec::new();
        let mut torn = None;
        let mut index = 0u64;
        while pos < bytes.len() {
            let what = if index == 0 {
                "the header record".to_string()
            } else {
                format!("record {index}")
            };
            let rest = bytes.len() - pos;
            if rest < 8 {
                torn = Some(format!(
                    "{what} at byte {pos} is cut short ({rest} of its 8 framing bytes)"
                ));
                break;
            }
            let len = u32::from_le_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]]);
            let crc = u32::from_le_bytes([bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]]);
            if len > MAX_RECORD {
                return Err(refuse(format!(
                    "{what} at byte {pos} claims {len} bytes, more than a record can be ({MAX_RECORD}): the file is corrupt"
                )));
            }
            let end = pos + 8 + len as usize;
            if end > bytes.len() {
                torn = Some(format!(
                    "{what} at byte {pos} is cut short ({} of {len} bytes)",
                    bytes.len() - pos - 8
                ));
                break;
            }
            let payload = &bytes[pos + 8..end];
            if crc32fast::hash(payload) != crc {
                if end == bytes.len() {
                    torn = Some(format!("{what} at byte {pos}, the last, fails its CRC"));
                    break;
                }
                return Err(refuse(format!(
                    "{what} at byte {pos} fails its CRC and records follow it: the file is corrupt in the middle"
                )));
            }
            payloads.push(payload);
            index += 1;
            pos = end;
        }
        let good_end = pos as u64;
        let Some((header, rest)) = payloads.split_first() else {
            // Only the magic and version, or a torn header record: nothing was acknowledged.
            drop(file);
            std::fs::remove_file(path).map_err(io_err)?;
            return Self::open(path, identity);
        };
        let found: Identity = serde_json::from_slice(header)
            .map_err(|e| refuse(format!("the header record is not a journal header: {e}")))?;
        if found.identity != identity.identity {
            let mut why = Vec::new();
            if found.scenario != identity.scenario {
                why.push(format!(
                    "it is of scenario {:?}, not {:?}",
                    found.scenario, identity.scenario
                ));
            }
            if found.seed != identity.seed {
                why.push(format!("its seed is {}, not {}", found.seed, identity.seed));
            }
            if found.external != identity.external {
                why.push(format!(
                    "its external carriers are {}, not {}",
                    found.external.join(", "),
                    identity.external.join(", ")
                ));
            }
            if why.is_empty() {
                why.push("the scenario's text (or its rulebook or holidays) has changed".into());
            }
            return Err(refuse(format!(
                "this journal belongs to another story: {}; start with another --journal file",
                why.join("; ")
            )));
        }
        let mut entries = Vec::with_capacity(rest.len());
        for (i, p) in rest.iter().enumerate() {
            let e: Entry =
                serde_json::from_slice(p).map_err(|e| refuse(format!("record {}: not a journal entry: {e}", i + 1)))?;
            entries.push(e);
        }
        if torn.is_some() {
            file.set_len(good_end).map_err(io_err)?;
            file.sync_all().map_err(io_err)?;
        }
        file.seek(SeekFrom::Start(good_end)).map_err(io_err)?;
        Ok(Opened {
            journal: Self {
                file,
                path: path.to_path_buf(),
                buf: Vec::new(),
                records: entries.len() as u64,
            },
            entries,
            torn,
            created: false,
        })
    }

    /// Queues an entry; [`Journal::commit`] writes and syncs what is queued.
    pub fn append(&mut self, entry: &Entry) {
        // An entry is plain strings and JSON values: it always serialises.
        let payload = serde_json::to_vec(entry).unwrap_or_default();
        frame(&payload, &mut self.buf);
        self.records += 1;
    }

    /// Whether entries wait to be written.
    pub fn pending(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Writes the queued entries and makes them durable (fdatasync) before returning.
    pub fn commit(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.file.write_all(&self.buf)?;
        self.file.sync_data()?;
        self.buf.clear();
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Entries in the journal (replayed and appended).
    pub fn records(&self) -> u64 {
        self.records
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity::new("story", &["text"], 7, &["9002".into()])
    }

    #[test]
    fn entries_survive_a_reopen_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j");
        let mut opened = Journal::open(&path, &identity()).expect("create");
        assert!(opened.created && opened.entries.is_empty());
        opened.journal.append(&Entry::Clock("2026-03-02T09:00:00+11:00".into()));
        opened.journal.append(&Entry::Row("{\"seq\":1}".into()));
        opened.journal.commit().expect("commit");
        drop(opened);
        let again = Journal::open(&path, &identity()).expect("reopen");
        assert_eq!(again.entries.len(), 2);
        assert!(again.torn.is_none());
        drop(again);
        let full = std::fs::read(&path).expect("read");
        // Cut the last record short: dropped with a warning, the file cut back.
        std::fs::write(&path, &full[..full.len() - 3]).expect("write");
        let torn = Journal::open(&path, &identity()).expect("torn tail");
        assert_eq!(torn.entries.len(), 1);
        assert!(torn.torn.is_some());
        drop(torn);
        assert!(std::fs::metadata(&path).expect("meta").len() < full.len() as u64 - 3);
        // Another identity is refused.
        let other = Identity::new("story", &["text"], 8, &["9002".into()]);
        let e = Journal::open(&path, &other).err().expect("refused");
        assert!(e.to_string().contains("seed is 7, not 8"), "{e}");
    }

    #[test]
    fn a_corrupt_middle_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j");
        let mut opened = Journal::open(&path, &identity()).expect("create");
        for i in 0..3 {
            opened.journal.append(&Entry::Row(format!("{{\"seq\":{i}}}")));
        }
        opened.journal.commit().expect("commit");
        drop(opened);
        let mut bytes = std::fs::read(&path).expect("read");
        let n = bytes.len();
        bytes[n - 40] ^= 0x55;
        std::fs::write(&path, &bytes).expect("write");
        let e = Journal::open(&path, &identity()).err().expect("refused");
        assert!(e.to_string().contains("corrupt in the middle"), "{e}");
    }
}

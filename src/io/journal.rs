//! The stream's durable state (`scyth stream --state DIR`): a write-ahead
//! log of epochs, a commit record and a compacting snapshot, so that a
//! stream killed at any moment restarts where it stopped — no record lost or
//! counted twice, no committed epoch written again.
//!
//! The protocol, per epoch `e`:
//! 1. the records read for `e` (documents with their sequence numbers, bad
//!    records, window retractions, and how many input items were consumed)
//!    are appended to `log` and synced **before** `e` enters the dataflow;
//! 2. once `e`'s output is written and synced, `commit` is replaced
//!    atomically (temporary file + rename) by `{e, output length, stats
//!    length}`.
//!
//! On restart the log's complete entries are read back. Entries up to the
//! commit are replayed as one batch with their output suppressed (the
//! classifications and statistics of a stream depend only on its live
//! documents, not on how they were grouped into epochs); later entries are
//! replayed epoch by epoch and written again, after the outputs are cut back
//! to their committed lengths. Reading then resumes after the consumed input
//! items.
//!
//! Everything is checksummed (xxh3). A torn last log line — a write cut
//! short by the crash — is dropped, since its epoch never entered the
//! dataflow; any other damage is reported as corruption and nothing is
//! loaded. When the log outgrows the live documents, the live documents at
//! the last commit are written to `snapshot` and the log is rewritten with
//! the uncommitted entries only, so with a window the state stays bounded.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use xxhash_rust::xxh3::xxh3_64;

/// Tag and version of a state directory.
const FORMAT: &str = "scyth-stream-state";
const VERSION: u32 = 1;
const MANIFEST: &str = "manifest";
const LOG: &str = "log";
const COMMIT: &str = "commit";
const SNAPSHOT: &str = "snapshot";

/// A document as logged: its sequence number, record id and text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedDoc {
    /// Sequence number (the document's identity in the dataflow).
    pub seq: u64,
    /// The record's id.
    pub id: String,
    /// The record's text.
    pub text: String,
    /// The record's time, as written, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// A bad input record as logged (it becomes an error row of its epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedError {
    /// 1-based input line.
    pub line: u64,
    /// The record's id, when it could be read.
    pub id: Option<String>,
    /// Why it was rejected.
    pub reason: String,
}

/// Everything one epoch took from the input, as the log stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochEntry {
    /// The epoch (0 = first).
    pub epoch: u64,
    /// Input items (good and bad records) consumed from the start of the
    /// input up to the end of this epoch.
    pub consumed: u64,
    /// Input line of the last consumed item (0 when none), to check on
    /// restart that the input is the same.
    pub last_line: u64,
    /// Documents inserted.
    pub docs: Vec<LoggedDoc>,
    /// Bad records.
    pub errors: Vec<LoggedError>,
    /// Sequence numbers of documents retracted (the window).
    pub retract: Vec<u64>,
    /// The newest record time seen so far (seconds since the epoch), for
    /// time windows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<i64>,
}

/// The last epoch whose output is complete, and the output lengths then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// The epoch.
    pub epoch: u64,
    /// Bytes of the classification output after the epoch.
    pub output_len: u64,
    /// Bytes of the statistics output after the epoch.
    pub stats_len: u64,
    /// Bytes of the word statistics output after the epoch.
    #[serde(default)]
    pub words_len: u64,
}

/// The live documents at a committed epoch, with the input position then.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Snapshot {
    epoch: u64,
    consumed: u64,
    last_line: u64,
    next_seq: u64,
    failures: u64,
    #[serde(default)]
    newest: Option<i64>,
    docs: Vec<LoggedDoc>,
}

/// What identifies a state directory's stream: the format, and the caller's
/// fingerprint of everything that shapes the output (model, window, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    fingerprint: String,
}

/// The input position and counters after a prefix of the stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Progress {
    /// Epochs logged (the next epoch's number).
    epochs: u64,
    consumed: u64,
    last_line: u64,
    next_seq: u64,
    failures: u64,
    newest: Option<i64>,
}

impl Progress {
    fn apply(&mut self, entry: &EpochEntry) {
        self.epochs = entry.epoch + 1;
        self.newest = self.newest.max(entry.newest);
        self.consumed = entry.consumed;
        self.last_line = entry.last_line;
        if let Some(max) = entry.docs.iter().map(|d| d.seq).max() {
            self.next_seq = self.next_seq.max(max + 1);
        }
        self.failures += entry.errors.len() as u64;
    }
}

/// What a restart must do, read back from a state directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// The last committed epoch, if any.
    pub commit: Option<Commit>,
    /// The live documents at the committed epoch, in sequence order (fed as
    /// one batch with output suppressed).
    pub committed_docs: Vec<LoggedDoc>,
    /// Logged epochs after the commit, in order (fed and written again).
    pub replay: Vec<EpochEntry>,
    /// Input items consumed by every logged epoch (to skip on restart).
    pub consumed: u64,
    /// Line of the last consumed item (0 when none).
    pub last_line: u64,
    /// The next document sequence number.
    pub next_seq: u64,
    /// The next epoch number.
    pub next_epoch: u64,
    /// Bad records in all logged epochs.
    pub failures: u64,
    /// The newest record time of all logged epochs.
    pub newest: Option<i64>,
}

/// An open state directory, appended to as the stream runs.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    log: File,
    log_bytes: u64,
    snapshot_bytes: u64,
    /// Rewrite when the log exceeds max(snapshot size, this).
    compact_floor: u64,
    /// Live documents and progress at the last commit.
    live: BTreeMap<u64, LoggedDoc>,
    committed: Progress,
    /// Logged entries not yet committed.
    pending: VecDeque<EpochEntry>,
}

/// The smallest log that is compacted (64 MiB), unless overridden.
const DEFAULT_COMPACT_FLOOR: u64 = 64 << 20;

impl Journal {
    /// Opens (or creates) the state directory `dir` for a stream with
    /// `fingerprint`, and reads back what a restart must do. Fails on a
    /// fingerprint that differs from the stored one (another model or
    /// window) and on corruption, naming the file.
    pub fn open(dir: &Path, fingerprint: &str) -> Result<(Journal, Recovery)> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating state directory {}", dir.display()))?;
        check_manifest(dir, fingerprint)?;
        let snapshot: Option<Snapshot> = read_checked(&dir.join(SNAPSHOT))?;
        let commit: Option<Commit> = read_checked(&dir.join(COMMIT))?;
        let (entries, valid_len) = read_log(&dir.join(LOG))?;
        // The first epoch the log must hold: the one after the snapshot.
        let first = snapshot.as_ref().map_or(0, |s| s.epoch + 1);

        // Entries at or before the snapshot are already in it (a crash can
        // fall between writing the snapshot and rewriting the log).
        let entries: Vec<EpochEntry> = entries.into_iter().filter(|e| e.epoch >= first).collect();
        for (expected, entry) in (first..).zip(&entries) {
            ensure!(
                entry.epoch == expected,
                "corrupt state in {}: log jumps to epoch {} where epoch {expected} was expected",
                dir.display(),
                entry.epoch
            );
        }
        let logged_until = (first + entries.len() as u64).checked_sub(1);
        match (commit, &snapshot) {
            (Some(c), _) if Some(c.epoch) > logged_until => bail!(
                "corrupt state in {}: epoch {} is committed but the log ends before it",
                dir.display(),
                c.epoch
            ),
            (Some(c), Some(s)) if c.epoch < s.epoch => bail!(
                "corrupt state in {}: the commit (epoch {}) is older than the snapshot (epoch {})",
                dir.display(),
                c.epoch,
                s.epoch
            ),
            (None, Some(_)) => bail!(
                "corrupt state in {}: a snapshot exists without a commit",
                dir.display()
            ),
            _ => {}
        }

        let snapshot = snapshot.unwrap_or_default();
        let mut live: BTreeMap<u64, LoggedDoc> =
            snapshot.docs.into_iter().map(|d| (d.seq, d)).collect();
        let mut committed = Progress {
            epochs: first,
            consumed: snapshot.consumed,
            last_line: snapshot.last_line,
            next_seq: snapshot.next_seq,
            failures: snapshot.failures,
            newest: snapshot.newest,
        };
        let mut pending = VecDeque::new();
        for entry in entries {
            if commit.is_some_and(|c| entry.epoch <= c.epoch) {
                apply_entry(&mut live, &entry);
                committed.apply(&entry);
            } else {
                pending.push_back(entry);
            }
        }
        let mut all = committed;
        for entry in &pending {
            all.apply(entry);
        }
        let recovery = Recovery {
            commit,
            committed_docs: live.values().cloned().collect(),
            replay: pending.iter().cloned().collect(),
            consumed: all.consumed,
            last_line: all.last_line,
            next_seq: all.next_seq,
            next_epoch: all.epochs,
            failures: all.failures,
            newest: all.newest,
        };

        // Drop a torn tail, then append after the last complete entry.
        let log_path = dir.join(LOG);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        log.set_len(valid_len)
            .with_context(|| format!("truncating the torn end of {}", log_path.display()))?;
        let snapshot_bytes = file_len(&dir.join(SNAPSHOT));
        let journal = Journal {
            dir: dir.to_path_buf(),
            log,
            log_bytes: valid_len,
            snapshot_bytes,
            compact_floor: DEFAULT_COMPACT_FLOOR,
            live,
            committed,
            pending,
        };
        Ok((journal, recovery))
    }

    /// Compacts once the log passes `bytes` (and the snapshot's size), for
    /// tests and small deployments.
    pub fn with_compact_floor(mut self, bytes: u64) -> Journal {
        self.compact_floor = bytes;
        self
    }

    /// Appends an epoch to the log and syncs it: call before the epoch
    /// enters the dataflow.
    pub fn append(&mut self, entry: EpochEntry) -> Result<()> {
        let line = checked_line(&entry)?;
        self.log
            .write_all(line.as_bytes())
            .and_then(|()| self.log.sync_data())
            .with_context(|| format!("writing {}", self.dir.join(LOG).display()))?;
        self.log_bytes += line.len() as u64;
        self.pending.push_back(entry);
        Ok(())
    }

    /// Records that `commit.epoch`'s output is completely written (the
    /// outputs must be synced first), then compacts the log if it has
    /// outgrown the live documents.
    pub fn commit(&mut self, commit: Commit) -> Result<()> {
        write_atomic(&self.dir, COMMIT, &checked_line(&commit)?)?;
        while let Some(entry) = self.pending.pop_front_if(|e| e.epoch <= commit.epoch) {
            apply_entry(&mut self.live, &entry);
            self.committed.apply(&entry);
        }
        if self.log_bytes > self.compact_floor.max(self.snapshot_bytes) {
            self.compact()?;
        }
        Ok(())
    }

    /// Writes the live documents at the last commit as the snapshot and
    /// rewrites the log with the uncommitted entries only.
    fn compact(&mut self) -> Result<()> {
        let Some(epoch) = self.committed.epochs.checked_sub(1) else {
            return Ok(());
        };
        let snapshot = Snapshot {
            epoch,
            consumed: self.committed.consumed,
            last_line: self.committed.last_line,
            next_seq: self.committed.next_seq,
            failures: self.committed.failures,
            newest: self.committed.newest,
            docs: self.live.values().cloned().collect(),
        };
        let text = checked_line(&snapshot)?;
        write_atomic(&self.dir, SNAPSHOT, &text)?;
        self.snapshot_bytes = text.len() as u64;
        let mut rest = String::new();
        for entry in &self.pending {
            rest.push_str(&checked_line(entry)?);
        }
        write_atomic(&self.dir, LOG, &rest)?;
        let log_path = self.dir.join(LOG);
        self.log = OpenOptions::new()
            .append(true)
            .open(&log_path)
            .with_context(|| format!("reopening {}", log_path.display()))?;
        self.log_bytes = rest.len() as u64;
        Ok(())
    }
}

/// Applies one epoch's insertions and retractions to a live set.
fn apply_entry(live: &mut BTreeMap<u64, LoggedDoc>, entry: &EpochEntry) {
    for doc in &entry.docs {
        live.insert(doc.seq, doc.clone());
    }
    for seq in &entry.retract {
        live.remove(seq);
    }
}

/// Writes the manifest of a new directory, or checks an existing one.
fn check_manifest(dir: &Path, fingerprint: &str) -> Result<()> {
    let want = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        fingerprint: fingerprint.into(),
    };
    match read_checked::<Manifest>(&dir.join(MANIFEST))? {
        None => {
            let stray = [LOG, COMMIT, SNAPSHOT]
                .iter()
                .any(|name| file_len(&dir.join(name)) > 0);
            ensure!(
                !stray,
                "corrupt state in {}: stream files without a manifest",
                dir.display()
            );
            write_atomic(dir, MANIFEST, &checked_line(&want)?)
        }
        Some(found) => {
            ensure!(
                found.format == FORMAT && found.version == VERSION,
                "{} holds {} version {}, this scyth reads {FORMAT} version {VERSION}",
                dir.display(),
                found.format,
                found.version
            );
            if found.fingerprint != fingerprint {
                bail!(
                    "state directory {} belongs to another stream (model or options differ)\n  stored: {}\n  now:    {}\nuse a new --state directory, or the original options",
                    dir.display(),
                    found.fingerprint,
                    fingerprint
                );
            }
            Ok(())
        }
    }
}

/// `"<xxh3 hex> <json>\n"`.
fn checked_line<T: Serialize>(value: &T) -> Result<String> {
    let json = serde_json::to_string(value).context("encoding stream state")?;
    Ok(format!("{:016x} {json}\n", xxh3_64(json.as_bytes())))
}

/// Parses one checked line (without its newline); `None` when its checksum
/// or JSON is bad.
fn parse_checked<T: DeserializeOwned>(line: &str) -> Option<T> {
    let (sum, json) = line.split_once(' ')?;
    let sum = u64::from_str_radix(sum, 16).ok()?;
    (sum == xxh3_64(json.as_bytes()))
        .then(|| serde_json::from_str(json).ok())
        .flatten()
}

/// Reads a one-line checked file; `None` when it does not exist.
fn read_checked<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let line = text.strip_suffix('\n').unwrap_or(&text);
    match parse_checked(line) {
        Some(value) => Ok(Some(value)),
        None => bail!(
            "corrupt state: {} fails its checksum or does not parse",
            path.display()
        ),
    }
}

/// Reads the log's complete entries and the length they span. A last line
/// without its newline is a torn write and is dropped; any other bad line
/// is corruption.
fn read_log(path: &Path) -> Result<(Vec<EpochEntry>, u64)> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    let mut reader = BufReader::new(file);
    let mut entries = Vec::new();
    let mut valid = 0u64;
    let mut buf = Vec::new();
    let mut number = 0usize;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        number += 1;
        // A crash cuts a write short: only a last line without its newline
        // is torn. A complete line that fails its checksum is damage.
        // (Without a newline the line is the file's last.)
        if buf.last() != Some(&b'\n') {
            break;
        }
        let parsed = std::str::from_utf8(&buf[..n - 1])
            .ok()
            .and_then(parse_checked::<EpochEntry>);
        match parsed {
            Some(entry) => {
                entries.push(entry);
                valid += n as u64;
            }
            None => bail!(
                "corrupt state: {} line {number} fails its checksum or does not parse",
                path.display()
            ),
        }
    }
    Ok((entries, valid))
}

/// Replaces `dir/name` with `text` atomically (temporary file, sync,
/// rename, directory sync).
fn write_atomic(dir: &Path, name: &str, text: &str) -> Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let target = dir.join(name);
    let mut f = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_data())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &target)
        .with_context(|| format!("renaming {} to {}", tmp.display(), target.display()))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Cuts an output file back to its committed length and positions it at
/// the end, for appending after a restart. Fails when the file is shorter
/// than what was committed (it was changed behind the stream's back).
pub fn reopen_output(path: &Path, committed_len: u64) -> Result<File> {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let len = f
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    ensure!(
        len >= committed_len,
        "{} has {len} bytes but the state committed {committed_len}: it was changed outside the stream",
        path.display()
    );
    f.set_len(committed_len)
        .and_then(|()| f.seek(SeekFrom::End(0)).map(|_| ()))
        .with_context(|| format!("cutting {} back to its committed end", path.display()))?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(epoch: u64, seqs: &[u64], retract: &[u64]) -> EpochEntry {
        EpochEntry {
            epoch,
            consumed: (epoch + 1) * 10,
            last_line: (epoch + 1) * 10 + 1,
            docs: seqs
                .iter()
                .map(|&s| LoggedDoc {
                    seq: s,
                    id: format!("d{s}"),
                    text: format!("テキスト{s}"),
                    time: None,
                })
                .collect(),
            errors: if epoch == 1 {
                vec![LoggedError {
                    line: 7,
                    id: None,
                    reason: "empty text".into(),
                }]
            } else {
                vec![]
            },
            retract: retract.to_vec(),
            newest: None,
        }
    }

    fn commit(epoch: u64) -> Commit {
        Commit {
            epoch,
            output_len: epoch * 100,
            stats_len: 0,
            words_len: 0,
        }
    }

    #[test]
    fn fresh_directory_recovers_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (_, rec) = Journal::open(dir.path(), "fp").unwrap();
        assert_eq!(rec, Recovery::default());
    }

    #[test]
    fn committed_and_pending_epochs_come_back_apart() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path(), "fp").unwrap();
        j.append(entry(0, &[0, 1], &[])).unwrap();
        j.append(entry(1, &[2], &[0])).unwrap();
        j.commit(commit(0)).unwrap();
        j.append(entry(2, &[3], &[1])).unwrap();
        j.commit(commit(1)).unwrap();
        drop(j);
        let (_, rec) = Journal::open(dir.path(), "fp").unwrap();
        assert_eq!(rec.commit, Some(commit(1)));
        let seqs: Vec<u64> = rec.committed_docs.iter().map(|d| d.seq).collect();
        assert_eq!(seqs, [1, 2]);
        assert_eq!(rec.replay, vec![entry(2, &[3], &[1])]);
        assert_eq!(
            (rec.consumed, rec.next_seq, rec.next_epoch, rec.failures),
            (30, 4, 3, 1)
        );
        let mut live: BTreeMap<u64, LoggedDoc> = rec
            .committed_docs
            .iter()
            .map(|d| (d.seq, d.clone()))
            .collect();
        for e in &rec.replay {
            apply_entry(&mut live, e);
        }
        let live: Vec<u64> = live.into_keys().collect();
        assert_eq!(live, [2, 3]);
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_appending_continues() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path(), "fp").unwrap();
        j.append(entry(0, &[0], &[])).unwrap();
        drop(j);
        let log = dir.path().join(LOG);
        let mut f = OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(b"0123456789abcdef {\"epoch\":1,\"cons")
            .unwrap();
        drop(f);
        let (mut j, rec) = Journal::open(dir.path(), "fp").unwrap();
        assert_eq!(rec.replay.len(), 1);
        assert_eq!(rec.next_epoch, 1);
        j.append(entry(1, &[1], &[])).unwrap();
        drop(j);
        let (_, rec) = Journal::open(dir.path(), "fp").unwrap();
        assert_eq!(rec.replay.len(), 2);
    }

    #[test]
    fn damage_before_the_last_line_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path(), "fp").unwrap();
        j.append(entry(0, &[0], &[])).unwrap();
        j.append(entry(1, &[1], &[])).unwrap();
        drop(j);
        let log = dir.path().join(LOG);
        let mut bytes = std::fs::read(&log).unwrap();
        let at = bytes.iter().position(|&b| b == b'd').unwrap();
        bytes[at] = b'e';
        std::fs::write(&log, bytes).unwrap();
        let err = Journal::open(dir.path(), "fp").unwrap_err().to_string();
        assert!(
            err.contains("corrupt state") && err.contains("line 1"),
            "{err}"
        );
    }

    #[test]
    fn a_damaged_commit_or_snapshot_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path(), "fp").unwrap();
        j = j.with_compact_floor(0);
        j.append(entry(0, &[0], &[])).unwrap();
        j.commit(commit(0)).unwrap();
        drop(j);
        for name in [COMMIT, SNAPSHOT] {
            let path = dir.path().join(name);
            let good = std::fs::read(&path).unwrap();
            let mut bad = good.clone();
            let last = bad.len() - 3;
            bad[last] ^= 1;
            std::fs::write(&path, bad).unwrap();
            let err = Journal::open(dir.path(), "fp").unwrap_err().to_string();
            assert!(err.contains("corrupt state") && err.contains(name), "{err}");
            std::fs::write(&path, good).unwrap();
        }
        assert!(Journal::open(dir.path(), "fp").is_ok());
    }

    #[test]
    fn another_fingerprint_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(Journal::open(dir.path(), "model A").unwrap());
        let err = Journal::open(dir.path(), "model B")
            .unwrap_err()
            .to_string();
        assert!(err.contains("another stream"), "{err}");
    }

    #[test]
    fn compaction_keeps_live_documents_and_pending_entries() {
        let dir = tempfile::tempdir().unwrap();
        let (j, _) = Journal::open(dir.path(), "fp").unwrap();
        let mut j = j.with_compact_floor(0);
        let mut seq = 0;
        for epoch in 0..20u64 {
            let retract: Vec<u64> = if seq >= 4 {
                vec![seq - 4, seq - 3]
            } else {
                vec![]
            };
            j.append(entry(epoch, &[seq, seq + 1], &retract)).unwrap();
            seq += 2;
            if epoch >= 2 {
                j.commit(commit(epoch - 2)).unwrap();
            }
        }
        drop(j);
        let log_lines = std::fs::read_to_string(dir.path().join(LOG))
            .unwrap()
            .lines()
            .count();
        assert!(log_lines <= 3, "log not compacted: {log_lines} lines");
        let (_, rec) = Journal::open(dir.path(), "fp").unwrap();
        assert_eq!(rec.commit.map(|c| c.epoch), Some(17));
        let committed: Vec<u64> = rec.committed_docs.iter().map(|d| d.seq).collect();
        assert_eq!(committed, [32, 33, 34, 35]);
        assert_eq!(rec.replay.len(), 2);
        assert_eq!((rec.next_seq, rec.next_epoch, rec.failures), (40, 20, 1));
    }

    #[test]
    fn reopened_output_is_cut_to_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        std::fs::write(&path, b"one\ntwo\nthr").unwrap();
        let mut f = reopen_output(&path, 8).unwrap();
        f.write_all(b"three\n").unwrap();
        drop(f);
        assert_eq!(std::fs::read(&path).unwrap(), b"one\ntwo\nthree\n");
        assert!(reopen_output(&path, 100).is_err());
    }
}

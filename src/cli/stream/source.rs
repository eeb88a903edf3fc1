//! The stream's epoch source: reads records on a thread, groups them into
//! epochs by count or time, numbers documents, retracts those leaving the
//! window, and — with `--state` — logs each epoch before the dataflow sees
//! it. After a restart it first hands over what the state recovered: the
//! committed documents as one batch, then the logged but uncommitted epochs
//! one by one, then it skips the input items already consumed and reads on.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use scyth::dataflows::{Batch, SourceStep};
use scyth::io::journal::{EpochEntry, LoggedDoc, LoggedError, Recovery};
use scyth::io::time::parse_timestamp;
use scyth::io::{Record, RecordError};
use scyth::words::TimeBucket;

use super::super::args::InputArgs;
use super::writer::Writer;

/// One input item as the reader thread hands it over.
type Item = Result<Record, RecordError>;

/// Reads records on a thread so that epochs can close on time while the
/// input is quiet. The channel is bounded: a lagging stream stops reading.
/// With `follow`, a directory of feeds is polled every `follow` for new
/// files instead of ending.
pub(super) fn spawn_reader(input: &InputArgs, follow: Option<Duration>) -> Result<Receiver<Item>> {
    let mut reader = input.open()?;
    if let Some(poll) = follow {
        reader.follow(poll)?;
    }
    let (tx, rx) = sync_channel::<Item>(4096);
    std::thread::Builder::new()
        .name("scyth-reader".into())
        .spawn(move || {
            for item in reader.by_ref() {
                if tx.send(item).is_err() {
                    break;
                }
            }
        })
        .context("starting the reader thread")?;
    Ok(rx)
}

/// How long a source waits for a first record before letting the dataflow
/// work on what it has.
const IDLE_POLL: Duration = Duration::from_millis(50);

/// How epochs are cut and documents kept.
pub(super) struct EpochRules {
    /// Close an epoch after this many records.
    pub epoch_docs: usize,
    /// Or this long after its first record.
    pub epoch_ms: Option<Duration>,
    /// Keep only the most recent N documents.
    pub window: Option<usize>,
    /// Keep only documents whose time is within this many seconds of the
    /// newest record time seen.
    pub window_secs: Option<i64>,
    /// Time buckets of documents for word statistics (`None`: no words).
    pub buckets: Option<TimeBucket>,
}

/// A document inside the window.
struct HeldDoc {
    seq: u64,
    text: String,
    bucket: Option<String>,
    /// Its time (seconds since the epoch), when it has a usable one.
    at: Option<i64>,
}

impl EpochRules {
    /// Whether documents are held for retraction.
    fn windowed(&self) -> bool {
        self.window.is_some() || self.window_secs.is_some()
    }

    fn held(&self, doc: &LoggedDoc) -> HeldDoc {
        HeldDoc {
            seq: doc.seq,
            text: doc.text.clone(),
            bucket: self.bucket(doc),
            at: doc.time.as_deref().and_then(parse_timestamp),
        }
    }

    /// A document's time bucket, when word statistics are on and it has a
    /// usable time.
    fn bucket(&self, doc: &LoggedDoc) -> Option<String> {
        let by = self.buckets?;
        doc.time.as_deref().and_then(|t| by.key(t))
    }
}

/// The source's state between epochs.
pub(super) struct EpochSource {
    items: Receiver<Item>,
    rules: EpochRules,
    writer: Arc<Mutex<Writer>>,
    /// Bad records so far (the exit code).
    failures: Arc<AtomicU64>,
    /// A reason to stop that is not the input's end.
    fatal: Arc<Mutex<Option<anyhow::Error>>>,
    next_seq: u64,
    /// Documents in the window, in input order (only with a window).
    held: VecDeque<HeldDoc>,
    /// The newest record time seen.
    newest: Option<i64>,
    ended: bool,
    /// The next epoch's number.
    epoch: u64,
    /// Input items consumed so far, and the line of the last one.
    consumed: u64,
    last_line: u64,
    /// Input items to skip (consumed before a restart).
    to_skip: u64,
    /// Committed documents of a restart, handed over first as one batch.
    committed: Option<Vec<LoggedDoc>>,
    /// Logged, uncommitted epochs of a restart, handed over next.
    replay: VecDeque<EpochEntry>,
}

impl EpochSource {
    /// A source reading `items` by `rules`, continuing from `recovery`
    /// (the default recovery starts a new stream).
    pub fn new(
        items: Receiver<Item>,
        rules: EpochRules,
        writer: Arc<Mutex<Writer>>,
        recovery: Recovery,
    ) -> EpochSource {
        let held = match rules.windowed() {
            true => recovery
                .committed_docs
                .iter()
                .map(|d| rules.held(d))
                .collect(),
            false => VecDeque::new(),
        };
        EpochSource {
            items,
            rules,
            writer,
            failures: Arc::new(AtomicU64::new(recovery.failures)),
            fatal: Arc::default(),
            next_seq: recovery.next_seq,
            held,
            newest: recovery.newest,
            ended: false,
            epoch: recovery.next_epoch,
            consumed: recovery.consumed,
            last_line: recovery.last_line,
            to_skip: recovery.consumed,
            committed: recovery.commit.map(|_| recovery.committed_docs),
            replay: recovery.replay.into(),
        }
    }

    /// Bad records over the whole stream, restarts included.
    pub fn failures(&self) -> Arc<AtomicU64> {
        self.failures.clone()
    }

    /// Where a fatal error (input does not match the state, the log cannot
    /// be written) is left when the source stops early.
    pub fn fatal(&self) -> Arc<Mutex<Option<anyhow::Error>>> {
        self.fatal.clone()
    }

    /// The next epoch's document changes, `Idle` while a live input is
    /// quiet, or `End`.
    pub fn next_batch(&mut self) -> SourceStep {
        if let Some(docs) = self.committed.take() {
            return SourceStep::Batch(self.hand_over_committed(docs));
        }
        if let Some(entry) = self.replay.pop_front() {
            return SourceStep::Batch(self.hand_over_logged(entry));
        }
        if self.ended {
            return SourceStep::End;
        }
        if let Err(e) = self.skip_consumed() {
            return self.stop(e);
        }
        let entry = match self.read_epoch() {
            Some(Some(entry)) => entry,
            Some(None) => return SourceStep::Idle,
            None => return SourceStep::End,
        };
        let logged = match self.lock_writer().journal.as_mut() {
            Some(journal) => journal.append(entry.clone()),
            None => Ok(()),
        };
        if let Err(e) = logged {
            return self.stop(e);
        }
        SourceStep::Batch(self.hand_over_logged(entry))
    }

    fn stop(&mut self, error: anyhow::Error) -> SourceStep {
        self.ended = true;
        *self.fatal.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
        SourceStep::End
    }

    fn lock_writer(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The documents a restart had committed, as one batch.
    fn hand_over_committed(&mut self, docs: Vec<LoggedDoc>) -> Batch {
        let mut batch = Batch::default();
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        w.closed.push_back(Instant::now());
        for d in docs {
            if let Some(bucket) = self.rules.bucket(&d) {
                batch.buckets.push((d.seq, bucket, 1));
            }
            w.ids.insert(d.seq, d.id);
            batch.docs.push((d.seq, d.text, 1));
        }
        batch
    }

    /// One logged epoch (read now, or replayed after a restart) as a batch:
    /// its documents, its window retractions, its bad records as error rows.
    fn hand_over_logged(&mut self, entry: EpochEntry) -> Batch {
        let mut batch = Batch::default();
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        for doc in entry.docs {
            let held = self.rules.held(&doc);
            if let Some(b) = &held.bucket {
                batch.buckets.push((doc.seq, b.clone(), 1));
            }
            if self.rules.windowed() {
                self.held.push_back(held);
            }
            w.ids.insert(doc.seq, doc.id);
            batch.docs.push((doc.seq, doc.text, 1));
        }
        let retract: std::collections::BTreeSet<u64> = entry.retract.into_iter().collect();
        if !retract.is_empty() {
            let mut kept = VecDeque::with_capacity(self.held.len());
            for h in self.held.drain(..) {
                if !retract.contains(&h.seq) {
                    kept.push_back(h);
                    continue;
                }
                if let Some(b) = h.bucket {
                    batch.buckets.push((h.seq, b, -1));
                }
                batch.docs.push((h.seq, h.text, -1));
            }
            self.held = kept;
        }
        self.newest = self.newest.max(entry.newest);
        for error in entry.errors {
            w.errors.push_back((
                entry.epoch,
                RecordError {
                    line: error.line,
                    id: error.id,
                    reason: error.reason,
                },
            ));
        }
        w.closed.push_back(Instant::now());
        batch
    }

    /// Skips the input items a restarted stream had consumed, checking that
    /// the last one sits on the line the state recorded.
    fn skip_consumed(&mut self) -> Result<()> {
        let total = self.to_skip;
        let mut skipped = 0;
        while self.to_skip > 0 {
            let item = self.items.recv().map_err(|_| {
                anyhow!(
                    "the input ended after {skipped} records, but the state had consumed {total}: \
                     restart with the same input"
                )
            })?;
            skipped += 1;
            self.to_skip -= 1;
            if self.to_skip == 0 {
                let line = item_line(&item);
                anyhow::ensure!(
                    line == self.last_line,
                    "the input does not match the state: record {total} starts on line {line}, \
                     the state has line {}; restart with the same input",
                    self.last_line
                );
            }
        }
        Ok(())
    }

    /// Reads the next epoch's records: up to `epoch_docs`, or what arrived
    /// within `epoch_ms` of the first. `None` when the input has ended;
    /// `Some(None)` when nothing arrived for a moment (the dataflow may
    /// then finish the epochs it has).
    fn read_epoch(&mut self) -> Option<Option<EpochEntry>> {
        let mut entry = EpochEntry {
            epoch: self.epoch,
            consumed: self.consumed,
            last_line: self.last_line,
            docs: Vec::new(),
            errors: Vec::new(),
            retract: Vec::new(),
            newest: self.newest,
        };
        let mut deadline: Option<Instant> = None;
        while entry.docs.len() + entry.errors.len() < self.rules.epoch_docs {
            let first = entry.docs.is_empty() && entry.errors.is_empty();
            let wait = match deadline {
                None => IDLE_POLL,
                Some(d) => d.saturating_duration_since(Instant::now()),
            };
            let item = match self.items.recv_timeout(wait) {
                Ok(item) => item,
                Err(RecvTimeoutError::Timeout) if first && deadline.is_none() => {
                    return Some(None);
                }
                Err(RecvTimeoutError::Timeout) if deadline.is_none() => continue,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    self.ended = true;
                    break;
                }
            };
            if deadline.is_none() {
                deadline = self.rules.epoch_ms.map(|ms| Instant::now() + ms);
            }
            self.consumed += 1;
            self.last_line = item_line(&item);
            match checked(item) {
                Ok(rec) => {
                    entry.docs.push(LoggedDoc {
                        seq: self.next_seq,
                        id: rec.id,
                        text: rec.text,
                        time: rec.time,
                    });
                    self.next_seq += 1;
                }
                Err(e) => {
                    self.failures.fetch_add(1, Ordering::Relaxed);
                    entry.errors.push(LoggedError {
                        line: e.line,
                        id: e.id,
                        reason: e.reason,
                    });
                }
            }
        }
        if entry.docs.is_empty() && entry.errors.is_empty() && self.ended {
            return None;
        }
        self.retire(&mut entry);
        entry.consumed = self.consumed;
        entry.last_line = self.last_line;
        self.epoch += 1;
        Some(Some(entry))
    }

    /// Decides which documents leave the window at the end of an epoch:
    /// documents held from earlier epochs whose time is before the newest
    /// time seen minus the time window (documents without a time only leave
    /// by count; a new document is classified at least once, so one already
    /// out of the window leaves at the end of the next epoch), then the
    /// oldest beyond the count window.
    fn retire(&mut self, entry: &mut EpochEntry) {
        let newest = entry
            .docs
            .iter()
            .filter_map(|d| d.time.as_deref().and_then(parse_timestamp))
            .fold(self.newest, |m, t| m.max(Some(t)));
        entry.newest = newest;
        let mut expired = std::collections::BTreeSet::new();
        if let (Some(window), Some(newest)) = (self.rules.window_secs, newest) {
            let edge = newest.saturating_sub(window);
            expired.extend(
                self.held
                    .iter()
                    .filter(|h| h.at.is_some_and(|t| t < edge))
                    .map(|h| h.seq),
            );
        }
        if let Some(n) = self.rules.window {
            let remaining: Vec<u64> = self
                .held
                .iter()
                .map(|h| h.seq)
                .filter(|s| !expired.contains(s))
                .chain(entry.docs.iter().map(|d| d.seq))
                .collect();
            let over = remaining.len().saturating_sub(n);
            expired.extend(remaining.into_iter().take(over));
        }
        entry.retract = expired.into_iter().collect();
    }
}

/// The line an input item starts on.
fn item_line(item: &Item) -> u64 {
    match item {
        Ok(rec) => rec.line,
        Err(e) => e.line,
    }
}

/// Rejects records whose text is blank.
fn checked(item: Item) -> Item {
    item.and_then(|rec| {
        if rec.text.trim().is_empty() {
            Err(RecordError {
                line: rec.line,
                id: Some(rec.id.clone()),
                reason: "empty text".into(),
            })
        } else {
            Ok(rec)
        }
    })
}

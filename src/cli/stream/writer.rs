//! The stream's writer: error rows, classification changes and statistics
//! lines, epoch by epoch, in order. With `--state`, each epoch's outputs
//! are synced and then committed to the journal; epochs a restart replays
//! that were committed before are counted but not written again.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use scyth::dataflows::{Classification, EpochOutput, EpochReport};
use scyth::io::RecordError;
use scyth::io::journal::{Commit, Journal, reopen_output};
use scyth::text::Trigram;
use scyth::words::{
    Emerging, EmergingParams, Keyword, KeywordParams, WordStats, emerging, keywords,
};
use serde::Serialize;

/// Writes epochs in order: error rows of the epoch's bad records, then its
/// classification changes, then its statistics line.
pub(super) struct Writer {
    /// Names of the category ids in the classifications.
    pub labels: Vec<String>,
    pub out: Output,
    pub stats: Option<Output>,
    /// Record id per sequence number, while the document may still change.
    pub ids: BTreeMap<u64, String>,
    /// Bad records waiting for their epoch to be written, by epoch.
    pub errors: VecDeque<(u64, RecordError)>,
    /// When each epoch not yet written was closed (for its latency).
    pub closed: VecDeque<Instant>,
    /// Live documents per decided label.
    pub label_counts: Vec<u64>,
    /// Live documents.
    pub live: u64,
    /// The last report (epochs without work repeat it).
    pub last: Option<EpochReport>,
    pub started: Instant,
    /// Epochs up to this one were written before a restart: count them,
    /// write nothing.
    pub suppress_until: Option<u64>,
    /// The durable state, committed after every written epoch.
    pub journal: Option<Journal>,
    /// The word statistics side output.
    pub words: Option<WordsOutput>,
}

/// One classification change as written.
#[derive(Serialize)]
struct ChangeRow<'a> {
    epoch: u64,
    id: &'a str,
    labels: Vec<&'a str>,
    probabilities: Vec<f32>,
    top: Vec<TopEntry<'a>>,
    diff: isize,
}

/// A top-k entry.
#[derive(Serialize)]
struct TopEntry<'a> {
    label: &'a str,
    probability: f32,
}

/// An error row.
#[derive(Serialize)]
struct ErrorRow<'a> {
    epoch: u64,
    line: u64,
    id: Option<&'a str>,
    error: &'a str,
}

/// One line of `--stats`.
#[derive(Serialize)]
struct StatsRow<'a> {
    epoch: u64,
    n_docs: u64,
    live_docs: u64,
    df_max: u32,
    trigrams: u64,
    white_columns: u64,
    gray_columns: u64,
    appended_pentagrams: u64,
    /// Trigram indices a worker holds beyond the model's (in use and free).
    trigram_slots: u64,
    /// Pentagram indices a worker holds beyond the model's.
    pentagram_slots: u64,
    flipped: usize,
    flipped_sample: Vec<Flip>,
    top_trigrams: Vec<TopTrigram>,
    label_counts: BTreeMap<&'a str, u64>,
    rechecked: u64,
    patched: u64,
    reclassified: u64,
    /// From the epoch's last record read to its output written.
    latency_ms: f64,
    elapsed_ms: f64,
}

/// A trigram that changed status.
#[derive(Serialize)]
struct Flip {
    trigram: String,
    white: bool,
}

/// A trigram with its df.
#[derive(Serialize)]
struct TopTrigram {
    trigram: String,
    df: u32,
}

impl Writer {
    /// A writer to `out` (and `stats`) with nothing written yet.
    pub fn new(labels: Vec<String>, out: Output, stats: Option<Output>) -> Writer {
        let label_counts = vec![0; labels.len()];
        Writer {
            labels,
            out,
            stats,
            ids: BTreeMap::new(),
            errors: VecDeque::new(),
            closed: VecDeque::new(),
            label_counts,
            live: 0,
            last: None,
            started: Instant::now(),
            suppress_until: None,
            journal: None,
            words: None,
        }
    }

    /// Writes one completed epoch (or, for an epoch committed before a
    /// restart, only takes its changes into account), then commits it.
    pub fn write_epoch(&mut self, epoch: EpochOutput) -> Result<()> {
        let e = epoch.epoch;
        let suppressed = self.suppress_until.is_some_and(|c| e <= c);
        while let Some((_, err)) = self.errors.pop_front_if(|(at, _)| *at <= e) {
            if suppressed {
                continue;
            }
            let row = ErrorRow {
                epoch: e,
                line: err.line,
                id: err.id.as_deref(),
                error: &err.reason,
            };
            serde_json::to_writer(&mut self.out, &row)?;
            self.out.write_all(b"\n")?;
        }
        for (seq, class, diff) in &epoch.changes {
            self.count(class, *diff);
            if suppressed {
                continue;
            }
            let labels = &self.labels;
            let name = |c: u32| labels.get(c as usize).map_or("?", String::as_str);
            let id = self.ids.get(seq).map_or("", String::as_str);
            let row = ChangeRow {
                epoch: e,
                id,
                labels: class.labels.iter().map(|&c| name(c)).collect(),
                probabilities: class
                    .label_bits
                    .iter()
                    .map(|&b| f32::from_bits(b))
                    .collect(),
                top: class
                    .top
                    .iter()
                    .map(|&(c, b)| TopEntry {
                        label: name(c),
                        probability: f32::from_bits(b),
                    })
                    .collect(),
                diff: *diff,
            };
            serde_json::to_writer(&mut self.out, &row)?;
            self.out.write_all(b"\n")?;
        }
        // A document retracted for good needs no id any more. Changes are
        // ordered by document, retraction first, so a re-issued document's
        // retraction is followed by its new result.
        for (i, (seq, _, diff)) in epoch.changes.iter().enumerate() {
            let reissued = epoch.changes.get(i + 1).is_some_and(|(s, _, _)| s == seq);
            if *diff < 0 && !reissued {
                self.ids.remove(seq);
            }
        }
        self.out.flush()?;
        if let Some(report) = epoch.report {
            self.last = Some(report);
        }
        let latency = self
            .closed
            .pop_front()
            .map_or(Duration::ZERO, |t| t.elapsed());
        if self.stats.is_some() && !suppressed {
            self.write_stats(e, latency)?;
        }
        self.end_epoch_counters();
        if let Some(words) = self.words.as_mut() {
            words.apply(&epoch.words);
            if !suppressed {
                words.write(e)?;
            }
        }
        if !suppressed && let Some(journal) = self.journal.as_mut() {
            let output_len = self.out.sync_len()?;
            let stats_len = match self.stats.as_mut() {
                Some(s) => s.sync_len()?,
                None => 0,
            };
            let words_len = match self.words.as_mut() {
                Some(w) => w.out.sync_len()?,
                None => 0,
            };
            journal.commit(Commit {
                epoch: e,
                output_len,
                stats_len,
                words_len,
            })?;
        }
        Ok(())
    }

    /// Flips and counters belong to the epoch that reported them.
    fn end_epoch_counters(&mut self) {
        if let Some(last) = self.last.as_mut() {
            last.flipped.clear();
            last.rechecked = 0;
            last.patched = 0;
            last.reclassified = 0;
        }
    }

    fn count(&mut self, class: &Classification, diff: isize) {
        self.live = self.live.saturating_add_signed(diff as i64);
        for &c in &class.labels {
            if let Some(n) = self.label_counts.get_mut(c as usize) {
                *n = n.saturating_add_signed(diff as i64);
            }
        }
    }

    fn write_stats(&mut self, epoch: u64, latency: Duration) -> Result<()> {
        let Some(stats) = self.stats.as_mut() else {
            return Ok(());
        };
        let report = self.last.clone().unwrap_or_default();
        let trigram = |k: u64| Trigram(k).to_text();
        let row = StatsRow {
            epoch,
            n_docs: report.n_docs,
            live_docs: self.live,
            df_max: report.df_max,
            trigrams: report.trigrams,
            white_columns: report.white_columns,
            gray_columns: report.gray_columns,
            appended_pentagrams: report.appended_pentagrams,
            trigram_slots: report.trigram_slots,
            pentagram_slots: report.pentagram_slots,
            flipped: report.flipped.len(),
            flipped_sample: report
                .flipped
                .iter()
                .take(10)
                .map(|&(k, white)| Flip {
                    trigram: trigram(k),
                    white,
                })
                .collect(),
            top_trigrams: report
                .top_df
                .iter()
                .map(|&(k, df)| TopTrigram {
                    trigram: trigram(k),
                    df,
                })
                .collect(),
            label_counts: self
                .labels
                .iter()
                .zip(&self.label_counts)
                .map(|(l, &n)| (l.as_str(), n))
                .collect(),
            rechecked: report.rechecked,
            patched: report.patched,
            reclassified: report.reclassified,
            latency_ms: latency.as_secs_f64() * 1e3,
            elapsed_ms: self.started.elapsed().as_secs_f64() * 1e3,
        };
        serde_json::to_writer(&mut *stats, &row)?;
        stats.write_all(b"\n")?;
        stats.flush()?;
        Ok(())
    }
}

/// The `--words` side output: word totals kept current from the
/// dataflow's changes, and one line per epoch of emerging words and
/// category keywords computed from them.
pub(super) struct WordsOutput {
    pub out: Output,
    stats: WordStats,
    emerging: EmergingParams,
    keywords: KeywordParams,
}

/// One line of `--words`.
#[derive(Serialize)]
struct WordsRow<'a> {
    epoch: u64,
    docs: u64,
    words: usize,
    buckets: usize,
    emerging: Option<Emerging>,
    keywords: BTreeMap<String, Vec<Keyword>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

impl WordsOutput {
    /// Word statistics written to `out` with these parameters.
    pub fn new(out: Output, emerging: EmergingParams, keywords: KeywordParams) -> WordsOutput {
        WordsOutput {
            out,
            stats: WordStats::default(),
            emerging,
            keywords,
        }
    }

    /// Applies an epoch's changes (retractions come first).
    fn apply(&mut self, changes: &[(scyth::words::WordCount, isize)]) {
        for (change, diff) in changes {
            self.stats.apply(change, *diff);
        }
    }

    fn write(&mut self, epoch: u64) -> Result<()> {
        let (emerging, note) = match emerging(&self.stats, &self.emerging) {
            Ok(e) => (e, None),
            Err(e) => (None, Some(e)),
        };
        let row = WordsRow {
            epoch,
            docs: self.stats.all.docs,
            words: self.stats.all.df.len(),
            buckets: self.stats.by_bucket.len(),
            emerging,
            keywords: keywords(&self.stats.by_category, &self.keywords),
            note: note.as_deref(),
        };
        serde_json::to_writer(&mut self.out, &row)?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        Ok(())
    }
}

/// An output of the stream: standard output, or a file that a restart can
/// cut back to its committed length.
pub(super) enum Output {
    /// Standard output (a restart cannot take back what it wrote).
    Stdout(BufWriter<std::io::Stdout>),
    /// A regular file.
    File(BufWriter<File>),
    /// Something else opened by path (`/dev/null`, a named pipe, a
    /// terminal): written like standard output, never cut or synced.
    Device(BufWriter<File>),
}

impl Output {
    /// Opens `path` (`-` = standard output). A file is cut back to
    /// `committed_len` bytes (0 for a new stream) and appended to.
    pub fn open(path: &Path, committed_len: u64) -> Result<Output> {
        if path == Path::new("-") {
            return Ok(Output::Stdout(BufWriter::new(std::io::stdout())));
        }
        if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
            let f = std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?;
            return Ok(Output::Device(BufWriter::new(f)));
        }
        Ok(Output::File(BufWriter::new(reopen_output(
            path,
            committed_len,
        )?)))
    }

    /// Flushes and syncs what was written; returns the file's length (0 for
    /// standard output).
    pub fn sync_len(&mut self) -> Result<u64> {
        match self {
            Output::Stdout(w) => {
                w.flush()?;
                Ok(0)
            }
            Output::Device(w) => {
                w.flush()?;
                Ok(0)
            }
            Output::File(w) => {
                w.flush()?;
                let f = w.get_mut();
                f.sync_data().context("syncing an output file")?;
                Ok(f.stream_position()?)
            }
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::Stdout(w) => w.write(buf),
            Output::File(w) | Output::Device(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Stdout(w) => w.flush(),
            Output::File(w) | Output::Device(w) => w.flush(),
        }
    }
}

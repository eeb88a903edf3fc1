//! `scyth stream`: classifies records as they arrive and keeps corpus
//! statistics current (SPEC §7). Records are read incrementally (a file,
//! or standard input as it grows) on a reader thread, grouped into epochs
//! by count or by time, and fed to the timely/differential graph of
//! `scyth::dataflows`. Each completed epoch writes its classification
//! changes (a new result with `diff: 1`, a retracted old one with
//! `diff: -1`) and, with `--stats`, one line of statistics.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use scyth::dataflows::{
    Classification, EpochOutput, EpochReport, StreamModel, UserRanking, run_classification,
};
use scyth::io::{Record, RecordError};
use scyth::text::Trigram;
use serde::Serialize;

use super::Outcome;
use super::args::{CategoryArgs, InputArgs, ModelArgs};

/// Options of `scyth stream`.
#[derive(Args, Debug)]
pub struct StreamArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// Where classification changes go (JSONL); `-` writes standard output.
    #[arg(long, short, default_value = "-")]
    pub output: PathBuf,
    /// Also write one JSON line of corpus statistics per epoch here.
    #[arg(long)]
    pub stats: Option<PathBuf>,
    /// Close an epoch after this many records.
    #[arg(long, default_value_t = 100)]
    pub epoch_docs: usize,
    /// Also close an epoch this many milliseconds after its first record
    /// (for slow feeds).
    #[arg(long)]
    pub epoch_ms: Option<u64>,
    /// Keep only the most recent N documents: older ones are retracted, so
    /// statistics and classifications forget them.
    #[arg(long)]
    pub window_docs: Option<usize>,
    /// Number of top categories per document.
    #[arg(long, short = 'k', default_value_t = 3)]
    pub top_k: usize,
    /// Worker threads per process.
    #[arg(long, short = 'w', default_value_t = 1)]
    pub workers: usize,
    /// Processes in a timely cluster (each runs this command).
    #[arg(long, short = 'n', default_value_t = 1)]
    pub processes: usize,
    /// This process's index in the cluster (0 reads input, writes output).
    #[arg(long, short = 'p', default_value_t = 0)]
    pub process: usize,
    /// File with one `host:port` per process, for `--processes` > 1.
    #[arg(long, short = 'H')]
    pub hostfile: Option<PathBuf>,
    #[command(flatten)]
    pub user: CategoryArgs,
    /// With --categories: decide every category scoring at least this.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f32,
    /// Stop reading while this many epochs are in flight (backpressure).
    #[arg(long, default_value_t = 4)]
    pub max_lag: u64,
}

/// One input item as the reader thread hands it over.
type Item = Result<Record, RecordError>;

/// Runs the stream until the input ends.
pub fn run(args: StreamArgs) -> Result<Outcome> {
    if args.epoch_docs == 0 {
        bail!("--epoch-docs must be at least 1");
    }
    if args.workers == 0 {
        bail!("--workers must be at least 1");
    }
    let config = timely_config(&args)?;
    let model = Arc::new(args.model.load()?);
    let mut shared = StreamModel::new(model.clone(), args.top_k.max(1));
    let mut label_names = model.meta.labels.clone();
    if let Some(path) = &args.user.categories {
        let categories = super::classify::load_categories(path, &model)?;
        label_names = categories
            .categories
            .iter()
            .map(|c| c.name.clone())
            .collect();
        shared = shared.with_user_categories(UserRanking {
            categories,
            c0: args.user.c0,
            slope: args.user.slope,
            threshold: args.threshold,
        });
    }
    let leader = args.process == 0;

    let (source, sink, failures) = if leader {
        let items = spawn_reader(&args.input)?;
        let failures = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let writer = Writer {
            labels: label_names.clone(),
            out: open_send_output(&args.output)?,
            stats: args.stats.as_deref().map(open_send_output).transpose()?,
            ids: BTreeMap::new(),
            errors: VecDeque::new(),
            closed: VecDeque::new(),
            label_counts: vec![0; label_names.len()],
            live: 0,
            last: None,
            started: Instant::now(),
        };
        let shared_writer = Arc::new(std::sync::Mutex::new(writer));
        let source = make_source(&args, items, shared_writer.clone(), failures.clone());
        let sink_writer = shared_writer;
        let sink: scyth::dataflows::Sink = Box::new(move |epoch: EpochOutput| {
            let mut w = sink_writer
                .lock()
                .map_err(|_| anyhow::anyhow!("writer poisoned"))?;
            w.write_epoch(epoch)
        });
        (source, sink, Some(failures))
    } else {
        let source: scyth::dataflows::Source = Box::new(|| None);
        let sink: scyth::dataflows::Sink = Box::new(|_| Ok(()));
        (source, sink, None)
    };
    match run_classification(config, shared, source, sink, args.max_lag) {
        Ok(()) => {}
        Err(scyth::dataflows::StreamError::Sink(e)) => return Err(e.context("writing the stream")),
        Err(e) => bail!("stream failed: {e}"),
    }
    match failures {
        Some(f) if f.load(std::sync::atomic::Ordering::Relaxed) > 0 => Ok(Outcome::SomeFailed),
        _ => Ok(Outcome::Clean),
    }
}

/// The timely configuration: threads in one process, or a cluster.
fn timely_config(args: &StreamArgs) -> Result<timely::Config> {
    if args.processes <= 1 {
        return Ok(timely::Config::process(args.workers));
    }
    let Some(hostfile) = &args.hostfile else {
        bail!(
            "--processes {} needs --hostfile with one host:port per process",
            args.processes
        );
    };
    let text = std::fs::read_to_string(hostfile)
        .with_context(|| format!("reading hostfile {}", hostfile.display()))?;
    let addresses: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if addresses.len() < args.processes {
        bail!(
            "hostfile {} lists {} addresses for {} processes",
            hostfile.display(),
            addresses.len(),
            args.processes
        );
    }
    if args.process >= args.processes {
        bail!(
            "--process {} is not below --processes {}",
            args.process,
            args.processes
        );
    }
    Ok(timely::Config {
        communication: timely::CommunicationConfig::Cluster {
            threads: args.workers,
            process: args.process,
            addresses: addresses[..args.processes].to_vec(),
            report: false,
            zerocopy: false,
        },
        worker: timely::WorkerConfig::default(),
    })
}

/// Reads records on a thread so that epochs can close on time while the
/// input is quiet. The channel is bounded: a lagging stream stops reading.
fn spawn_reader(input: &InputArgs) -> Result<Receiver<Item>> {
    let mut reader = input.open()?;
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

/// The epoch source: up to `--epoch-docs` records (or what arrived within
/// `--epoch-ms` of the first), numbered in input order, plus the
/// retractions of documents leaving the window. Bad records become error
/// rows at once.
fn make_source(
    args: &StreamArgs,
    items: Receiver<Item>,
    writer: Arc<std::sync::Mutex<Writer>>,
    failures: Arc<std::sync::atomic::AtomicU64>,
) -> scyth::dataflows::Source {
    let epoch_docs = args.epoch_docs;
    let epoch_ms = args.epoch_ms.map(Duration::from_millis);
    let window = args.window_docs;
    let mut next_seq = 0u64;
    let mut held: VecDeque<(u64, String)> = VecDeque::new();
    let mut ended = false;
    let mut epoch = 0u64;
    Box::new(move || {
        if ended {
            return None;
        }
        let mut batch = Vec::new();
        let mut taken = 0;
        let mut deadline: Option<Instant> = None;
        while taken < epoch_docs {
            let item = match deadline {
                None => items.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(d) => items.recv_timeout(d.saturating_duration_since(Instant::now())),
            };
            let item = match item {
                Ok(item) => item,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    ended = true;
                    break;
                }
            };
            taken += 1;
            if deadline.is_none() {
                deadline = epoch_ms.map(|ms| Instant::now() + ms);
            }
            let checked = item.and_then(|rec| {
                if rec.text.trim().is_empty() {
                    Err(RecordError {
                        line: rec.line,
                        id: Some(rec.id.clone()),
                        reason: "empty text".into(),
                    })
                } else {
                    Ok(rec)
                }
            });
            let Ok(mut w) = writer.lock() else {
                ended = true;
                break;
            };
            match checked {
                Ok(rec) => {
                    let seq = next_seq;
                    next_seq += 1;
                    w.ids.insert(seq, rec.id.clone());
                    if window.is_some() {
                        held.push_back((seq, rec.text.clone()));
                    }
                    batch.push((seq, rec.text, 1));
                }
                Err(e) => {
                    failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    w.errors.push_back((epoch, e));
                }
            }
        }
        if let Some(n) = window {
            while held.len() > n {
                if let Some((seq, text)) = held.pop_front() {
                    batch.push((seq, text, -1));
                }
            }
        }
        if batch.is_empty() && taken == 0 && ended {
            return None;
        }
        if let Ok(mut w) = writer.lock() {
            w.closed.push_back(Instant::now());
        }
        epoch += 1;
        Some(batch)
    })
}

/// Writes epochs in order: error rows of the epoch's bad records, then its
/// classification changes, then its statistics line.
struct Writer {
    /// Names of the category ids in the classifications.
    labels: Vec<String>,
    out: Box<dyn Write + Send>,
    stats: Option<Box<dyn Write + Send>>,
    /// Record id per sequence number, while the document may still change.
    ids: BTreeMap<u64, String>,
    /// Bad records waiting for their epoch to be written, by epoch.
    errors: VecDeque<(u64, RecordError)>,
    /// When each epoch not yet written was closed (for its latency).
    closed: VecDeque<Instant>,
    /// Live documents per decided label.
    label_counts: Vec<u64>,
    /// Live documents.
    live: u64,
    /// The last report (epochs without work repeat it).
    last: Option<EpochReport>,
    started: Instant,
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
    fn write_epoch(&mut self, epoch: EpochOutput) -> Result<()> {
        let e = epoch.epoch;
        while let Some((_, err)) = self.errors.pop_front_if(|(at, _)| *at <= e) {
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
        if self.stats.is_some() {
            self.write_stats(e, latency)?;
        }
        Ok(())
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
        // Flips and counters belong to the epoch that reported them.
        if let Some(last) = self.last.as_mut() {
            last.flipped.clear();
            last.rechecked = 0;
            last.patched = 0;
            last.reclassified = 0;
        }
        Ok(())
    }
}

/// Opens an output that a worker thread may own (`-` = stdout).
fn open_send_output(path: &Path) -> Result<Box<dyn Write + Send>> {
    if path == Path::new("-") {
        Ok(Box::new(BufWriter::new(std::io::stdout())))
    } else {
        let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Box::new(BufWriter::new(f)))
    }
}

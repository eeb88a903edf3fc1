//! `scyth stream`: classifies records as they arrive and keeps corpus
//! statistics current (SPEC §7). Records are read incrementally (a file,
//! or standard input as it grows) on a reader thread, grouped into epochs
//! by count or by time, and fed to the timely/differential graph of
//! `scyth::dataflows`. Each completed epoch writes its classification
//! changes (a new result with `diff: 1`, a retracted old one with
//! `diff: -1`) and, with `--stats`, one line of statistics. With `--state`
//! the stream survives crashes (see `scyth::io::journal`).

mod source;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use scyth::dataflows::{EpochOutput, SourceStep, StreamModel, UserRanking, run_classification};
use scyth::io::journal::{Journal, Recovery};
use scyth::model::Model;
use scyth::quant::{Plan, PlanChoice};
use scyth::words::dict::{load_dictionary, resolve_dict_dir};
use scyth::words::{EmergingParams, KeywordParams, PosFilter, TimeBucket, WordTokenizer};

use self::source::{EpochRules, EpochSource, spawn_reader};
use self::writer::{Output, WordsOutput, Writer};
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
    /// Keep only documents whose time (the records' time field) is within
    /// this of the newest record time seen, e.g. `7d`, `36h`: older ones
    /// are retracted. Records without a usable time leave only by
    /// --window-docs; a record already older than the window is classified
    /// once and leaves at the end of the next epoch.
    #[arg(long = "window", value_parser = scyth::io::time::parse_window)]
    pub window_time: Option<i64>,
    /// Without a window: forget a trigram the model never saw, or a
    /// pentagram it does not know, that is still in one document only this
    /// many documents later (its statistics then grow with the n-grams
    /// that recur, not with every name and number ever seen). Such an
    /// n-gram seen again later counts from 1 (see README, *Pruning*).
    #[arg(long, value_name = "DOCS", conflicts_with_all = ["window_docs", "window_time"])]
    pub prune_rare: Option<u64>,
    /// Number of top categories per document.
    #[arg(long, short = 'k', default_value_t = 3)]
    pub top_k: usize,
    /// Inference plan: auto (the cheapest), full, linked or folded, chosen
    /// as in `scyth classify` (see README, *Plans*), so that both decide
    /// alike.
    #[arg(long, default_value = "auto")]
    pub plan: PlanChoice,
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
    /// Keep the stream's state here (write-ahead log of epochs, commits,
    /// snapshots) so that a restart after a crash continues where it
    /// stopped: nothing lost, nothing counted twice, no committed epoch
    /// written again. Restart with the same model, input and options.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Compact the state's log once it passes this many bytes (and the
    /// snapshot's size).
    #[arg(long, default_value_t = 64 << 20, hide = true)]
    pub state_compact_bytes: u64,
    /// With a directory of RSS/Atom feeds (`--format rss`): keep polling it
    /// for new feed files every this many milliseconds instead of ending
    /// (a live feed; entries already read are skipped by id).
    #[arg(long, value_name = "MS")]
    pub follow: Option<u64>,
    #[command(flatten)]
    pub words: StreamWordArgs,
}

/// Word statistics as a side output of the stream.
#[derive(Args, Debug)]
pub struct StreamWordArgs {
    /// Write one JSON line per epoch with the emerging words and the
    /// keywords of each decided category here (word df maintained by the
    /// dataflow; needs the dictionary of `scyth dict build`).
    #[arg(long = "words")]
    pub file: Option<PathBuf>,
    /// Dictionary directory (default: where `scyth dict build` writes it).
    #[arg(long)]
    pub dict: Option<PathBuf>,
    /// Time bucket of the emerging words (from the records' time field).
    #[arg(long = "words-by", default_value = "day", value_parser = |s: &str| s.parse::<TimeBucket>())]
    pub by: TimeBucket,
    /// Buckets in the emerging-word window (the latest ones).
    #[arg(long = "words-window", default_value_t = 1)]
    pub window: usize,
    /// Words per list.
    #[arg(long = "words-top", default_value_t = 10)]
    pub top: usize,
    /// Minimum df of a reported word (in the window or the category).
    #[arg(long = "words-min-count", default_value_t = 3)]
    pub min_count: u64,
    /// Parts of speech counted as words: noun, proper, verb, adj.
    #[arg(long = "words-pos", default_value = "noun,proper,verb", value_parser = |s: &str| s.parse::<PosFilter>())]
    pub pos: PosFilter,
}

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
    // User categories rank embeddings: only the full plan has them.
    let plan = model.prepare_plan(args.plan, args.user.categories.is_some())?;
    shared = shared.with_plan(plan);
    if let Some(age) = args.prune_rare {
        shared = shared.with_pruning(age);
    }
    if args.words.file.is_some() {
        let dict_dir = resolve_dict_dir(args.words.dict.as_deref())?;
        let tokenizer = WordTokenizer::new(load_dictionary(&dict_dir)?, args.words.pos);
        shared = shared.with_words(Arc::new(tokenizer));
    }
    let leader = args.process == 0;

    let (source, sink, failures, fatal, first_epoch) = if leader {
        let (journal, recovery) = match &args.state {
            Some(dir) => {
                let (journal, recovery) = Journal::open(dir, &fingerprint(&args, &model, plan)?)?;
                let journal = journal.with_compact_floor(args.state_compact_bytes);
                (Some(journal), recovery)
            }
            None => (None, Recovery::default()),
        };
        let (out_len, stats_len, words_len) = recovery
            .commit
            .map_or((0, 0, 0), |c| (c.output_len, c.stats_len, c.words_len));
        let mut writer = Writer::new(
            label_names,
            Output::open(&args.output, out_len)?,
            args.stats
                .as_deref()
                .map(|p| Output::open(p, stats_len))
                .transpose()?,
        );
        writer.suppress_until = recovery.commit.map(|c| c.epoch);
        writer.journal = journal;
        if let Some(path) = &args.words.file {
            writer.words = Some(WordsOutput::new(
                Output::open(path, words_len)?,
                EmergingParams {
                    window: args.words.window.max(1),
                    at: None,
                    min_count: args.words.min_count,
                    top: args.words.top,
                },
                KeywordParams {
                    prior_scale: None,
                    min_count: args.words.min_count,
                    top: args.words.top,
                },
            ));
        }
        let first_epoch = recovery.commit.map_or(0, |c| c.epoch);
        let writer = Arc::new(Mutex::new(writer));
        let rules = EpochRules {
            epoch_docs: args.epoch_docs,
            epoch_ms: args.epoch_ms.map(Duration::from_millis),
            window: args.window_docs,
            window_secs: args.window_time,
            buckets: args.words.file.as_ref().map(|_| args.words.by),
        };
        let mut epochs = EpochSource::new(
            spawn_reader(&args.input, args.follow.map(Duration::from_millis))?,
            rules,
            writer.clone(),
            recovery,
        );
        let (failures, fatal) = (epochs.failures(), epochs.fatal());
        let source: scyth::dataflows::Source = Box::new(move || epochs.next_batch());
        let sink: scyth::dataflows::Sink = Box::new(move |epoch: EpochOutput| {
            writer
                .lock()
                .map_err(|_| anyhow::anyhow!("writer poisoned"))?
                .write_epoch(epoch)
        });
        (source, sink, Some(failures), Some(fatal), first_epoch)
    } else {
        let source: scyth::dataflows::Source = Box::new(|| SourceStep::End);
        let sink: scyth::dataflows::Sink = Box::new(|_| Ok(()));
        (source, sink, None, None, 0)
    };
    match run_classification(config, shared, source, sink, args.max_lag, first_epoch) {
        Ok(()) => {}
        Err(scyth::dataflows::StreamError::Sink(e)) => return Err(e.context("writing the stream")),
        Err(e) => bail!("stream failed: {e}"),
    }
    if let Some(error) = fatal.and_then(|f| f.lock().ok().and_then(|mut e| e.take())) {
        return Err(error);
    }
    match failures {
        Some(f) if f.load(Ordering::Relaxed) > 0 => Ok(Outcome::SomeFailed),
        _ => Ok(Outcome::Clean),
    }
}

/// What a state directory must agree with to be resumed: the model and
/// every option that shapes the output (the epoch size may change: epoch
/// boundaries are logged).
fn fingerprint(args: &StreamArgs, model: &Model, plan: Plan) -> Result<String> {
    let categories = match &args.user.categories {
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("reading categories {}", path.display()))?;
            format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&bytes))
        }
        None => "none".into(),
    };
    // Added only when set, so that state directories written before the
    // option existed still resume.
    let prune = args.prune_rare.map_or(String::new(), |age| {
        format!("; prune rare after {age} documents")
    });
    Ok(format!(
        "model {:016x}; plan {plan}{prune}; window {:?} / {:?} s; top-k {}; categories {categories} (c0 {}, slope {}, threshold {}); output {}; stats {}; words {} (by {}, window {}, top {}, min {}, pos {})",
        model.checksum,
        args.window_docs,
        args.window_time,
        args.top_k.max(1),
        args.user.c0,
        args.user.slope,
        args.threshold,
        args.output.display(),
        args.stats.as_deref().unwrap_or(Path::new("none")).display(),
        args.words
            .file
            .as_deref()
            .unwrap_or(Path::new("none"))
            .display(),
        args.words.by,
        args.words.window,
        args.words.top,
        args.words.min_count,
        args.words.pos,
    ))
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

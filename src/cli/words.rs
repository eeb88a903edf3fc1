//! `scyth words`: word statistics of a corpus — the emerging words of a
//! time window and the keywords of each category — as a JSON, CSV or
//! Markdown report.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use clap::Args;
use rayon::prelude::*;
use scyth::io::{Record, RecordError};
use scyth::model::{Model, Precision, PredictScratch};
use scyth::quant::{Plan, PlanChoice, default_kernel};
use scyth::words::dict::{load_dictionary, resolve_dict_dir};
use scyth::words::{
    Emerging, EmergingParams, Keyword, KeywordParams, PosFilter, TimeBucket, WordScratch,
    WordStats, WordTokenizer, emerging, keywords,
};
use serde::Serialize;

use super::Outcome;
use super::args::{InputArgs, ThreadArgs, open_path};
use super::classify::CHUNK;
use super::output::open_output;
use super::words_report::{ReportFormat, write_report};

/// Options of `scyth words`.
#[derive(Args, Debug)]
pub struct WordsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Name of the time column/key (ISO 8601 times, e.g. 2012-09-04T15:00:00+0900).
    #[arg(long, default_value = "time")]
    pub time_column: String,
    /// Time bucket for emerging words: day or hour.
    #[arg(long, default_value = "day", value_parser = |s: &str| s.parse::<TimeBucket>())]
    pub by: TimeBucket,
    /// Compute the keywords of each category from the labels column.
    #[arg(long)]
    pub labels: bool,
    /// Compute the keywords of each category from the labels this model
    /// decides for each record (int8, the model's decision rule, the plan
    /// `scyth classify` picks by default): keywords of an unlabeled feed.
    #[arg(long, short, conflicts_with = "labels")]
    pub model: Option<PathBuf>,
    /// Words to report per list.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// The last bucket of the emerging-word window (default: the latest).
    #[arg(long)]
    pub at: Option<String>,
    /// Buckets in the emerging-word window.
    #[arg(long, default_value_t = 1)]
    pub window: usize,
    /// Minimum document frequency of a reported word (in the window or
    /// the category).
    #[arg(long, default_value_t = 3)]
    pub min_count: u64,
    /// Parts of speech counted as words: noun, proper, verb, adj.
    #[arg(long, default_value = "noun,proper,verb", value_parser = |s: &str| s.parse::<PosFilter>())]
    pub pos: PosFilter,
    /// Keyword prior scale α₀ (default: the pooled count of all categories).
    #[arg(long)]
    pub prior_scale: Option<f64>,
    /// Dictionary directory (default: where `scyth dict build` writes it).
    #[arg(long)]
    pub dict: Option<PathBuf>,
    /// Report file (.json, .csv or .md); `-` writes standard output.
    #[arg(long, short, default_value = "-")]
    pub output: PathBuf,
    /// Report format (default: the output's extension, else md).
    #[arg(long, value_parser = |s: &str| s.parse::<ReportFormat>())]
    pub output_format: Option<ReportFormat>,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct WordReport {
    /// Documents counted.
    pub docs: u64,
    /// Documents without a usable time (not in any bucket).
    pub untimed_docs: u64,
    /// Time buckets with at least one document.
    pub buckets: usize,
    /// The bucket width.
    pub by: String,
    /// The parts of speech counted.
    pub pos: String,
    /// Distinct words over all documents.
    pub vocabulary: usize,
    /// Emerging words (absent when no record has a time).
    pub emerging: Option<Emerging>,
    /// Keywords per category (with `--labels` or `--model`).
    pub keywords: Option<BTreeMap<String, Vec<Keyword>>>,
}

/// Runs `scyth words`.
pub fn run(args: WordsArgs) -> Result<Outcome> {
    let dict_dir = resolve_dict_dir(args.dict.as_deref())?;
    let tokenizer = WordTokenizer::new(load_dictionary(&dict_dir)?, args.pos);
    let model = args.model.as_deref().map(scyth::model::load).transpose()?;
    let pool = args.threads.pool()?;
    // The plan `scyth classify` uses by default, so both decide alike.
    let plan = match &model {
        Some(m) => Some(pool.install(|| m.prepare_plan(PlanChoice::Auto, false))?),
        None => None,
    };
    let model = model.as_ref().zip(plan);
    let format = args
        .output_format
        .or_else(|| ReportFormat::from_path(&args.output))
        .unwrap_or(ReportFormat::Markdown);
    let mut columns = args.input.columns();
    columns.time = args.time_column.clone();
    let mut reader = open_path(&args.input.input, args.input.format, &columns)?.peekable();
    let mut stats = WordStats::default();
    let mut failed = 0usize;
    let mut chunk: Vec<Result<Record, RecordError>> = Vec::with_capacity(CHUNK);
    while reader.peek().is_some() {
        chunk.clear();
        chunk.extend(reader.by_ref().take(CHUNK));
        // Counts add up in any order, so each worker counts its share and
        // the shares are summed; errors are reported in input order.
        let (part, mut errors) = pool.install(|| {
            chunk
                .par_iter()
                .enumerate()
                .fold(Partial::default, |mut p, (i, item)| {
                    match item {
                        Ok(rec) => p.count(&tokenizer, model, rec, &args, i),
                        Err(e) => p.errors.push((i, e.to_string())),
                    }
                    p
                })
                .map(|p| (p.stats, p.errors))
                .reduce(
                    || (WordStats::default(), Vec::new()),
                    |(mut s, mut e), (s2, e2)| {
                        s.add(&s2);
                        e.extend(e2);
                        (s, e)
                    },
                )
        });
        stats.add(&part);
        errors.sort_unstable();
        for (_, e) in &errors {
            eprintln!("scyth: {e}");
        }
        failed += errors.len();
    }
    let report = report(&stats, &args)?;
    let mut out = open_output(&args.output)?;
    write_report(&mut out, &report, format)?;
    out.flush().context("writing the report")?;
    if failed > 0 {
        eprintln!("scyth: {failed} records failed (not counted)");
        return Ok(Outcome::SomeFailed);
    }
    Ok(Outcome::Clean)
}

/// One worker's counts over part of a chunk.
#[derive(Default)]
struct Partial {
    stats: WordStats,
    /// `(index in the chunk, message)` of the records that failed.
    errors: Vec<(usize, String)>,
    scratch: WordScratch,
    predict: PredictScratch,
}

impl Partial {
    /// Tokenizes record `i` of the chunk and counts its words (under the
    /// labels `model` decides for it, when there is a model).
    fn count(
        &mut self,
        tokenizer: &WordTokenizer,
        model: Option<(&Model, Plan)>,
        rec: &Record,
        args: &WordsArgs,
        i: usize,
    ) {
        let mut words = Vec::new();
        if let Err(e) = tokenizer.distinct_words(&rec.text, &mut self.scratch, &mut words) {
            let msg = format!("record {} (line {}): {e:#}", rec.id, rec.line);
            self.errors.push((i, msg));
            return;
        }
        let bucket = rec.time.as_deref().and_then(|t| args.by.key(t));
        let decided: Vec<String>;
        let labels = match (model, &rec.labels, args.labels) {
            (Some((m, plan)), _, _) => {
                let pred = m.predict_texts_plan(
                    &[rec.text.as_str()],
                    Precision::Int8,
                    plan,
                    default_kernel(),
                    &mut self.predict,
                );
                decided = pred
                    .first()
                    .map(|p| m.decide(p, None))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| m.meta.labels[c as usize].clone())
                    .collect();
                decided.as_slice()
            }
            (None, Some(l), true) => l.as_slice(),
            _ => &[],
        };
        self.stats.add_doc(&words, bucket.as_deref(), labels);
    }
}

/// Scores the counts.
fn report(stats: &WordStats, args: &WordsArgs) -> Result<WordReport> {
    let em = emerging(
        stats,
        &EmergingParams {
            window: args.window,
            at: args.at.clone(),
            min_count: args.min_count,
            top: args.top,
        },
    )
    .map_err(|e| anyhow!("--at: {e}"))?;
    let kw = (args.labels || args.model.is_some()).then(|| {
        keywords(
            &stats.by_category,
            &KeywordParams {
                prior_scale: args.prior_scale,
                min_count: args.min_count,
                top: args.top,
            },
        )
    });
    Ok(WordReport {
        docs: stats.all.docs,
        untimed_docs: stats.untimed_docs(),
        buckets: stats.by_bucket.len(),
        by: args.by.to_string(),
        pos: args.pos.to_string(),
        vocabulary: stats.all.df.len(),
        emerging: em,
        keywords: kw,
    })
}

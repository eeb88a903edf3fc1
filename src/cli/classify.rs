//! `scyth classify`: records in, one result or error row per record out,
//! in input order, computed data-parallel over worker threads.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use rayon::prelude::*;
use scyth::features::FeatureKind;
use scyth::io::{Record, RecordError};
use scyth::model::categories::UserCategories;
use scyth::model::predict::PREDICT_BATCH;
use scyth::model::{Model, Precision, PredictScratch, Prediction};
use scyth::quant::{Plan, PlanChoice, default_kernel};
use scyth::words::dict::{BUILD_COMMAND, default_dict_dir, load_dictionary};
use scyth::words::{PosFilter, WordContribution, WordScratch, WordTokenizer, attribute};

use super::Outcome;
use super::args::{CategoryArgs, InputArgs, ModelArgs, ThreadArgs, parse_precision};
use super::output::{Contribution, OutputFormat, ResultRow, RowWriter, Scored, open_output};

/// Options of `scyth classify`.
#[derive(Args, Debug)]
pub struct ClassifyArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// Output file; `-` writes standard output.
    #[arg(long, short, default_value = "-")]
    pub output: PathBuf,
    /// Output format (default: the output's extension, else the input format, else jsonl).
    #[arg(long, value_parser = OutputFormat::parse)]
    pub output_format: Option<OutputFormat>,
    /// Number of top labels per row.
    #[arg(long, short = 'k', default_value_t = 3)]
    pub top_k: usize,
    /// Decide every label with probability ≥ P (default: the model's rule).
    #[arg(long)]
    pub threshold: Option<f32>,
    /// int8 (default) or f32.
    #[arg(long, default_value = "int8", value_parser = parse_precision)]
    pub precision: Precision,
    /// Inference plan: auto (the cheapest), full, linked or folded (see README, *Plans*).
    #[arg(long, default_value = "auto")]
    pub plan: PlanChoice,
    /// Add the features that contributed most to the top label, and the
    /// words that carried them when a dictionary is available.
    #[arg(long, conflicts_with = "categories")]
    pub explain: bool,
    /// Dictionary for the words of `--explain` (default: where `scyth dict
    /// build` writes it; without one, explanations list trigrams only).
    #[arg(long, requires = "explain")]
    pub dict: Option<PathBuf>,
    #[command(flatten)]
    pub user: CategoryArgs,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// What explanations need besides the model: the word tokenizer, when
/// explanations include words.
struct Explainer {
    words: Option<WordTokenizer>,
}

/// Per-thread scratch of a classifying worker.
#[derive(Default)]
struct Scratch {
    predict: PredictScratch,
    words: WordScratch,
}

/// Records classified per parallel chunk (output stays in input order).
pub const CHUNK: usize = 2048;

/// Classifies a batch of records ([`PREDICT_BATCH`] at a time through the
/// batched network), one result or error per item, in order.
fn classify_batch<'r>(
    model: &Model,
    categories: Option<&UserCategories>,
    explainer: &Explainer,
    items: &'r [Result<Record, RecordError>],
    args: &ClassifyArgs,
    plan: Plan,
    scratch: &mut Scratch,
) -> Result<Vec<Result<ResultRow, &'r RecordError>>> {
    let texts: Vec<&str> = items
        .iter()
        .filter_map(|item| item.as_ref().ok().map(|r| r.text.as_str()))
        .collect();
    let mut preds = model
        .predict_texts_plan(
            &texts,
            args.precision,
            plan,
            default_kernel(),
            &mut scratch.predict,
        )
        .into_iter();
    items
        .iter()
        .map(|item| match item {
            Ok(rec) => {
                let pred = preds.next().expect("one prediction per readable record");
                result_row(model, categories, explainer, rec, pred, args, scratch).map(Ok)
            }
            Err(e) => Ok(Err(e)),
        })
        .collect()
}

/// The output row of a record from its prediction.
fn result_row(
    model: &Model,
    categories: Option<&UserCategories>,
    explainer: &Explainer,
    rec: &Record,
    pred: Prediction,
    args: &ClassifyArgs,
    scratch: &mut Scratch,
) -> Result<ResultRow> {
    if let Some(cats) = categories {
        let threshold = args.threshold.unwrap_or(0.5);
        let (decided, top) = cats.decide(
            &pred.embedding(),
            args.user.c0,
            args.user.slope,
            threshold,
            args.top_k,
        );
        let name = |i: usize| cats.categories[i].name.clone();
        return Ok(ResultRow {
            id: rec.id.clone(),
            line: rec.line,
            labels: decided.iter().map(|s| name(s.category)).collect(),
            top: top
                .iter()
                .map(|s| Scored {
                    label: name(s.category),
                    probability: s.score,
                })
                .collect(),
            n_features: pred.n_features,
            explain: None,
            explain_words: None,
        });
    }
    let name = |c: u32| model.meta.labels[c as usize].clone();
    let top = pred.top_k(args.top_k.max(1));
    let (explain, explain_words) = if args.explain {
        let (features, words) = explain_row(model, explainer, &rec.text, top[0].0, scratch)
            .with_context(|| format!("explaining record {} (line {})", rec.id, rec.line))?;
        (Some(features), words)
    } else {
        (None, None)
    };
    Ok(ResultRow {
        id: rec.id.clone(),
        line: rec.line,
        labels: model
            .decide(&pred, args.threshold)
            .into_iter()
            .map(name)
            .collect(),
        top: top
            .iter()
            .take(args.top_k)
            .map(|&(c, p)| Scored {
                label: name(c),
                probability: p,
            })
            .collect(),
        n_features: pred.n_features,
        explain,
        explain_words,
    })
}

/// Contributions shown per explanation (features, and words).
const EXPLAIN_TOP: usize = 10;

/// The features that contributed most to `label`'s logit for `text`, and
/// the words that carried them (when the explainer has a tokenizer).
fn explain_row(
    model: &Model,
    explainer: &Explainer,
    text: &str,
    label: u32,
    scratch: &mut Scratch,
) -> Result<(Vec<Contribution>, Option<Vec<WordContribution>>)> {
    let all = model.contributions(text, label, &mut scratch.predict);
    let words = match &explainer.words {
        Some(tokenizer) => {
            let normalized: String = model.meta.normalization.apply(text).into_iter().collect();
            let evidence: Vec<_> = all.iter().map(|e| e.evidence()).collect();
            let spread = attribute(tokenizer, &normalized, &evidence, &mut scratch.words)?;
            Some(spread.top_positive(EXPLAIN_TOP))
        }
        None => None,
    };
    let mut top = all;
    top.retain(|e| e.contribution > 0.0);
    top.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
    top.truncate(EXPLAIN_TOP);
    let features = top
        .into_iter()
        .map(|e| Contribution {
            trigram: e.trigram,
            kind: match e.pair.kind {
                FeatureKind::Direct => "direct",
                FeatureKind::Agr { .. } => "agr",
            },
            pentagram: e.pentagram,
            value: e.pair.value,
            contribution: e.contribution,
        })
        .collect();
    Ok((features, words))
}

/// The explainer `args` ask for: words when `--explain` and a dictionary
/// (`--dict`, else the default one when it has been built).
fn explainer(args: &ClassifyArgs) -> Result<Explainer> {
    if !args.explain {
        return Ok(Explainer { words: None });
    }
    let dir = match &args.dict {
        Some(dir) => dir.clone(),
        None => match default_dict_dir().filter(|d| d.join("metadata.json").is_file()) {
            Some(dir) => dir,
            None => {
                eprintln!(
                    "scyth: note: explanations list trigrams only: no dictionary for words \
                     (create it with `{BUILD_COMMAND}`, or pass --dict DIR)"
                );
                return Ok(Explainer { words: None });
            }
        },
    };
    let tokenizer = WordTokenizer::new(load_dictionary(&dir)?, PosFilter::default());
    Ok(Explainer {
        words: Some(tokenizer),
    })
}

/// Runs `scyth classify`.
pub fn run(args: ClassifyArgs) -> Result<Outcome> {
    let model = args.model.load_for(args.precision)?;
    let categories = match &args.user.categories {
        Some(path) => Some(load_categories(path, &model)?),
        None => None,
    };
    // User categories rank embeddings: only the full plan has them.
    let pool = args.threads.pool()?;
    let plan = pool.install(|| model.prepare_plan(args.plan, categories.is_some()))?;
    let reader = args.input.open()?;
    let format = args
        .output_format
        .or_else(|| OutputFormat::from_path(&args.output))
        .or_else(|| {
            match args
                .input
                .format
                .or_else(|| scyth::io::InputFormat::from_path(&args.input.input))
            {
                Some(scyth::io::InputFormat::Csv) => Some(OutputFormat::Csv),
                _ => None,
            }
        })
        .unwrap_or(OutputFormat::Jsonl);
    let explainer = explainer(&args)?;
    let mut writer = RowWriter::new(
        open_output(&args.output)?,
        format,
        args.explain,
        explainer.words.is_some(),
    )?;
    let mut failed = 0usize;
    let mut chunk: Vec<Result<Record, RecordError>> = Vec::with_capacity(CHUNK);
    let mut reader = reader.peekable();
    while reader.peek().is_some() {
        chunk.clear();
        chunk.extend(reader.by_ref().take(CHUNK));
        let batches: Vec<Vec<Result<ResultRow, &RecordError>>> = pool.install(|| {
            chunk
                .par_chunks(PREDICT_BATCH)
                .map_init(Scratch::default, |s, items| {
                    classify_batch(
                        &model,
                        categories.as_ref(),
                        &explainer,
                        items,
                        &args,
                        plan,
                        s,
                    )
                })
                .collect::<Result<_>>()
        })?;
        for row in batches.into_iter().flatten() {
            match row {
                Ok(r) => writer.result(&r)?,
                Err(e) => {
                    failed += 1;
                    writer.error(e)?;
                }
            }
        }
    }
    writer.finish()?;
    if failed > 0 {
        eprintln!("scyth: {failed} records failed (error rows written)");
        return Ok(Outcome::SomeFailed);
    }
    Ok(Outcome::Clean)
}

/// Loads a categories file made for `model` (same embedding size; a
/// different model checksum is reported but allowed, e.g. a re-imported
/// checkpoint).
pub fn load_categories(path: &std::path::Path, model: &Model) -> Result<UserCategories> {
    let cats = UserCategories::load(path)?;
    anyhow::ensure!(
        cats.dim == model.meta.shape.e,
        "{}: {}-dimensional category vectors, but the model's embeddings have {} dimensions",
        path.display(),
        cats.dim,
        model.meta.shape.e
    );
    if cats.model_checksum != format!("{:016x}", model.checksum) {
        eprintln!(
            "scyth: warning: {} was built with model {}, this model is {:016x}",
            path.display(),
            cats.model_checksum,
            model.checksum
        );
    }
    Ok(cats)
}

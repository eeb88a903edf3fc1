//! `scyth eval`: accuracy, P@k, micro/macro F1, per-category scores and
//! confusions for int8 and f32 side by side, with docs/s.

use std::time::Instant;

use anyhow::{Result, ensure};
use clap::Args;
use rayon::prelude::*;
use scyth::metrics::{Report, evaluate};
use scyth::model::{Model, Precision, PredictScratch};
use serde::Serialize;

use super::Outcome;
use super::args::{InputArgs, ModelArgs, ThreadArgs};

/// Options of `scyth eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// k of P@k.
    #[arg(long, short = 'k', default_value_t = 3)]
    pub top_k: usize,
    /// Decide every label with probability ≥ P instead of the model's rule.
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// Scores of one precision.
#[derive(Debug, Serialize)]
pub struct PrecisionReport {
    /// The metrics.
    #[serde(flatten)]
    pub report: Report,
    /// Documents per second from raw text to probabilities.
    pub docs_per_s: f64,
}

impl PrecisionReport {
    /// One line: accuracy, micro/macro F1 and docs/s, after `name`.
    pub fn summary_line(&self, name: &str) -> String {
        format!(
            "{name} accuracy {:.4}, micro-F1 {:.4}, macro-F1 {:.4}, {:.0} docs/s",
            self.report.accuracy, self.report.micro_f1, self.report.macro_f1, self.docs_per_s
        )
    }
}

/// The whole evaluation.
#[derive(Debug, Serialize)]
pub struct EvalReport {
    /// Documents evaluated.
    pub n: usize,
    /// Records that could not be read.
    pub failed: usize,
    /// int8 results.
    pub int8: PrecisionReport,
    /// f32 results (`None` for int8-only models, which have no f32 weights).
    pub f32: Option<PrecisionReport>,
    /// int8 accuracy minus f32 accuracy, in points (`None` without f32).
    pub int8_minus_f32_points: Option<f64>,
    /// Documents whose top-1 differs between int8 and f32 (`None` without f32).
    pub top1_disagreements: Option<usize>,
}

/// Classifies `texts` with one precision (in parallel on `pool`) and scores
/// the decisions against `gold`; also returns each document's top-1 label.
/// Shared by `eval` and `demo`.
pub fn score(
    model: &Model,
    texts: &[&str],
    gold: &[Vec<u32>],
    precision: Precision,
    threshold: Option<f32>,
    top_k: usize,
    pool: &rayon::ThreadPool,
) -> (PrecisionReport, Vec<u32>) {
    let start = Instant::now();
    let preds: Vec<scyth::model::Prediction> = pool.install(|| {
        texts
            .par_iter()
            .map_init(PredictScratch::default, |s, t| {
                model.predict_text(t, precision, s)
            })
            .collect()
    });
    let secs = start.elapsed().as_secs_f64();
    let decided: Vec<Vec<u32>> = preds.iter().map(|p| model.decide(p, threshold)).collect();
    let top1: Vec<u32> = preds.iter().map(|p| p.top_k(1)[0].0).collect();
    let probs: Vec<Vec<f32>> = preds.into_iter().map(|p| p.probabilities).collect();
    let report = evaluate(gold, &probs, &decided, top_k, &model.meta.labels);
    (
        PrecisionReport {
            report,
            docs_per_s: texts.len() as f64 / secs.max(1e-9),
        },
        top1,
    )
}

/// Runs `scyth eval`.
pub fn run(args: EvalArgs) -> Result<Outcome> {
    let model = args.model.load()?;
    let mut texts = Vec::new();
    let mut gold = Vec::new();
    let mut failed = 0;
    for item in args.input.open()? {
        match item {
            Ok(rec) => {
                let labels = rec.labels.unwrap_or_default();
                let mut ids: Vec<u32> = Vec::new();
                for l in &labels {
                    match model.meta.labels.iter().position(|m| m == l) {
                        Some(i) => ids.push(i as u32),
                        None => eprintln!(
                            "scyth: record {} (line {}): label {l:?} is not in the model, counted as missed",
                            rec.id, rec.line
                        ),
                    }
                }
                ids.sort_unstable();
                ids.dedup();
                texts.push(rec.text);
                gold.push(ids);
            }
            Err(e) => {
                failed += 1;
                eprintln!("scyth: {e}, skipped");
            }
        }
    }
    ensure!(!texts.is_empty(), "no readable records to evaluate");
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let pool = args.threads.pool()?;
    let (int8, top_int8) = score(
        &model,
        &refs,
        &gold,
        Precision::Int8,
        args.threshold,
        args.top_k,
        &pool,
    );
    let f32r = match model.is_int8_only() {
        true => None,
        false => Some(score(
            &model,
            &refs,
            &gold,
            Precision::F32,
            args.threshold,
            args.top_k,
            &pool,
        )),
    };
    let report = EvalReport {
        n: texts.len(),
        failed,
        int8_minus_f32_points: f32r
            .as_ref()
            .map(|(f, _)| 100.0 * (int8.report.accuracy - f.report.accuracy)),
        top1_disagreements: f32r
            .as_ref()
            .map(|(_, top_f32)| top_int8.iter().zip(top_f32).filter(|(a, b)| a != b).count()),
        int8,
        f32: f32r.map(|(f, _)| f),
    };
    if args.json {
        out!("{}", serde_json::to_string(&report)?);
    } else {
        out!("documents: {} ({} unreadable)", report.n, report.failed);
        out!("{}", report.int8.summary_line("int8:"));
        match (
            &report.f32,
            report.int8_minus_f32_points,
            report.top1_disagreements,
        ) {
            (Some(f), Some(points), Some(differ)) => {
                out!("{}", f.summary_line("f32: "));
                out!(
                    "int8 − f32: {points:+.2} points of accuracy; top-1 differs on {differ} documents"
                );
            }
            _ => out!("f32:  not available (int8-only model: no f32 weights)"),
        }
        out!("\n== int8 ==\n{}", report.int8.report.to_text());
    }
    Ok(if failed > 0 {
        Outcome::SomeFailed
    } else {
        Outcome::Clean
    })
}

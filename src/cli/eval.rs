//! `scyth eval`: accuracy, P@k, micro/macro F1, per-category scores and
//! confusions for int8 and f32 side by side, with docs/s, and the scores of
//! every inference plan (full, linked, folded) in both precisions, so that
//! what folding costs is visible.

use std::time::Instant;

use anyhow::{Result, ensure};
use clap::Args;
use rayon::prelude::*;
use scyth::features::SparseRow;
use scyth::metrics::{Report, evaluate};
use scyth::model::predict::PREDICT_BATCH;
use scyth::model::{Model, Precision, PredictScratch, Prediction};
use scyth::quant::plan::{ALL_PLANS, resolve};
use scyth::quant::{Plan, PlanChoice, default_kernel};
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
    /// The plan of the main int8/f32 report: auto (the cheapest), full,
    /// linked or folded. Every plan the model allows is scored as well.
    #[arg(long, default_value = "auto")]
    pub plan: PlanChoice,
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

/// The scores of one plan at one precision.
#[derive(Debug, Serialize)]
pub struct PlanScore {
    /// The plan.
    pub plan: Plan,
    /// int8 or f32.
    pub precision: Precision,
    /// Top-1 accuracy.
    pub accuracy: f64,
    /// Micro-F1 of the decided label sets.
    pub micro_f1: f64,
    /// Macro-F1.
    pub macro_f1: f64,
    /// Documents whose top-1 differs from the full plan at the same precision.
    pub top1_differs_from_full: usize,
    /// Largest |probability − full plan's probability| over all documents
    /// and categories, at the same precision.
    pub max_abs_probability_diff: f32,
    /// Documents per second: feature extraction plus this plan's network.
    pub docs_per_s: f64,
}

/// The whole evaluation.
#[derive(Debug, Serialize)]
pub struct EvalReport {
    /// Documents evaluated.
    pub n: usize,
    /// Records that could not be read.
    pub failed: usize,
    /// The plan of `int8` and `f32` (`--plan`, resolved).
    pub plan: Plan,
    /// int8 results.
    pub int8: PrecisionReport,
    /// f32 results (`None` for int8-only models, which have no f32 weights).
    pub f32: Option<PrecisionReport>,
    /// int8 accuracy minus f32 accuracy, in points (`None` without f32).
    pub int8_minus_f32_points: Option<f64>,
    /// Documents whose top-1 differs between int8 and f32 (`None` without f32).
    pub top1_disagreements: Option<usize>,
    /// Every plan the model allows, int8 then f32 each.
    pub plans: Vec<PlanScore>,
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

/// Scores one plan and precision on features extracted beforehand (in
/// batches of [`PREDICT_BATCH`], in parallel on `pool`); docs/s counts the
/// network's time plus `feature_secs`. Returns the predictions too.
fn score_rows(
    model: &Model,
    rows: &[SparseRow],
    gold: &[Vec<u32>],
    (plan, precision): (Plan, Precision),
    (threshold, top_k): (Option<f32>, usize),
    feature_secs: f64,
    pool: &rayon::ThreadPool,
) -> (PrecisionReport, Vec<Prediction>) {
    let start = Instant::now();
    let kernel = default_kernel();
    let preds: Vec<Prediction> = pool.install(|| {
        rows.par_chunks(PREDICT_BATCH)
            .map_init(PredictScratch::default, |s, chunk| {
                let refs: Vec<&SparseRow> = chunk.iter().collect();
                model.predict_rows_plan(&refs, precision, plan, kernel, s)
            })
            .flatten_iter()
            .collect()
    });
    let secs = start.elapsed().as_secs_f64() + feature_secs;
    let decided: Vec<Vec<u32>> = preds.iter().map(|p| model.decide(p, threshold)).collect();
    let probs: Vec<Vec<f32>> = preds.iter().map(|p| p.probabilities.clone()).collect();
    let report = evaluate(gold, &probs, &decided, top_k, &model.meta.labels);
    (
        PrecisionReport {
            report,
            docs_per_s: rows.len() as f64 / secs.max(1e-9),
        },
        preds,
    )
}

fn precision_name(p: Precision) -> &'static str {
    match p {
        Precision::Int8 => "int8",
        Precision::F32 => "f32",
    }
}

fn plan_arg(choice: PlanChoice) -> &'static str {
    match choice {
        PlanChoice::Auto => "auto",
        PlanChoice::Forced(p) => p.name(),
    }
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
    let pool = args.threads.pool()?;
    let chosen = pool.install(|| model.prepare_plan(args.plan, false))?;
    // Features once for every plan; each plan's docs/s adds this time.
    let start = Instant::now();
    let rows: Vec<SparseRow> = pool.install(|| {
        texts
            .par_iter()
            .map_init(PredictScratch::default, |s, t| {
                model.features(t, &mut s.features)
            })
            .collect()
    });
    let feature_secs = start.elapsed().as_secs_f64();
    let mut precisions = vec![Precision::Int8];
    if !model.is_int8_only() {
        precisions.push(Precision::F32);
    }
    let plans: Vec<Plan> = ALL_PLANS
        .into_iter()
        .filter(|&p| resolve(PlanChoice::Forced(p), model.plan_context(false)).is_ok())
        .collect();
    let mut runs: Vec<(Plan, Precision, PrecisionReport, Vec<Prediction>)> = Vec::new();
    for &plan in &plans {
        pool.install(|| model.prepare_plan(PlanChoice::Forced(plan), false))?;
        for &precision in &precisions {
            let (report, preds) = score_rows(
                &model,
                &rows,
                &gold,
                (plan, precision),
                (args.threshold, args.top_k),
                feature_secs,
                &pool,
            );
            runs.push((plan, precision, report, preds));
        }
    }
    let top1 =
        |preds: &[Prediction]| -> Vec<u32> { preds.iter().map(|p| p.top_k(1)[0].0).collect() };
    let plan_scores: Vec<PlanScore> = runs
        .iter()
        .map(|(plan, precision, report, preds)| {
            let full = &runs
                .iter()
                .find(|r| r.0 == Plan::Full && r.1 == *precision)
                .expect("the full plan is always scored")
                .3;
            let max_diff = preds
                .iter()
                .zip(full)
                .flat_map(|(a, b)| a.probabilities.iter().zip(&b.probabilities))
                .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
            PlanScore {
                plan: *plan,
                precision: *precision,
                accuracy: report.report.accuracy,
                micro_f1: report.report.micro_f1,
                macro_f1: report.report.macro_f1,
                top1_differs_from_full: top1(preds)
                    .iter()
                    .zip(top1(full))
                    .filter(|(a, b)| **a != *b)
                    .count(),
                max_abs_probability_diff: max_diff,
                docs_per_s: report.docs_per_s,
            }
        })
        .collect();
    let mut take = |precision: Precision| {
        let at = runs
            .iter()
            .position(|r| r.0 == chosen && r.1 == precision)?;
        let (_, _, report, preds) = runs.swap_remove(at);
        Some((report, top1(&preds)))
    };
    let (int8, top_int8) = take(Precision::Int8).expect("int8 is always scored");
    let f32r = take(Precision::F32);
    let report = EvalReport {
        n: texts.len(),
        failed,
        plan: chosen,
        int8_minus_f32_points: f32r
            .as_ref()
            .map(|(f, _)| 100.0 * (int8.report.accuracy - f.report.accuracy)),
        top1_disagreements: f32r
            .as_ref()
            .map(|(_, top_f32)| top_int8.iter().zip(top_f32).filter(|(a, b)| a != b).count()),
        int8,
        f32: f32r.map(|(f, _)| f),
        plans: plan_scores,
    };
    if args.json {
        out!("{}", serde_json::to_string(&report)?);
    } else {
        out!("documents: {} ({} unreadable)", report.n, report.failed);
        out!("plan: {} (--plan {})", report.plan, plan_arg(args.plan));
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
        out!(
            "\nplans (top-1 differences and largest probability difference against the full plan at the same precision):"
        );
        for p in &report.plans {
            out!(
                "  {:<6} {:<4}  accuracy {:.4}, micro-F1 {:.4}, macro-F1 {:.4}, top-1 differs on {}, max |Δp| {:.2e}, {:.0} docs/s",
                p.plan.name(),
                precision_name(p.precision),
                p.accuracy,
                p.micro_f1,
                p.macro_f1,
                p.top1_differs_from_full,
                p.max_abs_probability_diff,
                p.docs_per_s
            );
        }
        out!(
            "\n== int8 ({} plan) ==\n{}",
            report.plan,
            report.int8.report.to_text()
        );
    }
    Ok(if failed > 0 {
        Outcome::SomeFailed
    } else {
        Outcome::Clean
    })
}

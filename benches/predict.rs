//! In-process prediction throughput: feature extraction alone, then each
//! inference plan (full, linked, folded) in int8 and f32 from raw text to
//! probabilities, one thread, best CPU time of several passes (the shared
//! machine is noisy; CPU time leaves out waiting for a core, and the best
//! pass is the least disturbed one). Each plan's output is
//! checked: its top-1 labels must agree with the full plan's on all but a
//! stated share of documents, so a fast wrong plan fails.
//!
//! `cargo bench --bench predict -- [--model M.scyth] [--input dev.csv] [--passes N] [--features-only]`
//! (defaults: the fixture model and corpus; livedoor: `--model /tmp/ld.scyth
//! --input ../shared/corpora/livedoor/dev.csv`).

use std::time::Instant;

use anyhow::{Context, Result, ensure};
use scyth::features::FeatureScratch;
use scyth::io::{ColumnNames, InputFormat, open_records};
use scyth::model::predict::PREDICT_BATCH;
use scyth::model::{Precision, PredictScratch};
use scyth::quant::plan::{ALL_PLANS, resolve};
use scyth::quant::{PlanChoice, default_kernel};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// User CPU seconds of this process so far (Linux: `/proc/self/stat`,
/// 10 ms ticks), or wall-clock seconds elsewhere. CPU time is what the
/// comparison needs on a shared machine: waiting for a core is not counted.
fn cpu_secs(start: Instant) -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1;
            let utime: f64 = after.split_whitespace().nth(11)?.parse().ok()?;
            Some(utime / 100.0)
        })
        .unwrap_or_else(|| start.elapsed().as_secs_f64())
}

/// Best CPU seconds of `passes` runs of `f` (single-threaded).
fn best_of(passes: usize, mut f: impl FnMut()) -> f64 {
    let origin = Instant::now();
    (0..passes)
        .map(|_| {
            let start = cpu_secs(origin);
            f();
            cpu_secs(origin) - start
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() -> Result<()> {
    let root = env!("CARGO_MANIFEST_DIR");
    let model_path = arg("--model").unwrap_or(format!("{root}/fixtures/model/tiny.scyth"));
    let input = arg("--input").unwrap_or(format!("{root}/fixtures/corpus/dev.csv"));
    let passes: usize = arg("--passes").map_or(Ok(5), |p| p.parse())?;
    let model = scyth::model::load(std::path::Path::new(&model_path))
        .with_context(|| format!("loading {model_path}"))?;
    let texts: Vec<String> = open_records(
        Some(std::path::Path::new(&input)),
        Some(InputFormat::Csv),
        &ColumnNames::default(),
    )?
    .filter_map(|r| r.ok().map(|r| r.text))
    .collect();
    ensure!(!texts.is_empty(), "no texts in {input}");
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let n = refs.len() as f64;
    println!(
        "{} documents, model {} (D={} H={} E={} C={}), kernel {}, best of {passes}",
        refs.len(),
        model_path,
        model.meta.shape.d,
        model.meta.shape.h,
        model.meta.shape.e,
        model.meta.shape.c,
        default_kernel().name()
    );

    let mut fs = FeatureScratch::default();
    let mut active = 0usize;
    let feat = best_of(passes, || {
        active = refs
            .iter()
            .map(|t| model.features(t, &mut fs).cols.len())
            .sum();
    });
    println!(
        "features only          {:>9.0} docs/s  ({:.0} active columns per document)",
        n / feat,
        active as f64 / n
    );

    if std::env::args().any(|a| a == "--features-only") {
        return Ok(());
    }
    let mut full_top1: Vec<Vec<u32>> = Vec::new();
    for precision in [Precision::Int8, Precision::F32] {
        if model.check_precision(precision).is_err() {
            continue;
        }
        for plan in ALL_PLANS {
            if resolve(PlanChoice::Forced(plan), model.plan_context(false)).is_err() {
                continue;
            }
            model.prepare_plan(PlanChoice::Forced(plan), false)?;
            let mut s = PredictScratch::default();
            let mut top1 = Vec::new();
            let secs = best_of(passes, || {
                top1.clear();
                for chunk in refs.chunks(PREDICT_BATCH) {
                    let preds =
                        model.predict_texts_plan(chunk, precision, plan, default_kernel(), &mut s);
                    top1.extend(preds.iter().map(|p| p.top_k(1)[0].0));
                }
            });
            if plan == ALL_PLANS[0] {
                full_top1.push(top1.clone());
            }
            let full = full_top1.last().expect("the full plan runs first");
            let differ = top1.iter().zip(full).filter(|(a, b)| a != b).count();
            // Folding rounds differently; near-ties may flip, never many.
            ensure!(
                differ * 50 <= top1.len(),
                "plan {plan} {precision:?}: top-1 differs from full on {differ} of {} documents",
                top1.len()
            );
            let checksum = top1
                .iter()
                .fold(0u64, |h, &c| h.wrapping_mul(31).wrapping_add(c as u64));
            println!(
                "{:<6} {:<4} end to end {:>9.0} docs/s  network share {:>5.1}%  top-1 vs full: {differ} differ  checksum {checksum:016x}",
                plan.name(),
                format!("{precision:?}").to_lowercase(),
                n / secs,
                100.0 * (secs - feat).max(0.0) / secs
            );
        }
    }
    Ok(())
}

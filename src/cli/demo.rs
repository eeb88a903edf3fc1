//! `scyth demo`: trains on the fixtures compiled into the binary, evaluates
//! on their dev split, round-trips the model file and classifies examples.
//! Needs no network and no file outside the binary.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use scyth::io::{ColumnNames, InputFormat, RecordReader};
use scyth::model::{Precision, PredictScratch};
use scyth::train::{LabeledDoc, TrainOptions, train};

use super::Outcome;
use super::train::Progress;

const TRAIN_CSV: &str = include_str!("../../fixtures/corpus/train.csv");
const DEV_CSV: &str = include_str!("../../fixtures/corpus/dev.csv");

/// Texts classified at the end of the demo (written for it).
const EXAMPLES: &[&str] = &[
    "日銀が追加の利上げを決め、円相場は一時1ドル140円台まで上昇した。",
    "新型の量子コンピューターを使った創薬研究で、東都大学のチームが成果を発表した。",
    "台風の接近で週末のプロ野球は中止となり、各地で交通機関に影響が出ている。",
    "人気俳優の主演映画が公開初日に興行収入10億円を突破した。",
];

/// Options of `scyth demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Worker threads (default: the number of cores).
    #[arg(long, short = 't')]
    pub threads: Option<usize>,
    /// Show training progress.
    #[arg(long)]
    pub verbose: bool,
}

/// Training options for the small fixture corpus: a smaller network, every
/// trigram as a column (min_df 1) and a higher learning rate than the
/// defaults for news corpora, because 360 documents give few optimizer steps
/// per epoch and few repeated trigrams. `scripts/make-fixture-model.sh`
/// trains `fixtures/model/tiny.scyth` with these settings but min_df 2.
pub fn fixture_options(threads: usize) -> TrainOptions {
    TrainOptions {
        latent: 64,
        embedding: 32,
        epochs: 40,
        patience: 6,
        batch_size: 16,
        learning_rate: 3e-3,
        lexicon: scyth::features::LexiconParams {
            min_df: 1,
            ..TrainOptions::default().lexicon
        },
        threads,
        ..TrainOptions::default()
    }
}

fn read(csv: &'static str) -> Result<Vec<scyth::io::Record>> {
    let reader = RecordReader::from_reader(
        Box::new(csv.as_bytes()),
        InputFormat::Csv,
        &ColumnNames::default(),
    )?;
    reader
        .map(|r| r.map_err(|e| anyhow::anyhow!("embedded fixture: {e}")))
        .collect()
}

/// Runs `scyth demo`.
pub fn run(args: DemoArgs) -> Result<Outcome> {
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let to_docs = |recs: &[scyth::io::Record]| -> Vec<LabeledDoc> {
        recs.iter()
            .map(|r| LabeledDoc {
                text: r.text.clone(),
                labels: r.labels.clone().unwrap_or_default(),
            })
            .collect()
    };
    let train_recs = read(TRAIN_CSV)?;
    let dev_recs = read(DEV_CSV)?;
    out!(
        "scyth demo: {} training and {} dev documents (embedded fixtures, 9 topics, multi-label)",
        train_recs.len(),
        dev_recs.len()
    );
    let opts = fixture_options(threads);
    let started = Instant::now();
    let mut progress = Progress::new(!args.verbose);
    let (model, summary) = train(&to_docs(&train_recs), None, &opts, &mut |e| progress.on(e))?;
    progress.finish();
    out!(
        "trained in {:.1}s: {} columns, {} trigrams, {} known pentagrams; best epoch {} (validation micro-F1 {:.3})",
        started.elapsed().as_secs_f64(),
        model.meta.shape.d,
        model.lexicon.n_trigrams(),
        model.lexicon.n_pentagrams(),
        summary.best_epoch,
        summary.best_val_score
    );
    let dir = std::env::temp_dir().join(format!("scyth-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).context("creating a temporary directory")?;
    let path = dir.join("demo.scyth");
    scyth::model::save(&model, &path)?;
    let loaded = scyth::model::load(&path)?;
    let bytes = std::fs::metadata(&path)?.len();
    std::fs::remove_dir_all(&dir).ok();
    out!(
        "model file round trip: {:.1} KiB, checksum {:016x}",
        bytes as f64 / 1024.0,
        loaded.checksum
    );

    let gold: Vec<Vec<u32>> = dev_recs
        .iter()
        .map(|r| {
            r.labels
                .iter()
                .flatten()
                .filter_map(|l| {
                    loaded
                        .meta
                        .labels
                        .iter()
                        .position(|m| m == l)
                        .map(|i| i as u32)
                })
                .collect()
        })
        .collect();
    let mut scratch = PredictScratch::default();
    let texts: Vec<&str> = dev_recs.iter().map(|r| r.text.as_str()).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting worker threads")?;
    for precision in [Precision::Int8, Precision::F32] {
        let (scored, _) = super::eval::score(&loaded, &texts, &gold, precision, None, 3, &pool);
        let report = scored.report;
        out!(
            "dev {:?}: top-1 accuracy {:.3}, micro-F1 {:.3}, macro-F1 {:.3}, exact label sets {:.3}",
            precision,
            report.accuracy,
            report.micro_f1,
            report.macro_f1,
            report.subset_accuracy
        );
    }
    out!("\nexamples (int8):");
    for text in EXAMPLES {
        let pred = loaded.predict_text(text, Precision::Int8, &mut scratch);
        let decided: Vec<&str> = loaded
            .decide(&pred, None)
            .into_iter()
            .map(|c| loaded.meta.labels[c as usize].as_str())
            .collect();
        let top: Vec<String> = pred
            .top_k(3)
            .into_iter()
            .map(|(c, p)| format!("{} {:.2}", loaded.meta.labels[c as usize], p))
            .collect();
        out!(
            "  {text}\n    → labels [{}]   top: {}",
            decided.join(", "),
            top.join(", ")
        );
    }
    Ok(Outcome::Clean)
}

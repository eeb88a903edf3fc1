//! `scyth train`: labeled records in, model file out.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use scyth::features::LexiconParams;
use scyth::io::{ColumnNames, InputFormat};
use scyth::stats::ScoreParams;
use scyth::text::Normalization;
use scyth::train::{LabeledDoc, TrainEvent, TrainOptions, train};

use super::Outcome;
use super::args::open_path;

/// Options of `scyth train`. Defaults were chosen on livedoor validation
/// data (see the README).
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Labeled training files (CSV or JSONL), concatenated.
    #[arg(long, short, required = true, num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// Labeled file for early stopping and threshold choice (default: hold
    /// out --validation-fraction of the input).
    #[arg(long)]
    pub dev: Option<PathBuf>,
    /// Where to write the model.
    #[arg(long, short)]
    pub output: PathBuf,
    /// Input format (default: from the extension).
    #[arg(long, value_parser = |s: &str| s.parse::<InputFormat>())]
    pub format: Option<InputFormat>,
    /// Name of the text column/key.
    #[arg(long, default_value = "text")]
    pub text_column: String,
    /// Name of the labels column/key.
    #[arg(long, default_value = "labels")]
    pub labels_column: String,
    /// White threshold τ: trigrams with score ≥ τ count directly.
    #[arg(long, default_value_t = 0.0)]
    pub tau: f64,
    /// Minimum document frequency for a trigram to get an input column.
    #[arg(long, default_value_t = 2)]
    pub min_df: u32,
    /// Maximum number of input columns (most frequent first); 0 = no limit.
    #[arg(long, default_value_t = 200_000)]
    pub max_columns: usize,
    /// Minimum document frequency of a known pentagram.
    #[arg(long, default_value_t = 2)]
    pub pent_min_df: u32,
    /// Normalization: nfkc-lowercase (default) or lowercase.
    #[arg(long, default_value = "nfkc-lowercase", value_parser = ["nfkc-lowercase", "lowercase"])]
    pub normalization: String,
    /// Latent size H.
    #[arg(long, default_value_t = 256)]
    pub latent: usize,
    /// Embedding size E.
    #[arg(long, default_value_t = 512)]
    pub embedding: usize,
    /// Maximum epochs (early stopping usually ends training sooner).
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Early-stopping patience in epochs.
    #[arg(long, default_value_t = 2)]
    pub patience: usize,
    /// Documents per optimizer step.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 3e-4)]
    pub lr: f32,
    /// Dropout on the latent vector.
    #[arg(long, default_value_t = 0.2)]
    pub dropout: f32,
    /// Weight of the tied reconstruction loss (0 = off).
    #[arg(long, default_value_t = 0.0)]
    pub recon_weight: f32,
    /// Negative columns sampled per document for reconstruction.
    #[arg(long, default_value_t = 16)]
    pub recon_negatives: usize,
    /// Label smoothing ε.
    #[arg(long, default_value_t = 0.0)]
    pub label_smoothing: f32,
    /// Share of the input held out for validation when --dev is absent.
    #[arg(long, default_value_t = 0.1)]
    pub validation_fraction: f32,
    /// Ensemble members (K networks with embedding E/K each, combined
    /// exactly into one network of latent K·H and embedding E).
    #[arg(long, default_value_t = 1)]
    pub ensemble: usize,
    /// Also try the mean of the epoch-end weights (kept when validation
    /// scores it at least as well as the best epoch).
    #[arg(long)]
    pub average_epochs: bool,
    /// Random seed (training is deterministic for a seed).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Worker threads (default: the number of cores).
    #[arg(long, short = 't')]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

impl TrainArgs {
    /// Validated training options.
    pub fn options(&self) -> Result<TrainOptions> {
        let normalization = match self.normalization.as_str() {
            "lowercase" => Normalization::Lowercase,
            _ => Normalization::NfkcLowercase,
        };
        if !(0.0..1.0).contains(&self.dropout) {
            bail!("--dropout must be in [0, 1)");
        }
        Ok(TrainOptions {
            normalization,
            lexicon: LexiconParams {
                score: ScoreParams {
                    tau: self.tau,
                    ..ScoreParams::default()
                },
                min_df: self.min_df.max(1),
                max_columns: (self.max_columns > 0).then_some(self.max_columns),
                pent_min_df: self.pent_min_df.max(1),
            },
            latent: self.latent,
            embedding: self.embedding,
            epochs: self.epochs,
            patience: self.patience.max(1),
            batch_size: self.batch_size,
            learning_rate: self.lr,
            dropout: self.dropout,
            recon_weight: self.recon_weight,
            recon_negatives: self.recon_negatives,
            label_smoothing: self.label_smoothing,
            validation_fraction: self.validation_fraction,
            ensemble: self.ensemble,
            average_epochs: self.average_epochs,
            seed: self.seed,
            threads: self.threads.unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            }),
        })
    }

    fn columns(&self) -> ColumnNames {
        ColumnNames {
            text: self.text_column.clone(),
            labels: self.labels_column.clone(),
            ..ColumnNames::default()
        }
    }
}

/// Reads labeled documents, reporting bad records on stderr. Returns the
/// documents and the number of rejected records.
pub fn read_labeled(
    paths: &[PathBuf],
    format: Option<InputFormat>,
    columns: &ColumnNames,
) -> Result<(Vec<LabeledDoc>, usize)> {
    let mut docs = Vec::new();
    let mut failed = 0;
    for path in paths {
        for item in open_path(path, format, columns)? {
            match item {
                Ok(rec) => match rec.labels {
                    Some(labels) => docs.push(LabeledDoc {
                        text: rec.text,
                        labels,
                    }),
                    None => {
                        failed += 1;
                        eprintln!(
                            "scyth: {}: record {} (line {}): no labels field, skipped",
                            path.display(),
                            rec.id,
                            rec.line
                        );
                    }
                },
                Err(e) => {
                    failed += 1;
                    eprintln!("scyth: {}: {e}, skipped", path.display());
                }
            }
        }
    }
    Ok((docs, failed))
}

/// Runs `scyth train`.
pub fn run(args: TrainArgs) -> Result<Outcome> {
    let opts = args.options()?;
    let columns = args.columns();
    let (docs, mut failed) = read_labeled(&args.input, args.format, &columns)?;
    let dev = match &args.dev {
        Some(p) => {
            let (d, f) = read_labeled(std::slice::from_ref(p), args.format, &columns)?;
            failed += f;
            Some(d)
        }
        None => None,
    };
    let mut progress = Progress::new(args.quiet);
    let (model, summary) =
        train(&docs, dev.as_deref(), &opts, &mut |ev| progress.on(ev)).context("training")?;
    progress.finish();
    let sum = scyth::model::save(&model, &args.output)?;
    if !args.quiet {
        eprintln!(
            "scyth: wrote {} ({} columns, {} labels, best epoch {} with validation {} {:.4}, int8 {:.4}, {:.1}s, checksum {sum:016x})",
            args.output.display(),
            model.meta.shape.d,
            model.meta.labels.len(),
            summary.best_epoch,
            summary.val_metric,
            summary.best_val_score,
            summary.int8_val_score,
            summary.seconds
        );
    }
    Ok(if failed > 0 {
        Outcome::SomeFailed
    } else {
        Outcome::Clean
    })
}

/// The progress display on stderr.
pub struct Progress {
    quiet: bool,
    bar: Option<ProgressBar>,
    epoch: usize,
}

impl Progress {
    /// A display; silent when `quiet`.
    pub fn new(quiet: bool) -> Progress {
        Progress {
            quiet,
            bar: None,
            epoch: 0,
        }
    }

    /// Handles one training event.
    pub fn on(&mut self, ev: TrainEvent) {
        if self.quiet {
            return;
        }
        match ev {
            TrainEvent::Prepared {
                train_docs,
                val_docs,
                columns,
                trigrams,
                pentagrams,
                seconds,
            } => eprintln!(
                "scyth: {train_docs} training and {val_docs} validation documents; {trigrams} trigrams, {columns} columns, {pentagrams} known pentagrams ({seconds:.1}s)"
            ),
            TrainEvent::MemberStart { member, of } => {
                if of > 1 {
                    eprintln!("scyth: ensemble member {member} of {of}");
                }
            }
            TrainEvent::EpochStart { epoch, batches } => {
                self.epoch = epoch;
                let bar = ProgressBar::new(batches as u64);
                bar.set_style(
                    ProgressStyle::with_template(
                        "epoch {prefix:>2} [{bar:30}] {pos}/{len} loss {msg} {per_sec} eta {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar.set_prefix(epoch.to_string());
                bar.enable_steady_tick(Duration::from_millis(200));
                self.bar = Some(bar);
            }
            TrainEvent::Batch { done, loss } => {
                if let Some(bar) = &self.bar {
                    bar.set_position(done as u64);
                    bar.set_message(format!("{loss:.5}"));
                }
            }
            TrainEvent::EpochEnd(s) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                eprintln!(
                    "epoch {:>2}: loss {:.5}, validation {:.4}{}, {:.0} docs/s",
                    s.epoch,
                    s.train_loss,
                    s.val_score,
                    if s.improved { " (best)" } else { "" },
                    s.docs_per_s
                );
            }
        }
    }

    /// Clears any bar left.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

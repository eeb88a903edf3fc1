//! `scyth categories build`: user-defined categories from labeled example
//! texts (the mean embedding per label), for `scyth classify --categories`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use scyth::model::categories::CategoryBuilder;
use scyth::model::{Precision, PredictScratch};

use super::Outcome;
use super::args::{InputArgs, ModelArgs, parse_precision};

/// Options of `scyth categories`.
#[derive(Args, Debug)]
pub struct CategoriesArgs {
    #[command(subcommand)]
    pub command: CategoriesCommand,
}

/// Subcommands of `scyth categories`.
#[derive(Subcommand, Debug)]
pub enum CategoriesCommand {
    /// Build categories from example records (`labels` names each example's
    /// categories) and write them as JSON.
    Build(BuildArgs),
}

/// Options of `scyth categories build`.
#[derive(Args, Debug)]
pub struct BuildArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// The categories file to write (JSON).
    #[arg(long, short)]
    pub output: PathBuf,
    /// int8 (default) or f32 embeddings.
    #[arg(long, default_value = "int8", value_parser = parse_precision)]
    pub precision: Precision,
}

/// Runs `scyth categories`.
pub fn run(args: CategoriesArgs) -> Result<Outcome> {
    match args.command {
        CategoriesCommand::Build(a) => build(a),
    }
}

fn build(args: BuildArgs) -> Result<Outcome> {
    let model = args.model.load_for(args.precision)?;
    let mut builder = CategoryBuilder::default();
    let mut scratch = PredictScratch::default();
    let (mut failed, mut unlabeled, mut used) = (0usize, 0usize, 0usize);
    for item in args.input.open()? {
        let rec = match item {
            Ok(rec) => rec,
            Err(e) => {
                eprintln!("scyth: {e}");
                failed += 1;
                continue;
            }
        };
        let labels = rec.labels.clone().unwrap_or_default();
        if labels.is_empty() {
            unlabeled += 1;
            continue;
        }
        let pred = model.predict_text(&rec.text, args.precision, &mut scratch);
        builder.add(&labels, &pred.embedding());
        used += 1;
    }
    let precision = match args.precision {
        Precision::Int8 => "int8",
        Precision::F32 => "f32",
    };
    let cats = builder.finish(model.checksum, model.meta.shape.e, precision);
    cats.save(&args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    out!(
        "scyth: {} categories from {used} examples ({unlabeled} without labels skipped) → {}",
        cats.categories.len(),
        args.output.display()
    );
    for c in &cats.categories {
        out!("  {}: {} examples", c.name, c.n_examples);
    }
    if failed > 0 {
        eprintln!("scyth: {failed} records failed");
        return Ok(Outcome::SomeFailed);
    }
    Ok(Outcome::Clean)
}

//! `scyth import`: a SCYTH-5 PyTorch checkpoint, exported by
//! `scripts/export_scyth5.py`, into a scyth model file.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;

use super::Outcome;

/// Options of `scyth import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Export folder written by `scripts/export_scyth5.py` (export.json +
    /// export.safetensors).
    #[arg(long = "from")]
    pub from: PathBuf,
    /// The model file to write.
    #[arg(long, short)]
    pub output: PathBuf,
    /// Write an int8-only file: without the dequantized f32 copy of the
    /// weights (4/5 of the file); `--precision f32` is then unavailable.
    #[arg(long)]
    pub int8_only: bool,
}

/// Runs `scyth import`.
pub fn run(args: ImportArgs) -> Result<Outcome> {
    let start = Instant::now();
    let mut model = scyth::model::import::import_dir(&args.from)?;
    if args.int8_only {
        model = model.into_int8_only();
    }
    let sum = scyth::model::save(&model, &args.output)?;
    let s = model.meta.shape;
    let lex = &model.lexicon;
    let q = match &model.int8_weights.zero_points {
        Some(_) => "affine int8 weights",
        None => "symmetric int8 weights",
    };
    out!(
        "scyth: imported {} into {}: D={} H={} E={} C={}, {} trigrams ({} white columns), {} pentagrams, {q}, {:.1}s, checksum {sum:016x}",
        args.from.display(),
        args.output.display(),
        s.d,
        s.h,
        s.e,
        s.c,
        lex.n_trigrams(),
        lex.white_columns(),
        lex.n_pentagrams(),
        start.elapsed().as_secs_f64()
    );
    Ok(Outcome::Clean)
}

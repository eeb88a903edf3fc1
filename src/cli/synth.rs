//! `scyth synth-model`: a random int8-only model of any shape (by default
//! SCYTH-5's full one), deterministic from a seed, and optionally synthetic
//! texts that hit its vocabulary: the inputs of the scale benchmark.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use scyth::model::synth::{SynthOptions, synth_options_of, write_synth_model, write_texts};

use super::Outcome;

/// Options of `scyth synth-model`.
#[derive(Args, Debug)]
pub struct SynthArgs {
    /// Input columns D (trigrams in the vocabulary).
    #[arg(long, default_value_t = 2_033_473)]
    pub columns: usize,
    /// Latent size H.
    #[arg(long, default_value_t = 1024)]
    pub latent: usize,
    /// Embedding (linker) size E.
    #[arg(long, default_value_t = 512)]
    pub linker: usize,
    /// Categories C.
    #[arg(long, default_value_t = 11_883)]
    pub categories: usize,
    /// Known pentagrams (default: one per 20 columns).
    #[arg(long)]
    pub pentagrams: Option<usize>,
    /// Seed of every random choice (same seed and shape: same bytes).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The model file to write.
    #[arg(long, short)]
    pub output: PathBuf,
    /// Keep `--output` when it already is the synthetic model these options
    /// describe (checksum verified), instead of writing it again.
    #[arg(long)]
    pub reuse: bool,
    /// Also write this many synthetic texts (CSV `id,text`, 100–400
    /// characters each) to `--texts-output`.
    #[arg(long, default_value_t = 0, requires = "texts_output")]
    pub texts: usize,
    /// Where the texts go.
    #[arg(long)]
    pub texts_output: Option<PathBuf>,
}

/// Runs `scyth synth-model`.
pub fn run(args: SynthArgs) -> Result<Outcome> {
    let mut opts = SynthOptions::new(
        args.columns,
        args.latent,
        args.linker,
        args.categories,
        args.seed,
    );
    if let Some(p) = args.pentagrams {
        opts.pentagrams = p;
    }
    let start = Instant::now();
    let existing = match args.reuse && args.output.exists() {
        true => {
            let model = scyth::model::load(&args.output)?;
            (synth_options_of(&model.meta) == Some(opts)).then_some(model)
        }
        false => None,
    };
    let lexicon = match existing {
        Some(model) => {
            eprintln!(
                "scyth: {} already holds this synthetic model (checksum {:016x}), kept",
                args.output.display(),
                model.checksum
            );
            model.lexicon.clone()
        }
        None => {
            let (sum, lexicon) = write_synth_model(&opts, &args.output)?;
            let secs = start.elapsed().as_secs_f64();
            let bytes = std::fs::metadata(&args.output)?.len();
            eprintln!(
                "scyth: wrote {}: D={} H={} E={} C={}, {} trigrams, {} pentagrams, int8-only, {:.2} GB in {secs:.1}s ({:.0} MB/s), checksum {sum:016x}",
                args.output.display(),
                opts.columns,
                opts.latent,
                opts.linker,
                opts.categories,
                lexicon.n_trigrams(),
                lexicon.n_pentagrams(),
                bytes as f64 / 1e9,
                bytes as f64 / 1e6 / secs.max(1e-9),
            );
            lexicon.into()
        }
    };
    if let Some(path) = &args.texts_output {
        let file =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        write_texts(
            &lexicon,
            args.texts,
            args.seed,
            std::io::BufWriter::new(file),
        )
        .with_context(|| format!("writing texts to {}", path.display()))?;
        eprintln!("scyth: wrote {} texts to {}", args.texts, path.display());
    }
    Ok(Outcome::Clean)
}

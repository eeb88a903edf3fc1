//! Command-line parsing and dispatch. Exit codes: 0 all good, 1 some records
//! failed, 2 usage, I/O or model error.

/// `println!` that returns an error instead of panicking when stdout is
/// closed (a broken pipe then ends the program quietly, see `main`).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

mod args;
mod categories;
mod classify;
mod demo;
mod dict;
mod embed;
mod eval;
mod features;
mod import;
mod inspect;
mod output;
mod stream;
mod synth;
mod train;
mod words;
mod words_report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// scyth: fast multi-label topic classification of Japanese text with
/// character trigrams, pentagram aggregation and an int8 linear network.
#[derive(Parser)]
#[command(name = "scyth", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model from labeled CSV/JSONL records.
    Train(train::TrainArgs),
    /// Classify records: one output row (or error row) per input record.
    Classify(classify::ClassifyArgs),
    /// Evaluate a model on labeled records, int8 and f32 side by side.
    Eval(eval::EvalArgs),
    /// Write L2-normalized embeddings of records (CSV, JSONL or .npy).
    Embed(embed::EmbedArgs),
    /// Show a model's shapes, parameters, labels, vocabulary and checksum.
    Inspect(inspect::InspectArgs),
    /// Show the feature pairs (column, trigram, value, kind) of texts.
    Features(features::FeaturesArgs),
    /// Train on the embedded fixtures, evaluate and classify examples.
    Demo(demo::DemoArgs),
    /// Classify records as they arrive, keeping corpus statistics current
    /// and re-classifying earlier documents whose features changed.
    Stream(stream::StreamArgs),
    /// Convert an exported SCYTH-5 PyTorch checkpoint into a model file.
    Import(import::ImportArgs),
    /// User-defined categories: mean embeddings of labeled examples.
    Categories(categories::CategoriesArgs),
    /// Build the word dictionary (IPADIC) that `scyth words` uses.
    Dict(dict::DictArgs),
    /// Word statistics: emerging words per time bucket, category keywords.
    Words(words::WordsArgs),
    /// Write a random int8-only model of any shape (benchmarks at scale).
    SynthModel(synth::SynthArgs),
}

/// Outcome of a command that ran to the end.
pub enum Outcome {
    /// Every record was processed.
    Clean,
    /// Some records were reported as errors.
    SomeFailed,
}

/// Parses arguments, runs the command and maps the result to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(a) => train::run(a),
        Command::Classify(a) => classify::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Embed(a) => embed::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Features(a) => features::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Stream(a) => stream::run(a),
        Command::Import(a) => import::run(a),
        Command::Categories(a) => categories::run(a),
        Command::Dict(a) => dict::run(a),
        Command::Words(a) => words::run(a),
        Command::SynthModel(a) => synth::run(a),
    };
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::SomeFailed) => ExitCode::from(1),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("scyth: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

//! Argument groups shared by several commands, and their validation into
//! the library's types.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use scyth::io::{ColumnNames, InputFormat, RecordReader, open_records};
use scyth::model::{Model, Precision};

/// Where records come from and how to read them.
#[derive(Args, Clone, Debug)]
pub struct InputArgs {
    /// Input file (CSV or JSONL); `-` reads standard input.
    #[arg(long, short, default_value = "-")]
    pub input: PathBuf,
    /// Input format (default: from the file extension).
    #[arg(long, value_parser = parse_format)]
    pub format: Option<InputFormat>,
    /// Name of the id column/key.
    #[arg(long, default_value = "id")]
    pub id_column: String,
    /// Name of the text column/key.
    #[arg(long, default_value = "text")]
    pub text_column: String,
    /// Name of the labels column/key (`|`-separated in CSV, a list in JSONL).
    #[arg(long, default_value = "labels")]
    pub labels_column: String,
}

fn parse_format(s: &str) -> Result<InputFormat, String> {
    s.parse()
}

impl InputArgs {
    /// The column names.
    pub fn columns(&self) -> ColumnNames {
        ColumnNames {
            id: self.id_column.clone(),
            text: self.text_column.clone(),
            labels: self.labels_column.clone(),
            ..ColumnNames::default()
        }
    }

    /// Opens the input.
    pub fn open(&self) -> Result<RecordReader> {
        open_path(&self.input, self.format, &self.columns())
    }
}

/// Opens one input path (`-` = stdin).
pub fn open_path(
    path: &Path,
    format: Option<InputFormat>,
    columns: &ColumnNames,
) -> Result<RecordReader> {
    let p = (path != Path::new("-")).then_some(path);
    open_records(p, format, columns).with_context(|| format!("reading {}", path.display()))
}

/// Model and precision selection.
#[derive(Args, Clone, Debug)]
pub struct ModelArgs {
    /// Model file written by `scyth train`.
    #[arg(long, short)]
    pub model: PathBuf,
}

impl ModelArgs {
    /// Loads the model (memory-mapped, checksum verified).
    pub fn load(&self) -> Result<Model> {
        scyth::model::load(&self.model)
    }

    /// Loads the model and checks that it can run `precision` (an int8-only
    /// model has no f32 weights).
    pub fn load_for(&self, precision: Precision) -> Result<Model> {
        let model = self.load()?;
        model
            .check_precision(precision)
            .with_context(|| format!("--precision f32 with {}", self.model.display()))?;
        Ok(model)
    }
}

/// Parses `int8` / `f32`.
pub fn parse_precision(s: &str) -> Result<Precision, String> {
    s.parse()
}

/// Worker thread count (default: all cores).
#[derive(Args, Clone, Debug)]
pub struct ThreadArgs {
    /// Worker threads (default: the number of cores).
    #[arg(long, short = 't')]
    pub threads: Option<usize>,
}

impl ThreadArgs {
    /// Builds the thread pool for data-parallel work.
    pub fn pool(&self) -> Result<rayon::ThreadPool> {
        let n = self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .context("starting worker threads")
    }
}

/// User-defined categories (`scyth categories build`) ranked by embedding
/// similarity instead of the model's own categories.
#[derive(Args, Clone, Debug)]
pub struct CategoryArgs {
    /// Rank user-defined categories (`scyth categories build`) by embedding
    /// similarity instead of the model's own categories; `--threshold`
    /// (default 0.5) then applies to the rescaled similarity.
    #[arg(long)]
    pub categories: Option<PathBuf>,
    /// With --categories: the cosine that scores 0.5 in sigmoid((cos − c0)·k).
    #[arg(long, default_value_t = scyth::model::categories::DEFAULT_C0)]
    pub c0: f32,
    /// With --categories: the steepness k in sigmoid((cos − c0)·k).
    #[arg(long = "slope", default_value_t = scyth::model::categories::DEFAULT_K)]
    pub slope: f32,
}

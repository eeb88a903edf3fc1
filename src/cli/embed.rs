//! `scyth embed`: ids and L2-normalized embeddings as CSV, JSONL or `.npy`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use ndarray::Array2;
use rayon::prelude::*;
use scyth::io::{Record, RecordError};
use scyth::model::{Precision, PredictScratch};

use super::Outcome;
use super::args::{InputArgs, ModelArgs, ThreadArgs, parse_precision};
use super::output::open_output;

/// Options of `scyth embed`.
#[derive(Args, Debug)]
pub struct EmbedArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// Output: `.csv`, `.jsonl` or `.npy` (then ids go to `<output>.ids.tsv`);
    /// `-` writes JSONL to standard output.
    #[arg(long, short, default_value = "-")]
    pub output: PathBuf,
    /// int8 (default) or f32.
    #[arg(long, default_value = "int8", value_parser = parse_precision)]
    pub precision: Precision,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// Runs `scyth embed`.
pub fn run(args: EmbedArgs) -> Result<Outcome> {
    let model = args.model.load_for(args.precision)?;
    let items: Vec<Result<Record, RecordError>> = args.input.open()?.collect();
    let pool = args.threads.pool()?;
    let embeddings: Vec<Option<Vec<f32>>> = pool.install(|| {
        items
            .par_iter()
            .map_init(PredictScratch::default, |s, item| {
                item.as_ref()
                    .ok()
                    .map(|r| model.predict_text(&r.text, args.precision, s).embedding())
            })
            .collect()
    });
    let failed = items.iter().filter(|i| i.is_err()).count();
    for e in items.iter().filter_map(|i| i.as_ref().err()) {
        eprintln!("scyth: {e}");
    }
    let e_dim = model.meta.shape.e;
    let ext = args
        .output
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    if ext == "npy" {
        // Unreadable records get a row of NaN; the ids file says why.
        let mut matrix = Array2::<f32>::from_elem((items.len(), e_dim), f32::NAN);
        for (i, emb) in embeddings.iter().enumerate() {
            if let Some(v) = emb {
                matrix.row_mut(i).assign(&ndarray::ArrayView1::from(v));
            }
        }
        ndarray_npy::write_npy(&args.output, &matrix)
            .with_context(|| format!("writing {}", args.output.display()))?;
        let ids_path = PathBuf::from(format!("{}.ids.tsv", args.output.display()));
        let mut ids = open_output(&ids_path)?;
        writeln!(ids, "row\tid\tline\terror")?;
        for (i, item) in items.iter().enumerate() {
            match item {
                Ok(r) => writeln!(ids, "{i}\t{}\t{}\t", r.id, r.line)?,
                Err(e) => writeln!(
                    ids,
                    "{i}\t{}\t{}\t{}",
                    e.id.as_deref().unwrap_or(""),
                    e.line,
                    e.reason
                )?,
            }
        }
        ids.flush()?;
    } else if ext == "csv" {
        let mut w = csv::Writer::from_writer(open_output(&args.output)?);
        let mut header = vec!["id".to_string(), "line".to_string(), "error".to_string()];
        header.extend((0..e_dim).map(|i| format!("e{i}")));
        w.write_record(&header)?;
        for (item, emb) in items.iter().zip(&embeddings) {
            let mut rec = match item {
                Ok(r) => vec![r.id.clone(), r.line.to_string(), String::new()],
                Err(e) => vec![
                    e.id.clone().unwrap_or_default(),
                    e.line.to_string(),
                    e.reason.clone(),
                ],
            };
            match emb {
                Some(v) => rec.extend(v.iter().map(|x| x.to_string())),
                None => rec.extend((0..e_dim).map(|_| String::new())),
            }
            w.write_record(&rec)?;
        }
        w.flush()?;
    } else {
        let mut out = open_output(&args.output)?;
        for (item, emb) in items.iter().zip(&embeddings) {
            let row = match (item, emb) {
                (Ok(r), Some(v)) => serde_json::json!({"id": r.id, "line": r.line, "embedding": v}),
                (Err(e), _) => serde_json::json!({"id": e.id, "line": e.line, "error": e.reason}),
                (Ok(r), None) => {
                    serde_json::json!({"id": r.id, "line": r.line, "error": "no embedding"})
                }
            };
            writeln!(out, "{row}")?;
        }
        out.flush()?;
    }
    Ok(if failed > 0 {
        Outcome::SomeFailed
    } else {
        Outcome::Clean
    })
}

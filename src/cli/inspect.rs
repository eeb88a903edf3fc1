//! `scyth inspect`: what a model file holds.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use serde_json::json;

use super::Outcome;

/// Options of `scyth inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The model file.
    pub model: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `scyth inspect`.
pub fn run(args: InspectArgs) -> Result<Outcome> {
    let model = scyth::model::load(&args.model)?;
    let lex = &model.lexicon;
    let m = &model.meta;
    let size = std::fs::metadata(&args.model)?.len();
    let info = json!({
        "file": args.model.display().to_string(),
        "bytes": size,
        "checksum_xxh3": format!("{:016x}", model.checksum),
        "format_version": m.format_version,
        "normalization": m.normalization,
        "source": m.source,
        "shape": m.shape,
        "parameters": m.lexicon,
        "statistics": {
            "documents": lex.n_docs,
            "df_max": lex.df_max,
            "trigrams": lex.n_trigrams(),
            "columns": lex.n_columns(),
            "white_columns": lex.white_columns(),
            "known_pentagrams": lex.n_pentagrams(),
        },
        "labels": m.labels,
        "decision": m.decision,
        "training": m.training,
    });
    if args.json {
        out!("{}", serde_json::to_string_pretty(&info)?);
        return Ok(Outcome::Clean);
    }
    out!(
        "model      {} ({:.1} MiB), checksum {:016x}, format v{}",
        args.model.display(),
        size as f64 / 1048576.0,
        model.checksum,
        m.format_version
    );
    if !m.source.is_trained() {
        out!(
            "source     imported SCYTH-5 checkpoint: statuses and scores frozen, PyTorch's int8 rules"
        );
    }
    out!(
        "shape      D={} H={} E={} C={}",
        m.shape.d,
        m.shape.h,
        m.shape.e,
        m.shape.c
    );
    out!(
        "scoring    α={} β={:.6} τ={} gray_weight={} min_df={} max_columns={:?} pent_min_df={} normalization={:?}",
        m.lexicon.score.alpha,
        m.lexicon.score.beta,
        m.lexicon.score.tau,
        m.lexicon.score.gray_weight,
        m.lexicon.min_df,
        m.lexicon.max_columns,
        m.lexicon.pent_min_df,
        m.normalization
    );
    out!(
        "statistics N={} df_max={} trigrams={} columns={} (white {}) known pentagrams={}",
        lex.n_docs,
        lex.df_max,
        lex.n_trigrams(),
        lex.n_columns(),
        lex.white_columns(),
        lex.n_pentagrams()
    );
    out!(
        "decision   {} (global threshold {:.2})",
        if m.decision.multi_label {
            "multi-label, per-category thresholds"
        } else {
            "single-label (top-1)"
        },
        m.decision.global
    );
    out!("labels     {}", m.labels.join(", "));
    if let Some(s) = m.training.get("summary") {
        out!(
            "training   best epoch {} of {}, validation {} {:.4} (int8 {:.4}), {} training documents",
            s["best_epoch"],
            s["epochs"].as_array().map_or(0, |a| a.len()),
            s["val_metric"].as_str().unwrap_or("?"),
            s["best_val_score"].as_f64().unwrap_or(0.0),
            s["int8_val_score"].as_f64().unwrap_or(0.0),
            m.training["train_docs"]
        );
    }
    Ok(Outcome::Clean)
}

//! `scyth features`: the (column, trigram, value, kind) pairs of texts, the
//! SPEC made visible.

use std::io::Write;

use anyhow::{Result, bail};
use clap::Args;
use scyth::features::{FeatureKind, FeatureScratch, extract_pairs};
use scyth::text::Pentagram;

use super::Outcome;
use super::args::ModelArgs;

/// Options of `scyth features`.
#[derive(Args, Debug)]
pub struct FeaturesArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Text to analyze (else records from --input).
    pub text: Option<String>,
    /// Read records from this file instead (CSV or JSONL; `-` = stdin).
    #[arg(long, short, conflicts_with = "text")]
    pub input: Option<std::path::PathBuf>,
    /// Input format (default: from the file extension).
    #[arg(long, value_parser = |s: &str| s.parse::<scyth::io::InputFormat>())]
    pub format: Option<scyth::io::InputFormat>,
    /// Name of the text column/key.
    #[arg(long, default_value = "text")]
    pub text_column: String,
    /// Print JSON lines.
    #[arg(long)]
    pub json: bool,
}

/// Runs `scyth features`.
pub fn run(args: FeaturesArgs) -> Result<Outcome> {
    let model = args.model.load()?;
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut failed = 0;
    match (&args.text, &args.input) {
        (Some(t), None) => texts.push(("text".into(), t.clone())),
        (None, Some(path)) => {
            let columns = scyth::io::ColumnNames {
                text: args.text_column.clone(),
                ..scyth::io::ColumnNames::default()
            };
            for item in super::args::open_path(path, args.format, &columns)? {
                match item {
                    Ok(r) => texts.push((r.id, r.text)),
                    Err(e) => {
                        failed += 1;
                        eprintln!("scyth: {e}");
                    }
                }
            }
        }
        _ => bail!("give a TEXT argument or --input FILE"),
    }
    let mut scratch = FeatureScratch::default();
    let out = std::io::stdout();
    let mut out = out.lock();
    for (id, text) in &texts {
        let pairs = extract_pairs(
            &*model.lexicon,
            model.meta.normalization,
            text,
            &mut scratch,
        );
        for p in &pairs {
            let tri = model.lexicon.trigram(p.trigram).to_text();
            let (kind, pent) = match p.kind {
                FeatureKind::Direct => ("direct", String::new()),
                FeatureKind::Agr { pentagram } => {
                    let k = &model.lexicon.pent_keys
                        [2 * pentagram as usize..2 * pentagram as usize + 2];
                    ("agr", Pentagram::from_halves([k[0], k[1]]).to_text())
                }
            };
            if args.json {
                let row = serde_json::json!({"id": id, "column": p.column, "trigram": tri, "value": p.value, "kind": kind, "pentagram": pent});
                writeln!(out, "{row}")?;
            } else {
                writeln!(
                    out,
                    "{id}\t{}\t{}\t{:.6}\t{kind}\t{pent}",
                    p.column,
                    tri.escape_debug(),
                    p.value
                )?;
            }
        }
        if pairs.is_empty() && !args.json {
            writeln!(out, "{id}\t(no features)")?;
        }
    }
    Ok(if failed > 0 {
        Outcome::SomeFailed
    } else {
        Outcome::Clean
    })
}

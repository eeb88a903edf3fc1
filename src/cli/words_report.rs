//! Writing a [`WordReport`] as JSON, CSV (one row per reported word) or
//! Markdown tables.

use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use anyhow::Result;

use super::words::WordReport;

/// Report formats of `scyth words`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// One JSON document.
    Json,
    /// CSV, one row per word: `section,group,rank,word,score,count,other_count,first_seen`.
    Csv,
    /// Markdown tables.
    Markdown,
}

impl ReportFormat {
    /// The format implied by a path's extension.
    pub fn from_path(path: &Path) -> Option<ReportFormat> {
        path.extension()?.to_str()?.parse().ok()
    }
}

impl FromStr for ReportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(ReportFormat::Json),
            "csv" => Ok(ReportFormat::Csv),
            "md" | "markdown" => Ok(ReportFormat::Markdown),
            other => Err(format!("unknown report format {other:?} (json, csv or md)")),
        }
    }
}

/// Writes `report` to `out` in `format`.
pub fn write_report(out: &mut dyn Write, report: &WordReport, format: ReportFormat) -> Result<()> {
    match format {
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, report)?;
            writeln!(out)?;
        }
        ReportFormat::Csv => write_csv(out, report)?,
        ReportFormat::Markdown => write_markdown(out, report)?,
    }
    Ok(())
}

fn write_csv(out: &mut dyn Write, report: &WordReport) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "section",
        "group",
        "rank",
        "word",
        "score",
        "count",
        "other_count",
        "first_seen",
    ])?;
    if let Some(em) = &report.emerging {
        let group = em.window.join("..");
        for (i, e) in em.words.iter().enumerate() {
            w.write_record([
                "emerging",
                &group,
                &(i + 1).to_string(),
                &e.word,
                &format!("{:.4}", e.g2),
                &e.count.to_string(),
                &e.reference_count.to_string(),
                &e.first_seen,
            ])?;
        }
    }
    for (cat, kws) in report.keywords.iter().flatten() {
        for (i, k) in kws.iter().enumerate() {
            w.write_record([
                "keyword",
                cat,
                &(i + 1).to_string(),
                &k.word,
                &format!("{:.4}", k.z),
                &k.count.to_string(),
                &k.rest_count.to_string(),
                "",
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}

fn write_markdown(out: &mut dyn Write, r: &WordReport) -> Result<()> {
    writeln!(
        out,
        "# Word statistics\n\n{} documents ({} without a time), {} {} buckets, {} distinct words ({}).",
        r.docs, r.untimed_docs, r.buckets, r.by, r.vocabulary, r.pos
    )?;
    match &r.emerging {
        None => writeln!(out, "\nNo emerging words: no record has a time.")?,
        Some(em) => {
            writeln!(
                out,
                "\n## Emerging words: {} ({} documents) against {} earlier documents\n",
                em.window.join(", "),
                em.window_docs,
                em.reference_docs
            )?;
            writeln!(
                out,
                "| rank | word | G² | df | rate | earlier df | earlier rate | first seen |"
            )?;
            writeln!(out, "|---:|---|---:|---:|---:|---:|---:|---|")?;
            for (i, e) in em.words.iter().enumerate() {
                writeln!(
                    out,
                    "| {} | {} | {:.1} | {} | {:.3} | {} | {:.4} | {}{} |",
                    i + 1,
                    e.word,
                    e.g2,
                    e.count,
                    e.rate,
                    e.reference_count,
                    e.reference_rate,
                    e.first_seen,
                    if e.new { " (new)" } else { "" }
                )?;
            }
        }
    }
    if let Some(kw) = &r.keywords {
        writeln!(
            out,
            "\n## Category keywords (log-odds z, informative Dirichlet prior)\n"
        )?;
        writeln!(out, "| category | keywords (z) |")?;
        writeln!(out, "|---|---|")?;
        for (cat, kws) in kw {
            let words: Vec<String> = kws
                .iter()
                .map(|k| format!("{} ({:.1})", k.word, k.z))
                .collect();
            writeln!(out, "| {cat} | {} |", words.join(", "))?;
        }
    }
    Ok(())
}

//! Result rows: one per input record, as CSV or JSONL, with error rows for
//! records that could not be read.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use scyth::io::RecordError;
use scyth::words::WordContribution;
use serde::Serialize;

/// Output formats of result rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// CSV with a header.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl OutputFormat {
    /// Parses `csv` / `jsonl`.
    pub fn parse(s: &str) -> Result<OutputFormat, String> {
        match s {
            "csv" => Ok(OutputFormat::Csv),
            "jsonl" => Ok(OutputFormat::Jsonl),
            other => Err(format!("unknown output format {other:?} (csv or jsonl)")),
        }
    }

    /// The format implied by a path's extension.
    pub fn from_path(path: &Path) -> Option<OutputFormat> {
        match path.extension()?.to_str()? {
            "csv" => Some(OutputFormat::Csv),
            "jsonl" | "ndjson" | "json" => Some(OutputFormat::Jsonl),
            _ => None,
        }
    }
}

/// Opens `path` for writing (`-` = stdout), buffered.
pub fn open_output(path: &Path) -> Result<Box<dyn Write>> {
    if path == Path::new("-") {
        Ok(Box::new(BufWriter::new(std::io::stdout().lock())))
    } else {
        let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Box::new(BufWriter::new(f)))
    }
}

/// A label with its probability.
#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    /// Category name.
    pub label: String,
    /// Sigmoid probability.
    pub probability: f32,
}

/// A contribution of one feature to the top label's logit.
#[derive(Debug, Clone, Serialize)]
pub struct Contribution {
    /// The trigram.
    pub trigram: String,
    /// `direct` or `agr`.
    pub kind: &'static str,
    /// The pentagram an AGR feature came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pentagram: Option<String>,
    /// Input value.
    pub value: f32,
    /// Share of the top label's logit (f32 network, exact decomposition).
    pub contribution: f32,
}

/// One classified record.
#[derive(Debug, Clone, Serialize)]
pub struct ResultRow {
    /// Record id.
    pub id: String,
    /// Input line.
    pub line: u64,
    /// Decided labels (multi-label decision).
    pub labels: Vec<String>,
    /// Top-k labels with probabilities.
    pub top: Vec<Scored>,
    /// Number of set input columns (0: the text has no known features).
    pub n_features: usize,
    /// Features that contributed most to the top label (with --explain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<Vec<Contribution>>,
    /// Words that carried the top label (with --explain and a dictionary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain_words: Option<Vec<WordContribution>>,
}

#[derive(Serialize)]
struct ErrorRow<'a> {
    id: Option<&'a str>,
    line: u64,
    error: &'a str,
}

/// Writes result and error rows in one format.
pub struct RowWriter {
    sink: Sink,
    explain: bool,
    explain_words: bool,
}

enum Sink {
    Csv(Box<csv::Writer<Box<dyn Write>>>),
    Jsonl(Box<dyn Write>),
}

impl RowWriter {
    /// A writer; CSV gets its header now (with `explain` and
    /// `explain_words` columns when asked for).
    pub fn new(
        out: Box<dyn Write>,
        format: OutputFormat,
        explain: bool,
        explain_words: bool,
    ) -> Result<RowWriter> {
        let sink = match format {
            OutputFormat::Jsonl => Sink::Jsonl(out),
            OutputFormat::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                let mut header = vec![
                    "id",
                    "line",
                    "labels",
                    "top_labels",
                    "top_probabilities",
                    "n_features",
                    "error",
                ];
                if explain {
                    header.push("explain");
                }
                if explain_words {
                    header.push("explain_words");
                }
                csv.write_record(&header)?;
                Sink::Csv(Box::new(csv))
            }
        };
        Ok(RowWriter {
            sink,
            explain,
            explain_words,
        })
    }

    /// Writes a classified record.
    pub fn result(&mut self, row: &ResultRow) -> Result<()> {
        match &mut self.sink {
            Sink::Jsonl(out) => {
                serde_json::to_writer(&mut *out, row)?;
                out.write_all(b"\n")?;
            }
            Sink::Csv(csv) => {
                let top_labels: Vec<&str> = row.top.iter().map(|s| s.label.as_str()).collect();
                let top_probs: Vec<String> = row
                    .top
                    .iter()
                    .map(|s| format!("{:.4}", s.probability))
                    .collect();
                let mut rec = vec![
                    row.id.clone(),
                    row.line.to_string(),
                    row.labels.join("|"),
                    top_labels.join("|"),
                    top_probs.join("|"),
                    row.n_features.to_string(),
                    String::new(),
                ];
                if self.explain {
                    let parts: Vec<String> = row
                        .explain
                        .iter()
                        .flatten()
                        .map(|c| format!("{}:{}:{:.4}", c.trigram, c.kind, c.contribution))
                        .collect();
                    rec.push(parts.join("|"));
                }
                if self.explain_words {
                    let parts: Vec<String> = row
                        .explain_words
                        .iter()
                        .flatten()
                        .map(|w| format!("{}:{:.4}", w.word, w.contribution))
                        .collect();
                    rec.push(parts.join("|"));
                }
                csv.write_record(&rec)?;
            }
        }
        Ok(())
    }

    /// Writes an error row for a record that could not be processed.
    pub fn error(&mut self, err: &RecordError) -> Result<()> {
        match &mut self.sink {
            Sink::Jsonl(out) => {
                let row = ErrorRow {
                    id: err.id.as_deref(),
                    line: err.line,
                    error: &err.reason,
                };
                serde_json::to_writer(&mut *out, &row)?;
                out.write_all(b"\n")?;
            }
            Sink::Csv(csv) => {
                let mut rec = vec![
                    err.id.clone().unwrap_or_default(),
                    err.line.to_string(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    err.reason.clone(),
                ];
                if self.explain {
                    rec.push(String::new());
                }
                if self.explain_words {
                    rec.push(String::new());
                }
                csv.write_record(&rec)?;
            }
        }
        Ok(())
    }

    /// Flushes everything written.
    pub fn finish(self) -> Result<()> {
        match self.sink {
            Sink::Jsonl(mut out) => out.flush()?,
            Sink::Csv(mut csv) => csv.flush()?,
        }
        Ok(())
    }
}

//! The input record and the error that replaces it when it cannot be read.

use serde::Serialize;

/// One input document: what every reader yields and every driver consumes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// 1-based line number in the input where the record starts (CSV: the
    /// physical line of the record's first byte; JSONL: the line).
    pub line: u64,
    /// The record's id; the line number as text when the input has no id.
    pub id: String,
    /// The text to classify (never empty: an empty text is a [`RecordError`]).
    pub text: String,
    /// Gold labels when the input carries a labels field (`None` when the
    /// field is absent; `Some(vec![])` when present but empty).
    pub labels: Option<Vec<String>>,
    /// Optional timestamp, as written in the input.
    pub time: Option<String>,
}

/// A record that could not be read; it becomes an error row in the output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordError {
    /// 1-based line number where the broken record starts.
    pub line: u64,
    /// The record's id when it could be recovered.
    pub id: Option<String>,
    /// Why the record was rejected, naming the field when there is one.
    pub reason: String,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.id {
            Some(id) => write!(f, "record {id} (line {}): {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

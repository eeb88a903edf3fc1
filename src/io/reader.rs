//! Record readers for CSV and JSONL input.
//!
//! A [`RecordReader`] turns a byte stream into [`Record`]s. Every input record
//! yields exactly one item: either the record or a [`RecordError`] saying why
//! it was rejected, so that a driver can write an error row for it and go on.
//! Only problems that make the whole input unreadable (no `text` column in a
//! CSV header, a file that cannot be opened) are reported as fatal errors when
//! the reader is built.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use std::sync::{Arc, Mutex};

use super::feed::FeedReader;
use super::lines::{LineIndex, LineTrackingReader};
use super::record::{Record, RecordError};

/// The UTF-8 byte order mark, stripped from the start of every input.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The two supported input formats; chosen explicitly or from the file
/// extension so that the same drivers can read either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InputFormat {
    /// Comma-separated values with a header row naming the columns.
    Csv,
    /// One JSON object per line (JSON Lines / NDJSON).
    Jsonl,
    /// RSS or Atom feeds: a feed file, or a directory of them
    /// (see [`super::feed`]).
    Feed,
}

impl InputFormat {
    /// Guesses the format from the file extension (case-insensitive):
    /// `.csv` is CSV; `.jsonl`, `.ndjson` and `.json` are JSONL. Returns
    /// `None` for anything else, so the caller can ask for `--format`.
    pub fn from_path(path: &Path) -> Option<InputFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(InputFormat::Csv),
            "jsonl" | "ndjson" | "json" => Some(InputFormat::Jsonl),
            "rss" | "atom" | "xml" => Some(InputFormat::Feed),
            _ => None,
        }
    }
}

impl FromStr for InputFormat {
    type Err = String;

    /// Parses `csv`, `jsonl` (also `ndjson`) or `rss` (also `atom`,
    /// `feed`), case-insensitively, as given on the command line.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(InputFormat::Csv),
            "jsonl" | "ndjson" => Ok(InputFormat::Jsonl),
            "rss" | "atom" | "feed" => Ok(InputFormat::Feed),
            other => Err(format!(
                "unknown input format {other:?} (expected csv, jsonl or rss)"
            )),
        }
    }
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InputFormat::Csv => "csv",
            InputFormat::Jsonl => "jsonl",
            InputFormat::Feed => "rss",
        })
    }
}

/// The names of the input columns (CSV header names, JSONL keys), so that
/// inputs with other naming conventions can be read without rewriting them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnNames {
    /// Column holding the record id (optional in the input).
    pub id: String,
    /// Column holding the text to classify (required).
    pub text: String,
    /// Column holding gold labels, `|`-separated in CSV (optional).
    pub labels: String,
    /// Column holding a timestamp (optional).
    pub time: String,
}

impl Default for ColumnNames {
    fn default() -> Self {
        ColumnNames {
            id: "id".to_string(),
            text: "text".to_string(),
            labels: "labels".to_string(),
            time: "time".to_string(),
        }
    }
}

/// Opens an input for reading records.
///
/// `path` `None` or `-` reads standard input, which needs an explicit
/// `format`; for a file, `format` `None` detects it from the extension.
/// Fails when the file cannot be opened, the format cannot be determined, or
/// a CSV header lacks the text column.
pub fn open_records(
    path: Option<&Path>,
    format: Option<InputFormat>,
    columns: &ColumnNames,
) -> anyhow::Result<RecordReader> {
    match path {
        None => open_stdin(format, columns),
        Some(p) if p.as_os_str() == "-" => open_stdin(format, columns),
        Some(p) if p.is_dir() => {
            if format.is_some_and(|f| f != InputFormat::Feed) {
                bail!(
                    "{} is a directory: only --format rss reads a directory (of feed files)",
                    p.display()
                );
            }
            Ok(RecordReader {
                inner: Inner::Feed(FeedReader::directory(p)),
                done: false,
            })
        }
        Some(p) => {
            let format = match format {
                Some(f) => f,
                None => match InputFormat::from_path(p) {
                    Some(f) => f,
                    None => bail!(
                        "cannot tell the input format of {} from its extension; \
                         use --format csv, jsonl or rss",
                        p.display()
                    ),
                },
            };
            let file =
                File::open(p).with_context(|| format!("cannot open input {}", p.display()))?;
            RecordReader::from_reader(Box::new(file), format, columns)
                .with_context(|| format!("cannot read input {}", p.display()))
        }
    }
}

/// Opens standard input; the format must be given since there is no
/// extension to detect it from.
fn open_stdin(format: Option<InputFormat>, columns: &ColumnNames) -> anyhow::Result<RecordReader> {
    let Some(format) = format else {
        bail!("reading from standard input needs --format csv or --format jsonl");
    };
    RecordReader::from_reader(Box::new(std::io::stdin()), format, columns)
        .context("cannot read standard input")
}

/// A buffered stream of records from CSV or JSONL input.
///
/// Yields one item per input record, in input order: `Ok(Record)` or
/// `Err(RecordError)` for a record that cannot be used. A bad record never
/// ends the iteration; only a read error of the underlying stream does (after
/// yielding it as an error item).
pub struct RecordReader {
    /// The format-specific state.
    inner: Inner,
    /// Set once the input is exhausted or unreadable; the iterator is fused.
    done: bool,
}

/// Format-specific reading state.
enum Inner {
    /// CSV state.
    Csv(CsvState),
    /// JSONL state.
    Jsonl(JsonlState),
    /// RSS/Atom state.
    Feed(FeedReader),
}

/// CSV reading state: the parser, where the columns are, and a reusable
/// record buffer.
struct CsvState {
    /// Line-break offsets of the input, for physical line numbers.
    lines: Arc<Mutex<LineIndex>>,
    /// The csv parser (buffers internally).
    reader: csv::Reader<Box<dyn Read + Send>>,
    /// Number of header fields; every record must have this many.
    n_fields: usize,
    /// Index of the id column, if present.
    id: Option<usize>,
    /// Index of the text column.
    text: usize,
    /// Index of the labels column, if present.
    labels: Option<usize>,
    /// Index of the time column, if present.
    time: Option<usize>,
    /// Column names, for error messages.
    names: ColumnNames,
    /// Reused record buffer.
    record: csv::ByteRecord,
    /// Byte offset of the last parse error, to detect a parser stuck on it.
    last_error_at: Option<u64>,
}

/// JSONL reading state.
struct JsonlState {
    /// The buffered input.
    reader: BufReader<Box<dyn Read + Send>>,
    /// Number of lines read so far (the 1-based number of the last line).
    line: u64,
    /// Column names (JSON keys).
    names: ColumnNames,
    /// Reused line buffer.
    buf: Vec<u8>,
}

impl RecordReader {
    /// Builds a reader over any byte stream (a file, standard input, a
    /// buffer in tests) in the given format. A leading UTF-8 BOM is skipped.
    ///
    /// For CSV the header row is read here; fails when it cannot be read or
    /// has no column named `columns.text` (the error lists the columns
    /// found).
    pub fn from_reader(
        r: Box<dyn Read + Send>,
        format: InputFormat,
        columns: &ColumnNames,
    ) -> anyhow::Result<RecordReader> {
        let r = skip_bom(r).context("cannot read the start of the input")?;
        let inner = match format {
            InputFormat::Csv => Inner::Csv(CsvState::new(r, columns)?),
            InputFormat::Jsonl => Inner::Jsonl(JsonlState {
                reader: BufReader::with_capacity(1 << 16, r),
                line: 0,
                names: columns.clone(),
                buf: Vec::new(),
            }),
            InputFormat::Feed => Inner::Feed(FeedReader::single(r)),
        };
        Ok(RecordReader { inner, done: false })
    }

    /// For a directory of feeds: poll it for new files every `poll`
    /// instead of ending (a live feed). Fails for any other input.
    pub fn follow(&mut self, poll: std::time::Duration) -> anyhow::Result<()> {
        let followed = match &mut self.inner {
            Inner::Feed(f) => f.follow(poll),
            _ => false,
        };
        if !followed {
            bail!("only a directory of feeds (--format rss) can be followed");
        }
        Ok(())
    }
}

impl fmt::Debug for RecordReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = match self.inner {
            Inner::Csv(_) => InputFormat::Csv,
            Inner::Jsonl(_) => InputFormat::Jsonl,
            Inner::Feed(_) => InputFormat::Feed,
        };
        f.debug_struct("RecordReader")
            .field("format", &format)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Iterator for RecordReader {
    type Item = Result<Record, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let step = match &mut self.inner {
            Inner::Csv(s) => s.next_item(),
            Inner::Jsonl(s) => s.next_item(),
            Inner::Feed(s) => match s.next_item() {
                Some(item) => Step::Item(item),
                None => Step::End,
            },
        };
        match step {
            Step::Item(item) => Some(item),
            Step::Last(item) => {
                self.done = true;
                Some(item)
            }
            Step::End => {
                self.done = true;
                None
            }
        }
    }
}

impl std::iter::FusedIterator for RecordReader {}

/// What one reading step produced.
enum Step {
    /// A record or error row; more may follow.
    Item(Result<Record, RecordError>),
    /// A final error row (the stream cannot be read further).
    Last(Result<Record, RecordError>),
    /// End of input.
    End,
}

/// Reads up to three bytes and drops them if they are a UTF-8 BOM; returns
/// a stream that yields the rest of the input.
fn skip_bom(mut r: Box<dyn Read + Send>) -> std::io::Result<Box<dyn Read + Send>> {
    let mut head = [0u8; 3];
    let mut got = 0;
    while got < head.len() {
        match r.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let keep = if &head[..got] == UTF8_BOM {
        Vec::new()
    } else {
        head[..got].to_vec()
    };
    Ok(Box::new(Cursor::new(keep).chain(r)))
}

/// Splits a `|`-separated label field, trimming pieces and dropping empty
/// ones.
fn split_labels(s: &str) -> Vec<String> {
    s.split('|')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Builds the error row for a record.
fn reject(line: u64, id: Option<String>, reason: impl Into<String>) -> RecordError {
    RecordError {
        line,
        id,
        reason: reason.into(),
    }
}

impl CsvState {
    /// Reads the header and locates the columns.
    fn new(r: Box<dyn Read + Send>, columns: &ColumnNames) -> anyhow::Result<CsvState> {
        let (tracked, lines) = LineTrackingReader::new(r);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(Box::new(tracked) as Box<dyn Read + Send>);
        let header = reader
            .byte_headers()
            .context("cannot read the CSV header row")?
            .clone();
        let names: Vec<String> = header
            .iter()
            .map(|h| String::from_utf8_lossy(h).trim().to_string())
            .collect();
        let find = |name: &str| names.iter().position(|h| h == name);
        let Some(text) = find(&columns.text) else {
            let found = if names.is_empty() {
                "(none)".to_string()
            } else {
                names
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            bail!(
                "the CSV header has no text column {:?}; columns found: {found}",
                columns.text
            );
        };
        Ok(CsvState {
            lines,
            n_fields: header.len(),
            id: find(&columns.id),
            text,
            labels: find(&columns.labels),
            time: find(&columns.time),
            names: columns.clone(),
            reader,
            record: csv::ByteRecord::new(),
            last_error_at: None,
        })
    }

    /// Reads the next CSV record and converts it.
    fn next_item(&mut self) -> Step {
        let before = self.reader.position().clone();
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => Step::End,
            Ok(true) => {
                let start = self
                    .record
                    .position()
                    .map_or(before.byte(), csv::Position::byte);
                let line = self.line_at(start);
                Step::Item(self.convert(line))
            }
            Err(e) => {
                let start = e.position().map_or(before.byte(), csv::Position::byte);
                let line = self.line_at(start);
                let at = self.reader.position().byte();
                let fatal = matches!(e.kind(), csv::ErrorKind::Io(_))
                    || at <= before.byte()
                    || self.last_error_at == Some(at);
                self.last_error_at = Some(at);
                let item = Err(reject(line, None, format!("invalid CSV: {e}")));
                if fatal {
                    Step::Last(item)
                } else {
                    Step::Item(item)
                }
            }
        }
    }

    /// The physical line of the record starting at byte `start`.
    fn line_at(&self, start: u64) -> u64 {
        self.lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .line_at(start)
    }

    /// Decodes field `idx` of the current record as UTF-8; `Ok(None)` when
    /// the column is absent or the record is too short.
    fn field(&self, idx: Option<usize>, name: &str) -> Result<Option<&str>, String> {
        match idx.and_then(|i| self.record.get(i)) {
            None => Ok(None),
            Some(bytes) => std::str::from_utf8(bytes)
                .map(Some)
                .map_err(|_| format!("invalid UTF-8 in field {name}")),
        }
    }

    /// Turns the current byte record into a record or an error row.
    fn convert(&self, line: u64) -> Result<Record, RecordError> {
        let names = &self.names;
        let id = match self.field(self.id, &names.id) {
            Ok(Some(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Ok(_) => None,
            Err(reason) => return Err(reject(line, None, reason)),
        };
        let id_or_line = || id.clone().unwrap_or_else(|| line.to_string());
        if self.record.len() != self.n_fields {
            return Err(reject(
                line,
                Some(id_or_line()),
                format!(
                    "expected {} fields, found {}",
                    self.n_fields,
                    self.record.len()
                ),
            ));
        }
        let text = match self.field(Some(self.text), &names.text) {
            Ok(Some(s)) if !s.trim().is_empty() => s.to_string(),
            Ok(_) => return Err(reject(line, Some(id_or_line()), "missing or empty text")),
            Err(reason) => return Err(reject(line, Some(id_or_line()), reason)),
        };
        let labels = match self.field(self.labels, &names.labels) {
            Ok(l) => l.map(split_labels),
            Err(reason) => return Err(reject(line, Some(id_or_line()), reason)),
        };
        let time = match self.field(self.time, &names.time) {
            Ok(t) => t
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string),
            Err(reason) => return Err(reject(line, Some(id_or_line()), reason)),
        };
        Ok(Record {
            line,
            id: id_or_line(),
            text,
            labels,
            time,
        })
    }
}

impl JsonlState {
    /// Reads lines until a non-blank one and converts it.
    fn next_item(&mut self) -> Step {
        loop {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return Step::End,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Step::Last(Err(reject(
                        self.line + 1,
                        None,
                        format!("cannot read input: {e}"),
                    )));
                }
            }
            self.line += 1;
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Step::Item(convert_json_line(&self.buf, self.line, &self.names));
        }
    }
}

/// Formats a serde_json error as "message at column N" (the line is always 1
/// since each line is parsed alone).
fn json_error_reason(e: &serde_json::Error) -> String {
    let mut msg = e.to_string();
    if let Some(pos) = msg.rfind(" at line ") {
        msg.truncate(pos);
    }
    format!("invalid JSON: {msg} at column {}", e.column())
}

/// Converts one non-blank JSONL line into a record or an error row.
fn convert_json_line(bytes: &[u8], line: u64, names: &ColumnNames) -> Result<Record, RecordError> {
    let Ok(s) = std::str::from_utf8(bytes) else {
        return Err(reject(line, None, "invalid UTF-8"));
    };
    let value: Value = match serde_json::from_str(s) {
        Ok(v) => v,
        Err(e) => return Err(reject(line, None, json_error_reason(&e))),
    };
    let Value::Object(mut obj) = value else {
        return Err(reject(line, None, "not a JSON object"));
    };
    let id = match obj.remove(&names.id) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            return Err(reject(
                line,
                None,
                format!("field {} is not a string or number", names.id),
            ));
        }
    };
    let id = id.unwrap_or_else(|| line.to_string());
    let fail = |reason: String| Err(reject(line, Some(id.clone()), reason));
    let text = match obj.remove(&names.text) {
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        None | Some(Value::Null) | Some(Value::String(_)) => {
            return fail("missing or empty text".to_string());
        }
        Some(_) => return fail(format!("field {} is not a string", names.text)),
    };
    let labels = match obj.remove(&names.labels) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(split_labels(&s)),
        Some(Value::Array(items)) => {
            let mut labels = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => {
                        let s = s.trim();
                        if !s.is_empty() {
                            labels.push(s.to_string());
                        }
                    }
                    _ => {
                        return fail(format!("field {} has a non-string label", names.labels));
                    }
                }
            }
            Some(labels)
        }
        Some(_) => {
            return fail(format!(
                "field {} is not a list of strings or a string",
                names.labels
            ));
        }
    };
    let time = match obj.remove(&names.time) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim().to_string()).filter(|t| !t.is_empty()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => return fail(format!("field {} is not a string", names.time)),
    };
    Ok(Record {
        line,
        id,
        text,
        labels,
        time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &[u8], format: InputFormat) -> Vec<Result<Record, RecordError>> {
        read_with(input, format, &ColumnNames::default())
    }

    fn read_with(
        input: &[u8],
        format: InputFormat,
        columns: &ColumnNames,
    ) -> Vec<Result<Record, RecordError>> {
        let r = RecordReader::from_reader(Box::new(Cursor::new(input.to_vec())), format, columns)
            .expect("reader opens");
        r.collect()
    }

    fn ok(item: &Result<Record, RecordError>) -> &Record {
        match item {
            Ok(r) => r,
            Err(e) => panic!("expected a record, got {e}"),
        }
    }

    fn err(item: &Result<Record, RecordError>) -> &RecordError {
        match item {
            Ok(r) => panic!("expected an error, got {r:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn reader_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<RecordReader>();
    }

    #[test]
    fn format_detection() {
        assert_eq!(
            InputFormat::from_path(Path::new("a/b.CSV")),
            Some(InputFormat::Csv)
        );
        assert_eq!(
            InputFormat::from_path(Path::new("x.ndjson")),
            Some(InputFormat::Jsonl)
        );
        assert_eq!(
            InputFormat::from_path(Path::new("x.json")),
            Some(InputFormat::Jsonl)
        );
        assert_eq!(InputFormat::from_path(Path::new("x.tsv")), None);
        assert_eq!(InputFormat::from_path(Path::new("noext")), None);
        assert_eq!("CSV".parse::<InputFormat>(), Ok(InputFormat::Csv));
        assert_eq!("jsonl".parse::<InputFormat>(), Ok(InputFormat::Jsonl));
        assert!("xml".parse::<InputFormat>().is_err());
        assert_eq!(InputFormat::Jsonl.to_string(), "jsonl");
    }

    #[test]
    fn stdin_needs_format() {
        let e = open_records(None, None, &ColumnNames::default()).expect_err("must fail");
        assert!(e.to_string().contains("--format"), "{e}");
        let e = open_records(Some(Path::new("-")), None, &ColumnNames::default())
            .expect_err("must fail");
        assert!(e.to_string().contains("--format"), "{e}");
        let e = open_records(Some(Path::new("data.txt")), None, &ColumnNames::default())
            .expect_err("must fail");
        assert!(e.to_string().contains("--format"), "{e}");
    }

    #[test]
    fn open_file_detects_format() {
        let dir = std::env::temp_dir().join(format!("scyth-reader-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("in.jsonl");
        std::fs::write(&path, "{\"text\":\"a\"}\n{\"text\":\"b\"}\n").expect("write");
        let items: Vec<_> = open_records(Some(&path), None, &ColumnNames::default())
            .expect("opens")
            .collect();
        assert_eq!(items.len(), 2);
        assert_eq!(ok(&items[1]).text, "b");
        let missing = dir.join("missing.csv");
        assert!(open_records(Some(&missing), None, &ColumnNames::default()).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn csv_multiline_field_keeps_line_numbers() {
        let input = b"id,text,labels\n\
            a,\"first\nsecond\nthird\",x|y\n\
            b,plain,z\n\
            c,\"one\r\ntwo\",\n";
        let items = read(input, InputFormat::Csv);
        assert_eq!(items.len(), 3);
        let a = ok(&items[0]);
        assert_eq!((a.line, a.id.as_str()), (2, "a"));
        assert_eq!(a.text, "first\nsecond\nthird");
        let b = ok(&items[1]);
        assert_eq!((b.line, b.id.as_str(), b.text.as_str()), (5, "b", "plain"));
        let c = ok(&items[2]);
        assert_eq!(c.line, 6);
        assert_eq!(c.labels, Some(vec![]));
    }

    #[test]
    fn csv_invalid_utf8_is_one_error_row() {
        let mut input = b"id,text\n1,good\n2,bad ".to_vec();
        input.extend_from_slice(b"\xFF\xFE");
        input.extend_from_slice(b" bytes\n3,also good\n");
        let items = read(&input, InputFormat::Csv);
        assert_eq!(items.len(), 3);
        assert_eq!(ok(&items[0]).text, "good");
        let e = err(&items[1]);
        assert_eq!(e.line, 3);
        assert_eq!(e.id.as_deref(), Some("2"));
        assert_eq!(e.reason, "invalid UTF-8 in field text");
        assert_eq!(ok(&items[2]).text, "also good");
        assert_eq!(ok(&items[2]).line, 4);
    }

    #[test]
    fn csv_wrong_field_count_and_missing_text() {
        let input = b"id,text,labels,time\n\
            1,hello,a,2024\n\
            2,short\n\
            3,,a,\n\
            4,   ,a,\n\
            5,too,many,fields,here\n\
            ,no id,,\n";
        let items = read(input, InputFormat::Csv);
        assert_eq!(items.len(), 6);
        let r = ok(&items[0]);
        assert_eq!(r.time.as_deref(), Some("2024"));
        let e = err(&items[1]);
        assert_eq!(e.reason, "expected 4 fields, found 2");
        assert_eq!((e.line, e.id.as_deref()), (3, Some("2")));
        assert_eq!(err(&items[2]).reason, "missing or empty text");
        assert_eq!(err(&items[3]).reason, "missing or empty text");
        assert_eq!(err(&items[4]).reason, "expected 4 fields, found 5");
        let r = ok(&items[5]);
        assert_eq!((r.id.as_str(), r.line), ("7", 7));
        assert_eq!(r.labels, Some(vec![]));
        assert_eq!(r.time, None);
    }

    #[test]
    fn csv_bom_labels_and_optional_columns() {
        let input = "\u{feff}text,labels\n\
            こんにちは, a | b ||c \n\
            世界,\n"
            .as_bytes();
        let items = read(input, InputFormat::Csv);
        assert_eq!(items.len(), 2);
        let r = ok(&items[0]);
        assert_eq!(r.id, "2");
        assert_eq!(r.text, "こんにちは");
        assert_eq!(
            r.labels,
            Some(vec!["a".to_string(), "b".to_string(), "c".to_string()])
        );
        assert_eq!(r.time, None);
        assert_eq!(ok(&items[1]).labels, Some(vec![]));

        let items = read(b"text\nhello\n", InputFormat::Csv);
        assert_eq!(ok(&items[0]).labels, None);
    }

    #[test]
    fn csv_without_text_column_fails_naming_columns() {
        let e = RecordReader::from_reader(
            Box::new(Cursor::new(b"id,body\n1,x\n".to_vec())),
            InputFormat::Csv,
            &ColumnNames::default(),
        )
        .expect_err("must fail");
        let msg = e.to_string();
        assert!(msg.contains("\"id\", \"body\""), "{msg}");
        let e = RecordReader::from_reader(
            Box::new(Cursor::new(Vec::new())),
            InputFormat::Csv,
            &ColumnNames::default(),
        )
        .expect_err("empty input has no header");
        assert!(e.to_string().contains("(none)"), "{e}");
    }

    #[test]
    fn custom_column_names() {
        let columns = ColumnNames {
            id: "doc".into(),
            text: "body".into(),
            labels: "tags".into(),
            time: "ts".into(),
        };
        let items = read_with(b"doc,body,tags\nd1,hi,t1|t2\n", InputFormat::Csv, &columns);
        let r = ok(&items[0]);
        assert_eq!((r.id.as_str(), r.text.as_str()), ("d1", "hi"));
        assert_eq!(r.labels, Some(vec!["t1".into(), "t2".into()]));
        let items = read_with(
            b"{\"doc\":7,\"body\":\"x\",\"tags\":[\"a\"],\"ts\":\"t\"}\n",
            InputFormat::Jsonl,
            &columns,
        );
        let r = ok(&items[0]);
        assert_eq!(r.id, "7");
        assert_eq!(r.time.as_deref(), Some("t"));
    }

    #[test]
    fn jsonl_mixed_lines() {
        let mut input = Vec::new();
        input.extend_from_slice(
            "\u{feff}{\"id\": 12, \"text\": \"一\", \"labels\": [\"a\", \" b \", \"\"]}\n"
                .as_bytes(),
        );
        input.extend_from_slice(b"\n   \n");
        input.extend_from_slice(b"{\"id\": \"x\", \"text\": }\n");
        input.extend_from_slice(
            b"{\"text\": \"two\", \"labels\": \"p| q\", \"time\": \"2024-01-01\"}\r\n",
        );
        input.extend_from_slice(b"[1, 2]\n");
        input.extend_from_slice(b"{\"id\": \"n\", \"text\": 5}\n");
        input.extend_from_slice(b"{\"text\": \"bad \xFF\"}\n");
        input.extend_from_slice(b"{\"id\": 1.5, \"text\": \"  \"}\n");
        input.extend_from_slice(b"{\"text\": \"no labels\", \"labels\": null}");
        let items = read(&input, InputFormat::Jsonl);
        assert_eq!(items.len(), 8);
        let r = ok(&items[0]);
        assert_eq!((r.line, r.id.as_str(), r.text.as_str()), (1, "12", "一"));
        assert_eq!(r.labels, Some(vec!["a".to_string(), "b".to_string()]));
        let e = err(&items[1]);
        assert_eq!(e.line, 4);
        assert_eq!(e.reason, "invalid JSON: expected value at column 21");
        let r = ok(&items[2]);
        assert_eq!((r.line, r.id.as_str()), (5, "5"));
        assert_eq!(r.labels, Some(vec!["p".to_string(), "q".to_string()]));
        assert_eq!(r.time.as_deref(), Some("2024-01-01"));
        assert_eq!(err(&items[3]).reason, "not a JSON object");
        let e = err(&items[4]);
        assert_eq!(
            (e.reason.as_str(), e.id.as_deref()),
            ("field text is not a string", Some("n"))
        );
        assert_eq!(err(&items[5]).reason, "invalid UTF-8");
        let e = err(&items[6]);
        assert_eq!(
            (e.reason.as_str(), e.id.as_deref()),
            ("missing or empty text", Some("1.5"))
        );
        let r = ok(&items[7]);
        assert_eq!((r.line, r.labels.clone()), (10, None));
    }

    #[test]
    fn stdin_like_reader_yields_one_item_per_record() {
        /// A reader that hands out at most 3 bytes per call, like a pipe.
        struct Trickle(Cursor<Vec<u8>>);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(3);
                self.0.read(&mut buf[..n])
            }
        }
        let mut csv_input = b"\xEF\xBB\xBFid,text,labels\n".to_vec();
        let mut jsonl_input = b"\xEF\xBB\xBF".to_vec();
        let n = 50;
        for i in 0..n {
            match i % 5 {
                0 => {
                    csv_input
                        .extend_from_slice(format!("{i},\"multi\nline {i}\",a|b\n").as_bytes());
                    jsonl_input
                        .extend_from_slice(format!("{{\"id\":{i},\"text\":\"t\"}}\n\n").as_bytes());
                }
                1 => {
                    csv_input.extend_from_slice(format!("{i},short\n").as_bytes());
                    jsonl_input.extend_from_slice(b"{not json\n");
                }
                2 => {
                    csv_input.extend_from_slice(format!("{i},").as_bytes());
                    csv_input.extend_from_slice(b"\xC3,\n");
                    jsonl_input.extend_from_slice(b"\"\xC3\"\n");
                }
                3 => {
                    csv_input
                        .extend_from_slice(format!("{i},\"a \"\"quoted\"\" word\",\n").as_bytes());
                    jsonl_input.extend_from_slice(b"{\"text\":\"\"}\n");
                }
                _ => {
                    csv_input.extend_from_slice(format!("{i},ok,x\n").as_bytes());
                    jsonl_input.extend_from_slice(format!("{{\"text\":\"ok {i}\"}}\n").as_bytes());
                }
            }
        }
        for (input, format) in [
            (csv_input, InputFormat::Csv),
            (jsonl_input, InputFormat::Jsonl),
        ] {
            let r = RecordReader::from_reader(
                Box::new(Trickle(Cursor::new(input))),
                format,
                &ColumnNames::default(),
            )
            .expect("opens");
            let items: Vec<_> = r.collect();
            assert_eq!(items.len(), n, "{format}");
            let good = items.iter().filter(|i| i.is_ok()).count();
            let expected_good = if format == InputFormat::Csv { 30 } else { 20 };
            assert_eq!(good, expected_good, "{format}");
            if format == InputFormat::Csv {
                assert_eq!((ok(&items[0]).line, ok(&items[0]).id.as_str()), (2, "0"));
                assert_eq!(err(&items[1]).line, 4);
                assert_eq!(ok(&items[3]).text, "a \"quoted\" word");
            }
        }
    }

    #[test]
    fn csv_every_record_yields_one_item() {
        let mut input = b"id,text,labels,time\n".to_vec();
        let n = 200;
        for i in 0..n {
            let row = match i % 4 {
                0 => format!("{i},\"a\nb\",x,t\n"),
                1 => format!("{i},x\n"),
                2 => format!("{i},,,\n"),
                _ => format!("{i},\u{3042},x|y,\n"),
            };
            input.extend_from_slice(row.as_bytes());
        }
        let items = read(&input, InputFormat::Csv);
        assert_eq!(items.len(), n);
        let mut line = 2;
        for (i, item) in items.iter().enumerate() {
            let (l, id) = match item {
                Ok(r) => (r.line, Some(r.id.clone())),
                Err(e) => (e.line, e.id.clone()),
            };
            assert_eq!(l, line, "record {i}");
            assert_eq!(id, Some(i.to_string()));
            line += if i % 4 == 0 { 2 } else { 1 };
            assert_eq!(item.is_ok(), i % 4 == 0 || i % 4 == 3, "record {i}");
        }
    }
}

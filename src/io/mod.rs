//! Reading input records (CSV, JSONL) and writing result rows.

pub mod record;
pub mod reader;

pub use reader::{ColumnNames, InputFormat, RecordReader, open_records};
pub use record::{Record, RecordError};

//! Reading input records (CSV, JSONL) and writing result rows.

pub mod feed;
pub mod journal;
pub mod lines;
pub mod reader;
pub mod record;
pub mod time;

pub use reader::{ColumnNames, InputFormat, RecordReader, open_records};
pub use record::{Record, RecordError};

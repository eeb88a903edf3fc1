//! Physical line numbers of CSV records. The csv crate's own line counter
//! is off for CRLF files and skipped blank lines, so the reader's bytes are
//! watched on their way into the parser: every line-break byte offset is
//! recorded, and a record's line is derived from its start byte.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Mutex};

/// Offsets of `\r` and `\n` bytes not yet passed by the parser.
#[derive(Debug, Default)]
pub struct LineIndex {
    breaks: VecDeque<(u64, u8)>,
    newlines_before: u64,
}

impl LineIndex {
    /// The 1-based physical line of a record whose parse started at byte
    /// `start`: line breaks before it are counted, and a run of line breaks
    /// at the start itself (a CRLF's `\r`, blank lines the parser skipped)
    /// is stepped over. Calls must come with non-decreasing `start`.
    pub fn line_at(&mut self, start: u64) -> u64 {
        while let Some(&(at, byte)) = self.breaks.front() {
            if at >= start {
                break;
            }
            self.newlines_before += (byte == b'\n') as u64;
            self.breaks.pop_front();
        }
        let mut at_start = start;
        while let Some(&(at, byte)) = self.breaks.front() {
            if at != at_start {
                break;
            }
            self.newlines_before += (byte == b'\n') as u64;
            self.breaks.pop_front();
            at_start += 1;
        }
        self.newlines_before + 1
    }
}

/// A reader that records line-break offsets into a shared [`LineIndex`].
pub struct LineTrackingReader {
    inner: Box<dyn Read + Send>,
    offset: u64,
    index: Arc<Mutex<LineIndex>>,
}

impl LineTrackingReader {
    /// Wraps `inner`; the index is shared with whoever asks for lines.
    pub fn new(inner: Box<dyn Read + Send>) -> (LineTrackingReader, Arc<Mutex<LineIndex>>) {
        let index = Arc::new(Mutex::new(LineIndex::default()));
        let reader = LineTrackingReader {
            inner,
            offset: 0,
            index: index.clone(),
        };
        (reader, index)
    }
}

impl Read for LineTrackingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut index = self.index.lock().unwrap_or_else(|p| p.into_inner());
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' || b == b'\r' {
                index.breaks.push_back((self.offset + i as u64, b));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(text: &str, starts: &[u64]) -> Vec<u64> {
        let (mut r, index) =
            LineTrackingReader::new(Box::new(std::io::Cursor::new(text.as_bytes().to_vec())));
        let mut sink = Vec::new();
        r.read_to_end(&mut sink).expect("reading a buffer");
        let mut index = index.lock().expect("not poisoned");
        starts.iter().map(|&s| index.line_at(s)).collect()
    }

    #[test]
    fn lf_crlf_and_blank_lines() {
        // "h\na\nb\n": records start at 2 and 4.
        assert_eq!(lines_of("h\na\nb\n", &[2, 4]), [2, 3]);
        // CRLF: a parser may report the record start at the '\n' of "\r\n".
        assert_eq!(lines_of("h\r\na\r\nb\r\n", &[2, 5]), [2, 3]);
        // Blank lines before "b": the reported start is the first blank.
        assert_eq!(lines_of("h\na\n\n\nb\n", &[2, 4]), [2, 5]);
    }
}

//! Time buckets: the day or hour a record's `time` field falls in, as a
//! string that sorts chronologically (`2012-09-04`, `2012-09-04T15`).
//!
//! Times are bucketed as written (local time of the source): a timezone
//! offset such as `+0900` is not applied, so a news feed's "day" is the day
//! printed on its articles.

use std::fmt;
use std::str::FromStr;

/// The width of a time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeBucket {
    /// Calendar day: `YYYY-MM-DD`.
    #[default]
    Day,
    /// Hour of the day: `YYYY-MM-DDTHH`.
    Hour,
}

impl TimeBucket {
    /// The bucket of an ISO-8601-like time (`YYYY-MM-DD`, optionally
    /// followed by `T` or a space and `HH…`); `None` when the time does not
    /// start with such a date (or, for hours, lacks the hour).
    pub fn key(self, time: &str) -> Option<String> {
        let b = time.trim().as_bytes();
        let digits =
            |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
        let date = digits(0..4)
            && b.get(4) == Some(&b'-')
            && digits(5..7)
            && b.get(7) == Some(&b'-')
            && digits(8..10);
        if !date {
            return None;
        }
        let day = std::str::from_utf8(&b[..10]).ok()?;
        match self {
            TimeBucket::Day => Some(day.to_string()),
            TimeBucket::Hour => {
                let sep = matches!(b.get(10), Some(b'T' | b' '));
                (sep && digits(11..13)).then(|| format!("{day}T{}", &time.trim()[11..13]))
            }
        }
    }
}

impl FromStr for TimeBucket {
    type Err = String;

    /// Parses `day` or `hour`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" => Ok(TimeBucket::Day),
            "hour" => Ok(TimeBucket::Hour),
            other => Err(format!(
                "unknown time bucket {other:?} (expected day or hour)"
            )),
        }
    }
}

impl fmt::Display for TimeBucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeBucket::Day => "day",
            TimeBucket::Hour => "hour",
        })
    }
}

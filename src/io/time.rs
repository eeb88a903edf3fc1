//! Record times for time-based windows: parsing a record's `time` field
//! into seconds since the Unix epoch, and window lengths such as `7d`.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// Seconds since the Unix epoch of an ISO-8601-like time: RFC 3339
/// (`2012-09-04T15:00:00+09:00`), an offset without a colon
/// (`2012-09-04T15:00:00+0900`), a local time without offset
/// (`2012-09-04T15:00:00` or with a space, read as UTC), or a date
/// (`2012-09-04`, its midnight UTC). `None` for anything else.
pub fn parse_timestamp(time: &str) -> Option<i64> {
    let t = time.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z"] {
        if let Ok(dt) = DateTime::parse_from_str(t, format) {
            return Some(dt.timestamp());
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, format) {
            return Some(dt.and_utc().timestamp());
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc().timestamp())
}

/// Seconds in a window length: a positive number followed by `s`, `m`,
/// `h`, `d` or `w` (`90m`, `36h`, `7d`, `2w`).
pub fn parse_window(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let unit_at = t
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("window {t:?} has no unit (s, m, h, d or w), e.g. 7d"))?;
    let (number, unit) = t.split_at(unit_at);
    let n: i64 = number
        .parse()
        .map_err(|_| format!("window {t:?} does not start with a number, e.g. 7d"))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => {
            return Err(format!(
                "window {t:?}: unknown unit {unit:?} (s, m, h, d or w)"
            ));
        }
    };
    if n <= 0 {
        return Err(format!("window {t:?} must be positive"));
    }
    n.checked_mul(scale)
        .ok_or_else(|| format!("window {t:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_the_forms_corpora_use() {
        let utc = parse_timestamp("2012-09-04T06:00:00Z").unwrap();
        assert_eq!(parse_timestamp("2012-09-04T15:00:00+09:00"), Some(utc));
        assert_eq!(parse_timestamp("2012-09-04T15:00:00+0900"), Some(utc));
        assert_eq!(parse_timestamp("2012-09-04T06:00:00"), Some(utc));
        assert_eq!(parse_timestamp(" 2012-09-04 06:00:00 "), Some(utc));
        assert_eq!(parse_timestamp("2012-09-04"), Some(utc - 6 * 3600));
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("2012-13-01"), None);
    }

    #[test]
    fn window_lengths() {
        assert_eq!(parse_window("7d"), Ok(7 * 86_400));
        assert_eq!(parse_window("36h"), Ok(36 * 3_600));
        assert_eq!(parse_window("90m"), Ok(5_400));
        assert_eq!(parse_window("2w"), Ok(2 * 604_800));
        assert_eq!(parse_window("45s"), Ok(45));
        assert!(parse_window("7").unwrap_err().contains("no unit"));
        assert!(parse_window("d").is_err());
        assert!(parse_window("0d").unwrap_err().contains("positive"));
        assert!(parse_window("7y").unwrap_err().contains("unknown unit"));
    }
}

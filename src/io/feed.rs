//! RSS and Atom input: news feeds as records. A feed file (or standard
//! input) is parsed with feed-rs; a directory is read file by file in name
//! order (feeds saved with sortable names, e.g. a timestamp, arrive in
//! order) and, when following, polled for new files. Each entry becomes a
//! record: its id, its title and summary (or content) as text with HTML
//! tags removed, its publication (else update) time, and its categories as
//! labels. An entry whose id was already read — feeds list the same items
//! again and again — is skipped, so every article is classified once.
//!
//! Record line numbers are the entries' ordinals over the whole input
//! (1-based), which is what a restarted stream checks.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::record::{Record, RecordError};

/// Where the feeds come from.
enum FeedSource {
    /// One feed document (a file or standard input), not read yet.
    Single(Option<Box<dyn Read + Send>>),
    /// A directory of feed files.
    Directory {
        dir: PathBuf,
        /// Files already read (names, in order).
        seen: HashSet<PathBuf>,
        /// Poll for new files this often instead of ending.
        follow: Option<Duration>,
    },
}

/// A stream of records from RSS/Atom feeds.
pub struct FeedReader {
    source: FeedSource,
    /// Entries parsed and not yet handed out, in feed order.
    pending: std::collections::VecDeque<Result<Record, RecordError>>,
    /// Ids of entries already handed out.
    ids: HashSet<String>,
    /// Items handed out so far (the next item's line is this + 1).
    ordinal: u64,
}

impl FeedReader {
    /// Reads one feed document.
    pub fn single(r: Box<dyn Read + Send>) -> FeedReader {
        FeedReader::new(FeedSource::Single(Some(r)))
    }

    /// Reads every feed file of `dir` (`*.xml`, `*.rss`, `*.atom`, `*.json`)
    /// in name order.
    pub fn directory(dir: &Path) -> FeedReader {
        FeedReader::new(FeedSource::Directory {
            dir: dir.to_path_buf(),
            seen: HashSet::new(),
            follow: None,
        })
    }

    fn new(source: FeedSource) -> FeedReader {
        FeedReader {
            source,
            pending: Default::default(),
            ids: HashSet::new(),
            ordinal: 0,
        }
    }

    /// Keeps polling the directory for new files every `poll` instead of
    /// ending when the files present are read. Returns false (and changes
    /// nothing) when this reader does not read a directory.
    pub fn follow(&mut self, poll: Duration) -> bool {
        match &mut self.source {
            FeedSource::Directory { follow, .. } => {
                *follow = Some(poll);
                true
            }
            FeedSource::Single(_) => false,
        }
    }

    /// The next record or error; `None` at the end of the input.
    pub fn next_item(&mut self) -> Option<Result<Record, RecordError>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                self.ordinal += 1;
                return Some(number(item, self.ordinal));
            }
            match &mut self.source {
                FeedSource::Single(r) => {
                    let mut r = r.take()?;
                    let mut bytes = Vec::new();
                    if let Err(e) = r.read_to_end(&mut bytes) {
                        self.pending
                            .push_back(Err(error(None, format!("read error: {e}"))));
                        continue;
                    }
                    self.parse("input", &bytes);
                }
                FeedSource::Directory { dir, seen, follow } => {
                    let mut files = feed_files(dir);
                    files.retain(|f| !seen.contains(f));
                    match files.into_iter().next() {
                        Some(file) => {
                            seen.insert(file.clone());
                            let name = file.display().to_string();
                            match std::fs::read(&file) {
                                Ok(bytes) => self.parse(&name, &bytes),
                                Err(e) => self
                                    .pending
                                    .push_back(Err(error(Some(name), format!("read error: {e}")))),
                            }
                        }
                        None => match follow {
                            Some(poll) => std::thread::sleep(*poll),
                            None => return None,
                        },
                    }
                }
            }
        }
    }

    /// Parses one feed document into pending records (or one error).
    fn parse(&mut self, name: &str, bytes: &[u8]) {
        let feed = match feed_rs::parser::parse(bytes) {
            Ok(feed) => feed,
            Err(e) => {
                self.pending.push_back(Err(error(
                    Some(name.to_string()),
                    format!("not a readable RSS/Atom feed: {e}"),
                )));
                return;
            }
        };
        for entry in feed.entries {
            if !self.ids.insert(entry.id.clone()) {
                continue;
            }
            let title = entry.title.map(|t| t.content).unwrap_or_default();
            let body = entry
                .summary
                .map(|t| t.content)
                .or_else(|| entry.content.and_then(|c| c.body))
                .unwrap_or_default();
            let text = [strip_html(&title), strip_html(&body)]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("\n");
            let labels: Vec<String> = entry.categories.into_iter().map(|c| c.term).collect();
            self.pending.push_back(Ok(Record {
                line: 0,
                id: entry.id,
                text,
                labels: (!labels.is_empty()).then_some(labels),
                time: entry.published.or(entry.updated).map(|t| t.to_rfc3339()),
            }));
        }
    }
}

/// The feed files of a directory in name order (unreadable: none).
fn feed_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    ["xml", "rss", "atom", "json"].contains(&e.to_ascii_lowercase().as_str())
                })
        })
        .collect();
    files.sort();
    files
}

fn error(id: Option<String>, reason: String) -> RecordError {
    RecordError {
        line: 0,
        id,
        reason,
    }
}

/// Gives an item its ordinal as line number.
fn number(item: Result<Record, RecordError>, line: u64) -> Result<Record, RecordError> {
    match item {
        Ok(mut r) => {
            r.line = line;
            Ok(r)
        }
        Err(mut e) => {
            e.line = line;
            Err(e)
        }
    }
}

/// Text of an HTML fragment: tags removed, the common entities decoded,
/// whitespace runs collapsed to one space.
pub fn strip_html(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let decoded = text
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>テスト速報</title>
<item><guid>a-1</guid><title>大雨で交通に乱れ</title>
<description><![CDATA[<p>関東地方で<b>大雨</b>が続き、&amp;鉄道が遅れた。</p>]]></description>
<category>weather</category><pubDate>Tue, 01 Dec 2026 09:00:00 +0900</pubDate></item>
<item><guid>a-2</guid><title>新型スマートフォンを発表</title>
<description>大手メーカーが新機種を発表した。</description></item>
</channel></rss>"#;

    const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>f</id><updated>2026-12-01T00:00:00Z</updated>
<entry><id>a-2</id><title>新型スマートフォンを発表</title><updated>2026-12-01T01:00:00Z</updated></entry>
<entry><id>b-1</id><title>選手が優勝</title><updated>2026-12-01T02:00:00Z</updated>
<summary>決勝で逆転勝ちした。</summary></entry>
</feed>"#;

    fn drain(r: &mut FeedReader) -> Vec<Result<Record, RecordError>> {
        std::iter::from_fn(|| r.next_item()).collect()
    }

    #[test]
    fn rss_entries_become_records() {
        let mut r = FeedReader::single(Box::new(RSS.as_bytes()));
        let items = drain(&mut r);
        assert_eq!(items.len(), 2);
        let first = items[0].as_ref().unwrap();
        assert_eq!(first.id, "a-1");
        assert_eq!(first.line, 1);
        assert_eq!(
            first.text,
            "大雨で交通に乱れ\n関東地方で 大雨 が続き、&鉄道が遅れた。"
        );
        assert_eq!(first.labels, Some(vec!["weather".to_string()]));
        assert_eq!(first.time.as_deref(), Some("2026-12-01T00:00:00+00:00"));
        assert_eq!(items[1].as_ref().unwrap().line, 2);
    }

    #[test]
    fn a_directory_is_read_in_name_order_once_per_entry() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("001.rss"), RSS).unwrap();
        std::fs::write(dir.path().join("002.atom"), ATOM).unwrap();
        std::fs::write(dir.path().join("003.xml"), "<html>not a feed").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let mut r = FeedReader::directory(dir.path());
        let items = drain(&mut r);
        let ids: Vec<String> = items
            .iter()
            .map(|i| match i {
                Ok(r) => r.id.clone(),
                Err(e) => format!("error {}", e.line),
            })
            .collect();
        assert_eq!(ids, ["a-1", "a-2", "b-1", "error 4"]);
        let Err(e) = &items[3] else { panic!() };
        assert!(e.reason.contains("not a readable RSS/Atom feed"), "{e}");
        assert!(e.id.as_deref().is_some_and(|id| id.ends_with("003.xml")));
    }

    #[test]
    fn html_is_reduced_to_text() {
        assert_eq!(strip_html("<p>a&nbsp;<br/>b &lt;c&gt;</p>"), "a b <c>");
        assert_eq!(strip_html("plain"), "plain");
    }
}

//! RSS/Atom input (`--format rss`): a directory of feed files is read in
//! name order with each entry once (feeds repeat items), by `scyth
//! classify` and by a following `scyth stream` that picks up feed files as
//! they appear.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_scyth");

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

const FIRST: &str = "fixtures/feeds/2026-12-01T0900.rss";
const SECOND: &str = "fixtures/feeds/2026-12-01T1200.atom";

#[test]
fn classify_reads_a_feed_directory_once_per_entry() {
    let out = Command::new(BIN)
        .args(["classify", "-m"])
        .arg(fixture("fixtures/model/tiny.scyth"))
        .arg("-i")
        .arg(fixture("fixtures/feeds"))
        .args(["-o", "-"])
        .output()
        .expect("scyth runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Vec<String> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON");
            v["id"].as_str().expect("id").to_string()
        })
        .collect();
    assert_eq!(
        ids,
        [
            "news-0001",
            "news-0002",
            "news-0003",
            "news-0004",
            "news-0005"
        ]
    );
}

/// Net live results per id in a stream's output so far.
fn live_ids(path: &Path) -> BTreeMap<String, i64> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut live = BTreeMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue; // a line being written
        };
        if let (Some(id), Some(diff)) = (v["id"].as_str(), v["diff"].as_i64()) {
            *live.entry(id.to_string()).or_insert(0) += diff;
        }
    }
    live
}

/// Waits (at most 60 s) until `path` holds `n` live ids.
fn wait_for(path: &Path, n: usize) -> BTreeMap<String, i64> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let live = live_ids(path);
        if live.len() >= n || Instant::now() > deadline {
            return live;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn stream_follows_a_feed_directory_as_files_arrive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let feeds = dir.path().join("feeds");
    std::fs::create_dir(&feeds).expect("mkdir");
    std::fs::copy(fixture(FIRST), feeds.join("001.rss")).expect("copy");
    let out = dir.path().join("out.jsonl");
    let mut child = Command::new(BIN)
        .args(["stream", "-m"])
        .arg(fixture("fixtures/model/tiny.scyth"))
        .arg("-i")
        .arg(&feeds)
        .args(["--format", "rss", "--follow", "50", "--epoch-docs", "10"])
        .args(["--epoch-ms", "100", "-o"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("scyth starts");
    let first = wait_for(&out, 3);
    // The second feed repeats news-0003 and adds two entries.
    std::fs::copy(fixture(SECOND), feeds.join("002.atom")).expect("copy");
    let second = wait_for(&out, 5);
    let still_running = child.try_wait().expect("wait").is_none();
    child.kill().expect("stop the stream");
    child.wait().expect("reaped");
    assert!(still_running, "a following stream does not end by itself");
    assert_eq!(first.len(), 3, "{first:?}");
    let ids: Vec<&str> = second.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        [
            "news-0001",
            "news-0002",
            "news-0003",
            "news-0004",
            "news-0005"
        ]
    );
    assert!(
        second.values().all(|&n| n == 1),
        "one live result each: {second:?}"
    );
}

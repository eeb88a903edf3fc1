//! Word statistics in the stream (`scyth::dataflows::word_statistics`)
//! held against the batch computation: after every epoch of inserted and
//! retracted documents, the word totals the stream reports — over all
//! documents, per day and per decided category — equal a `WordStats` built
//! in one go (the core's tokenizer and `WordStats::add_doc`) from the
//! documents then live, with the categories the stream decided for them,
//! at 1, 2 and 3 workers; and `scyth stream --words` writes one line per
//! epoch from them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use scyth::dataflows::{Batch, Classification, EpochOutput, StreamModel};
use scyth::model::Model;
use scyth::words::{PosFilter, TimeBucket, WordScratch, WordStats, WordTokenizer};

/// (text, time) of the fixture dev corpus, whose times span several days.
fn dev_docs() -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus/dev.csv");
    let mut reader = csv::Reader::from_path(path).expect("open dev.csv");
    let headers = reader.headers().expect("header").clone();
    let col = |name: &str| headers.iter().position(|h| h == name).expect("column");
    let (text, time) = (col("text"), col("time"));
    reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            (r[text].to_string(), r[time].to_string())
        })
        .collect()
}

fn tiny_model() -> Arc<Model> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/model/tiny.scyth");
    Arc::new(scyth::model::load(&path).expect("load tiny.scyth"))
}

/// Epochs of 12 insertions each, retracting documents older than the
/// newest 30 (a sliding window).
fn batches(docs: &[(String, String)]) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut next = 0usize;
    while next < docs.len() {
        let mut batch = Batch::default();
        let end = (next + 12).min(docs.len());
        let old = next.saturating_sub(30)..end.saturating_sub(30);
        let changes = (next..end).map(|s| (s, 1)).chain(old.map(|s| (s, -1)));
        for (seq, diff) in changes {
            let (text, time) = &docs[seq];
            batch.docs.push((seq as u64, text.clone(), diff));
            if let Some(day) = TimeBucket::Day.key(time) {
                batch.buckets.push((seq as u64, day, diff));
            }
        }
        next = end;
        out.push(batch);
    }
    out
}

fn run(
    model: &Arc<Model>,
    tok: Arc<WordTokenizer>,
    workers: usize,
    input: Vec<Batch>,
) -> Vec<EpochOutput> {
    super::run_stream(
        StreamModel::new(model.clone(), 3).with_words(tok),
        workers,
        input,
    )
}

/// The batch word statistics of the live documents, with their decided
/// categories.
fn oracle(
    tok: &WordTokenizer,
    docs: &[(String, String)],
    live: &BTreeMap<u64, Classification>,
    labels: &[String],
) -> WordStats {
    let mut stats = WordStats::default();
    let mut scratch = WordScratch::default();
    for (seq, class) in live {
        let (text, time) = &docs[*seq as usize];
        let mut words = Vec::new();
        tok.distinct_words(text, &mut scratch, &mut words)
            .expect("segment");
        let day = TimeBucket::Day.key(time);
        let cats: Vec<String> = class
            .labels
            .iter()
            .map(|&l| labels[l as usize].clone())
            .collect();
        stats.add_doc(&words, day.as_deref(), &cats);
    }
    stats
}

#[test]
fn stream_word_totals_equal_batch_after_every_epoch_at_1_2_3_workers() {
    let model = tiny_model();
    let tok = Arc::new(super::words::tokenizer(PosFilter::default()));
    let docs = dev_docs();
    let input = batches(&docs);
    for workers in 1..=3 {
        let outputs = run(&model, tok.clone(), workers, input.clone());
        assert_eq!(outputs.len(), input.len(), "one output per epoch");
        let mut got = WordStats::default();
        let mut live: BTreeMap<u64, Classification> = BTreeMap::new();
        for out in &outputs {
            for (change, diff) in &out.words {
                got.apply(change, *diff);
            }
            for (seq, class, diff) in &out.changes {
                if *diff > 0 {
                    live.insert(*seq, class.clone());
                } else if live.get(seq) == Some(class) {
                    live.remove(seq);
                }
            }
            let want = oracle(&tok, &docs, &live, &model.meta.labels);
            assert_eq!(got, want, "epoch {} at {workers} workers", out.epoch);
        }
        assert_eq!(got.all.docs, 30, "the window holds 30 documents at the end");
        assert!(got.by_bucket.len() > 1, "several days in the window");
        assert!(!got.by_category.is_empty(), "decided categories");
        assert!(!got.all.df.is_empty(), "words counted");
    }
}

#[test]
fn stream_words_writes_a_line_per_epoch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let words = dir.path().join("words.jsonl");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scyth"))
        .arg("stream")
        .arg("-m")
        .arg(root.join("fixtures/model/tiny.scyth"))
        .arg("-i")
        .arg(root.join("fixtures/corpus/dev.csv"))
        .arg("-o")
        .arg(dir.path().join("out.jsonl"))
        .arg("--words")
        .arg(&words)
        .arg("--dict")
        .arg(super::words::tiny_dict())
        .args([
            "--epoch-docs",
            "30",
            "--words-min-count",
            "1",
            "--words-window",
            "2",
        ])
        .output()
        .expect("scyth runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&words).expect("words output");
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(rows.len(), 3, "90 documents in epochs of 30");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["epoch"], i as u64);
        assert_eq!(row["docs"], 30 * (i as u64 + 1));
    }
    let last = &rows[2];
    assert_eq!(last["emerging"]["window"].as_array().map(Vec::len), Some(2));
    assert!(
        last["keywords"].as_object().is_some_and(|k| !k.is_empty()),
        "keywords per decided category: {last}"
    );
}

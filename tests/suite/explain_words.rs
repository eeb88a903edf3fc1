//! Words in explanations (issue 6): trigram evidence handed to the words
//! it was read from, checked against hand-computed shares, against the
//! exact logit decomposition of the fixture model (nothing lost, nothing
//! counted twice), and end to end through `scyth classify --explain`.

use std::path::{Path, PathBuf};
use std::process::Command;

use scyth::model::PredictScratch;
use scyth::words::{Evidence, PosFilter, WordScratch, attribute};
use serde_json::Value;

use super::fixture_texts;
use super::words::{tiny_dict, tokenizer};

const BIN: &str = env!("CARGO_BIN_EXE_scyth");

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn tri(s: &str) -> [char; 3] {
    let c: Vec<char> = s.chars().collect();
    [c[0], c[1], c[2]]
}

fn evidence(trigrams: &[&str], contribution: f32) -> Evidence {
    Evidence {
        trigrams: trigrams.iter().map(|t| tri(t)).collect(),
        contribution,
    }
}

#[test]
fn shares_follow_characters_into_words_by_hand() {
    let t = tokenizer(PosFilter::default());
    // 東京 / で / 電車 / を / 見(る) / た / 電車 / を — kept: 東京, 電車 ×2, 見る.
    let text = "東京で電車を見た電車を";
    let ev = [
        // One occurrence: 京 → 東京, で → nobody, 電 → 電車; 1.0 each.
        evidence(&["京で電"], 3.0),
        // A pentagram's three trigrams, one occurrence each: 9 characters
        // at 1.0: 東京 gets 東 + 京 + 京 = 3, 電車 gets 電 + 電 + 車 = 3.
        evidence(&["東京で", "京で電", "で電車"], 9.0),
        // Two occurrences of 電車を: 0.5 per character, 電車 gets 4 × 0.5.
        evidence(&["電車を"], 3.0),
        // Not in the text: all unattributed.
        evidence(&["猫猫猫"], 2.0),
        // Negative evidence lowers the words it falls on: 見た電 gives
        // -1 to 見る, -1 to nobody (た), -1 to 電車.
        evidence(&["見た電"], -3.0),
    ];
    let a = attribute(&t, text, &ev, &mut WordScratch::default()).expect("attribute");
    let got: Vec<(&str, f32, u32)> = a
        .words
        .iter()
        .map(|w| (w.word.as_str(), w.contribution, w.count))
        .collect();
    assert_eq!(got, [("電車", 5.0, 2), ("東京", 4.0, 1), ("見る", -1.0, 1)]);
    // で (1 + 3) + を (1) + 猫猫猫 (2) + た (-1).
    assert_eq!(a.unattributed, 6.0);
    let top = a.top_positive(10);
    assert_eq!(
        top.iter().map(|w| w.word.as_str()).collect::<Vec<_>>(),
        ["電車", "東京"]
    );
}

#[test]
fn word_shares_add_up_to_the_logit_decomposition_on_the_fixture_model() {
    let model = scyth::model::load(&fixture("fixtures/model/tiny.scyth")).expect("load tiny");
    let t = tokenizer(PosFilter::default());
    let mut scratch = PredictScratch::default();
    let mut words = WordScratch::default();
    let mut attributed_somewhere = 0;
    for text in fixture_texts("fixtures/corpus/dev.csv") {
        let label = model
            .predict_text(&text, scyth::model::Precision::F32, &mut scratch)
            .top_k(1)[0]
            .0;
        let all = model.contributions(&text, label, &mut scratch);
        let total: f64 = all.iter().map(|e| f64::from(e.contribution)).sum();
        let ev: Vec<Evidence> = all.iter().map(|e| e.evidence()).collect();
        let normalized: String = model.meta.normalization.apply(&text).into_iter().collect();
        let a = attribute(&t, &normalized, &ev, &mut words).expect("attribute");
        let spread: f64 = a
            .words
            .iter()
            .map(|w| f64::from(w.contribution))
            .sum::<f64>()
            + f64::from(a.unattributed);
        let scale: f64 = all.iter().map(|e| f64::from(e.contribution.abs())).sum();
        assert!(
            (spread - total).abs() <= 1e-5 * scale.max(1.0),
            "{text}: words + rest = {spread}, features = {total}"
        );
        let mut kept = Vec::new();
        t.words(&normalized, &mut words, &mut kept).expect("words");
        for w in &a.words {
            let n = kept.iter().filter(|k| **k == w.word).count();
            assert_eq!(n, w.count as usize, "{w:?} in {normalized}");
        }
        if a.words.iter().any(|w| w.contribution != 0.0) {
            attributed_somewhere += 1;
        }
    }
    assert!(attributed_somewhere > 0, "no text had any word evidence");
}

fn classify(extra: &[&str], envs: &[(&str, &Path)]) -> (bool, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(["classify", "--model"])
        .arg(fixture("fixtures/model/tiny.scyth"))
        .arg("--input")
        .arg(fixture("fixtures/corpus/dev.csv"))
        .args(extra);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run scyth");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `scyth classify --explain` with the tiny dictionary, in `format`.
fn explain_with_tiny_dict(format: &str) -> String {
    let dict = tiny_dict().to_str().expect("UTF-8");
    let args = ["--explain", "--dict", dict, "--output-format", format];
    let (ok, stdout, stderr) = classify(&args, &[]);
    assert!(ok, "{stderr}");
    stdout
}

#[test]
fn classify_explain_lists_words_with_a_dictionary() {
    let stdout = explain_with_tiny_dict("jsonl");
    let texts = fixture_texts("fixtures/corpus/dev.csv");
    let model = scyth::model::load(&fixture("fixtures/model/tiny.scyth")).expect("load tiny");
    let t = tokenizer(PosFilter::default());
    let mut scratch = WordScratch::default();
    let rows: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON row"))
        .collect();
    assert_eq!(rows.len(), texts.len());
    let mut listed = 0;
    for (row, text) in rows.iter().zip(&texts) {
        let words = row["explain_words"]
            .as_array()
            .unwrap_or_else(|| panic!("no explain_words: {row}"));
        assert!(words.len() <= 10);
        let mut last = f64::INFINITY;
        let normalized: String = model.meta.normalization.apply(text).into_iter().collect();
        let mut kept = Vec::new();
        t.words(&normalized, &mut scratch, &mut kept)
            .expect("words");
        for w in words {
            let c = w["contribution"].as_f64().expect("contribution");
            assert!(c > 0.0 && c <= last, "{row}");
            last = c;
            let word = w["word"].as_str().expect("word");
            assert!(kept.contains(&word), "{word} is not a word of {normalized}");
            listed += 1;
        }
    }
    assert!(listed > texts.len(), "only {listed} words listed");

    let csv_out = explain_with_tiny_dict("csv");
    let mut reader = csv::Reader::from_reader(csv_out.as_bytes());
    let header = reader.headers().expect("header").clone();
    let at = header
        .iter()
        .position(|h| h == "explain_words")
        .unwrap_or_else(|| panic!("no explain_words column: {header:?}"));
    let filled = reader
        .records()
        .filter(|r| !r.as_ref().expect("row")[at].is_empty())
        .count();
    assert!(filled > 0);
}

#[test]
fn classify_explain_without_a_dictionary_lists_trigrams_and_says_why() {
    let empty = Path::new(env!("CARGO_TARGET_TMPDIR")).join("explain-no-dict-home");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let (ok, stdout, stderr) = classify(
        &["--explain", "--output-format", "jsonl"],
        &[("HOME", &empty), ("XDG_CACHE_HOME", &empty)],
    );
    assert!(ok, "{stderr}");
    assert!(stderr.contains("scyth dict build"), "{stderr}");
    let first: Value = serde_json::from_str(stdout.lines().next().expect("a row")).expect("JSON");
    assert!(first["explain"].is_array());
    assert!(first.get("explain_words").is_none(), "{first}");

    // An explicit dictionary that is not there is an error, not a fallback.
    let missing = empty.join("no-such-dict");
    let (ok, _, stderr) = classify(
        &["--explain", "--dict", missing.to_str().expect("UTF-8")],
        &[],
    );
    assert!(!ok);
    assert!(stderr.contains("no-such-dict"), "{stderr}");
}

//! Word statistics (issue 6) on a tiny self-written IPADIC-format
//! dictionary (fixtures/dict/tiny-ipadic, transcoded to EUC-JP like the real
//! sources): dictionary build, tokenization with the part-of-speech
//! filter, counts that add and subtract, G² and log-odds against
//! hand-computed values, and `scyth dict build` / `scyth words` end to end.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use scyth::words::dict::{build_dictionary, load_dictionary};
use scyth::words::{
    EmergingParams, KeywordParams, PosFilter, TimeBucket, WordDf, WordScratch, WordStats,
    WordTokenizer, emerging, g2, keywords, log_odds,
};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_scyth");

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The tiny dictionary sources transcoded to EUC-JP, once per test run.
fn euc_jp_sources() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tiny-ipadic-euc-jp");
        std::fs::create_dir_all(&dir).expect("create source dir");
        for entry in std::fs::read_dir(fixture("fixtures/dict/tiny-ipadic")).expect("fixture dir") {
            let path = entry.expect("dir entry").path();
            let text = std::fs::read_to_string(&path).expect("UTF-8 fixture");
            let (bytes, _, lossy) = encoding_rs::EUC_JP.encode(&text);
            assert!(!lossy, "{} is not EUC-JP encodable", path.display());
            let name = path.file_name().expect("file name");
            std::fs::write(dir.join(name), &bytes).expect("write source");
        }
        dir
    })
}

/// The tiny dictionary, built once per test run into the target directory.
pub(crate) fn tiny_dict() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let to = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tiny-ipadic-dict");
        build_dictionary(euc_jp_sources(), &to, "EUC-JP").expect("build the tiny dictionary");
        to
    })
}

pub(crate) fn tokenizer(filter: PosFilter) -> WordTokenizer {
    WordTokenizer::new(load_dictionary(tiny_dict()).expect("load"), filter)
}

fn words_of(t: &WordTokenizer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    t.words(text, &mut WordScratch::default(), &mut out)
        .expect("segment");
    out.into_iter().map(str::to_string).collect()
}

// ------------------------------------------------------------ dictionary

#[test]
fn tiny_dictionary_builds_from_euc_jp_sources_and_segments() {
    let t = tokenizer(PosFilter::default());
    let mut scratch = WordScratch::default();
    let surfaces: Vec<String> = t
        .tokens("彼は東京で新しい電車を見た。", &mut scratch)
        .expect("segment")
        .iter()
        .map(|tok| tok.surface.to_string())
        .collect();
    assert_eq!(
        surfaces,
        [
            "彼",
            "は",
            "東京",
            "で",
            "新しい",
            "電車",
            "を",
            "見",
            "た",
            "。"
        ]
    );
}

#[test]
fn missing_dictionary_names_the_command_that_builds_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = load_dictionary(&dir.path().join("none"))
        .err()
        .expect("an error");
    assert!(err.to_string().contains("scyth dict build --to"), "{err}");
}

#[test]
fn build_rejects_a_directory_without_sources() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err =
        build_dictionary(dir.path(), &dir.path().join("out"), "EUC-JP").expect_err("an error");
    assert!(err.to_string().contains("lacks matrix.def"), "{err}");
}

#[test]
fn build_refuses_to_replace_a_directory_that_is_not_a_dictionary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keep = dir.path().join("keep.txt");
    std::fs::write(&keep, "precious").expect("write");
    let err = build_dictionary(euc_jp_sources(), dir.path(), "EUC-JP").expect_err("an error");
    assert!(err.to_string().contains("refusing to replace"), "{err}");
    assert!(keep.is_file());
    // A dictionary directory is rebuilt in place.
    let to = dir.path().join("dict");
    build_dictionary(euc_jp_sources(), &to, "EUC-JP").expect("first build");
    build_dictionary(euc_jp_sources(), &to, "EUC-JP").expect("rebuild");
    assert!(load_dictionary(&to).is_ok());
}

// ------------------------------------------------------------ tokenization

#[test]
fn default_filter_keeps_nouns_proper_nouns_and_verb_base_forms() {
    let t = tokenizer(PosFilter::default());
    // 彼 (pronoun) and 新しい (adjective) are skipped; 見 → 見る.
    assert_eq!(
        words_of(&t, "彼は東京で新しい電車を見た。"),
        ["東京", "電車", "見る"]
    );
    assert_eq!(
        words_of(&t, "選手が大阪で試合に勝った。"),
        ["選手", "大阪", "試合", "勝つ"]
    );
}

#[test]
fn numerals_suffixes_adverbial_and_dependent_words_are_skipped() {
    let t = tokenizer(PosFilter::default());
    // 今日 副詞可能, 三 数, 匹 接尾, いる 動詞 非自立, こと 名詞 非自立.
    assert_eq!(words_of(&t, "今日、猫が三匹いる。"), ["猫"]);
    assert_eq!(words_of(&t, "犬のこと"), ["犬"]);
}

#[test]
fn unknown_katakana_and_latin_words_are_kept_symbol_runs_and_digits_are_not() {
    let t = tokenizer(PosFilter::default());
    assert_eq!(
        words_of(&t, "サッカーの試合でABCが走った!? 123 x"),
        ["サッカー", "試合", "ABC", "走る"]
    );
}

#[test]
fn filter_is_configurable() {
    let with_adj: PosFilter = "noun,proper,verb,adj".parse().expect("parse");
    let t = tokenizer(with_adj);
    assert_eq!(
        words_of(&t, "彼は東京で新しい電車を見た。"),
        ["東京", "新しい", "電車", "見る"]
    );
    let proper_only = tokenizer("proper".parse().expect("parse"));
    assert_eq!(
        words_of(&proper_only, "彼は東京で新しい電車を見た。"),
        ["東京"]
    );
    assert_eq!(with_adj.to_string(), "noun,proper,verb,adj");
    assert!("noun,adverb".parse::<PosFilter>().is_err());
    assert!("".parse::<PosFilter>().is_err());
}

#[test]
fn distinct_words_are_sorted_and_deduplicated() {
    let t = tokenizer(PosFilter::default());
    let mut words = vec!["stale"];
    t.distinct_words(
        "猫の映画。犬の映画。猫。",
        &mut WordScratch::default(),
        &mut words,
    )
    .expect("segment");
    assert_eq!(words, ["映画", "犬", "猫"]);
}

// ------------------------------------------------------------ counts

fn owned(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

#[test]
fn time_buckets_by_day_and_hour() {
    let t = "2012-09-04T15:00:00+0900";
    assert_eq!(TimeBucket::Day.key(t).as_deref(), Some("2012-09-04"));
    assert_eq!(TimeBucket::Hour.key(t).as_deref(), Some("2012-09-04T15"));
    assert_eq!(
        TimeBucket::Hour.key("2012-09-04 07:59").as_deref(),
        Some("2012-09-04T07")
    );
    assert_eq!(
        TimeBucket::Day.key("2012-09-04").as_deref(),
        Some("2012-09-04")
    );
    assert_eq!(TimeBucket::Hour.key("2012-09-04"), None);
    assert_eq!(TimeBucket::Day.key("yesterday"), None);
    assert_eq!(TimeBucket::Day.key(""), None);
}

#[test]
fn word_stats_subtracting_a_batch_equals_never_adding_it() {
    let docs: Vec<(Vec<String>, Option<&str>, Vec<String>)> = vec![
        (owned(&["猫", "映画"]), Some("d1"), owned(&["cinema"])),
        (owned(&["犬"]), Some("d1"), owned(&["sports", "cinema"])),
        (owned(&["猫"]), Some("d2"), owned(&[])),
        (owned(&["選手", "試合"]), None, owned(&["sports"])),
    ];
    let mut all = WordStats::default();
    let mut first = WordStats::default();
    let mut second = WordStats::default();
    for (i, (w, b, l)) in docs.iter().enumerate() {
        all.add_doc(w, *b, l);
        if i < 2 { &mut first } else { &mut second }.add_doc(w, *b, l);
    }
    assert_eq!(all.all.docs, 4);
    assert_eq!(all.untimed_docs(), 1);
    assert_eq!(all.by_category["cinema"].get("犬"), 1);
    let mut merged = first.clone();
    merged.add(&second);
    assert_eq!(merged, all);
    let mut rest = all.clone();
    rest.subtract(&first);
    assert_eq!(rest, second);
    // Retracting documents one by one, as the stream does.
    let mut retracted = all.clone();
    for (w, b, l) in &docs[2..] {
        retracted.remove_doc(w, *b, l);
    }
    assert_eq!(retracted, first);
}

// ------------------------------------------------------------ statistics

#[test]
fn g2_matches_hand_computed_values() {
    // 2 Σ O ln(O/E) over the 2×2 table, computed independently.
    assert!((g2(10, 100, 20, 1000) - 14.191540436996059).abs() < 1e-9);
    assert!((g2(3, 4, 0, 6) - 7.718604884147403).abs() < 1e-9);
    assert!((g2(3, 4, 2, 6) - 1.7260924347106847).abs() < 1e-9);
    // Equal rates: no evidence.
    assert!(g2(5, 50, 50, 500).abs() < 1e-9);
}

#[test]
fn log_odds_matches_hand_computed_values() {
    // y_i = 30 of n_i = 1000 against y_j = 10 of n_j = 3000, prior α₀ = n =
    // 4000 so α_w = 40: δ = ln(70/4930) − ln(50/6950), σ² = 1/70 + 1/50.
    let (delta, var) = log_odds(30.0, 1000.0, 10.0, 3000.0, 40.0, 4000.0);
    assert!((delta - 0.6798749081433151).abs() < 1e-12);
    assert!((var - 0.03428571428571429).abs() < 1e-12);
    assert!((delta / var.sqrt() - 3.6717441558589066).abs() < 1e-9);
}

#[test]
fn keywords_use_the_pooled_prior_and_rank_by_z() {
    let mut by_category = BTreeMap::new();
    let df = |pairs: &[(&str, u64)]| WordDf {
        docs: 1000,
        df: pairs.iter().map(|(w, n)| (w.to_string(), *n)).collect(),
    };
    by_category.insert("a".to_string(), df(&[("x", 30), ("common", 970)]));
    by_category.insert("b".to_string(), df(&[("x", 10), ("common", 2990)]));
    let kw = keywords(&by_category, &KeywordParams::default());
    let x = &kw["a"][0];
    assert_eq!((x.word.as_str(), x.count, x.rest_count), ("x", 30, 10));
    // n = 4000, α_w = 40: the hand-computed case above.
    assert!((x.z - 3.6717441558589066).abs() < 1e-9);
    assert_eq!(kw["b"][0].word, "common");
    let strict = KeywordParams {
        min_count: 31,
        ..KeywordParams::default()
    };
    assert!(
        keywords(&by_category, &strict)["a"]
            .iter()
            .all(|k| k.word != "x")
    );
}

fn bucketed(buckets: &[(&str, &[&[&str]])]) -> WordStats {
    let mut s = WordStats::default();
    for (b, docs) in buckets {
        for words in *docs {
            s.add_doc(&owned(words), Some(b), &[]);
        }
    }
    s
}

#[test]
fn emerging_words_compare_the_window_with_earlier_buckets() {
    let s = bucketed(&[
        ("d1", &[&["映画", "猫"], &["選手"], &["選手", "映画"]]),
        ("d2", &[&["選手"], &["犬"], &["猫"]]),
        (
            "d3",
            &[
                &["公開", "映画"],
                &["公開", "映画"],
                &["公開", "映画"],
                &["選手"],
            ],
        ),
        ("d4", &[&["後"]]),
    ]);
    let params = EmergingParams {
        at: Some("d3".into()),
        ..EmergingParams::default()
    };
    let em = emerging(&s, &params)
        .expect("bucket exists")
        .expect("buckets");
    assert_eq!(em.window, ["d3"]);
    assert_eq!((em.window_docs, em.reference_docs), (4, 6));
    let got: Vec<(&str, u64, u64, &str, bool)> = em
        .words
        .iter()
        .map(|w| {
            (
                w.word.as_str(),
                w.count,
                w.reference_count,
                w.first_seen.as_str(),
                w.new,
            )
        })
        .collect();
    assert_eq!(
        got,
        [("公開", 3, 0, "d3", true), ("映画", 3, 2, "d1", false)]
    );
    assert!((em.words[0].g2 - 7.718604884147403).abs() < 1e-9);
    assert!((em.words[1].g2 - 1.7260924347106847).abs() < 1e-9);
    // A two-bucket window; the default end is the latest bucket.
    let wide = EmergingParams {
        window: 2,
        min_count: 1,
        ..EmergingParams::default()
    };
    let em = emerging(&s, &wide).expect("ok").expect("buckets");
    assert_eq!(em.window, ["d3", "d4"]);
    assert_eq!((em.window_docs, em.reference_docs), (5, 6));
    assert!(
        emerging(
            &s,
            &EmergingParams {
                at: Some("d9".into()),
                ..params
            }
        )
        .is_err()
    );
    assert!(
        emerging(&WordStats::default(), &wide)
            .expect("ok")
            .is_none()
    );
}

// ------------------------------------------------------------ CLI

fn scyth(args: &[&str], env: &[(&str, &Path)]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run scyth");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("UTF-8"),
        String::from_utf8(out.stderr).expect("UTF-8"),
    )
}

#[test]
fn cli_dict_build_writes_a_loadable_dictionary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let to = dir.path().join("cache/ipadic");
    let from = euc_jp_sources().to_str().expect("utf-8 path");
    let (code, out, err) = scyth(
        &[
            "dict",
            "build",
            "--from",
            from,
            "--to",
            to.to_str().expect("path"),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("built the word dictionary"), "{out}");
    assert!(load_dictionary(&to).is_ok());
    // The default location is under XDG_CACHE_HOME.
    let (code, out, err) = scyth(
        &["dict", "build", "--from", from],
        &[("XDG_CACHE_HOME", dir.path())],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        dir.path().join("scyth/ipadic/metadata.json").is_file(),
        "{out}"
    );
}

#[test]
fn cli_words_without_a_dictionary_says_how_to_build_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = fixture("fixtures/words/news.csv");
    let (code, _, err) = scyth(
        &["words", "-i", input.to_str().expect("path")],
        &[("XDG_CACHE_HOME", dir.path()), ("HOME", dir.path())],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("no word dictionary at") && err.contains("scyth dict build"),
        "{err}"
    );
}

fn words_json(extra: &[&str]) -> Value {
    let input = fixture("fixtures/words/news.csv");
    let mut args = vec![
        "words",
        "--dict",
        tiny_dict().to_str().expect("path"),
        "-i",
        input.to_str().expect("path"),
        "--output-format",
        "json",
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = scyth(&args, &[]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).expect("a JSON report")
}

#[test]
fn cli_words_reports_emerging_words_and_category_keywords() {
    let r = words_json(&["--labels", "--by", "day"]);
    assert_eq!(r["docs"], 11);
    assert_eq!(r["untimed_docs"], 1);
    assert_eq!(r["buckets"], 3);
    let em = &r["emerging"];
    assert_eq!(em["window"], serde_json::json!(["2024-01-03"]));
    assert_eq!(
        (em["window_docs"].as_u64(), em["reference_docs"].as_u64()),
        (Some(4), Some(6))
    );
    let words: Vec<&str> = em["words"]
        .as_array()
        .expect("words")
        .iter()
        .map(|w| w["word"].as_str().expect("word"))
        .collect();
    assert_eq!(words, ["公開", "映画"]);
    assert_eq!(em["words"][0]["first_seen"], "2024-01-03");
    assert!((em["words"][0]["g2"].as_f64().expect("g2") - g2(3, 4, 0, 6)).abs() < 1e-9);
    let kw = &r["keywords"];
    assert_eq!(kw["cinema"][0]["word"], "映画");
    assert_eq!(kw["sports"][0]["word"], "選手");
    // Without --labels there are no keywords; --at picks the window.
    let r = words_json(&["--at", "2024-01-02", "--min-count", "1"]);
    assert!(r["keywords"].is_null());
    assert_eq!(r["emerging"]["window"], serde_json::json!(["2024-01-02"]));
    assert_eq!(r["emerging"]["reference_docs"], 3);
    // Hours: c4 and c5 share 2024-01-03T09.
    assert_eq!(words_json(&["--by", "hour"])["buckets"], 9);
}

/// `scyth words --model` counts each record under the labels the model
/// decides: the same report as `--labels` over the input relabeled with
/// `scyth classify`'s decisions.
#[test]
fn cli_words_model_keywords_equal_labels_from_classify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dict = tiny_dict().to_str().expect("path");
    let model = fixture("fixtures/model/tiny.scyth");
    let model = model.to_str().expect("path");
    let corpus = fixture("fixtures/corpus/dev.csv");
    let corpus = corpus.to_str().expect("path");
    let (code, classified, err) = scyth(
        &[
            "classify",
            "-m",
            model,
            "-i",
            corpus,
            "--output-format",
            "csv",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let decided: Vec<String> = csv::Reader::from_reader(classified.as_bytes())
        .deserialize::<BTreeMap<String, String>>()
        .map(|r| r.expect("row")["labels"].clone())
        .collect();
    let mut reader = csv::Reader::from_path(corpus).expect("corpus");
    let header = reader.headers().expect("header").clone();
    let at = header
        .iter()
        .position(|h| h == "labels")
        .expect("labels column");
    let relabeled = dir.path().join("relabeled.csv");
    let mut w = csv::Writer::from_path(&relabeled).expect("create");
    w.write_record(&header).expect("header");
    let mut rows = 0;
    for (rec, labels) in reader.records().zip(&decided) {
        let mut fields: Vec<String> = rec.expect("record").iter().map(str::to_string).collect();
        fields[at] = labels.clone();
        w.write_record(&fields).expect("write");
        rows += 1;
    }
    w.flush().expect("flush");
    assert_eq!(rows, decided.len());
    let report = |args: &[&str]| -> Value {
        let mut all = vec![
            "words",
            "--dict",
            dict,
            "--output-format",
            "json",
            "--min-count",
            "1",
        ];
        all.extend_from_slice(args);
        let (code, out, err) = scyth(&all, &[]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&out).expect("a JSON report")
    };
    let by_model = report(&["-i", corpus, "--model", model]);
    let by_labels = report(&["-i", relabeled.to_str().expect("path"), "--labels"]);
    assert!(
        by_model["keywords"]
            .as_object()
            .is_some_and(|k| k.len() >= 2),
        "{by_model}"
    );
    assert_eq!(by_model, by_labels);
    // The gold labels give a different report: the model's labels were used.
    assert_ne!(
        by_model["keywords"],
        report(&["-i", corpus, "--labels"])["keywords"]
    );
}

#[test]
fn cli_words_report_is_the_same_at_1_and_3_threads() {
    let one = words_json(&["--labels", "--min-count", "1", "-t", "1"]);
    let three = words_json(&["--labels", "--min-count", "1", "-t", "3"]);
    assert_eq!(one, three);
}

#[test]
fn cli_words_writes_csv_and_markdown_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = fixture("fixtures/words/news.csv");
    for ext in ["csv", "md"] {
        let out = dir.path().join(format!("report.{ext}"));
        let (code, _, err) = scyth(
            &[
                "words",
                "--dict",
                tiny_dict().to_str().expect("path"),
                "-i",
                input.to_str().expect("path"),
                "--labels",
                "-o",
                out.to_str().expect("path"),
            ],
            &[],
        );
        assert_eq!(code, 0, "{err}");
        let text = std::fs::read_to_string(&out).expect("report");
        match ext {
            "csv" => {
                assert!(
                    text.starts_with(
                        "section,group,rank,word,score,count,other_count,first_seen\n"
                    ),
                    "{text}"
                );
                assert!(text.contains("emerging,2024-01-03,1,公開,"), "{text}");
                assert!(text.contains("keyword,cinema,1,映画,"), "{text}");
            }
            _ => {
                assert!(
                    text.contains("## Emerging words: 2024-01-03 (4 documents)"),
                    "{text}"
                );
                assert!(text.contains("| cinema | 映画 ("), "{text}");
            }
        }
    }
}

#[test]
fn cli_words_counts_good_records_and_exits_1_on_bad_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("bad.csv");
    std::fs::write(
        &input,
        "id,text,time\na,猫の映画。,2024-01-01\nb,,2024-01-01\nc,犬。,2024-01-02\n",
    )
    .expect("write");
    let (code, out, err) = scyth(
        &[
            "words",
            "--dict",
            tiny_dict().to_str().expect("path"),
            "-i",
            input.to_str().expect("path"),
            "--output-format",
            "json",
            "--at",
            "2024-01-01",
        ],
        &[],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("1 records failed"), "{err}");
    let r: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(r["docs"], 2);
    let (code, _, err) = scyth(
        &[
            "words",
            "--dict",
            tiny_dict().to_str().expect("path"),
            "-i",
            input.to_str().expect("path"),
            "--at",
            "1999-01-01",
        ],
        &[],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("no documents in bucket \"1999-01-01\""),
        "{err}"
    );
}

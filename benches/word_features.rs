//! The word-feature experiment (issue 6, item 4): do lindera words, as
//! extra input columns beside the SPEC trigram features, make the network
//! more accurate on livedoor dev, and what do they cost per document?
//!
//! `cargo bench --bench word_features` (`SCYTH_BENCH_SEEDS=42,1,2` trains
//! every arm once per seed; the seed also draws the validation split). Three arms, trained the same way
//! `scyth train` trains (default options and seed, the same 10 % validation
//! split of train.csv picking the epoch), evaluated on dev.csv:
//! - `trigrams`: the SPEC features only (the trigram arm reproduces `scyth
//!   train`'s dev accuracy, which checks the harness);
//! - `+ words`: plus one binary column per word (nouns, proper nouns and the
//!   base forms of verbs, the filter of `scyth words`) with df ≥ 2 in train;
//! - `+ words + bigrams`: plus one per pair of adjacent kept words, df ≥ 2.
//!
//! Word columns follow the trigram columns and hold 1.0, like DIRECT
//! features. Cost: seconds per document of trigram features, of word
//! features (segmentation included) and of the f32 forward pass with each
//! arm's columns, on dev.csv, one thread, best of 3 by CPU time. Needs the livedoor corpus
//! (`$SCYTH_BENCH_CORPUS_DIR` or `../shared/corpora/livedoor`) and a
//! dictionary; skips (exit 0) without them.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use scyth::features::{FeatureScratch, Lexicon, SparseRow, extract};
use scyth::io::{ColumnNames, open_records};
use scyth::network::Shape;
use scyth::train::member::{TrainData, score_of, train_member};
use scyth::train::step::{NetView, predict_probs};
use scyth::train::{TrainOptions, build_lexicon};
use scyth::words::dict::load_dictionary;
use scyth::words::{PosFilter, WordScratch, WordTokenizer};

#[path = "support/mod.rs"]
mod support;
use support::{find_dictionary, thread_cpu_seconds};

/// Minimum training df of a word or bigram column.
const MIN_DF: u32 = 2;
/// Timing repetitions (best kept).
const REPEATS: usize = 3;

/// A labeled document of the corpus.
struct Doc {
    text: String,
    labels: Vec<String>,
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("SCYTH_BENCH_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/corpora/livedoor"));
    let (train_csv, dev_csv) = (dir.join("train.csv"), dir.join("dev.csv"));
    if !train_csv.is_file() || !dev_csv.is_file() {
        println!("skipped: no train.csv and dev.csv in {}", dir.display());
        return;
    }
    let Some(dict) = find_dictionary(root) else {
        println!("skipped: no dictionary and no IPADIC sources");
        return;
    };
    let train = read_docs(&train_csv);
    let dev = read_docs(&dev_csv);
    let opts = TrainOptions::default();
    let tokenizer = WordTokenizer::new(
        load_dictionary(&dict).expect("load dictionary"),
        PosFilter::default(),
    );
    println!(
        "{} train, {} dev documents; dictionary {}",
        train.len(),
        dev.len(),
        dict.display()
    );

    let texts: Vec<&str> = train.iter().map(|d| d.text.as_str()).collect();
    let lexicon = build_lexicon(&texts, &opts);
    let d_tri = lexicon.n_columns();
    let tri_train = trigram_rows(&lexicon, &opts, &train);
    let tri_dev = trigram_rows(&lexicon, &opts, &dev);

    let words_train = word_keys(&tokenizer, &opts, &train);
    let words_dev = word_keys(&tokenizer, &opts, &dev);
    let uni_vocab = vocabulary(&words_train, false, d_tri as u32);
    let bi_vocab = vocabulary(&words_train, true, d_tri as u32);
    println!(
        "columns: {d_tri} trigrams, {} words, {} words + bigrams (df ≥ {MIN_DF})",
        uni_vocab.len(),
        bi_vocab.len()
    );

    let labels: Vec<String> = {
        let mut l: Vec<String> = train.iter().flat_map(|d| d.labels.clone()).collect();
        l.sort();
        l.dedup();
        l
    };
    let targets = |docs: &[Doc]| -> Vec<Vec<u32>> {
        docs.iter()
            .map(|d| {
                d.labels
                    .iter()
                    .filter_map(|l| labels.binary_search(l).ok().map(|i| i as u32))
                    .collect()
            })
            .collect()
    };
    let (train_targets, dev_targets) = (targets(&train), targets(&dev));

    let seeds: Vec<u64> = std::env::var("SCYTH_BENCH_SEEDS")
        .unwrap_or_else(|_| opts.seed.to_string())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("SCYTH_BENCH_SEEDS: comma-separated integers")
        })
        .collect();
    println!(
        "\nseeds {seeds:?}\n\n| features | columns | dev accuracy (f32) | val accuracy | best epoch | train s | docs/s, 1 thread (features + forward) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let arms: [(&str, Option<&FxHashMap<String, u32>>); 3] = [
        ("trigrams (SPEC)", None),
        ("+ words", Some(&uni_vocab)),
        ("+ words + bigrams", Some(&bi_vocab)),
    ];
    for (name, vocab) in arms {
        let (rows, dev_rows, d) = match vocab {
            None => (tri_train.clone(), tri_dev.clone(), d_tri),
            Some(v) => (
                with_words(&tri_train, &words_train, v, vocab_has_bigrams(v)),
                with_words(&tri_dev, &words_dev, v, vocab_has_bigrams(v)),
                d_tri + v.len(),
            ),
        };
        let arms: Vec<Arm> = seeds
            .iter()
            .map(|&seed| {
                let opts = TrainOptions {
                    seed,
                    ..opts.clone()
                };
                run_arm(
                    &opts,
                    &rows,
                    &train_targets,
                    &dev_rows,
                    &dev_targets,
                    &labels,
                    d,
                )
            })
            .collect();
        let arm = &arms[0];
        let cost = cost_per_doc(&lexicon, &opts, &tokenizer, vocab, &dev, arm);
        let list = |f: fn(&Arm) -> String| arms.iter().map(f).collect::<Vec<_>>().join(" / ");
        let mean = |f: fn(&Arm) -> f64| arms.iter().map(f).sum::<f64>() / arms.len() as f64;
        println!(
            "| {name} | {d} | {} (mean {:.4}) | {} (mean {:.4}) | {} | {} | {:.0} ({:.3} ms trigrams + {:.3} ms words + {:.3} ms forward) |",
            list(|a| format!("{:.4}", a.dev_accuracy)),
            mean(|a| a.dev_accuracy),
            list(|a| format!("{:.4}", a.val_score)),
            mean(|a| a.val_score),
            list(|a| a.epoch.to_string()),
            list(|a| format!("{:.0}", a.seconds)),
            1.0 / cost.total(),
            cost.trigrams * 1e3,
            cost.words * 1e3,
            cost.forward * 1e3
        );
    }
}

fn read_docs(path: &Path) -> Vec<Doc> {
    open_records(Some(path), None, &ColumnNames::default())
        .expect("open corpus")
        .filter_map(Result::ok)
        .map(|r| Doc {
            text: r.text,
            labels: r.labels.unwrap_or_default(),
        })
        .collect()
}

fn trigram_rows(lexicon: &Lexicon, opts: &TrainOptions, docs: &[Doc]) -> Vec<SparseRow> {
    docs.par_iter()
        .map_init(FeatureScratch::default, |s, d| {
            extract(lexicon, opts.normalization, &d.text, s)
        })
        .collect()
}

/// Each document's kept words in order (of its normalized text, as the
/// trigrams see it).
fn word_keys(tokenizer: &WordTokenizer, opts: &TrainOptions, docs: &[Doc]) -> Vec<Vec<String>> {
    docs.par_iter()
        .map_init(WordScratch::default, |s, d| {
            let normalized: String = opts.normalization.apply(&d.text).into_iter().collect();
            let mut words = Vec::new();
            tokenizer
                .words(&normalized, s, &mut words)
                .expect("segment");
            words.into_iter().map(str::to_string).collect()
        })
        .collect()
}

/// The distinct unigram (and, with `bigrams`, adjacent-pair) keys of a
/// document's words. A pair is joined by U+0001, which no word contains.
fn doc_keys(words: &[String], bigrams: bool) -> Vec<String> {
    let mut keys: Vec<String> = words.to_vec();
    if bigrams {
        keys.extend(words.windows(2).map(|w| format!("{}\u{1}{}", w[0], w[1])));
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Keys with training df ≥ [`MIN_DF`], numbered from `first_column` by df
/// descending, then key.
fn vocabulary(docs: &[Vec<String>], bigrams: bool, first_column: u32) -> FxHashMap<String, u32> {
    let mut df: FxHashMap<String, u32> = FxHashMap::default();
    for words in docs {
        for k in doc_keys(words, bigrams) {
            *df.entry(k).or_default() += 1;
        }
    }
    let mut kept: Vec<(String, u32)> = df.into_iter().filter(|(_, n)| *n >= MIN_DF).collect();
    kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    kept.into_iter()
        .enumerate()
        .map(|(i, (k, _))| (k, first_column + i as u32))
        .collect()
}

fn vocab_has_bigrams(vocab: &FxHashMap<String, u32>) -> bool {
    vocab.keys().any(|k| k.contains('\u{1}'))
}

/// The trigram rows with one 1.0 column per known word key appended (word
/// columns are all above the trigram columns, so rows stay sorted).
fn with_words(
    rows: &[SparseRow],
    words: &[Vec<String>],
    vocab: &FxHashMap<String, u32>,
    bigrams: bool,
) -> Vec<SparseRow> {
    rows.iter()
        .zip(words)
        .map(|(row, w)| {
            let mut out = row.clone();
            append_words(&mut out, w, vocab, bigrams);
            out
        })
        .collect()
}

fn append_words<S: AsRef<str>>(
    row: &mut SparseRow,
    words: &[S],
    vocab: &FxHashMap<String, u32>,
    bigrams: bool,
) {
    let mut cols: Vec<u32> = words
        .iter()
        .filter_map(|w| vocab.get(w.as_ref()).copied())
        .collect();
    if bigrams {
        let mut key = String::new();
        for pair in words.windows(2) {
            key.clear();
            key.push_str(pair[0].as_ref());
            key.push('\u{1}');
            key.push_str(pair[1].as_ref());
            cols.extend(vocab.get(key.as_str()).copied());
        }
    }
    cols.sort_unstable();
    cols.dedup();
    row.vals.extend(std::iter::repeat_n(1.0, cols.len()));
    row.cols.extend(cols);
}

/// A trained arm.
struct Arm {
    shape: Shape,
    enc: Vec<f32>,
    link: Vec<f32>,
    head: Vec<f32>,
    bias: Vec<f32>,
    epoch: usize,
    val_score: f64,
    dev_accuracy: f64,
    seconds: f64,
}

impl Arm {
    fn view(&self) -> NetView<'_> {
        NetView {
            shape: self.shape,
            enc: &self.enc,
            link: &self.link,
            head: &self.head,
            bias: &self.bias,
        }
    }
}

/// Trains one network as `scyth train` does (same seeded validation split,
/// one member) and scores it on dev.
fn run_arm(
    opts: &TrainOptions,
    rows: &[SparseRow],
    targets: &[Vec<u32>],
    dev_rows: &[SparseRow],
    dev_targets: &[Vec<u32>],
    labels: &[String],
    d: usize,
) -> Arm {
    let start = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.shuffle(&mut rng);
    let n_val = ((rows.len() as f32 * opts.validation_fraction).round() as usize).max(1);
    let (val, train) = order.split_at(n_val);
    let mut train = train.to_vec();
    train.sort_unstable();
    let val_rows: Vec<SparseRow> = val.iter().map(|&i| rows[i].clone()).collect();
    let val_targets: Vec<Vec<u32>> = val.iter().map(|&i| targets[i].clone()).collect();
    let data = TrainData {
        rows,
        targets,
        train_idx: &train,
        val_rows: &val_rows,
        val_targets: &val_targets,
        labels,
        multi_label: false,
    };
    let shape = Shape {
        d,
        h: opts.latent,
        e: opts.embedding,
        c: labels.len(),
    };
    let member = train_member(&data, shape, opts, opts.seed, &mut |_| {}).expect("train");
    let best = member.best;
    let mut arm = Arm {
        shape,
        enc: best.enc,
        link: best.link,
        head: best.head,
        bias: best.bias,
        epoch: best.epoch,
        val_score: best.score,
        dev_accuracy: 0.0,
        seconds: start.elapsed().as_secs_f64(),
    };
    let probs: Vec<Vec<f32>> = dev_rows
        .par_iter()
        .map(|r| predict_probs(arm.view(), r))
        .collect();
    arm.dev_accuracy = score_of(&probs, dev_targets, labels, false);
    arm
}

/// Seconds per document of each stage, one thread.
struct Cost {
    trigrams: f64,
    words: f64,
    forward: f64,
}

impl Cost {
    fn total(&self) -> f64 {
        self.trigrams + self.words + self.forward
    }
}

fn cost_per_doc(
    lexicon: &Lexicon,
    opts: &TrainOptions,
    tokenizer: &WordTokenizer,
    vocab: Option<&FxHashMap<String, u32>>,
    dev: &[Doc],
    arm: &Arm,
) -> Cost {
    let n = dev.len() as f64;
    let mut fs = FeatureScratch::default();
    let mut ws = WordScratch::default();
    let mut rows = Vec::new();
    let trigrams = best_of(|| {
        rows = dev
            .iter()
            .map(|d| extract(lexicon, opts.normalization, &d.text, &mut fs))
            .collect();
        rows.iter().map(|r| r.cols.len()).sum()
    }) / n;
    let words = match vocab {
        None => 0.0,
        Some(v) => {
            let bigrams = vocab_has_bigrams(v);
            best_of(|| {
                let mut set = 0;
                for (d, row) in dev.iter().zip(rows.iter_mut()) {
                    let normalized: String =
                        opts.normalization.apply(&d.text).into_iter().collect();
                    let mut w = Vec::new();
                    tokenizer
                        .words(&normalized, &mut ws, &mut w)
                        .expect("segment");
                    row.cols.retain(|&c| (c as usize) < lexicon.n_columns());
                    row.vals.truncate(row.cols.len());
                    append_words(row, &w, v, bigrams);
                    set += row.cols.len();
                }
                set
            }) / n
        }
    };
    let forward = best_of(|| {
        rows.iter()
            .map(|r| {
                let p = predict_probs(arm.view(), r);
                p.iter().filter(|&&x| x >= 0.5).count()
            })
            .sum()
    }) / n;
    Cost {
        trigrams,
        words,
        forward,
    }
}

/// Best time of [`REPEATS`] runs of `f` (this thread's CPU time, which
/// leaves out waiting for a core on a shared machine; wall time where that
/// is unavailable), whose checksum must not change.
fn best_of(mut f: impl FnMut() -> usize) -> f64 {
    let mut best = f64::INFINITY;
    let mut checksum = None;
    for _ in 0..REPEATS {
        let (start, cpu_start) = (Instant::now(), thread_cpu_seconds());
        let sum = f();
        let seconds = match (cpu_start, thread_cpu_seconds()) {
            (Some(a), Some(b)) => b - a,
            _ => start.elapsed().as_secs_f64(),
        };
        best = best.min(seconds);
        assert_eq!(*checksum.get_or_insert(sum), sum, "checksum changed");
    }
    best
}

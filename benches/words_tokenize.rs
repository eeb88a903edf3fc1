//! Tokenization throughput on livedoor text, one core: lindera alone
//! (every token) against lindera plus the part-of-speech filter (the words
//! `scyth words` counts), in characters per second.
//!
//! `cargo bench --bench words_tokenize`. Needs the livedoor corpus
//! (`../shared/corpora/livedoor/train.csv`, or `$SCYTH_BENCH_CORPUS`) and a
//! dictionary: `--dict`-style `$SCYTH_DICT`, else the default cache
//! directory, else one built from `/usr/share/mecab/dic/ipadic` into
//! `target/`. Skips (exit 0) when the corpus or the dictionary is absent.
//! Checksums (token and word counts) are asserted to be identical on every
//! repetition, so a fast wrong answer cannot pass.

use std::path::{Path, PathBuf};
use std::time::Instant;

use scyth::io::{ColumnNames, open_records};
use scyth::words::dict::{DEBIAN_IPADIC_SOURCES, load_dictionary};
use scyth::words::{PosFilter, WordScratch, WordTokenizer};

#[path = "support/mod.rs"]
mod support;
use support::{find_dictionary, thread_cpu_seconds};

const REPEATS: usize = 3;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = std::env::var_os("SCYTH_BENCH_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/corpora/livedoor/train.csv"));
    if !corpus.is_file() {
        println!("skipped: no corpus at {}", corpus.display());
        return;
    }
    let Some(dict) = find_dictionary(root) else {
        println!("skipped: no dictionary and no IPADIC sources at {DEBIAN_IPADIC_SOURCES}");
        return;
    };
    let texts: Vec<String> = open_records(Some(&corpus), None, &ColumnNames::default())
        .expect("open corpus")
        .filter_map(Result::ok)
        .map(|r| r.text)
        .collect();
    let chars: usize = texts.iter().map(|t| t.chars().count()).sum();
    let load = Instant::now();
    let dictionary = load_dictionary(&dict).expect("load dictionary");
    let tokenizer = WordTokenizer::new(dictionary, PosFilter::default());
    println!(
        "{} texts, {chars} chars; dictionary {} loaded with its filter table in {:.3} s",
        texts.len(),
        dict.display(),
        load.elapsed().as_secs_f64()
    );
    let mut scratch = WordScratch::default();
    let raw = measure("lindera (all tokens)", chars, || {
        texts
            .iter()
            .map(|t| tokenizer.tokens(t, &mut scratch).expect("segment").len())
            .sum()
    });
    let mut words = Vec::new();
    let filtered = measure("lindera + POS filter", chars, || {
        texts
            .iter()
            .map(|t| {
                words.clear();
                tokenizer
                    .words(t, &mut scratch, &mut words)
                    .expect("segment");
                words.len()
            })
            .sum()
    });
    let distinct = measure("+ distinct (per document)", chars, || {
        texts
            .iter()
            .map(|t| {
                tokenizer
                    .distinct_words(t, &mut scratch, &mut words)
                    .expect("segment");
                words.len()
            })
            .sum()
    });
    assert!(
        0 < distinct && distinct <= filtered && filtered < raw,
        "checksums out of order"
    );
}

/// Runs `f` `REPEATS` times, asserts its checksum never changes and prints
/// the best throughput by wall time and by this thread's CPU time (which
/// leaves out time the thread waited for a core on a busy machine);
/// returns the checksum.
fn measure(name: &str, chars: usize, mut f: impl FnMut() -> usize) -> usize {
    let (mut wall, mut cpu) = (f64::INFINITY, f64::INFINITY);
    let mut checksum = None;
    for _ in 0..REPEATS {
        let (start, cpu_start) = (Instant::now(), thread_cpu_seconds());
        let sum = f();
        wall = wall.min(start.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (cpu_start, thread_cpu_seconds()) {
            cpu = cpu.min(b - a);
        }
        assert_eq!(
            *checksum.get_or_insert(sum),
            sum,
            "{name}: checksum changed"
        );
    }
    let rate = |s: f64| chars as f64 / s / 1e6;
    println!(
        "{name:<26} {:>5.2} M chars/s wall ({wall:.3} s), {:>5.2} M chars/s CPU ({cpu:.3} s), checksum {}",
        rate(wall),
        rate(cpu),
        checksum.unwrap_or(0)
    );
    checksum.unwrap_or(0)
}

//! SPEC §1–3 held against the library: text → trigrams, corpus statistics and
//! scores, and the DIRECT + AGR feature vector of a document.
//!
//! Layout:
//! 1. `oracle`: an independent, deliberately naive reimplementation of the
//!    SPEC text (strings and `HashMap`s, like the Python of the original card),
//!    computing its own statistics from a corpus;
//! 2. helpers that drive the library the way the trainer does;
//! 3. hand-worked cases with exact expected pairs;
//! 4. oracle equality on the fixture corpus (features, scores, statuses,
//!    vocabulary, pentagram lists) and on the fixture model;
//! 5. normalization (§1.1);
//! 6. properties (proptest): batch composition, threads, random strings.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::LazyLock;

use proptest::prelude::*;
use scyth::features::{
    FeatureKind, FeaturePair, FeatureScratch, FeatureSource, Lexicon, LexiconParams, NO_COLUMN,
    SparseRow, extract, extract_pairs,
};
use scyth::model::{Model, Precision, PredictScratch};
use scyth::stats::{CorpusCounts, DocNgrams, ScoreParams, agr_value, nidf, score};
use scyth::text::{
    Normalization, Pentagram, Trigram, char_weight, pentagrams, trigram_weight, trigrams,
};

// ---------------------------------------------------------------------------
// 1. The oracle
// ---------------------------------------------------------------------------

mod oracle {
    //! The SPEC, read literally. Nothing here calls the library.

    use std::collections::{HashMap, HashSet};

    use unicode_normalization::UnicodeNormalization;

    /// α, β and the AGR scale of SCYTH-5.
    pub const ALPHA: f64 = 12.0;
    pub const BETA: f64 = 1.0 / 3.0;
    pub const GRAY_WEIGHT: f64 = 0.07;

    /// How the vocabulary and pentagram dictionary are cut.
    #[derive(Debug, Clone, Copy)]
    pub struct Params {
        pub tau: f64,
        pub min_df: u32,
        pub max_columns: Option<usize>,
        pub pent_min_df: u32,
    }

    /// §1.1: NFKC (for scyth's own models), then Python's `str.lower()`.
    pub fn normalize(text: &str, nfkc: bool) -> Vec<char> {
        let s: String = if nfkc {
            text.nfkc().collect()
        } else {
            text.to_string()
        };
        s.to_lowercase().chars().collect()
    }

    /// `[text[i:i+n] for i in range(len(text) - n + 1)]`.
    pub fn windows(chars: &[char], n: usize) -> Vec<String> {
        if chars.len() < n {
            return Vec::new();
        }
        (0..=chars.len() - n)
            .map(|i| chars[i..i + n].iter().collect())
            .collect()
    }

    /// §2 character table.
    pub fn char_weight(c: char) -> u32 {
        let u = c as u32;
        if (0x4E00..=0x9FAF).contains(&u) {
            6
        } else if (0x3040..=0x309F).contains(&u) || (0x30A0..=0x30FF).contains(&u) {
            2
        } else if c.is_ascii_alphabetic() || c.is_ascii_digit() {
            1
        } else {
            0
        }
    }

    pub fn weight(t: &str) -> u32 {
        t.chars().map(char_weight).sum()
    }

    /// nidf = (ln df_max − ln df) / ln df_max, 0 when df_max = 1.
    pub fn nidf(df: u32, df_max: u32) -> f64 {
        if df_max == 1 {
            return 0.0;
        }
        ((df_max as f64).ln() - (df as f64).ln()) / (df_max as f64).ln()
    }

    /// score = α · nidf + β · weight.
    pub fn score(df: u32, df_max: u32, weight: u32) -> f64 {
        ALPHA * nidf(df, df_max) + BETA * weight as f64
    }

    /// f32(clamp(score / 18, 0, 1) · gray_weight), in f64, rounded once.
    pub fn agr(score: f64) -> f32 {
        ((score / 18.0).clamp(0.0, 1.0) * GRAY_WEIGHT) as f32
    }

    /// Statistics, statuses, vocabulary and pentagram lists of a corpus.
    pub struct Oracle {
        pub nfkc: bool,
        pub n_docs: usize,
        pub df: HashMap<String, u32>,
        pub df_max: u32,
        pub score: HashMap<String, f64>,
        pub white: HashMap<String, bool>,
        /// Trigram of every column, in column order.
        pub columns: Vec<String>,
        pub column: HashMap<String, u32>,
        /// Known pentagrams in order of first appearance.
        pub pentagrams: Vec<String>,
        /// Per trigram, indices into `pentagrams`, in that order.
        pub pent_list: HashMap<String, Vec<usize>>,
    }

    /// Where a feature value came from.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub enum Origin {
        Direct,
        Agr(usize),
    }

    impl Oracle {
        pub fn build(texts: &[&str], nfkc: bool, p: Params) -> Oracle {
            let mut df: HashMap<String, u32> = HashMap::new();
            let mut pent_df: HashMap<String, u32> = HashMap::new();
            let mut pent_order: Vec<String> = Vec::new();
            for text in texts {
                let chars = normalize(text, nfkc);
                let distinct: HashSet<String> = windows(&chars, 3).into_iter().collect();
                for t in distinct {
                    *df.entry(t).or_insert(0) += 1;
                }
                let mut seen: HashSet<String> = HashSet::new();
                for pent in windows(&chars, 5) {
                    if !seen.insert(pent.clone()) {
                        continue;
                    }
                    if !pent_df.contains_key(&pent) {
                        pent_order.push(pent.clone());
                    }
                    *pent_df.entry(pent).or_insert(0) += 1;
                }
            }
            let df_max = df.values().copied().max().unwrap_or(0);
            let mut score = HashMap::new();
            let mut white = HashMap::new();
            for (t, &d) in &df {
                let s = self::score(d, df_max, weight(t));
                score.insert(t.clone(), s);
                white.insert(t.clone(), s >= p.tau);
            }
            let mut columns: Vec<String> = df
                .iter()
                .filter(|&(_, &d)| d >= p.min_df)
                .map(|(t, _)| t.clone())
                .collect();
            columns.sort_by(|a, b| {
                df[b].cmp(&df[a]).then_with(|| {
                    let ca: Vec<u32> = a.chars().map(|c| c as u32).collect();
                    let cb: Vec<u32> = b.chars().map(|c| c as u32).collect();
                    ca.cmp(&cb)
                })
            });
            if let Some(max) = p.max_columns {
                columns.truncate(max);
            }
            let column = columns
                .iter()
                .enumerate()
                .map(|(i, t)| (t.clone(), i as u32))
                .collect();
            let pentagrams: Vec<String> = pent_order
                .into_iter()
                .filter(|pent| pent_df[pent] >= p.pent_min_df)
                .collect();
            let mut pent_list: HashMap<String, Vec<usize>> = HashMap::new();
            for (i, pent) in pentagrams.iter().enumerate() {
                let chars: Vec<char> = pent.chars().collect();
                let mut listed: HashSet<String> = HashSet::new();
                for t in windows(&chars, 3) {
                    if listed.insert(t.clone()) {
                        pent_list.entry(t).or_default().push(i);
                    }
                }
            }
            Oracle {
                nfkc,
                n_docs: texts.len(),
                df,
                df_max,
                score,
                white,
                columns,
                column,
                pentagrams,
                pent_list,
            }
        }

        fn white_column(&self, t: &str) -> Option<u32> {
            if self.white.get(t).copied().unwrap_or(false) {
                self.column.get(t).copied()
            } else {
                None
            }
        }

        /// §3: (column → (value, origin)) of one text.
        pub fn features(&self, text: &str) -> BTreeMapRow {
            let chars = normalize(text, self.nfkc);
            let tris = windows(&chars, 3);
            let mut occurrences: HashMap<&str, u32> = HashMap::new();
            let mut distinct: Vec<&str> = Vec::new();
            for t in &tris {
                let n = occurrences.entry(t.as_str()).or_insert(0);
                if *n == 0 {
                    distinct.push(t.as_str());
                }
                *n += 1;
            }
            let mut set: BTreeMapRow = BTreeMapRow::new();
            // DIRECT.
            for &t in &distinct {
                if let Some(c) = self.white_column(t) {
                    set.insert(c, (1.0, Origin::Direct));
                }
            }
            // AGR.
            for &t in &distinct {
                let Some(list) = self.pent_list.get(t) else {
                    continue;
                };
                let mut best: Option<(usize, u32)> = None;
                for &p in list {
                    let chars: Vec<char> = self.pentagrams[p].chars().collect();
                    let total: u32 = windows(&chars, 3)
                        .iter()
                        .map(|u| occurrences.get(u.as_str()).copied().unwrap_or(0))
                        .sum();
                    if best.is_none() || total > best.unwrap().1 {
                        best = Some((p, total));
                    }
                }
                let (p, _) = best.expect("a listed trigram has a pentagram");
                let chars: Vec<char> = self.pentagrams[p].chars().collect();
                for u in windows(&chars, 3) {
                    if let Some(c) = self.white_column(&u) {
                        set.entry(c)
                            .or_insert((agr(self.score[&u]), Origin::Agr(p)));
                    }
                }
            }
            set
        }

        /// §3 as sorted (column, value bits).
        pub fn row(&self, text: &str) -> Vec<(u32, u32)> {
            self.features(text)
                .into_iter()
                .map(|(c, (v, _))| (c, v.to_bits()))
                .collect()
        }
    }

    pub type BTreeMapRow = std::collections::BTreeMap<u32, (f32, Origin)>;
}

use oracle::{Oracle, Origin};

// ---------------------------------------------------------------------------
// 2. Helpers
// ---------------------------------------------------------------------------

const NFKC: Normalization = Normalization::NfkcLowercase;

fn lex_params(
    tau: f64,
    min_df: u32,
    max_columns: Option<usize>,
    pent_min_df: u32,
) -> LexiconParams {
    LexiconParams {
        score: ScoreParams {
            tau,
            ..ScoreParams::default()
        },
        min_df,
        max_columns,
        pent_min_df,
    }
}

fn oracle_params(p: &LexiconParams) -> oracle::Params {
    oracle::Params {
        tau: p.score.tau,
        min_df: p.min_df,
        max_columns: p.max_columns,
        pent_min_df: p.pent_min_df,
    }
}

/// Statistics and lexicon of `texts`, counted in input order.
fn lexicon(texts: &[&str], norm: Normalization, params: LexiconParams) -> Lexicon {
    let mut counts = CorpusCounts::default();
    for t in texts {
        counts.add(&DocNgrams::of(&norm.apply(t)));
    }
    Lexicon::build(&counts, &params)
}

fn tri(s: &str) -> Trigram {
    let c: Vec<char> = s.chars().collect();
    assert_eq!(c.len(), 3, "{s:?} is not a trigram");
    Trigram::new([c[0], c[1], c[2]])
}

fn index(lex: &Lexicon, s: &str) -> u32 {
    lex.lookup(tri(s))
        .unwrap_or_else(|| panic!("{s:?} not in the statistics"))
}

/// Column of a trigram (panics when it has none).
fn col(lex: &Lexicon, s: &str) -> u32 {
    let c = lex.column[index(lex, s) as usize];
    assert_ne!(c, NO_COLUMN, "{s:?} has no column");
    c
}

fn pentagram_text(lex: &Lexicon, p: u32) -> String {
    let p = p as usize;
    Pentagram::from_halves([lex.pent_keys[2 * p], lex.pent_keys[2 * p + 1]]).to_text()
}

/// The library's row as sorted (column, value bits); also checks that
/// `extract` and `extract_pairs` agree and that no column is set twice.
fn lib_row(
    lex: &Lexicon,
    norm: Normalization,
    text: &str,
    s: &mut FeatureScratch,
) -> Vec<(u32, u32)> {
    let pairs = extract_pairs(lex, norm, text, s);
    let mut from_pairs: Vec<(u32, u32)> = pairs
        .iter()
        .map(|p| (p.column, p.value.to_bits()))
        .collect();
    from_pairs.sort_unstable();
    let distinct: HashSet<u32> = from_pairs.iter().map(|p| p.0).collect();
    assert_eq!(
        distinct.len(),
        from_pairs.len(),
        "a column set twice for {text:?}"
    );
    let row = extract(lex, norm, text, s);
    assert_eq!(
        row_bits(&row),
        from_pairs,
        "extract vs extract_pairs on {text:?}"
    );
    from_pairs
}

fn row_bits(row: &SparseRow) -> Vec<(u32, u32)> {
    assert!(
        row.cols.windows(2).all(|w| w[0] < w[1]),
        "columns not ascending"
    );
    row.cols
        .iter()
        .zip(&row.vals)
        .map(|(&c, &v)| (c, v.to_bits()))
        .collect()
}

/// Expected row from (trigram, value) pairs.
fn expect(lex: &Lexicon, pairs: &[(&str, f32)]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = pairs
        .iter()
        .map(|&(t, v)| (col(lex, t), v.to_bits()))
        .collect();
    out.sort_unstable();
    out
}

/// Lexicon and oracle, checked against each other on every text.
fn assert_rows_match(lex: &Lexicon, or: &Oracle, norm: Normalization, texts: &[&str], what: &str) {
    let mut scratch = FeatureScratch::default();
    for text in texts {
        let got = lib_row(lex, norm, text, &mut scratch);
        let want = or.row(text);
        assert_eq!(got, want, "{what}: features of {text:?}");
    }
}

/// Scores, statuses, vocabulary and pentagram lists, checked bit-exactly.
fn assert_lexicon_matches(lex: &Lexicon, or: &Oracle, what: &str) {
    assert_eq!(lex.n_docs as usize, or.n_docs, "{what}: N");
    assert_eq!(lex.df_max, or.df_max, "{what}: df_max");
    assert_eq!(lex.n_trigrams(), or.df.len(), "{what}: statistics size");
    for (t, &d) in &or.df {
        let i = index(lex, t) as usize;
        assert_eq!(lex.df[i], d, "{what}: df of {t:?}");
        assert_eq!(
            lex.score[i].to_bits(),
            or.score[t].to_bits(),
            "{what}: score of {t:?}: {} vs {}",
            lex.score[i],
            or.score[t]
        );
        assert_eq!(lex.white[i] == 1, or.white[t], "{what}: status of {t:?}");
        let want_col = or.column.get(t).copied().unwrap_or(NO_COLUMN);
        assert_eq!(lex.column[i], want_col, "{what}: column of {t:?}");
    }
    let cols: Vec<String> = lex
        .column_trigram
        .iter()
        .map(|&i| lex.trigram(i).to_text())
        .collect();
    assert_eq!(cols, or.columns, "{what}: vocabulary order");
    assert_eq!(
        lex.n_pentagrams(),
        or.pentagrams.len(),
        "{what}: known pentagrams"
    );
    for (p, text) in or.pentagrams.iter().enumerate() {
        assert_eq!(
            &pentagram_text(lex, p as u32),
            text,
            "{what}: pentagram {p}"
        );
    }
    for (t, list) in &or.pent_list {
        let got: Vec<usize> = lex
            .pentagrams_of(index(lex, t))
            .chunks_exact(3)
            .map(|e| e[0] as usize)
            .collect();
        assert_eq!(&got, list, "{what}: pentagram list of {t:?}");
    }
}

// Fixtures ------------------------------------------------------------------

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

static TRAIN: LazyLock<Vec<String>> =
    LazyLock::new(|| super::fixture_texts("fixtures/corpus/train.csv"));
static DEV: LazyLock<Vec<String>> =
    LazyLock::new(|| super::fixture_texts("fixtures/corpus/dev.csv"));
static MODEL: LazyLock<Model> = LazyLock::new(|| {
    scyth::model::load(&fixture("fixtures/model/tiny.scyth")).expect("load tiny.scyth")
});

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Texts used by the properties: fixtures plus edge cases.
static POOL: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut pool: Vec<String> = DEV.iter().chain(TRAIN.iter().take(60)).cloned().collect();
    for extra in [
        "",
        "a",
        "ab",
        "ＡＢＣ",
        "ｶﾀｶﾅ",
        "。。。。。",
        "日本日本日本日本",
    ] {
        pool.push(extra.to_string());
    }
    pool
});

/// Lexicons for the properties: two of the same size (same statistics,
/// different τ and cut) and a smaller one, so that a shared scratch moves
/// between lexicons of equal and different sizes.
static LEXICONS: LazyLock<Vec<Lexicon>> = LazyLock::new(|| {
    let train = strs(&TRAIN);
    let dev = strs(&DEV);
    vec![
        lexicon(&train, NFKC, lex_params(0.0, 2, None, 2)),
        lexicon(&train, NFKC, lex_params(10.3, 1, Some(300), 2)),
        lexicon(&dev, NFKC, lex_params(6.0, 1, None, 1)),
    ]
});

// ---------------------------------------------------------------------------
// 3. Hand-worked cases
// ---------------------------------------------------------------------------

#[test]
fn windows_count_n_minus_2_trigrams_and_n_minus_4_pentagrams() {
    for n in 0..8usize {
        let chars: Vec<char> = "a 1。日ｶ!x".chars().take(n).collect();
        assert_eq!(trigrams(&chars).count(), n.saturating_sub(2), "n = {n}");
        assert_eq!(pentagrams(&chars).count(), n.saturating_sub(4), "n = {n}");
    }
    // Spaces, digits and punctuation are characters like any other.
    let chars: Vec<char> = "a 1。b".chars().collect();
    let got: Vec<String> = trigrams(&chars).map(Trigram::to_text).collect();
    assert_eq!(got, ["a 1", " 1。", "1。b"]);
    let p = pentagrams(&chars).next().unwrap();
    let parts: Vec<String> = p.trigrams().iter().map(|t| t.to_text()).collect();
    assert_eq!(parts, ["a 1", " 1。", "1。b"], "offsets 0, 1, 2");
}

#[test]
fn char_weight_table_matches_spec_for_every_scalar() {
    for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
        assert_eq!(
            char_weight(c) as u32,
            oracle::char_weight(c),
            "{c:?} U+{:04X}",
            c as u32
        );
    }
    assert_eq!(trigram_weight(['日', '本', '語']), 18);
    assert_eq!(trigram_weight(['々', '\u{3400}', 'ａ']), 0);
}

#[test]
fn score_functions_match_spec_formula() {
    let p = ScoreParams::default();
    assert_eq!(p.alpha, 12.0);
    assert_eq!(p.beta.to_bits(), (1.0f64 / 3.0).to_bits());
    assert_eq!(p.gray_weight, 0.07);
    for df_max in 1..40u32 {
        for df in 1..=df_max {
            assert_eq!(
                nidf(df, df_max).to_bits(),
                oracle::nidf(df, df_max).to_bits()
            );
            for w in 0..=18u8 {
                let s = score(&p, df, df_max, w);
                assert_eq!(s.to_bits(), oracle::score(df, df_max, w as u32).to_bits());
                assert_eq!(agr_value(s, 0.07).to_bits(), oracle::agr(s).to_bits());
            }
        }
    }
}

#[test]
fn short_and_empty_texts_have_no_features_3_cases() {
    let lex = lexicon(
        &["abcde", "abcde", "ab", ""],
        NFKC,
        lex_params(0.0, 1, None, 1),
    );
    assert!(lex.n_columns() > 0);
    let mut s = FeatureScratch::default();
    for text in ["", "a", "ab", "ｶﾞ", "zzz"] {
        assert!(extract(&lex, NFKC, text, &mut s).is_empty(), "{text:?}");
        assert!(
            extract_pairs(&lex, NFKC, text, &mut s).is_empty(),
            "{text:?}"
        );
    }
    // And a known text still has them with the same scratch.
    assert_eq!(
        lib_row(&lex, NFKC, "abc", &mut s),
        expect(
            &lex,
            &[
                ("abc", 1.0),
                (
                    "bcd",
                    agr_value(lex.score[index(&lex, "bcd") as usize], 0.07)
                ),
                (
                    "cde",
                    agr_value(lex.score[index(&lex, "cde") as usize], 0.07)
                )
            ]
        )
    );
}

/// §3.4: a featureless text is not an error; zero embedding, logits = bias.
#[test]
fn featureless_text_gives_zero_embedding_and_bias_logits() {
    let model = &*MODEL;
    let bias = &model.bias;
    for precision in [Precision::Int8, Precision::F32] {
        for text in ["", "ab", "\u{E000}\u{E000}\u{E000}\u{E000}"] {
            let pred = model.predict_text(text, precision, &mut PredictScratch::default());
            assert_eq!(pred.n_features, 0, "{text:?}");
            assert!(
                pred.embedding().iter().all(|&x| x == 0.0),
                "{text:?} {precision:?}"
            );
            let want: Vec<u32> = bias
                .iter()
                .map(|&b| scyth::network::sigmoid(b).to_bits())
                .collect();
            let got: Vec<u32> = pred.probabilities.iter().map(|p| p.to_bits()).collect();
            assert_eq!(
                got, want,
                "{text:?} {precision:?}: probabilities = sigmoid(bias)"
            );
        }
    }
}

/// Corpus where "abc" is in two known pentagrams, "abcde" (first) and
/// "xabcd" (second), or the other way round.
#[test]
fn pentagram_tie_goes_to_earliest_in_list_2_orders() {
    let lex = lexicon(
        &["abcde", "abcde", "xabcd", "xabcd"],
        NFKC,
        lex_params(0.0, 2, None, 2),
    );
    let list: Vec<String> = lex
        .pentagrams_of(index(&lex, "abc"))
        .chunks_exact(3)
        .map(|e| pentagram_text(&lex, e[0]))
        .collect();
    assert_eq!(list, ["abcde", "xabcd"], "list in first-appearance order");
    let sc = |t: &str| lex.score[index(&lex, t) as usize];
    // df_max = 4: abc, bcd df 4 (nidf 0), cde, xab df 2 (nidf 1/2).
    assert_eq!(sc("bcd"), 1.0);
    assert_eq!(
        sc("cde").to_bits(),
        (12.0 * ((4f64.ln() - 2f64.ln()) / 4f64.ln()) + 3.0 * (1.0 / 3.0)).to_bits()
    );
    let mut s = FeatureScratch::default();
    // "abc": abcde scores 1 + 0 + 0, xabcd 0 + 1 + 0 → tie → abcde.
    assert_eq!(
        lib_row(&lex, NFKC, "abc", &mut s),
        expect(
            &lex,
            &[
                ("abc", 1.0),
                ("bcd", oracle::agr(sc("bcd"))),
                ("cde", oracle::agr(sc("cde")))
            ]
        )
    );
    // "xabc": xabcd scores 1 + 1 + 0 = 2 > 1 → xabcd (no cde).
    assert_eq!(
        lib_row(&lex, NFKC, "xabc", &mut s),
        expect(
            &lex,
            &[("xab", 1.0), ("abc", 1.0), ("bcd", oracle::agr(sc("bcd")))]
        )
    );

    let rev = lexicon(
        &["xabcd", "xabcd", "abcde", "abcde"],
        NFKC,
        lex_params(0.0, 2, None, 2),
    );
    let sc = |t: &str| rev.score[index(&rev, t) as usize];
    assert_eq!(
        lib_row(&rev, NFKC, "abc", &mut s),
        expect(
            &rev,
            &[
                ("abc", 1.0),
                ("xab", oracle::agr(sc("xab"))),
                ("bcd", oracle::agr(sc("bcd")))
            ]
        ),
        "with xabcd first, the tie goes to xabcd"
    );
}

#[test]
fn direct_value_is_never_overwritten_by_agr() {
    let lex = lexicon(
        &["abcde", "abcde", "xabcd", "xabcd"],
        NFKC,
        lex_params(0.0, 2, None, 2),
    );
    let cde = oracle::agr(lex.score[index(&lex, "cde") as usize]);
    let mut s = FeatureScratch::default();
    // abc: abcde 1+1+0 = 2 ties xabcd 0+1+1 → abcde, whose abc and bcd are DIRECT.
    assert_eq!(
        lib_row(&lex, NFKC, "abcd", &mut s),
        expect(&lex, &[("abc", 1.0), ("bcd", 1.0), ("cde", cde)])
    );
    let pairs = extract_pairs(&lex, NFKC, "abcd", &mut s);
    let bcd: Vec<_> = pairs
        .iter()
        .filter(|p| p.column == col(&lex, "bcd"))
        .collect();
    assert_eq!(bcd.len(), 1);
    assert_eq!(bcd[0].kind, FeatureKind::Direct);
    assert_eq!(bcd[0].value, 1.0);
}

#[test]
fn earlier_agr_value_is_never_overwritten_by_later_agr_2_orders() {
    // rst is in both pentagrams; pqr's best is pqrst (#0), xyr's is xyrst (#1).
    let lex = lexicon(
        &["pqrst", "pqrst", "xyrst", "xyrst"],
        NFKC,
        lex_params(0.0, 2, None, 2),
    );
    assert_eq!(pentagram_text(&lex, 0), "pqrst");
    assert_eq!(pentagram_text(&lex, 1), "xyrst");
    let v = |t: &str| oracle::agr(lex.score[index(&lex, t) as usize]);
    let mut s = FeatureScratch::default();
    for (text, first) in [("pqr xyr", 0u32), ("xyr pqr", 1u32)] {
        assert_eq!(
            lib_row(&lex, NFKC, text, &mut s),
            expect(
                &lex,
                &[
                    ("pqr", 1.0),
                    ("xyr", 1.0),
                    ("qrs", v("qrs")),
                    ("yrs", v("yrs")),
                    ("rst", v("rst"))
                ]
            ),
            "{text:?}"
        );
        let pairs = extract_pairs(&lex, NFKC, text, &mut s);
        let rst: Vec<_> = pairs
            .iter()
            .filter(|p| p.column == col(&lex, "rst"))
            .collect();
        assert_eq!(rst.len(), 1, "{text:?}");
        assert_eq!(
            rst[0].kind,
            FeatureKind::Agr { pentagram: first },
            "{text:?}: set by the first trigram's pentagram"
        );
        let or = Oracle::build(
            &["pqrst", "pqrst", "xyrst", "xyrst"],
            true,
            oracle_params(&lex.params),
        );
        assert_eq!(
            or.features(text)[&col(&lex, "rst")].1,
            Origin::Agr(first as usize)
        );
    }
}

#[test]
fn agr_adds_only_white_trigrams_tau_4() {
    // df_max = 2 and every df = 2: nidf = 0, score = weight / 3:
    // 日本a 13/3 (white at τ = 4), 本ab 8/3 and abc 1 (gray).
    let corpus = ["日本abc", "日本abc"];
    let lex = lexicon(&corpus, NFKC, lex_params(4.0, 2, None, 2));
    let w = |t: &str| lex.white[index(&lex, t) as usize];
    assert_eq!((w("日本a"), w("本ab"), w("abc")), (1, 0, 0));
    let s13 = 13.0 * (1.0 / 3.0);
    assert_eq!(lex.score[index(&lex, "日本a") as usize], s13);
    let mut s = FeatureScratch::default();
    // A gray text trigram still expands; only the white member is added.
    for text in ["abc", "本ab", "本abc"] {
        assert_eq!(
            lib_row(&lex, NFKC, text, &mut s),
            expect(&lex, &[("日本a", oracle::agr(s13))]),
            "{text:?}"
        );
    }
    assert_eq!(
        lib_row(&lex, NFKC, "日本a", &mut s),
        expect(&lex, &[("日本a", 1.0)])
    );
    // τ = 0: everything white.
    let all = lexicon(&corpus, NFKC, lex_params(0.0, 2, None, 2));
    assert_eq!(
        lib_row(&all, NFKC, "abc", &mut s),
        expect(
            &all,
            &[
                ("abc", 1.0),
                ("日本a", oracle::agr(s13)),
                ("本ab", oracle::agr(8.0 * (1.0 / 3.0)))
            ]
        )
    );
}

#[test]
fn agr_value_clamps_score_over_18_to_gray_weight() {
    // 日本語学校 once (df 1 → nidf 1), xxx twice (df_max 2).
    let corpus = ["日本語学校", "xxx", "xxx"];
    let at18 = lexicon(&corpus, NFKC, lex_params(0.0, 1, None, 1));
    assert_eq!(at18.score[index(&at18, "本語学") as usize], 18.0);
    let mut s = FeatureScratch::default();
    let cap = 0.07f64 as f32;
    let want = expect(&at18, &[("日本語", 1.0), ("本語学", cap), ("語学校", cap)]);
    assert_eq!(lib_row(&at18, NFKC, "日本語", &mut s), want);

    // α = 24: scores reach 30, clamped to 18/18.
    let mut p = lex_params(0.0, 1, None, 1);
    p.score.alpha = 24.0;
    let at30 = lexicon(&corpus, NFKC, p);
    assert_eq!(at30.score[index(&at30, "本語学") as usize], 30.0);
    assert_ne!(
        ((30.0f64 / 18.0) * 0.07) as f32,
        cap,
        "clamping is observable"
    );
    let want = expect(&at30, &[("日本語", 1.0), ("本語学", cap), ("語学校", cap)]);
    assert_eq!(lib_row(&at30, NFKC, "日本語", &mut s), want);
}

#[test]
fn repeated_trigram_counts_at_every_position_ababa() {
    // "aba" is in ababz (#0: aba, bab, abz) and ababa (#1: aba, bab, aba).
    // In "ababa" (aba ×2, bab ×1): ababz = 2+1+0 = 3, ababa = 2+1+2 = 5 →
    // ababa, which adds nothing. Counting "aba" once would tie (3 vs 3) and
    // pick ababz, adding abz.
    let lex = lexicon(
        &["ababz", "ababz", "ababa", "ababa"],
        NFKC,
        lex_params(0.0, 2, None, 2),
    );
    let list: Vec<String> = lex
        .pentagrams_of(index(&lex, "aba"))
        .chunks_exact(3)
        .map(|e| pentagram_text(&lex, e[0]))
        .collect();
    assert_eq!(list, ["ababz", "ababa"], "ababa listed once for aba");
    let mut s = FeatureScratch::default();
    assert_eq!(
        lib_row(&lex, NFKC, "ababa", &mut s),
        expect(&lex, &[("aba", 1.0), ("bab", 1.0)])
    );
    assert_eq!(
        lib_row(&lex, NFKC, "abab", &mut s),
        expect(&lex, &[("aba", 1.0), ("bab", 1.0)])
    );
    // Control: "abz" text picks ababz and adds aba, bab.
    let v = |t: &str| oracle::agr(lex.score[index(&lex, t) as usize]);
    assert_eq!(
        lib_row(&lex, NFKC, "abz", &mut s),
        expect(&lex, &[("abz", 1.0), ("aba", v("aba")), ("bab", v("bab"))])
    );
}

#[test]
fn vocabulary_order_df_desc_then_code_points_and_max_columns_cut() {
    let pua = "\u{E000}\u{E000}\u{E000}";
    let emoji = "😀😀😀"; // U+1F600: after U+E000 in code points, before it in UTF-16.
    let corpus = [
        "bbb",
        "zzz",
        emoji,
        "aca",
        "日本語",
        "aaa",
        "zzz",
        pua,
        "abz",
        "ccc",
        "bbb",
        "aca",
        "zzz",
        emoji,
        "abz",
        "日本語",
        pua,
        "aaa",
    ];
    let order = |lex: &Lexicon| -> Vec<String> {
        lex.column_trigram
            .iter()
            .map(|&i| lex.trigram(i).to_text())
            .collect()
    };
    let df2 = ["aaa", "abz", "aca", "bbb", "日本語", pua, emoji];
    let full = lexicon(&corpus, NFKC, lex_params(0.0, 2, None, 2));
    let mut want: Vec<&str> = vec!["zzz"];
    want.extend(df2);
    assert_eq!(order(&full), want);
    for (c, t) in want.iter().enumerate() {
        assert_eq!(col(&full, t), c as u32);
    }
    assert_eq!(
        full.column[index(&full, "ccc") as usize],
        NO_COLUMN,
        "df 1 < min_df 2"
    );

    let min1 = lexicon(&corpus, NFKC, lex_params(0.0, 1, None, 2));
    want.push("ccc");
    assert_eq!(order(&min1), want);

    for max in [0usize, 1, 3, 8, 100] {
        let cut = lexicon(&corpus, NFKC, lex_params(0.0, 1, Some(max), 2));
        let kept = max.min(want.len());
        assert_eq!(order(&cut), want[..kept], "max_columns {max}");
        assert_eq!(cut.n_columns(), kept);
        for t in &want[kept..] {
            assert_eq!(
                cut.column[index(&cut, t) as usize],
                NO_COLUMN,
                "{t:?} cut at {max}"
            );
        }
        // Pruning the vocabulary never changes a score or a status.
        assert_eq!(&*cut.score, &*min1.score);
        assert_eq!(&*cut.white, &*min1.white);
        assert_eq!(cut.n_trigrams(), min1.n_trigrams());
    }
    let or = Oracle::build(
        &corpus,
        true,
        oracle_params(&lex_params(0.0, 2, Some(3), 2)),
    );
    assert_eq!(or.columns, ["zzz", "aaa", "abz"]);
}

#[test]
fn status_tie_score_equal_tau_is_white_df_max_1() {
    // df_max = 1: nidf = 0 and score = weight · (1/3); 日本語 → 18 · (1/3) = 6.0.
    let corpus = ["日本語", "日本あ"];
    assert_eq!(18.0 * (1.0f64 / 3.0), 6.0);
    let lex = lexicon(&corpus, NFKC, lex_params(6.0, 1, None, 2));
    assert_eq!(lex.df_max, 1);
    assert_eq!(lex.score[index(&lex, "日本語") as usize], 6.0);
    assert_eq!(
        lex.white[index(&lex, "日本語") as usize],
        1,
        "score == τ is white"
    );
    assert_eq!(lex.white[index(&lex, "日本あ") as usize], 0);
    let mut s = FeatureScratch::default();
    assert_eq!(
        lib_row(&lex, NFKC, "日本語日本あ", &mut s),
        expect(&lex, &[("日本語", 1.0)])
    );
    // Just above τ: gray, no features.
    let above = lexicon(&corpus, NFKC, lex_params(6.0f64.next_up(), 1, None, 2));
    assert_eq!(above.white[index(&above, "日本語") as usize], 0);
    assert!(lib_row(&above, NFKC, "日本語日本あ", &mut s).is_empty());
}

#[test]
fn beta_multiplies_by_one_third_not_divides_weight_14() {
    // 14 · (1/3) = 4.666666666666666 < 14 / 3 = 4.666666666666667.
    let mul = 14.0 * (1.0f64 / 3.0);
    let div = 14.0 / 3.0;
    assert!(mul < div);
    let corpus = ["日本語", "日本あ"];
    let at_div = lexicon(&corpus, NFKC, lex_params(div, 1, None, 2));
    let i = index(&at_div, "日本あ") as usize;
    assert_eq!(at_div.score[i].to_bits(), mul.to_bits());
    assert_eq!(at_div.white[i], 0, "τ = 14/3 leaves 日本あ gray");
    let at_mul = lexicon(&corpus, NFKC, lex_params(mul, 1, None, 2));
    assert_eq!(at_mul.white[i], 1);
}

// ---------------------------------------------------------------------------
// 4. Oracle equality on the fixtures
// ---------------------------------------------------------------------------

fn fixture_param_grid() -> Vec<LexiconParams> {
    let mut grid = Vec::new();
    for tau in [0.0, 6.0, 10.3] {
        for min_df in [1, 2] {
            for max_columns in [None, Some(300)] {
                grid.push(lex_params(tau, min_df, max_columns, 2));
            }
        }
    }
    grid
}

#[test]
fn fixture_corpus_features_equal_oracle_12_param_sets_dev_and_train_texts() {
    let train = strs(&TRAIN);
    let dev = strs(&DEV);
    assert!(train.len() > 300 && dev.len() > 80);
    let texts: Vec<&str> = dev.iter().chain(train.iter().take(40)).copied().collect();
    for params in fixture_param_grid() {
        let what = format!("{params:?}");
        let lex = lexicon(&train, NFKC, params);
        let or = Oracle::build(&train, true, oracle_params(&params));
        assert_rows_match(&lex, &or, NFKC, &texts, &what);
        // Non-trivial: some AGR values, some DIRECT values.
        let mut s = FeatureScratch::default();
        let kinds: Vec<FeatureKind> = dev
            .iter()
            .flat_map(|t| extract_pairs(&lex, NFKC, t, &mut s))
            .map(|p| p.kind)
            .collect();
        assert!(kinds.contains(&FeatureKind::Direct), "{what}");
        assert!(
            kinds.iter().any(|k| matches!(k, FeatureKind::Agr { .. })),
            "{what}"
        );
    }
}

#[test]
fn fixture_scores_statuses_vocabulary_pentagrams_equal_oracle_12_param_sets() {
    let train = strs(&TRAIN);
    for params in fixture_param_grid() {
        let lex = lexicon(&train, NFKC, params);
        let or = Oracle::build(&train, true, oracle_params(&params));
        assert_lexicon_matches(&lex, &or, &format!("{params:?}"));
    }
    // The trainer's (parallel) statistics are the same.
    let opts = scyth::train::TrainOptions {
        lexicon: lex_params(6.0, 2, Some(300), 2),
        ..Default::default()
    };
    let lex = scyth::train::build_lexicon(&train, &opts);
    let or = Oracle::build(&train, true, oracle_params(&opts.lexicon));
    assert_lexicon_matches(&lex, &or, "train::build_lexicon");
}

#[test]
fn fixture_model_features_equal_oracle_on_dev_texts() {
    let model = &*MODEL;
    assert_eq!(model.meta.normalization, NFKC);
    let lex = &model.lexicon;
    let train = strs(&TRAIN);
    let or = Oracle::build(&train, true, oracle_params(&model.meta.lexicon));
    assert_eq!(
        lex.n_docs as usize,
        train.len(),
        "tiny.scyth is trained on train.csv"
    );
    assert_lexicon_matches(lex, &or, "tiny.scyth");
    let mut s = FeatureScratch::default();
    for text in strs(&DEV) {
        assert_eq!(
            row_bits(&model.features(text, &mut s)),
            or.row(text),
            "{text:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// 5. Normalization (§1.1)
// ---------------------------------------------------------------------------

/// ASCII '!'..='~' to full width (U+FF01..).
fn full_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
            c => c,
        })
        .collect()
}

#[test]
fn nfkc_lowercase_folds_full_width_and_half_width_katakana_before_trigrams() {
    let chars = NFKC.apply("ＡＢＣ");
    assert_eq!(chars, ['a', 'b', 'c']);
    assert_eq!(trigrams(&chars).collect::<Vec<_>>(), [tri("abc")]);
    let chars = NFKC.apply("ｶﾀｶﾅ");
    assert_eq!(chars.iter().collect::<String>(), "カタカナ");
    let got: Vec<String> = trigrams(&chars).map(Trigram::to_text).collect();
    assert_eq!(got, ["カタカ", "タカナ"]);

    let corpus = ["abcカタカナ", "abcカタカナ"];
    let lex = lexicon(&corpus, NFKC, lex_params(0.0, 2, None, 2));
    let mut s = FeatureScratch::default();
    let plain = lib_row(&lex, NFKC, "abcカタカナ", &mut s);
    assert_eq!(plain.len(), 5);
    assert_eq!(lib_row(&lex, NFKC, "ＡＢＣｶﾀｶﾅ", &mut s), plain);
    assert_eq!(lib_row(&lex, NFKC, "AbCｶﾀｶﾅ", &mut s), plain);
}

#[test]
fn lowercase_only_keeps_full_width() {
    let lower = Normalization::Lowercase;
    assert_eq!(lower.apply("ＡＢＣ").iter().collect::<String>(), "ａｂｃ");
    assert_eq!(lower.apply("ｶﾀｶﾅ").iter().collect::<String>(), "ｶﾀｶﾅ");
    let lex = lexicon(
        &["abcカタカナ", "abcカタカナ"],
        lower,
        lex_params(0.0, 2, None, 2),
    );
    let mut s = FeatureScratch::default();
    assert!(lib_row(&lex, lower, "ＡＢＣ", &mut s).is_empty());
    assert!(lib_row(&lex, lower, "ｶﾀｶﾅ", &mut s).is_empty());
    assert_eq!(
        lib_row(&lex, lower, "ABC", &mut s),
        lib_row(&lex, lower, "abc", &mut s)
    );
    assert!(!lib_row(&lex, lower, "ABC", &mut s).is_empty());
    // The oracle without NFKC agrees.
    let or = Oracle::build(
        &["abcカタカナ", "abcカタカナ"],
        false,
        oracle_params(&lex.params),
    );
    assert_rows_match(
        &lex,
        &or,
        lower,
        &["ＡＢＣ", "ABCカタカナ", "ｶﾀｶﾅ"],
        "lowercase",
    );
}

#[test]
fn model_applies_its_normalization_full_width_dev_texts() {
    let model = &*MODEL;
    let mut s = FeatureScratch::default();
    let mut changed = 0;
    for text in strs(&DEV) {
        let wide = full_width(text);
        if wide != text {
            changed += 1;
        }
        let a = model.features(text, &mut s);
        let b = model.features(&wide, &mut s);
        assert_eq!(a, b, "{text:?}");
        let pa = model.predict_text(text, Precision::Int8, &mut PredictScratch::default());
        let pb = model.predict_text(&wide, Precision::Int8, &mut PredictScratch::default());
        assert_eq!(pa, pb, "{text:?}");
    }
    assert!(changed > 10, "the dev texts carry ASCII to widen");
}

// ---------------------------------------------------------------------------
// 6. Properties
// ---------------------------------------------------------------------------

const ALPHABET: &[char] = &[
    'あ', 'い', 'う', 'ア', 'イ', '日', '本', 'a', 'b', '1', ' ', '。', 'Ａ', 'ｶ',
];

fn short_string() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..14).prop_map(String::from_iter)
}

fn fresh_rows(lex: &Lexicon, texts: &[&str]) -> Vec<SparseRow> {
    texts
        .iter()
        .map(|t| extract(lex, NFKC, t, &mut FeatureScratch::default()))
        .collect()
}

/// The same lexicon seen without its scan lists: extraction then scans the
/// `pentagram_lists` triples with byte counts by trigram (the stream's
/// path), where the model's lexicon scans its 8-byte scan lists with byte
/// counts by scan key.
struct TriplesOnly<'a>(&'a Lexicon);

impl FeatureSource for TriplesOnly<'_> {
    fn n_trigrams(&self) -> usize {
        self.0.n_trigrams()
    }
    fn lookup_many(&self, keys: &[u64], out: &mut Vec<u32>) {
        self.0.lookup_many(keys, out)
    }
    fn column(&self, t: u32) -> u32 {
        FeatureSource::column(self.0, t)
    }
    fn is_white(&self, t: u32) -> bool {
        FeatureSource::is_white(self.0, t)
    }
    fn agr_value(&self, t: u32) -> f32 {
        FeatureSource::agr_value(self.0, t)
    }
    fn pentagram_lists(&self, t: u32) -> (&[u32], &[u32]) {
        FeatureSource::pentagram_lists(self.0, t)
    }
    fn pentagram_trigrams(&self, p: u32) -> [u32; 3] {
        FeatureSource::pentagram_trigrams(self.0, p)
    }
}

/// Pairs as sorted (column, value bits, provenance).
fn pair_bits(pairs: &[FeaturePair]) -> Vec<(u32, u32, String)> {
    let mut v: Vec<_> = pairs
        .iter()
        .map(|p| (p.column, p.value.to_bits(), format!("{:?}", p.kind)))
        .collect();
    v.sort_unstable();
    v
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Scanning a model lexicon's scan lists (scan keys, byte counts by
    /// key) and scanning its triples (byte counts by trigram, or exact
    /// counts once a trigram occurs more than 255 times) pick the same
    /// best pentagrams: same pairs, same provenance, same profile, through
    /// one shared scratch moving between both layouts and lexicons.
    #[test]
    fn prop_scan_lists_equal_triple_lists_64_cases(
        steps in prop::collection::vec((0..3usize, 0..1000usize, 0..3usize), 1..24)
    ) {
        let pool = &*POOL;
        let lexicons = &*LEXICONS;
        let mut shared = FeatureScratch::default();
        for (l, t, repeat) in steps {
            // Repeat 2 makes some trigram occur over 255 times.
            let text = pool[t % pool.len()].repeat([1, 3, 300][repeat]);
            let lex = &lexicons[l];
            let keyed = extract_pairs(lex, NFKC, &text, &mut shared);
            let keyed_profile: Vec<_> = shared.profile().collect();
            let triples = extract_pairs(&TriplesOnly(lex), NFKC, &text, &mut shared);
            prop_assert_eq!(pair_bits(&keyed), pair_bits(&triples), "lexicon {} text {}", l, t);
            // The profile (counts, best extras and pentagrams) too, whether
            // the text was counted by scan key or by trigram.
            let triples_profile: Vec<_> = shared.profile().collect();
            prop_assert_eq!(keyed_profile, triples_profile, "lexicon {} text {}", l, t);
        }
    }


    /// A text's features do not depend on what the same scratch extracted
    /// before it, nor on which lexicon (of equal or different size) it served.
    #[test]
    fn prop_features_independent_of_batch_composition_64_cases(
        steps in prop::collection::vec((0..3usize, 0..1000usize), 1..24)
    ) {
        let pool = &*POOL;
        let lexicons = &*LEXICONS;
        let mut shared = FeatureScratch::default();
        for (l, t) in steps {
            let text = pool[t % pool.len()].as_str();
            let lex = &lexicons[l];
            let got = extract(lex, NFKC, text, &mut shared);
            let want = extract(lex, NFKC, text, &mut FeatureScratch::default());
            prop_assert_eq!(got, want, "lexicon {} text {:?}", l, text);
        }
    }

    /// Chunks extracted on 1–3 threads, each with its own scratch, give the
    /// sequential rows.
    #[test]
    fn prop_parallel_extraction_equals_sequential_1_to_3_threads_64_cases(
        picks in prop::collection::vec(0..1000usize, 0..40),
        threads in 1..=3usize,
        l in 0..3usize,
    ) {
        let pool = &*POOL;
        let lex = &LEXICONS[l];
        let texts: Vec<&str> = picks.iter().map(|&i| pool[i % pool.len()].as_str()).collect();
        let mut s = FeatureScratch::default();
        let sequential: Vec<SparseRow> = texts.iter().map(|t| extract(lex, NFKC, t, &mut s)).collect();
        let chunk = texts.len().div_ceil(threads).max(1);
        let parallel: Vec<SparseRow> = std::thread::scope(|scope| {
            let handles: Vec<_> = texts
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        let mut s = FeatureScratch::default();
                        part.iter().map(|t| extract(lex, NFKC, t, &mut s)).collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        prop_assert_eq!(&parallel, &sequential);
        prop_assert_eq!(&sequential, &fresh_rows(lex, &texts));
    }

    /// Random short strings over a small alphabet (many repeats and ties):
    /// lexicon from 30 strings, 30 more extracted; library == oracle.
    #[test]
    fn prop_random_short_strings_equal_oracle_30_plus_30_64_cases(
        corpus in prop::collection::vec(short_string(), 30),
        queries in prop::collection::vec(short_string(), 30),
        tau in prop::sample::select(vec![0.0, 2.0, 3.0, 4.0, 6.0, 10.3]),
        min_df in 1..=2u32,
        pent_min_df in 1..=2u32,
        max_columns in prop::option::of(0..24usize),
    ) {
        let params = lex_params(tau, min_df, max_columns, pent_min_df);
        let corpus: Vec<&str> = corpus.iter().map(String::as_str).collect();
        let lex = lexicon(&corpus, NFKC, params);
        let or = Oracle::build(&corpus, true, oracle_params(&params));
        assert_lexicon_matches(&lex, &or, "random corpus");
        let mut s = FeatureScratch::default();
        for text in queries.iter().map(String::as_str).chain(corpus.iter().copied()) {
            prop_assert_eq!(lib_row(&lex, NFKC, text, &mut s), or.row(text), "text {:?}", text);
        }
    }
}

/// The oracle's provenance agrees with the library's on the fixtures.
#[test]
fn fixture_agr_provenance_equals_oracle_tau_6() {
    let train = strs(&TRAIN);
    let params = lex_params(6.0, 2, None, 2);
    let lex = lexicon(&train, NFKC, params);
    let or = Oracle::build(&train, true, oracle_params(&params));
    let mut s = FeatureScratch::default();
    for text in strs(&DEV) {
        let got: BTreeMap<u32, Origin> = extract_pairs(&lex, NFKC, text, &mut s)
            .into_iter()
            .map(|p| {
                let origin = match p.kind {
                    FeatureKind::Direct => Origin::Direct,
                    FeatureKind::Agr { pentagram } => Origin::Agr(pentagram as usize),
                };
                (p.column, origin)
            })
            .collect();
        let want: BTreeMap<u32, Origin> = or
            .features(text)
            .into_iter()
            .map(|(c, (_, o))| (c, o))
            .collect();
        assert_eq!(got, want, "{text:?}");
    }
}

//! Emerging words: words whose document frequency in a recent window of
//! time buckets is significantly above their long-run rate.
//!
//! For a word with df `a` among the `n1` documents of the window and df `b`
//! among the `n2` documents of every earlier bucket (the reference), the
//! 2×2 table
//!
//! ```text
//!              has word   lacks it
//! window          a        n1 − a
//! reference       b        n2 − b
//! ```
//!
//! is scored with Dunning's log-likelihood ratio
//! `G² = 2 Σ O ln(O / E)` (E: the counts expected if both rows shared one
//! rate), computed as `2 (Σ k ln k − Σ rows r ln r − Σ columns c ln c +
//! N ln N)` with `0 ln 0 = 0`. G² is asymptotically χ² with one degree of
//! freedom: 3.84 is p = 0.05, 10.83 is p = 0.001. Only words with
//! `a ≥ min_count` whose window rate `a/n1` exceeds the reference rate
//! `b/n2` are reported, by decreasing G².

use serde::Serialize;

use super::counts::{WordDf, WordStats};

/// Parameters of [`emerging`].
#[derive(Debug, Clone, PartialEq)]
pub struct EmergingParams {
    /// Number of buckets (present in the data) in the window.
    pub window: usize,
    /// The window's last bucket (default: the latest bucket).
    pub at: Option<String>,
    /// Minimum df in the window.
    pub min_count: u64,
    /// Number of words to report.
    pub top: usize,
}

impl Default for EmergingParams {
    fn default() -> Self {
        EmergingParams {
            window: 1,
            at: None,
            min_count: 3,
            top: 20,
        }
    }
}

/// One emerging word.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmergingWord {
    /// The word.
    pub word: String,
    /// Documents of the window containing it (`a`).
    pub count: u64,
    /// Documents of the reference containing it (`b`).
    pub reference_count: u64,
    /// `a / n1`.
    pub rate: f64,
    /// `b / n2`.
    pub reference_rate: f64,
    /// Dunning's G² (see the module documentation).
    pub g2: f64,
    /// The first bucket (up to the window's end) in which the word occurs.
    pub first_seen: String,
    /// Whether the word first occurs within the window.
    pub new: bool,
}

/// The emerging words of one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Emerging {
    /// The window's buckets, oldest first.
    pub window: Vec<String>,
    /// Documents in the window (`n1`).
    pub window_docs: u64,
    /// Documents in the reference buckets before the window (`n2`).
    pub reference_docs: u64,
    /// The top words by decreasing G².
    pub words: Vec<EmergingWord>,
}

/// `x ln x`, with `0 ln 0 = 0`.
fn xlnx(x: f64) -> f64 {
    if x > 0.0 { x * x.ln() } else { 0.0 }
}

/// Dunning's G² for `a` of `n1` documents against `b` of `n2` documents.
pub fn g2(a: u64, n1: u64, b: u64, n2: u64) -> f64 {
    let (a, n1, b, n2) = (a as f64, n1 as f64, b as f64, n2 as f64);
    let n = n1 + n2;
    let cells = xlnx(a) + xlnx(n1 - a) + xlnx(b) + xlnx(n2 - b);
    let rows = xlnx(n1) + xlnx(n2);
    let cols = xlnx(a + b) + xlnx(n - a - b);
    (2.0 * (cells - rows - cols + xlnx(n))).max(0.0)
}

/// The emerging words of the window of `params.window` buckets ending at
/// `params.at` against all earlier buckets. Fails when `at` names no bucket
/// of the data; `None` when there are no time buckets at all.
pub fn emerging(stats: &WordStats, params: &EmergingParams) -> Result<Option<Emerging>, String> {
    let keys: Vec<&String> = stats.by_bucket.keys().collect();
    let Some(last) = keys.last() else {
        return Ok(None);
    };
    let end_key = params.at.as_deref().unwrap_or(last);
    let Some(end) = keys.iter().position(|k| k.as_str() == end_key) else {
        return Err(format!(
            "no documents in bucket {end_key:?} (the data spans {} to {last})",
            keys[0]
        ));
    };
    let start = (end + 1).saturating_sub(params.window.max(1));
    let sum = |range: &[&String]| {
        let mut d = WordDf::default();
        for k in range {
            d.add(&stats.by_bucket[k.as_str()]);
        }
        d
    };
    let window = sum(&keys[start..=end]);
    let reference = sum(&keys[..start]);
    let (n1, n2) = (window.docs, reference.docs);
    let mut words: Vec<EmergingWord> = window
        .df
        .iter()
        .filter(|&(_, &a)| a >= params.min_count)
        .filter_map(|(w, &a)| {
            let b = reference.get(w);
            // a/n1 > b/n2, in integers.
            (u128::from(a) * u128::from(n2) > u128::from(b) * u128::from(n1)).then(|| {
                EmergingWord {
                    word: w.clone(),
                    count: a,
                    reference_count: b,
                    rate: a as f64 / n1 as f64,
                    reference_rate: if n2 > 0 { b as f64 / n2 as f64 } else { 0.0 },
                    g2: g2(a, n1, b, n2),
                    first_seen: String::new(),
                    new: b == 0,
                }
            })
        })
        .collect();
    words.sort_by(|x, y| y.g2.total_cmp(&x.g2).then_with(|| x.word.cmp(&y.word)));
    words.truncate(params.top);
    for w in &mut words {
        w.first_seen = keys[..=end]
            .iter()
            .find(|k| stats.by_bucket[k.as_str()].df.contains_key(&w.word))
            .map(|k| k.to_string())
            .unwrap_or_default();
    }
    Ok(Some(Emerging {
        window: keys[start..=end].iter().map(|k| k.to_string()).collect(),
        window_docs: n1,
        reference_docs: n2,
        words,
    }))
}

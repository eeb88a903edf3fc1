//! Evaluation metrics: single-label accuracy and precision@k from the score
//! ranking, multi-label precision/recall/F1 from the decided label sets, and
//! the choice of decision thresholds on a validation set.
//!
//! Everything here is a pure function of label ids and scores, so the same
//! code serves `train` (validation reports, threshold choice) and `eval`.

use std::fmt::Write as _;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// How many (gold → predicted) confusions a [`Report`] lists.
const MAX_CONFUSIONS: usize = 10;

/// Minimum gold positives in the validation set for a category to get its
/// own threshold rather than the global one.
const MIN_POSITIVES_FOR_OWN_THRESHOLD: u64 = 5;

/// Scores of one category, to see which topics the model handles badly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryScore {
    /// The category's name.
    pub label: String,
    /// Documents whose gold set contains the category.
    pub support: u64,
    /// Documents whose decided set contains the category.
    pub predicted: u64,
    /// Documents where the category is both gold and decided.
    pub true_positives: u64,
    /// `true_positives / predicted` (0 when nothing was predicted).
    pub precision: f64,
    /// `true_positives / support` (0 when there is no support).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
}

/// A frequent single-label mistake: documents of `gold` whose top-1 category
/// was `predicted`, to show which topics get mixed up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// The gold category's name.
    pub gold: String,
    /// The top-1 predicted category's name.
    pub predicted: String,
    /// How many documents made this mistake.
    pub count: u64,
}

/// The evaluation of one set of predictions against gold label sets, as
/// printed by `to_text` or serialized to JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Number of documents evaluated.
    pub n: usize,
    /// Fraction of documents with a non-empty gold set whose top-1 category
    /// (argmax of scores, ties to the lower id) is in the gold set.
    pub accuracy: f64,
    /// Number of documents with a non-empty gold set (the denominator of
    /// `accuracy` and `precision_at_k`).
    pub accuracy_docs: usize,
    /// Mean of `|top-k ∩ gold| / k` over documents with a non-empty gold set.
    pub precision_at_k: f64,
    /// The `k` of `precision_at_k`.
    pub k: usize,
    /// Fraction of all documents whose decided set equals the gold set
    /// (an empty decision on an empty gold set is a match).
    pub subset_accuracy: f64,
    /// Decided labels that are gold, over all decided labels.
    pub micro_precision: f64,
    /// Gold labels that were decided, over all gold labels.
    pub micro_recall: f64,
    /// Harmonic mean of the micro precision and recall.
    pub micro_f1: f64,
    /// Mean F1 over the categories with at least one gold or decided
    /// occurrence.
    pub macro_f1: f64,
    /// Per-category scores, for every category in id order.
    pub categories: Vec<CategoryScore>,
    /// The most frequent top-1 mistakes on single-label documents, by count
    /// descending then names.
    pub confusions: Vec<Confusion>,
}

/// Multi-label decision thresholds chosen on a validation set and stored
/// with the model: label `c` is decided when its score is ≥ its threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// The threshold maximizing micro-F1 over all categories.
    pub global: f32,
    /// One threshold per category: its own F1-maximizing one when it had
    /// enough validation positives, else `global`.
    pub per_category: Vec<f32>,
}

impl Thresholds {
    /// The same threshold for all `n_labels` categories (e.g. before any
    /// validation data is available).
    pub fn uniform(threshold: f32, n_labels: usize) -> Thresholds {
        Thresholds {
            global: threshold,
            per_category: vec![threshold; n_labels],
        }
    }

    /// The threshold of category `c` (`global` for an id beyond
    /// `per_category`).
    pub fn get(&self, c: usize) -> f32 {
        self.per_category.get(c).copied().unwrap_or(self.global)
    }

    /// The decided label set for one document's scores: the ids `c` with
    /// `scores[c] >= threshold_c`, ascending.
    pub fn decide(&self, scores: &[f32]) -> Vec<u32> {
        scores
            .iter()
            .enumerate()
            .filter(|&(c, &s)| s >= self.get(c))
            .map(|(c, _)| c as u32)
            .collect()
    }
}

/// `a / b`, or 0 when `b` is 0.
fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// F1 from counts: `2tp / (2tp + fp + fn)`, 0 when undefined.
fn f1_from_counts(tp: u64, predicted: u64, gold: u64) -> f64 {
    ratio(2 * tp, predicted + gold)
}

/// Sorted, deduplicated copy of a label set.
fn label_set(ids: &[u32]) -> Vec<u32> {
    let mut v = ids.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// Size of the intersection of two sorted, deduplicated sets.
fn intersection_len(a: &[u32], b: &[u32]) -> u64 {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// The `k` highest-scoring category ids, best first; ties go to the lower
/// id, and NaN scores rank last.
fn top_k(scores: &[f32], k: usize) -> Vec<u32> {
    let mut ids: Vec<u32> = (0..scores.len() as u32).collect();
    let key = |c: u32| {
        let s = scores[c as usize];
        if s.is_nan() { f32::NEG_INFINITY } else { s }
    };
    ids.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
    ids.truncate(k);
    ids
}

/// Approximate terminal width of `s`: East Asian wide and fullwidth
/// characters (kanji, kana, hangul, fullwidth forms) count 2, others 1, so
/// that Japanese category names line up in the text table.
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| match u32::from(c) {
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

/// The display name of category `c`.
fn name_of(label_names: &[String], c: u32) -> String {
    label_names
        .get(c as usize)
        .cloned()
        .unwrap_or_else(|| format!("#{c}"))
}

/// Scores of one set of predictions against gold label sets.
///
/// `gold[i]` are the gold label ids of document `i` (may be empty),
/// `scores[i]` one score per category (`label_names.len()` of them), and
/// `decided[i]` the multi-label decision. The three slices are read in
/// parallel; documents beyond the shortest one are ignored (callers pass
/// equal lengths). Ids beyond `label_names` count in the micro scores but
/// have no per-category row.
pub fn evaluate(
    gold: &[Vec<u32>],
    scores: &[Vec<f32>],
    decided: &[Vec<u32>],
    k: usize,
    label_names: &[String],
) -> Report {
    debug_assert_eq!(gold.len(), scores.len());
    debug_assert_eq!(gold.len(), decided.len());
    let n_labels = label_names.len();
    let mut support = vec![0u64; n_labels];
    let mut predicted = vec![0u64; n_labels];
    let mut true_pos = vec![0u64; n_labels];
    let (mut micro_tp, mut micro_pred, mut micro_gold) = (0u64, 0u64, 0u64);
    let (mut top1_hits, mut labelled_docs, mut subset_hits) = (0u64, 0usize, 0u64);
    let mut p_at_k_sum = 0.0f64;
    let mut confusions: FxHashMap<(u32, u32), u64> = FxHashMap::default();
    let mut n = 0usize;

    for ((g, s), d) in gold.iter().zip(scores).zip(decided) {
        n += 1;
        let g = label_set(g);
        let d = label_set(d);
        if g == d {
            subset_hits += 1;
        }
        let tp = intersection_len(&g, &d);
        micro_tp += tp;
        micro_pred += d.len() as u64;
        micro_gold += g.len() as u64;
        for &c in &g {
            if let Some(x) = support.get_mut(c as usize) {
                *x += 1;
                if d.binary_search(&c).is_ok() {
                    true_pos[c as usize] += 1;
                }
            }
        }
        for &c in &d {
            if let Some(x) = predicted.get_mut(c as usize) {
                *x += 1;
            }
        }
        if g.is_empty() {
            continue;
        }
        labelled_docs += 1;
        let ranked = top_k(s, k.max(1));
        let top1 = ranked.first().copied();
        if top1.is_some_and(|t| g.binary_search(&t).is_ok()) {
            top1_hits += 1;
        } else if let (Some(t), [only]) = (top1, g.as_slice()) {
            *confusions.entry((*only, t)).or_insert(0) += 1;
        }
        if k > 0 {
            let mut top: Vec<u32> = ranked.into_iter().take(k).collect();
            top.sort_unstable();
            p_at_k_sum += intersection_len(&top, &g) as f64 / k as f64;
        }
    }

    let categories: Vec<CategoryScore> = (0..n_labels)
        .map(|c| CategoryScore {
            label: label_names[c].clone(),
            support: support[c],
            predicted: predicted[c],
            true_positives: true_pos[c],
            precision: ratio(true_pos[c], predicted[c]),
            recall: ratio(true_pos[c], support[c]),
            f1: f1_from_counts(true_pos[c], predicted[c], support[c]),
        })
        .collect();
    let seen: Vec<f64> = categories
        .iter()
        .filter(|c| c.support > 0 || c.predicted > 0)
        .map(|c| c.f1)
        .collect();
    let macro_f1 = if seen.is_empty() {
        0.0
    } else {
        seen.iter().sum::<f64>() / seen.len() as f64
    };

    let mut confusions: Vec<Confusion> = confusions
        .into_iter()
        .map(|((g, p), count)| Confusion {
            gold: name_of(label_names, g),
            predicted: name_of(label_names, p),
            count,
        })
        .collect();
    confusions.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.gold.cmp(&b.gold))
            .then_with(|| a.predicted.cmp(&b.predicted))
    });
    confusions.truncate(MAX_CONFUSIONS);

    let micro_precision = ratio(micro_tp, micro_pred);
    let micro_recall = ratio(micro_tp, micro_gold);
    Report {
        n,
        accuracy: ratio(top1_hits, labelled_docs as u64),
        accuracy_docs: labelled_docs,
        precision_at_k: if labelled_docs == 0 {
            0.0
        } else {
            p_at_k_sum / labelled_docs as f64
        },
        k,
        subset_accuracy: ratio(subset_hits, n as u64),
        micro_precision,
        micro_recall,
        micro_f1: f1_from_counts(micro_tp, micro_pred, micro_gold),
        macro_f1,
        categories,
        confusions,
    }
}

/// The candidate thresholds 0.05, 0.10, …, 0.95.
fn candidates() -> Vec<f32> {
    (1..=19).map(|i| i as f32 / 20.0).collect()
}

/// Index of the best candidate by `f1(j)`; ties go to the threshold closest
/// to 0.5 (then the lower one).
fn best_candidate(cands: &[f32], f1: impl Fn(usize) -> f64) -> usize {
    let mut best = 0;
    let mut best_f1 = f64::NEG_INFINITY;
    for (j, &t) in cands.iter().enumerate() {
        let f = f1(j);
        let closer = (t - 0.5).abs() < (cands[best] - 0.5).abs();
        if f > best_f1 || (f == best_f1 && closer) {
            best = j;
            best_f1 = f;
        }
    }
    best
}

/// Chooses multi-label decision thresholds on a validation set.
///
/// The global threshold maximizes micro-F1 over all categories among the
/// candidates {0.05, 0.10, …, 0.95}; a category with at least 5 gold
/// positives gets the candidate maximizing its own F1, the others get the
/// global one. Ties go to the threshold closest to 0.5. Label `c` is then
/// decided when `score_c >= threshold_c`. Gold ids `>= n_labels` and scores
/// beyond `n_labels` are ignored.
pub fn choose_thresholds(gold: &[Vec<u32>], scores: &[Vec<f32>], n_labels: usize) -> Thresholds {
    let cands = candidates();
    let nb = cands.len() + 1;
    // pos[c * nb + b] / neg[...]: documents whose score for c passes exactly
    // the first b candidates (so it is decided at candidate j iff b > j),
    // split by whether c is gold.
    let mut pos = vec![0u64; n_labels * nb];
    let mut neg = vec![0u64; n_labels * nb];
    let mut positives = vec![0u64; n_labels];
    let mut is_gold = vec![false; n_labels];
    for (g, s) in gold.iter().zip(scores) {
        for &c in g {
            if let Some(x) = is_gold.get_mut(c as usize) {
                *x = true;
            }
        }
        for (c, &score) in s.iter().take(n_labels).enumerate() {
            let b = cands.partition_point(|&t| t <= score);
            if is_gold[c] {
                pos[c * nb + b] += 1;
            } else {
                neg[c * nb + b] += 1;
            }
        }
        for (c, flag) in is_gold.iter_mut().enumerate() {
            if *flag {
                positives[c] += 1;
                *flag = false;
            }
        }
    }
    // tp[c][j], fp[c][j] at candidate j: suffix sums over buckets b > j.
    let mut tp = vec![0u64; n_labels * cands.len()];
    let mut fp = vec![0u64; n_labels * cands.len()];
    for c in 0..n_labels {
        let (mut t, mut f) = (0u64, 0u64);
        for b in (1..nb).rev() {
            t += pos[c * nb + b];
            f += neg[c * nb + b];
            tp[c * cands.len() + b - 1] = t;
            fp[c * cands.len() + b - 1] = f;
        }
    }
    let total_pos: u64 = positives.iter().sum();
    let global_j = best_candidate(&cands, |j| {
        let (t, f) = (0..n_labels).fold((0u64, 0u64), |(t, f), c| {
            (t + tp[c * cands.len() + j], f + fp[c * cands.len() + j])
        });
        f1_from_counts(t, t + f, total_pos)
    });
    let global = cands[global_j];
    let per_category = (0..n_labels)
        .map(|c| {
            if positives[c] < MIN_POSITIVES_FOR_OWN_THRESHOLD {
                return global;
            }
            let j = best_candidate(&cands, |j| {
                let (t, f) = (tp[c * cands.len() + j], fp[c * cands.len() + j]);
                f1_from_counts(t, t + f, positives[c])
            });
            cands[j]
        })
        .collect();
    Thresholds {
        global,
        per_category,
    }
}

impl Report {
    /// A readable multi-line summary: the headline scores, a per-category
    /// table aligned in columns, and the most frequent confusions.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let pct = |x: f64| format!("{:.2}%", 100.0 * x);
        // Writing to a String cannot fail.
        let _ = writeln!(out, "documents:        {}", self.n);
        let _ = writeln!(
            out,
            "accuracy (top-1): {} over {} labelled documents",
            pct(self.accuracy),
            self.accuracy_docs
        );
        let _ = writeln!(
            out,
            "precision@{}:      {}",
            self.k,
            pct(self.precision_at_k)
        );
        let _ = writeln!(
            out,
            "micro P/R/F1:     {} / {} / {}",
            pct(self.micro_precision),
            pct(self.micro_recall),
            pct(self.micro_f1)
        );
        let _ = writeln!(out, "macro F1:         {}", pct(self.macro_f1));
        let _ = writeln!(out, "subset accuracy:  {}", pct(self.subset_accuracy));

        if !self.categories.is_empty() {
            let width = self
                .categories
                .iter()
                .map(|c| display_width(&c.label))
                .chain(std::iter::once("category".len()))
                .max()
                .unwrap_or(8);
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "{:<width$}  {:>8}  {:>9}  {:>8}  {:>9}  {:>8}  {:>8}",
                "category", "support", "predicted", "correct", "precision", "recall", "f1"
            );
            for c in &self.categories {
                let pad = width.saturating_sub(display_width(&c.label));
                let _ = writeln!(
                    out,
                    "{}{:pad$}  {:>8}  {:>9}  {:>8}  {:>9.4}  {:>8.4}  {:>8.4}",
                    c.label,
                    "",
                    c.support,
                    c.predicted,
                    c.true_positives,
                    c.precision,
                    c.recall,
                    c.f1
                );
            }
        }

        if !self.confusions.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(out, "most frequent confusions (gold -> top-1):");
            for c in &self.confusions {
                let _ = writeln!(out, "  {:>6}  {} -> {}", c.count, c.gold, c.predicted);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        ["a", "b", "c", "d", "e"][..n]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn single_label_three_docs() {
        let gold = vec![vec![0], vec![1], vec![2]];
        let scores = vec![
            vec![0.7, 0.2, 0.1], // top-1 a: right
            vec![0.6, 0.3, 0.1], // top-1 a: wrong (gold b), b is 2nd
            vec![0.1, 0.1, 0.8], // top-1 c: right
        ];
        let decided = vec![vec![0], vec![0], vec![2]];
        let r = evaluate(&gold, &scores, &decided, 2, &names(3));
        assert_eq!(r.n, 3);
        assert_eq!(r.accuracy_docs, 3);
        assert!(close(r.accuracy, 2.0 / 3.0));
        // P@2: each doc has its gold in the top 2 → 1/2 each.
        assert!(close(r.precision_at_k, 0.5));
        assert!(close(r.subset_accuracy, 2.0 / 3.0));
        assert!(close(r.micro_precision, 2.0 / 3.0));
        assert!(close(r.micro_recall, 2.0 / 3.0));
        assert!(close(r.micro_f1, 2.0 / 3.0));
        // a: tp 1, pred 2, gold 1 → P .5 R 1 F1 2/3; b: 0; c: 1.
        let a = &r.categories[0];
        assert_eq!((a.support, a.predicted, a.true_positives), (1, 2, 1));
        assert!(close(a.precision, 0.5) && close(a.recall, 1.0) && close(a.f1, 2.0 / 3.0));
        assert_eq!(r.categories[1].f1, 0.0);
        assert!(close(r.categories[2].f1, 1.0));
        assert!(close(r.macro_f1, (2.0 / 3.0 + 0.0 + 1.0) / 3.0));
        assert_eq!(
            r.confusions,
            vec![Confusion {
                gold: "b".into(),
                predicted: "a".into(),
                count: 1
            }]
        );
        let text = r.to_text();
        assert!(text.contains("66.67%"), "{text}");
        assert!(text.contains("b -> a"), "{text}");
        assert_eq!(display_width("政治a"), 5);
    }

    #[test]
    fn ties_go_to_lower_id() {
        let gold = vec![vec![1]];
        let scores = vec![vec![0.5, 0.5, 0.1]];
        let r = evaluate(&gold, &scores, &[vec![]], 1, &names(3));
        assert_eq!(r.accuracy, 0.0);
        assert_eq!(r.confusions[0].predicted, "a");
    }

    #[test]
    fn multi_label_with_empty_sets() {
        let gold = vec![vec![0, 1], vec![], vec![2], vec![]];
        let scores = vec![
            vec![0.9, 0.8, 0.1], // top-2 {a,b}: P@2 = 1
            vec![0.1, 0.1, 0.1],
            vec![0.2, 0.5, 0.4], // top-1 b, wrong; top-2 {b,c}: P@2 = .5
            vec![0.3, 0.1, 0.1],
        ];
        let decided = vec![vec![0], vec![], vec![1, 2], vec![0]];
        let r = evaluate(&gold, &scores, &decided, 2, &names(3));
        assert_eq!(r.n, 4);
        assert_eq!(r.accuracy_docs, 2);
        assert!(close(r.accuracy, 0.5));
        assert!(close(r.precision_at_k, 0.75));
        // Matches: doc 1 (empty == empty) only.
        assert!(close(r.subset_accuracy, 0.25));
        // tp = 1 (a in doc 0) + 1 (c in doc 2) = 2; predicted 4; gold 3.
        assert!(close(r.micro_precision, 0.5));
        assert!(close(r.micro_recall, 2.0 / 3.0));
        assert!(close(r.micro_f1, 4.0 / 7.0));
        // a: tp1 pred2 gold1 → 2/3; b: tp0 pred1 gold1 → 0; c: tp1 pred1 gold1 → 1.
        assert!(close(r.macro_f1, (2.0 / 3.0 + 1.0) / 3.0));
        // Doc 2 is single-label and wrong: c -> b.
        assert_eq!(r.confusions.len(), 1);
        assert_eq!(
            (
                r.confusions[0].gold.as_str(),
                r.confusions[0].predicted.as_str()
            ),
            ("c", "b")
        );
    }

    #[test]
    fn macro_f1_skips_unseen_categories() {
        let gold = vec![vec![0], vec![1]];
        let scores = vec![vec![0.9, 0.1, 0.0, 0.0], vec![0.1, 0.9, 0.0, 0.0]];
        let decided = vec![vec![0], vec![0]];
        let r = evaluate(&gold, &scores, &decided, 1, &names(4));
        // a: tp1 pred2 gold1 → 2/3; b: gold1 → 0; c, d never seen.
        assert!(close(r.macro_f1, (2.0 / 3.0) / 2.0));
        assert_eq!(r.categories.len(), 4);
        assert_eq!(r.categories[3].f1, 0.0);
        assert!(close(r.accuracy, 1.0));
        assert!(r.confusions.is_empty());
    }

    #[test]
    fn empty_input() {
        let r = evaluate(&[], &[], &[], 3, &names(2));
        assert_eq!(r.n, 0);
        assert_eq!(r.accuracy, 0.0);
        assert_eq!(r.macro_f1, 0.0);
        let _ = r.to_text();
        let _ = serde_json::to_string(&r).expect("serializes");
    }

    #[test]
    fn confusions_sorted_and_capped() {
        let n_labels = 5;
        let mut gold = Vec::new();
        let mut scores = Vec::new();
        for g in 0..n_labels as u32 {
            for p in 0..n_labels as u32 {
                if g == p {
                    continue;
                }
                let reps = if g == 3 && p == 4 { 3 } else { 1 };
                for _ in 0..reps {
                    gold.push(vec![g]);
                    let mut s = vec![0.0; n_labels];
                    s[p as usize] = 1.0;
                    scores.push(s);
                }
            }
        }
        let decided = vec![vec![]; gold.len()];
        let r = evaluate(&gold, &scores, &decided, 1, &names(n_labels));
        assert_eq!(r.confusions.len(), MAX_CONFUSIONS);
        assert_eq!(
            (r.confusions[0].gold.as_str(), r.confusions[0].count),
            ("d", 3)
        );
        assert_eq!(
            (
                r.confusions[1].gold.as_str(),
                r.confusions[1].predicted.as_str()
            ),
            ("a", "b")
        );
        assert_eq!(
            (
                r.confusions[2].gold.as_str(),
                r.confusions[2].predicted.as_str()
            ),
            ("a", "c")
        );
    }

    #[test]
    fn thresholds_on_separable_case() {
        // Category 0: positives score 0.8, negatives 0.3, with 5 positives
        // → any threshold in (0.3, 0.8] is perfect; closest to 0.5 is 0.5.
        // Category 1: positives 0.25, negatives 0.1, 5 positives → best in
        // (0.1, 0.25]; closest to 0.5 is 0.25.
        // Category 2: only 2 positives → gets the global threshold.
        let mut gold = Vec::new();
        let mut scores = Vec::new();
        for i in 0..10 {
            let mut g = Vec::new();
            let mut s = vec![0.3, 0.1, 0.0];
            if i < 5 {
                g.push(0);
                s[0] = 0.8;
            }
            if i >= 5 {
                g.push(1);
                s[1] = 0.25;
            }
            if i < 2 {
                g.push(2);
                s[2] = 0.9;
            }
            gold.push(g);
            scores.push(s);
        }
        let t = choose_thresholds(&gold, &scores, 3);
        assert_eq!(t.per_category[0], 0.5);
        assert_eq!(t.per_category[1], 0.25);
        // Global (12 gold positives): t in (0.1, 0.25] gives tp 12, fp 5
        // (category 0 negatives at 0.3) → F1 24/29; t in (0.25, 0.3] gives
        // tp 7, fp 5 → 14/24; t in (0.3, 0.8] gives tp 7, fp 0 → 14/19.
        // Best is (0.1, 0.25], closest to 0.5 there: 0.25.
        assert_eq!(t.global, 0.25);
        let brute = |th: f32| {
            let (mut tp, mut pred, mut g) = (0u64, 0u64, 0u64);
            for (gs, s) in gold.iter().zip(&scores) {
                for (c, &x) in s.iter().enumerate() {
                    let is_g = gs.contains(&(c as u32));
                    let d = x >= th;
                    tp += (is_g && d) as u64;
                    pred += d as u64;
                    g += is_g as u64;
                }
            }
            f1_from_counts(tp, pred, g)
        };
        let best = candidates()
            .into_iter()
            .map(brute)
            .fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(brute(t.global), best);
        assert_eq!(t.per_category[2], t.global);
        assert_eq!(t.decide(&[0.8, 0.25, 0.0]), vec![0, 1]);
        let json = serde_json::to_string(&t).expect("serializes");
        let back: Thresholds = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, t);
    }

    #[test]
    fn thresholds_without_positives_default_to_half() {
        let t = choose_thresholds(&[vec![], vec![]], &[vec![0.2, 0.9], vec![0.1, 0.4]], 2);
        assert_eq!(t.global, 0.5);
        assert_eq!(t.per_category, vec![0.5, 0.5]);
        assert_eq!(Thresholds::uniform(0.3, 2).get(5), 0.3);
    }
}

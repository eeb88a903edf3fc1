//! The streaming statistics dataflow (`scyth::dataflows`, SPEC §7) held
//! against the batch counts (`scyth::stats::CorpusCounts`, SPEC §2): after
//! every epoch of inserted and retracted documents, N, every trigram's df and
//! df_max equal the batch counts over the documents then live, at several
//! worker counts.

use std::sync::LazyLock;

use proptest::prelude::*;
use scyth::dataflows::{DocChange, StreamError, StreamStats, run_df_stream};
use scyth::stats::{CorpusCounts, DocNgrams};
use scyth::text::Normalization;

const NORM: Normalization = Normalization::NfkcLowercase;

static TRAIN: LazyLock<Vec<String>> =
    LazyLock::new(|| super::fixture_texts("fixtures/corpus/train.csv"));

/// The batch statistics of a multiset of texts (the oracle).
fn batch_stats<'a>(texts: impl IntoIterator<Item = &'a str>, norm: Normalization) -> StreamStats {
    let mut counts = CorpusCounts::default();
    for text in texts {
        counts.add(&DocNgrams::of(&norm.apply(text)));
    }
    StreamStats::from_counts(&counts)
}

/// Replays `batches` sequentially and returns the live `(id, text)` multiset
/// after each batch, sorted (so duplicates stay duplicates).
fn live_after_each(batches: &[Vec<DocChange>]) -> Vec<Vec<(u64, String)>> {
    let mut live: Vec<(u64, String)> = Vec::new();
    let mut out = Vec::new();
    for batch in batches {
        for (id, text, diff) in batch {
            for _ in 0..diff.unsigned_abs() {
                if *diff > 0 {
                    live.push((*id, text.clone()));
                } else {
                    let at = live
                        .iter()
                        .position(|(i, t)| i == id && t == text)
                        .expect("retract a live document");
                    live.swap_remove(at);
                }
            }
        }
        live.sort();
        out.push(live.clone());
    }
    out
}

/// Runs the stream and compares every epoch with the batch oracle.
fn assert_stream_equals_batch(workers: usize, batches: Vec<Vec<DocChange>>, norm: Normalization) {
    let expected: Vec<StreamStats> = live_after_each(&batches)
        .iter()
        .map(|live| batch_stats(live.iter().map(|(_, t)| t.as_str()), norm))
        .collect();
    let got = run_df_stream(workers, batches, norm).expect("stream runs");
    assert_eq!(got.len(), expected.len());
    for (epoch, (got, expected)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(
            got.n_docs, expected.n_docs,
            "N, epoch {epoch}, {workers} workers"
        );
        assert_eq!(
            got.df_max, expected.df_max,
            "df_max, epoch {epoch}, {workers} workers"
        );
        assert!(
            got.trigram_df == expected.trigram_df,
            "df, epoch {epoch}, {workers} workers: {} trigrams streamed, {} in batch",
            got.trigram_df.len(),
            expected.trigram_df.len()
        );
    }
}

fn inserts(range: std::ops::Range<usize>) -> Vec<DocChange> {
    range.map(|i| (i as u64, TRAIN[i].clone(), 1)).collect()
}

fn retracts(ids: impl IntoIterator<Item = usize>) -> Vec<DocChange> {
    ids.into_iter()
        .map(|i| (i as u64, TRAIN[i].clone(), -1))
        .collect()
}

// Fixture corpus ------------------------------------------------------------

/// All 360 training texts in 4 epochs of 90: every epoch's statistics equal
/// the batch counts of the prefix, whatever the number of workers.
#[test]
fn fixture_360_docs_4_epochs_equal_batch_counts_1_2_3_workers() {
    assert_eq!(TRAIN.len(), 360, "the fixture corpus changed");
    let batches: Vec<Vec<DocChange>> = (0..4).map(|e| inserts(e * 90..(e + 1) * 90)).collect();
    let last = batch_stats(TRAIN.iter().map(String::as_str), NORM);
    assert!(last.df_max > 1 && last.trigram_df.len() > 10_000);
    for workers in 1..=3 {
        assert_stream_equals_batch(workers, batches.clone(), NORM);
    }
    let got = run_df_stream(2, batches, NORM).expect("stream runs");
    assert_eq!(got.last(), Some(&last));
}

/// 360 documents inserted in 3 epochs of 120, then a third of them retracted
/// (every third id, across all three epochs' documents), then one document
/// retracted and re-inserted within one epoch, then everything retracted.
#[test]
fn fixture_360_docs_3_insert_epochs_then_retract_120_equal_batch_counts_2_3_workers() {
    let mut batches: Vec<Vec<DocChange>> =
        (0..3).map(|e| inserts(e * 120..(e + 1) * 120)).collect();
    batches.push(retracts((0..360).step_by(3)));
    let mut churn = retracts([1]);
    churn.extend(inserts(1..2));
    batches.push(churn);
    let remaining: Vec<usize> = (0..360).filter(|i| i % 3 != 0).collect();
    batches.push(retracts(remaining.iter().copied()));
    for workers in [2, 3] {
        assert_stream_equals_batch(workers, batches.clone(), NORM);
    }

    let got = run_df_stream(2, batches, NORM).expect("stream runs");
    let after_retract = batch_stats(remaining.iter().map(|&i| TRAIN[i].as_str()), NORM);
    assert_eq!(got[3], after_retract);
    assert_eq!(
        got[4], after_retract,
        "retract + re-insert in one epoch is no change"
    );
    assert_eq!(
        got[5],
        StreamStats::default(),
        "an empty corpus has N = 0, no df, df_max = 0"
    );
}

/// The same document twice counts twice (a multiset, like two `add` calls),
/// and normalization is the one asked for: "ＡＢＣ" and "abc" share their
/// trigram only under NFKC.
#[test]
fn duplicates_and_normalization_3_docs_2_workers() {
    let docs = vec![(7, "ＡＢＣ".to_string(), 2), (8, "abcd".to_string(), 1)];
    let nfkc = run_df_stream(2, vec![docs.clone()], Normalization::NfkcLowercase).unwrap();
    assert_eq!(nfkc[0].n_docs, 3);
    assert_eq!(nfkc[0].df_max, 3);
    let lower = run_df_stream(2, vec![docs.clone()], Normalization::Lowercase).unwrap();
    assert_eq!(lower[0].df_max, 2);
    assert_stream_equals_batch(2, vec![docs.clone()], Normalization::NfkcLowercase);
    assert_stream_equals_batch(2, vec![docs], Normalization::Lowercase);
}

/// Invalid input is refused before anything runs.
#[test]
fn retracting_a_missing_document_and_zero_workers_are_errors() {
    let batches = vec![
        vec![(1, "abcdef".to_string(), 1)],
        vec![(1, "abcdef".to_string(), -1), (2, "xyz".to_string(), -1)],
    ];
    let err = run_df_stream(1, batches, NORM).unwrap_err();
    assert!(
        matches!(err, StreamError::NegativeMultiplicity { batch: 1, id: 2 }),
        "{err}"
    );
    let err = run_df_stream(0, vec![], NORM).unwrap_err();
    assert!(matches!(err, StreamError::NoWorkers), "{err}");
    assert_eq!(run_df_stream(2, vec![], NORM).unwrap(), vec![]);
}

// Properties ----------------------------------------------------------------

/// One step of a random history.
#[derive(Debug, Clone)]
enum Op {
    /// Insert a new document with a fresh id.
    Insert(String),
    /// Insert another copy of a live document (same id and text).
    Duplicate(usize),
    /// Retract a live document (index modulo the live count).
    Retract(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let text =
        proptest::collection::vec(prop::sample::select(&['a', 'b', 'ア', 'Ａ', ' '][..]), 0..7)
            .prop_map(|cs| cs.into_iter().collect::<String>());
    prop_oneof![
        3 => text.prop_map(Op::Insert),
        1 => any::<usize>().prop_map(Op::Duplicate),
        2 => any::<usize>().prop_map(Op::Retract),
    ]
}

/// Turns random ops into valid batches of changes.
fn changes(epochs: Vec<Vec<Op>>) -> Vec<Vec<DocChange>> {
    let mut live: Vec<(u64, String)> = Vec::new();
    let mut next_id = 0u64;
    epochs
        .into_iter()
        .map(|ops| {
            let mut batch = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(text) => {
                        live.push((next_id, text.clone()));
                        batch.push((next_id, text, 1));
                        next_id += 1;
                    }
                    Op::Duplicate(i) if !live.is_empty() => {
                        let doc = live[i % live.len()].clone();
                        batch.push((doc.0, doc.1.clone(), 1));
                        live.push(doc);
                    }
                    Op::Retract(i) if !live.is_empty() => {
                        let (id, text) = live.swap_remove(i % live.len());
                        batch.push((id, text, -1));
                    }
                    Op::Duplicate(_) | Op::Retract(_) => {}
                }
            }
            batch
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Random insert/duplicate/retract histories of up to 6 epochs × 8 ops
    /// over a 5-character alphabet: every epoch equals the batch counts of
    /// the live multiset, at 1–3 workers.
    #[test]
    fn random_histories_6_epochs_8_ops_equal_batch_counts_1_to_3_workers(
        epochs in proptest::collection::vec(proptest::collection::vec(op(), 0..8), 1..6),
        workers in 1usize..=3,
        lowercase_only in any::<bool>(),
    ) {
        let norm = if lowercase_only { Normalization::Lowercase } else { Normalization::NfkcLowercase };
        assert_stream_equals_batch(workers, changes(epochs), norm);
    }
}

/// Pre-aggregation (`aggregate_per_time`): within each epoch, updates leave
/// as one per distinct record with the differences summed, records summing
/// to zero are dropped, and each epoch stays at its own time.
#[test]
fn aggregate_per_time_one_update_per_key_and_epoch_3_epochs() {
    use std::sync::{Arc, Mutex};

    use differential_dataflow::input::Input;
    use scyth::dataflows::aggregate_per_time;

    let seen: Arc<Mutex<Vec<(u32, u64, isize)>>> = Arc::default();
    let sink = seen.clone();
    timely::execute_directly(move |worker| {
        let mut input = worker.dataflow::<u64, _, _>(|scope| {
            let (input, updates) = scope.new_collection::<u32, isize>();
            aggregate_per_time(updates).inspect(move |u| sink.lock().unwrap().push(*u));
            input
        });
        // Epoch 0: key 1 ×3, key 2 ×1. Epoch 1: key 1 −1, key 3 +1 −1
        // (sums to zero). Epoch 2: key 2 ×2.
        for k in [1, 2, 1, 1] {
            input.update(k, 1);
        }
        input.advance_to(1);
        input.update(1, -1);
        input.update(3, 1);
        input.update(3, -1);
        input.advance_to(2);
        input.update(2, 1);
        input.update(2, 1);
        input.advance_to(3);
        input.close();
    });
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_unstable_by_key(|&(k, t, _)| (t, k));
    assert_eq!(seen, vec![(1, 0, 3), (2, 0, 1), (1, 1, -1), (2, 2, 2)]);
}

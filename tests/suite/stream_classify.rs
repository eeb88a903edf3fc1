//! The streaming classifier (`scyth::dataflows::{statistics, classify}`,
//! SPEC §7) held against the batch computation: after every epoch of
//! inserted and retracted documents, the live classifications equal those
//! of the core feature and int8 code run over a lexicon built in one go
//! from the model's statistics plus the documents then live
//! (`LiveLexicon::with_counts`), and the epoch's statistics report equals
//! that lexicon's — at 1, 2 and 3 workers, with and without status flips.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};

use proptest::prelude::*;
use scyth::dataflows::classifier::classification;
use scyth::dataflows::{Batch, Classification, DocChange, EpochOutput, EpochReport, StreamModel};
use scyth::features::live::pentagram_index;
use scyth::features::{FeatureScratch, FeatureSource, LiveLexicon, extract};
use scyth::model::{Model, Precision, PredictScratch};
use scyth::quant::{Plan, PlanChoice, default_kernel};
use scyth::stats::{CorpusCounts, DocNgrams};

const TOP_K: usize = 3;

static DEV: LazyLock<Vec<String>> =
    LazyLock::new(|| super::fixture_texts("fixtures/corpus/dev.csv"));
static TRAIN: LazyLock<Vec<String>> =
    LazyLock::new(|| super::fixture_texts("fixtures/corpus/train.csv"));

fn tiny_model() -> Model {
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/model/tiny.scyth");
    scyth::model::load(&path).expect("load tiny.scyth")
}

/// The tiny model with threshold τ and statuses recomputed for it, so that
/// moving statistics flip trigrams between white and gray.
fn with_tau(mut model: Model, tau: f64) -> Model {
    let mut lex = Arc::try_unwrap(model.lexicon).expect("sole owner");
    lex.params.score.tau = tau;
    let white: Vec<u8> = lex
        .score
        .iter()
        .map(|&s| lex.params.score.is_white(s) as u8)
        .collect();
    lex.white = white.into();
    model.meta.lexicon = lex.params;
    model.lexicon = Arc::new(lex);
    model
}

/// The batch oracle over the live documents (sequence number → text):
/// classifications and the statistics a report must show.
fn oracle(
    model: &Arc<Model>,
    live: &BTreeMap<u64, String>,
    plan: Plan,
) -> (BTreeMap<u64, Classification>, EpochReport) {
    let norm = model.meta.normalization;
    let mut counts = CorpusCounts::default();
    for text in live.values() {
        counts.add(&DocNgrams::of(&norm.apply(text)));
    }
    oracle_of_counts(model, live, &counts, plan)
}

/// The batch oracle over the live documents under the statistics of the
/// model plus `counts`.
fn oracle_of_counts(
    model: &Arc<Model>,
    live: &BTreeMap<u64, String>,
    counts: &CorpusCounts,
    plan: Plan,
) -> (BTreeMap<u64, Classification>, EpochReport) {
    let norm = model.meta.normalization;
    let lex = LiveLexicon::with_counts(
        model.lexicon.clone(),
        Arc::new(pentagram_index(&model.lexicon)),
        counts,
    );
    let mut scratch = FeatureScratch::default();
    let mut predict = PredictScratch::default();
    let classes = live
        .iter()
        .map(|(&seq, text)| {
            let row = extract(&lex, norm, text, &mut scratch);
            // The call `scyth classify` makes (Model::predict_texts_plan).
            let prediction = model
                .predict_rows_plan(
                    &[&row],
                    Precision::Int8,
                    plan,
                    default_kernel(),
                    &mut predict,
                )
                .swap_remove(0);
            (seq, classification(model, &prediction, TOP_K))
        })
        .collect();
    let white = model
        .lexicon
        .column_trigram
        .iter()
        .filter(|&&t| lex.is_white(t))
        .count() as u64;
    let new_trigrams = counts
        .trigram_df
        .keys()
        .filter(|t| model.lexicon.lookup(**t).is_none())
        .count();
    let report = EpochReport {
        n_docs: lex.n_docs(),
        df_max: lex.df_max(),
        trigrams: (model.lexicon.n_trigrams() + new_trigrams) as u64,
        white_columns: white,
        gray_columns: model.lexicon.n_columns() as u64 - white,
        appended_pentagrams: lex.n_appended_pentagrams() as u64,
        ..EpochReport::default()
    };
    (classes, report)
}

/// Runs the stream over `batches` and returns every epoch's output.
fn run(model: &Arc<Model>, workers: usize, batches: Vec<Vec<DocChange>>) -> Vec<EpochOutput> {
    run_plan(model, workers, batches, Plan::Full)
}

/// [`run`] with an inference plan.
fn run_plan(
    model: &Arc<Model>,
    workers: usize,
    batches: Vec<Vec<DocChange>>,
    plan: Plan,
) -> Vec<EpochOutput> {
    super::run_stream(
        StreamModel::new(model.clone(), TOP_K).with_plan(plan),
        workers,
        batches.into_iter().map(Batch::from).collect(),
    )
}

/// Feeds `batches`, then checks after every epoch that the live
/// classifications (consolidated changes) and the report equal the oracle.
fn assert_stream_equals_batch(
    model: Model,
    workers: usize,
    batches: Vec<Vec<DocChange>>,
) -> Vec<EpochOutput> {
    assert_stream_equals_batch_plan(Arc::new(model), workers, batches, Plan::Full)
}

/// [`assert_stream_equals_batch`] with an inference plan.
fn assert_stream_equals_batch_plan(
    model: Arc<Model>,
    workers: usize,
    batches: Vec<Vec<DocChange>>,
    plan: Plan,
) -> Vec<EpochOutput> {
    let shared = StreamModel::new(model.clone(), TOP_K).with_plan(plan);
    let want = |_: usize, live: &BTreeMap<u64, String>| oracle(&model, live, plan);
    assert_stream_equals(shared, workers, batches, want)
}

/// Runs the stream of `shared` over `batches` and checks after every epoch
/// that the live classifications (consolidated changes) and the report
/// equal `oracle_at(epoch, live documents)`.
fn assert_stream_equals(
    shared: StreamModel,
    workers: usize,
    batches: Vec<Vec<DocChange>>,
    mut oracle_at: impl FnMut(
        usize,
        &BTreeMap<u64, String>,
    ) -> (BTreeMap<u64, Classification>, EpochReport),
) -> Vec<EpochOutput> {
    let outputs = super::run_stream(
        shared,
        workers,
        batches.iter().cloned().map(Batch::from).collect(),
    );
    assert_eq!(outputs.len(), batches.len(), "one output per epoch");
    let mut live_docs: BTreeMap<u64, String> = BTreeMap::new();
    let mut live_classes: BTreeMap<u64, Classification> = BTreeMap::new();
    let mut last_report: Option<EpochReport> = None;
    for (epoch, (batch, out)) in batches.iter().zip(&outputs).enumerate() {
        assert_eq!(out.epoch, epoch as u64);
        for (seq, text, diff) in batch {
            if *diff > 0 {
                live_docs.insert(*seq, text.clone());
            } else {
                live_docs.remove(seq);
            }
        }
        for (seq, class, diff) in &out.changes {
            match diff {
                -1 => {
                    let old = live_classes.remove(seq);
                    assert_eq!(
                        old.as_ref(),
                        Some(class),
                        "epoch {epoch}: retraction of doc {seq}"
                    );
                }
                1 => {
                    let old = live_classes.insert(*seq, class.clone());
                    assert!(old.is_none(), "epoch {epoch}: doc {seq} inserted twice");
                }
                _ => panic!("epoch {epoch}: diff {diff} for doc {seq}"),
            }
        }
        let (want, want_report) = oracle_at(epoch, &live_docs);
        if let Some(report) = &out.report {
            last_report = Some(report.clone());
        }
        let report = last_report.as_ref().expect("a report by now");
        let got = EpochReport {
            n_docs: report.n_docs,
            df_max: report.df_max,
            trigrams: report.trigrams,
            white_columns: report.white_columns,
            gray_columns: report.gray_columns,
            appended_pentagrams: report.appended_pentagrams,
            ..EpochReport::default()
        };
        assert_eq!(
            got, want_report,
            "epoch {epoch} ({workers} workers): statistics"
        );
        let differing: Vec<String> = want
            .keys()
            .chain(live_classes.keys())
            .filter(|s| want.get(s) != live_classes.get(s))
            .map(|s| {
                format!(
                    "{s}: stream {:?} batch {:?}",
                    live_classes.get(s),
                    want.get(s)
                )
            })
            .collect();
        assert!(
            differing.is_empty(),
            "epoch {epoch} ({workers} workers): {} classifications differ, first {:?}",
            differing.len(),
            differing.first()
        );
    }
    outputs
}

/// Dev texts and a slice of train texts inserted in batches of `size`, then
/// a third of them retracted and some re-inserted under new numbers.
fn insert_then_retract(size: usize) -> Vec<Vec<DocChange>> {
    let texts: Vec<&String> = DEV.iter().chain(TRAIN.iter().take(30)).collect();
    let mut batches: Vec<Vec<DocChange>> = texts
        .chunks(size)
        .enumerate()
        .map(|(b, chunk)| {
            chunk
                .iter()
                .enumerate()
                .map(|(i, t)| ((b * size + i) as u64, (*t).clone(), 1))
                .collect()
        })
        .collect();
    let retract: Vec<DocChange> = texts
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 1)
        .map(|(i, t)| (i as u64, (*t).clone(), -1))
        .collect();
    for chunk in retract.chunks(size) {
        batches.push(chunk.to_vec());
    }
    let n = texts.len() as u64;
    batches.push(
        texts
            .iter()
            .take(12)
            .enumerate()
            .map(|(i, t)| (n + i as u64, (*t).clone(), 1))
            .collect(),
    );
    batches
}

/// `n` texts of 40–120 characters from an order-2 character chain over the
/// fixture texts (a fixed linear congruential generator): like the
/// benchmark's synthetic stream, they hold many pentagrams the model never
/// saw, which become known in the stream.
fn chain_texts(n: usize, seed: u64) -> Vec<String> {
    let corpus: Vec<Vec<char>> = DEV
        .iter()
        .chain(TRAIN.iter())
        .map(|t| t.chars().collect())
        .collect();
    let mut next: BTreeMap<(char, char), Vec<char>> = BTreeMap::new();
    for t in &corpus {
        for w in t.windows(3) {
            next.entry((w[0], w[1])).or_default().push(w[2]);
        }
    }
    let mut state = seed;
    let mut draw = move |k: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) % k as u64) as usize
    };
    (0..n)
        .map(|_| {
            let len = 40 + draw(81);
            let start = &corpus[draw(corpus.len())];
            let mut text: Vec<char> = start[..2].to_vec();
            while text.len() < len {
                let key = (text[text.len() - 2], text[text.len() - 1]);
                match next.get(&key) {
                    Some(choices) => text.push(choices[draw(choices.len())]),
                    None => {
                        let restart = &corpus[draw(corpus.len())];
                        text.extend_from_slice(&restart[..2]);
                    }
                }
            }
            text.into_iter().collect()
        })
        .collect()
}

/// A sliding window over chained texts: epochs of `size` new documents,
/// and the oldest retracted beyond `window` (as `--window-docs` does).
fn windowed_chain(n: usize, size: usize, window: usize) -> Vec<Vec<DocChange>> {
    let texts = chain_texts(n, 2026);
    texts
        .chunks(size)
        .enumerate()
        .map(|(b, chunk)| {
            let first = b * size;
            let mut batch: Vec<DocChange> = chunk
                .iter()
                .enumerate()
                .map(|(i, t)| ((first + i) as u64, t.clone(), 1))
                .collect();
            let end = first + chunk.len();
            let leaving = first.saturating_sub(window)..end.saturating_sub(window);
            for (text, old) in texts[leaving.clone()].iter().zip(leaving) {
                batch.push((old as u64, text.clone(), -1));
            }
            batch
        })
        .collect()
}

/// With a window, pentagrams whose first documents leave move later in
/// their lists (in place); documents whose best pentagram moved past an
/// entry it ties with take that entry. The stream equals the batch after
/// every epoch.
#[test]
fn windowed_chain_stream_equals_batch_1_and_2_workers() {
    for workers in [1, 2] {
        assert_stream_equals_batch(tiny_model(), workers, windowed_chain(90, 6, 18));
    }
}

/// Under the folded plan a patched row's classification comes from its
/// folded accumulators plus the code deltas of the columns the patch
/// changed (no new gather): after every epoch of a windowed stream, where
/// most held rows are patched, it equals `scyth classify`'s folded plan
/// over the whole rows at 1 and 2 workers.
#[test]
fn windowed_chain_under_the_folded_plan_equals_batch_1_and_2_workers() {
    let model = Arc::new(tiny_model());
    let plan = model
        .prepare_plan(PlanChoice::Forced(Plan::Folded), false)
        .expect("folded plan");
    for workers in [1, 2] {
        let outputs = assert_stream_equals_batch_plan(
            model.clone(),
            workers,
            windowed_chain(90, 6, 18),
            plan,
        );
        let reports: Vec<&EpochReport> = outputs.iter().filter_map(|o| o.report.as_ref()).collect();
        let patched: u64 = reports.iter().map(|r| r.patched).sum();
        let reclassified: u64 = reports.iter().map(|r| r.reclassified).sum();
        let rechecked: u64 = reports.iter().map(|r| r.rechecked).sum();
        assert!(
            patched > 100 && reclassified > 20 && rechecked < patched / 4,
            "{workers} workers: patched {patched}, reclassified {reclassified}, rechecked {rechecked}"
        );
    }
}

/// [`windowed_chain`] with six kanji no other document holds appended to
/// every text (a name only that article mentions), so each document brings
/// trigrams the model never saw, and they leave with it.
fn windowed_novel(n: usize, size: usize, window: usize) -> Vec<Vec<DocChange>> {
    let tail = |seq: u64| -> String {
        (0..6u32)
            .filter_map(|k| char::from_u32(0x8000 + 6 * seq as u32 + k))
            .collect()
    };
    windowed_chain(n, size, window)
        .into_iter()
        .map(|batch| {
            batch
                .into_iter()
                .map(|(seq, text, diff)| (seq, text + &tail(seq), diff))
                .collect()
        })
        .collect()
}

/// Trigrams of the live documents after each epoch of `batches` that the
/// model never saw.
fn novel_trigrams_per_epoch(model: &Model, batches: &[Vec<DocChange>]) -> Vec<BTreeSet<u64>> {
    let norm = model.meta.normalization;
    let mut live: BTreeMap<u64, String> = BTreeMap::new();
    batches
        .iter()
        .map(|batch| {
            for (seq, text, diff) in batch {
                if *diff > 0 {
                    live.insert(*seq, text.clone());
                } else {
                    live.remove(seq);
                }
            }
            live.values()
                .flat_map(|text| DocNgrams::of(&norm.apply(text)).trigrams)
                .filter(|t| model.lexicon.lookup(*t).is_none())
                .map(|t| t.0)
                .collect()
        })
        .collect()
}

/// A windowed stream whose documents bring trigrams the model never saw
/// equals the batch after every epoch, and its workers give the index of a
/// trigram whose last document left to the next new trigram: the trigram
/// slots stay within what two consecutive epochs hold (a trigram released
/// in one epoch is reused from the next), far below every trigram the
/// stream ever saw — the bound that keeps an unattended windowed stream's
/// memory flat.
#[test]
fn windowed_stream_reuses_the_indices_of_trigrams_that_left_1_and_2_workers() {
    let batches = windowed_novel(90, 6, 18);
    let model = tiny_model();
    let novel = novel_trigrams_per_epoch(&model, &batches);
    let bound = novel
        .windows(2)
        .map(|w| w[0].union(&w[1]).count())
        .max()
        .expect("epochs");
    let ever: BTreeSet<u64> = novel.iter().flatten().copied().collect();
    assert!(
        ever.len() >= 3 * bound,
        "{} ever, bound {bound}",
        ever.len()
    );
    for workers in [1, 2] {
        let outputs = assert_stream_equals_batch(tiny_model(), workers, batches.clone());
        let slots = outputs
            .iter()
            .filter_map(|o| o.report.as_ref())
            .map(|r| r.trigram_slots)
            .max()
            .expect("reports");
        assert!(
            slots as usize <= bound,
            "{workers} workers: {slots} trigram slots, {bound} at most ({} ever seen)",
            ever.len()
        );
        assert!(slots > 0, "the stream indexed its new trigrams");
    }
}

/// What the statistics count under `--prune-rare age` after each epoch of
/// `batches` (insertions only), by the rule of `scyth::dataflows::prune`
/// applied naively: an n-gram the model does not know is rare after a
/// counted occurrence until another one within `age` documents establishes
/// it; rare occurrences `age` documents behind the documents read by the
/// previous epoch are dropped; a later occurrence starts over.
fn pruned_counts_per_epoch(
    model: &Model,
    batches: &[Vec<DocChange>],
    age: u64,
) -> Vec<CorpusCounts> {
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Key {
        Tri(scyth::text::Trigram),
        Pent(scyth::text::Pentagram),
    }
    let norm = model.meta.normalization;
    let known = pentagram_index(&model.lexicon);
    /// An occurrence: document and position.
    type Occurrence = (u64, u64);
    // Counted occurrences per n-gram; `Err` = rare.
    let mut counted: BTreeMap<Key, Result<Vec<Occurrence>, Occurrence>> = BTreeMap::new();
    let mut model_trigrams: BTreeMap<scyth::text::Trigram, u32> = BTreeMap::new();
    let mut n_docs = 0;
    let mut newest: Option<u64> = None;
    let mut out = Vec::new();
    for batch in batches {
        if let Some(read) = newest {
            counted.retain(|_, c| !matches!(c, Err((seq, _)) if *seq < read.saturating_sub(age)));
        }
        let mut docs: Vec<&DocChange> = batch.iter().collect();
        docs.sort_by_key(|(seq, _, _)| *seq);
        for (seq, text, diff) in docs {
            assert_eq!(*diff, 1, "pruning streams only insert");
            n_docs += 1;
            newest = newest.max(Some(*seq));
            let grams = DocNgrams::of(&norm.apply(text));
            let mut keys: Vec<(Key, u64)> = Vec::new();
            for t in grams.trigrams {
                if model.lexicon.lookup(t).is_some() {
                    *model_trigrams.entry(t).or_default() += 1;
                } else {
                    keys.push((Key::Tri(t), 0));
                }
            }
            for (pos, p) in grams.pentagrams.into_iter().enumerate() {
                if !known.contains_key(&p.0) {
                    keys.push((Key::Pent(p), pos as u64));
                }
            }
            for (key, pos) in keys {
                let here = (*seq, pos);
                let next = match counted.remove(&key) {
                    Some(Ok(mut all)) => {
                        all.push(here);
                        Ok(all)
                    }
                    Some(Err(first)) if *seq <= first.0 + age => Ok(vec![first, here]),
                    _ => Err(here),
                };
                counted.insert(key, next);
            }
        }
        let mut counts = CorpusCounts {
            n_docs,
            ..CorpusCounts::default()
        };
        counts.trigram_df = model_trigrams.iter().map(|(t, df)| (*t, *df)).collect();
        for (key, c) in &counted {
            let all: Vec<(u64, u64)> = match c {
                Ok(all) => all.clone(),
                Err(one) => vec![*one],
            };
            match key {
                Key::Tri(t) => {
                    counts.trigram_df.insert(*t, all.len() as u32);
                }
                Key::Pent(p) => {
                    let (seq, pos) = all.iter().min().expect("an occurrence");
                    counts.pentagrams.insert(
                        *p,
                        scyth::stats::PentagramCount {
                            df: all.len() as u32,
                            first_seen: seq * 1_000_000 + pos,
                        },
                    );
                }
            }
        }
        out.push(counts);
    }
    out
}

/// `--prune-rare`: a stream that prunes rare n-grams the model does not know
/// equals, after every epoch, the batch computation over the statistics
/// the pruning rule leaves (at 1 and 2 workers), and the rule did prune:
/// the stream counts fewer trigrams and knows fewer pentagrams than
/// without pruning, since pentagrams that recur only far apart never
/// become known.
#[test]
fn pruned_stream_equals_batch_over_pruned_statistics_1_and_2_workers() {
    let age = 12;
    let batches = windowed_novel(90, 6, usize::MAX);
    let model = Arc::new(tiny_model());
    let pruned = pruned_counts_per_epoch(&model, &batches, age);
    for workers in [1, 2] {
        let shared = StreamModel::new(model.clone(), TOP_K).with_pruning(age);
        let outputs = assert_stream_equals(shared, workers, batches.clone(), |epoch, live| {
            oracle_of_counts(&model, live, &pruned[epoch], Plan::Full)
        });
        let last_report = |outputs: &[EpochOutput]| {
            outputs
                .iter()
                .rev()
                .find_map(|o| o.report.clone())
                .expect("reports")
        };
        let last = last_report(&outputs);
        let unpruned = last_report(&run(&model, workers, batches.clone()));
        assert!(
            last.trigrams < unpruned.trigrams,
            "{} trigrams pruned, {} not",
            last.trigrams,
            unpruned.trigrams
        );
        assert!(
            last.appended_pentagrams < unpruned.appended_pentagrams,
            "{} pentagrams known pruned, {} not",
            last.appended_pentagrams,
            unpruned.appended_pentagrams
        );
    }
}

#[test]
fn stream_equals_batch_120_docs_1_worker() {
    assert_stream_equals_batch(tiny_model(), 1, insert_then_retract(17));
}

#[test]
fn stream_equals_batch_120_docs_2_workers() {
    assert_stream_equals_batch(tiny_model(), 2, insert_then_retract(23));
}

#[test]
fn stream_equals_batch_120_docs_3_workers() {
    assert_stream_equals_batch(tiny_model(), 3, insert_then_retract(9));
}

#[test]
fn stream_equals_batch_with_status_flips_2_workers() {
    assert_stream_equals_batch(with_tau(tiny_model(), 8.0), 2, insert_then_retract(13));
}

/// Stream and `scyth classify` decide alike (SPEC §5): under the default
/// plan, resolved as `scyth classify` resolves it (folded for the tiny
/// model), the stream's classifications after every epoch equal the
/// classify path's prediction (`predict_rows_plan` with that plan) of the
/// same documents under the same statistics.
#[test]
fn stream_equals_classify_under_default_plan_120_docs_2_workers() {
    let model = Arc::new(with_tau(tiny_model(), 8.0));
    let plan = model
        .prepare_plan(PlanChoice::Auto, false)
        .expect("auto plan");
    assert_eq!(plan, Plan::Folded, "the tiny model folds under auto");
    assert_stream_equals_batch_plan(model, 2, insert_then_retract(19), plan);
}

#[test]
fn stream_with_status_flips_reports_flips() {
    let model = Arc::new(with_tau(tiny_model(), 8.0));
    let outputs = run(&model, 1, insert_then_retract(40));
    let flips: usize = outputs
        .iter()
        .filter_map(|o| o.report.as_ref())
        .map(|r| r.flipped.len())
        .sum();
    assert!(flips > 0, "τ = 8 makes statuses move with df_max");
}

/// Newly known pentagrams change best-pentagram choices in held
/// documents; those rows are patched (reference counts of best-pentagram
/// members) rather than re-extracted, and the stream still equals the batch
/// computation after every epoch (the oracle tests above).
#[test]
fn changed_best_pentagrams_are_patched_not_reextracted_120_docs() {
    let model = Arc::new(tiny_model());
    let outputs = run(&model, 1, insert_then_retract(17));
    let reports: Vec<&EpochReport> = outputs.iter().filter_map(|o| o.report.as_ref()).collect();
    let patched: u64 = reports.iter().map(|r| r.patched).sum();
    let rechecked: u64 = reports.iter().map(|r| r.rechecked).sum();
    assert!(patched > 0, "no row was patched");
    assert!(
        rechecked < patched,
        "rechecked {rechecked} patched {patched}"
    );
}

#[test]
fn documents_unreached_by_changes_are_not_rechecked() {
    // Re-inserting nothing but one short new document must not re-check
    // every held document.
    let model = Arc::new(tiny_model());
    let mut batches = insert_then_retract(40);
    batches.push(vec![(10_000, "短い".to_string(), 1)]);
    let outputs = run(&model, 1, batches);
    let last = outputs
        .last()
        .and_then(|o| o.report.clone())
        .expect("report");
    assert!(
        last.rechecked < last.docs_held,
        "rechecked {} of {}",
        last.rechecked,
        last.docs_held
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Random insertions and retractions of fixture texts, random epoch
    /// sizes, against the oracle after every epoch.
    #[test]
    fn random_insert_retract_sequences_equal_batch(
        ops in prop::collection::vec((0usize..40, any::<bool>()), 1..60),
        epoch_size in 1usize..12,
        workers in 1usize..3,
        tau in prop::sample::select(vec![0.0f64, 7.5]),
    ) {
        let mut live: BTreeMap<u64, String> = BTreeMap::new();
        let mut next_seq = 0u64;
        let mut changes: Vec<DocChange> = Vec::new();
        for (pick, insert) in ops {
            if insert || live.is_empty() {
                let text = TRAIN[pick * 7 % TRAIN.len()].clone();
                live.insert(next_seq, text.clone());
                changes.push((next_seq, text, 1));
                next_seq += 1;
            } else {
                let seq = *live.keys().nth(pick % live.len()).expect("non-empty");
                let text = live.remove(&seq).expect("live");
                changes.push((seq, text, -1));
            }
        }
        let batches: Vec<Vec<DocChange>> = changes.chunks(epoch_size).map(|c| c.to_vec()).collect();
        assert_stream_equals_batch(with_tau(tiny_model(), tau), workers, batches);
    }
}

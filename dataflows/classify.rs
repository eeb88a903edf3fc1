//! The streaming classification graph (SPEC §7): documents → statistics
//! changes → per-worker classifier → a differential collection of
//! classifications whose changes are the output.
//!
//! - [`statistics`] maintains, with differential's `count_total` and
//!   `reduce` and [`first_appearances`] (arranged state, one update per
//!   distinct key and epoch), the totals the classifier needs: N, the df of
//!   every trigram with a column (the model's df plus the stream's),
//!   whether each trigram the model never saw is present, df_max (over
//!   every trigram), and the pentagrams known beyond the model's with their
//!   first-appearance rank. Its output is the collection of those totals;
//!   an epoch's changes to it are what the classifier applies.
//! - [`classify`] partitions documents by sequence number over the workers,
//!   broadcasts the statistics changes to every worker (each holds the whole
//!   live lexicon, so extraction stays the core's), and runs a
//!   [`Classifier`] per worker, one epoch at a time in order.
//!
//! Timestamps are epochs (`u64`); a document's key is its input sequence
//! number, which also orders pentagram first appearances.

use std::collections::BTreeMap;
use std::sync::Arc;

use differential_dataflow::{AsCollection, VecCollection};
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::core::OkErr;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::{Broadcast, Map};

use super::aggregate::aggregate_per_time;
use super::classifier::{Classification, Classifier, EpochReport, StatChange};
use super::first_seen::first_appearances;
use super::prune::prune_rare;
use super::stats::{df_max, document_count, document_frequencies};
use crate::features::live::PentagramIndex;
use crate::model::Model;
use crate::quant::Plan;
use crate::stats::DocNgrams;

/// The model and settings every worker of the stream shares.
#[derive(Clone)]
pub struct StreamModel {
    /// The model (lexicon, weights, labels).
    pub model: Arc<Model>,
    /// Index of the model's known pentagrams.
    pub pentagrams: Arc<PentagramIndex>,
    /// Categories listed per document.
    pub top_k: usize,
    /// User-defined categories to rank instead of the model's own.
    pub user: Option<Arc<UserRanking>>,
    /// With a tokenizer, the stream also maintains word statistics
    /// ([`super::words::word_statistics`]).
    pub words: Option<Arc<crate::words::WordTokenizer>>,
    /// The inference plan of every classification (as `scyth classify`
    /// resolves it: [`Model::prepare_plan`]); [`Plan::Full`] by default.
    pub plan: Plan,
    /// Prune rare n-grams the model does not know this many documents on
    /// ([`super::prune`]); `None` counts every one for good.
    pub prune_age: Option<u64>,
}

/// User-defined categories (`scyth categories build`) as the stream ranks
/// them: by cosine of the embedding, rescaled as sigmoid((cos − c0) · k),
/// decided at `threshold`.
#[derive(Debug, Clone)]
pub struct UserRanking {
    /// The categories (mean embeddings).
    pub categories: crate::model::categories::UserCategories,
    /// The cosine that scores 0.5.
    pub c0: f32,
    /// Steepness k.
    pub slope: f32,
    /// Decision threshold on the rescaled score.
    pub threshold: f32,
}

impl StreamModel {
    /// Shares `model`, building its pentagram index once.
    pub fn new(model: Arc<Model>, top_k: usize) -> StreamModel {
        let pentagrams = Arc::new(crate::features::live::pentagram_index(&model.lexicon));
        StreamModel {
            model,
            pentagrams,
            top_k,
            user: None,
            words: None,
            plan: Plan::Full,
            prune_age: None,
        }
    }

    /// Prunes n-grams the model does not know that stay in one document
    /// for `age` documents ([`super::prune`]). Only for streams that never
    /// retract documents (no window).
    pub fn with_pruning(mut self, age: u64) -> StreamModel {
        self.prune_age = Some(age);
        self
    }

    /// Classifies with `plan` (resolved and prepared by
    /// [`Model::prepare_plan`], which fails for a plan the model or the
    /// request cannot serve; user categories need [`Plan::Full`]).
    pub fn with_plan(mut self, plan: Plan) -> StreamModel {
        self.plan = plan;
        self
    }

    /// Also maintains word statistics with `tokenizer`.
    pub fn with_words(mut self, tokenizer: Arc<crate::words::WordTokenizer>) -> StreamModel {
        self.words = Some(tokenizer);
        self
    }

    /// The names of the category ids in classifications (the user's
    /// categories when ranked, else the model's labels).
    pub fn label_names(&self) -> Vec<String> {
        match &self.user {
            Some(u) => u
                .categories
                .categories
                .iter()
                .map(|c| c.name.clone())
                .collect(),
            None => self.model.meta.labels.clone(),
        }
    }

    /// Ranks user-defined categories instead of the model's own.
    pub fn with_user_categories(mut self, user: UserRanking) -> StreamModel {
        self.user = Some(Arc::new(user));
        self
    }
}

/// The statistics totals of the model's statistics plus the documents in
/// `docs` (`(sequence number, text)`), as [`StatChange`] records.
pub fn statistics<'scope>(
    docs: VecCollection<'scope, u64, (u64, String)>,
    shared: &StreamModel,
) -> VecCollection<'scope, u64, StatChange> {
    let lex = shared.model.lexicon.clone();
    let norm = shared.model.meta.normalization;
    let (base_docs, base_max) = (lex.n_docs, lex.df_max);

    let n = document_count(docs.clone()).map(move |((), n)| StatChange::Docs(base_docs + n));

    // One n-gram pass per document (inserted or retracted) feeds both the
    // trigram df and the pentagrams the model does not know, the latter as
    // (pentagram, first-appearance rank of its occurrence).
    let known = shared.pentagrams.clone();
    // With pruning, the documents' sequence numbers tell it how far the
    // stream has read.
    let pruning = shared.prune_age.map(|age| {
        (
            age,
            docs.inner.clone().map(|((seq, _), time, _)| (seq, time)),
        )
    });
    let grams = docs.flat_map(move |(seq, text)| {
        let known = known.clone();
        let ngrams = DocNgrams::of(&norm.apply(&text));
        let trigrams = ngrams
            .trigrams
            .into_iter()
            .map(move |t| Gram::Trigram(seq, t.0));
        let pentagrams = ngrams
            .pentagrams
            .into_iter()
            .enumerate()
            .filter(move |(_, p)| !known.contains_key(&p.0))
            .map(move |(pos, p)| Gram::Pentagram(p.0, rank(seq, pos)));
        trigrams.chain(pentagrams)
    });
    let grams = match pruning {
        None => grams,
        Some((age, seqs)) => {
            // Only n-grams the model does not know go through pruning (and
            // its exchange); the model's trigrams always count.
            let lex = lex.clone();
            type Updates<'s> = StreamVec<'s, u64, (Gram, u64, isize)>;
            let (candidates, kept): (Updates<'scope>, Updates<'scope>) =
                grams.inner.ok_err(move |update| match update.0 {
                    Gram::Trigram(_, t) if lex.lookup(crate::text::Trigram(t)).is_some() => {
                        Err(update)
                    }
                    _ => Ok(update),
                });
            let pruned = prune_rare(candidates.as_collection(), seqs, age, |g: &Gram| {
                Some(match *g {
                    Gram::Trigram(seq, t) => (TRIGRAM_KEY | t as u128, seq),
                    Gram::Pentagram(p, rank) => (p, (rank >> 64) as u64),
                })
            });
            pruned.concat(kept.as_collection())
        }
    };
    let doc_trigrams = grams.clone().flat_map(|g| match g {
        Gram::Trigram(seq, t) => Some((seq, t)),
        Gram::Pentagram(..) => None,
    });
    // Each trigram's df with the model's added, tagged with what the
    // classifier needs of it ([`TrigramDf`]).
    let df = document_frequencies(doc_trigrams).map(move |(t, df)| {
        let key = crate::text::Trigram(t);
        match lex.lookup(key) {
            Some(i) if lex.column[i as usize] != crate::features::NO_COLUMN => {
                TrigramDf::Column(t, lex.df[i as usize] + df)
            }
            Some(i) => TrigramDf::Model(lex.df[i as usize] + df),
            None => TrigramDf::Unknown(t, df),
        }
    });
    let max = df_max(df.clone().map(|d| (0, d.total())))
        .map(move |((), m)| StatChange::DfMax(m.max(base_max)));
    // Only a column trigram's df decides statuses and levels. Of a trigram
    // the model never saw (it has no column) the classifier needs only
    // whether it is present: its df changes are summed per epoch, so that
    // a retraction of the old df and the new df cancel and only 0 ↔ ≥ 1
    // transitions travel (to every worker). A model trigram without a
    // column is always present: nothing travels.
    type Changes<'s> = StreamVec<'s, u64, (StatChange, u64, isize)>;
    let (column_df, present): (Changes<'scope>, Changes<'scope>) = df
        .inner
        .flat_map(|(d, time, diff)| match d {
            TrigramDf::Column(t, df) => Some((StatChange::Df(t, df), time, diff)),
            TrigramDf::Unknown(t, _) => Some((StatChange::Present(t), time, diff)),
            TrigramDf::Model(_) => None,
        })
        .ok_err(|update| match update.0 {
            StatChange::Present(_) => Err(update),
            _ => Ok(update),
        });
    let df = column_df
        .as_collection()
        .concat(aggregate_per_time(present.as_collection()));
    let occurrences = grams.flat_map(|g| match g {
        Gram::Pentagram(p, rank) => Some((p, rank)),
        Gram::Trigram(..) => None,
    });
    // One pass per changed pentagram over its ranks gives both its df (the
    // documents holding it: one rank per document) and its first
    // appearance (the smallest rank), so the occurrences are arranged once,
    // with no second count or join.
    let min_df = shared.model.lexicon.params.pent_min_df as isize;
    let pentagrams =
        first_appearances(occurrences, min_df).map(|(p, rank)| StatChange::Pentagram(p, rank));

    n.concat(max).concat(df).concat(pentagrams)
}

/// A trigram's df in the statistics (the model's plus the stream's), by
/// what the classifier needs of it.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
enum TrigramDf {
    /// A trigram with an input column (packed, df).
    Column(u64, u32),
    /// A model trigram without a column (df).
    Model(u32),
    /// A trigram the model never saw (packed, the stream's df).
    Unknown(u64, u32),
}

impl TrigramDf {
    /// The df, which df_max covers for every trigram.
    fn total(&self) -> u32 {
        match *self {
            TrigramDf::Column(_, df) | TrigramDf::Model(df) | TrigramDf::Unknown(_, df) => df,
        }
    }
}

/// Marks a trigram's pruning key apart from pentagrams' (a packed
/// pentagram's five 21-bit characters never reach the top bit).
const TRIGRAM_KEY: u128 = 1 << 127;

/// One distinct n-gram of a document, as [`statistics`] counts it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Gram {
    /// A document's sequence number and one of its packed trigrams.
    Trigram(u64, u64),
    /// A packed pentagram the model does not know, with the
    /// first-appearance rank of this occurrence.
    Pentagram(u128, u128),
}

/// First-appearance rank of the pentagram at `pos` of document `seq`.
fn rank(seq: u64, pos: usize) -> u128 {
    ((seq as u128) << 64) | pos as u128
}

/// The two outputs of [`classify`]: classifications (a differential
/// collection keyed by sequence number) and per-worker epoch reports.
pub type ClassifyOutputs<'scope> = (
    VecCollection<'scope, u64, (u64, Classification)>,
    StreamVec<'scope, u64, (u64, EpochReport)>,
);

/// Classifications of `docs` under the statistics `stats` (the output of
/// [`statistics`] over the same documents), and each worker's report of
/// every epoch in which it had work.
pub fn classify<'scope>(
    docs: VecCollection<'scope, u64, (u64, String)>,
    stats: VecCollection<'scope, u64, StatChange>,
    shared: &StreamModel,
) -> ClassifyOutputs<'scope> {
    let shared = shared.clone();
    let out: StreamVec<'scope, u64, (Output, u64, isize)> = docs.inner.binary_frontier(
        stats.inner.broadcast(),
        Exchange::new(|u: &((u64, String), u64, isize)| (u.0).0),
        Pipeline,
        "Classify",
        move |_capability, _info| {
            let mut classifier = Classifier::new(
                shared.model.clone(),
                shared.pentagrams.clone(),
                shared.top_k,
            )
            .with_user_categories(shared.user.clone())
            .with_plan(shared.plan);
            let mut stash: BTreeMap<u64, Pending> = BTreeMap::new();
            let mut changes = Vec::new();
            move |(docs_in, docs_frontier), (stats_in, stats_frontier), output| {
                // Records carry their own times (at or after the batch's
                // capability): stash each under its time.
                let port = output.output_index();
                docs_in.for_each_stamp(|cap, data| {
                    for batch in data {
                        for (d, t, r) in batch.drain(..) {
                            let pending = stash
                                .entry(t)
                                .or_insert_with(|| Pending::new(cap.delayed(&t, port)));
                            pending.docs.push((d, r));
                        }
                    }
                });
                stats_in.for_each_stamp(|cap, data| {
                    for batch in data {
                        for (d, t, r) in batch.drain(..) {
                            let pending = stash
                                .entry(t)
                                .or_insert_with(|| Pending::new(cap.delayed(&t, port)));
                            pending.stats.push((d, r));
                        }
                    }
                });
                while let Some(entry) = stash.first_entry() {
                    let time = *entry.key();
                    if docs_frontier.less_equal(&time) || stats_frontier.less_equal(&time) {
                        break;
                    }
                    let pending = entry.remove();
                    let report = classifier.step(pending.stats, pending.docs, &mut changes);
                    let mut session = output.session(&pending.capability);
                    for (record, diff) in changes.drain(..) {
                        session.give((Output::Class(record), time, diff));
                    }
                    session.give((Output::Report(report), time, 1));
                }
            }
        },
    );
    let classes = out
        .clone()
        .flat_map(|(o, t, r)| match o {
            Output::Class(c) => Some((c, t, r)),
            Output::Report(_) => None,
        })
        .as_collection();
    let reports = out.flat_map(|(o, t, _)| match o {
        Output::Report(rep) => Some((t, rep)),
        Output::Class(_) => None,
    });
    (classes, reports)
}

/// One epoch's inputs waiting for both frontiers to pass it.
struct Pending {
    capability: Capability<u64>,
    docs: Vec<((u64, String), isize)>,
    stats: Vec<(StatChange, isize)>,
}

impl Pending {
    fn new(capability: Capability<u64>) -> Pending {
        Pending {
            capability,
            docs: Vec::new(),
            stats: Vec::new(),
        }
    }
}

/// What the classifier operator emits: classification changes and reports.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Output {
    Class((u64, Classification)),
    Report(EpochReport),
}

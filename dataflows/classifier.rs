//! The per-worker state of the streaming classifier: a live lexicon that
//! follows the corpus statistics, the documents this worker owns with their
//! int8 inputs and classifications, and the rule that decides which of them
//! to re-classify when statistics change. Plain Rust (no timely types), so
//! that the operator in [`mod@super::classify`] is a thin wrapper and this logic
//! can be read and tested on its own.
//!
//! **When a document is re-classified.** Its int8 result is a function of
//! its int8 input: the set columns, their u8 codes and the row's scale
//! ([`input_codes`]). In
//! a document with a DIRECT feature the row maximum is 1.0, so every code is
//! a function of one trigram's [`InputState`] (white/gray and AGR level).
//! A document's input can therefore change only when
//! 1. a trigram with a column changes state (a df change, or df_max moving
//!    across a step of [`input_state`]; the latter found by range queries
//!    over an index ordered by (weight, df), [`changed_df_ranges`]), and the
//!    document contains that trigram or a trigram sharing a known pentagram
//!    with it (through which pentagram expansion reaches it); or
//! 2. a pentagram becomes known or unknown (or moves in list order) and
//!    that changes one of the document's best-pentagram choices (found
//!    from the epoch's list changes without searching the lists again:
//!    [`super::bests`]); or
//! 3. the document has features but no DIRECT one (its scale depends on its
//!    AGR values): re-checked whenever any statistic changes.
//!
//! Documents reached by a status flip (rule 1) or by rule 3 are re-extracted
//! from their profile; a level change (rule 1) or a changed best pentagram
//! (rule 2) is patched into the row ([`super::docrow`]). A document whose
//! columns, codes and scale are unchanged keeps its result without running
//! the network, and only a changed classification is emitted (the old one
//! retracted). Under the folded plan a row with a DIRECT feature keeps its
//! folded accumulators instead of its codes (its scale is that of every row
//! whose largest value is 1.0), and a patch adds the code deltas of the
//! columns it changed: a few integer rows instead of quantizing and
//! gathering the whole row again, with the same integers.

use std::collections::BTreeSet;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use super::bests::{ListChanges, ProfileCounts};
use super::docrow::{ColumnDelta, DocRow};
use super::holders::Holders;
use crate::features::extract::research_bests;
use crate::features::live::PentagramIndex;
use crate::features::{
    FeatureScratch, FeatureSource, InputState, LiveLexicon, NO_COLUMN, ProfileEntry, SparseRow,
    changed_df_ranges, extract_pairs, input_state, reextract_pairs,
};
use crate::model::{Model, Precision, PredictScratch};
use crate::quant::{Plan, RowQuantizer, default_kernel, input_codes};
use crate::text::Pentagram;

/// A document's classification as the stream emits it: the decided labels
/// and the top-k categories with their probabilities (as f32 bits, so that
/// the record is totally ordered and exact).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Classification {
    /// Decided category ids (the model's decision rule).
    pub labels: Vec<u32>,
    /// Probability bits of each decided label.
    pub label_bits: Vec<u32>,
    /// The top-k categories, probability descending, with probability bits.
    pub top: Vec<(u32, u32)>,
}

/// One change of the corpus statistics, as the statistics graph emits it
/// (every value is the new total, the model's statistics included).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StatChange {
    /// N, the number of documents.
    Docs(u64),
    /// The largest df.
    DfMax(u32),
    /// The df of a packed trigram with an input column.
    Df(u64, u32),
    /// A packed trigram the model never saw is in the statistics (df ≥ 1;
    /// retracted when its df falls to 0). Such a trigram has no column, so
    /// its df decides nothing but whether it is present: the live lexicon
    /// holds it as df 1.
    Present(u64),
    /// A pentagram (packed) known in the stream beyond the model's, with its
    /// first-appearance rank.
    Pentagram(u128, u128),
}

/// What one epoch did, as seen by one worker. Fields marked global are the
/// same on every worker (each holds the whole statistics).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EpochReport {
    /// Global: documents in the statistics (model's plus stream's).
    pub n_docs: u64,
    /// Global: largest df.
    pub df_max: u32,
    /// Global: trigrams in the statistics (df ≥ 1).
    pub trigrams: u64,
    /// Global: white trigrams with a column.
    pub white_columns: u64,
    /// Global: gray trigrams with a column.
    pub gray_columns: u64,
    /// Global: pentagrams known beyond the model's.
    pub appended_pentagrams: u64,
    /// Global: column trigrams that changed status this epoch, as
    /// (packed trigram, now white).
    pub flipped: Vec<(u64, bool)>,
    /// Global: the ten column trigrams with the largest df (packed, df).
    pub top_df: Vec<(u64, u32)>,
    /// Largest over the workers (each holds the whole live lexicon): trigram
    /// indices allocated to trigrams the model never saw, held and free. A
    /// windowed stream reuses the indices of trigrams that left, so this
    /// follows what the window holds, not the length of the stream.
    pub trigram_slots: u64,
    /// Largest over the workers: pentagram indices allocated beyond the
    /// model's, held and free (bounded in the same way).
    pub pentagram_slots: u64,
    /// Documents this worker holds. (A worker reports only epochs in which
    /// it had work; merged reports sum the workers that did.)
    pub docs_held: u64,
    /// Documents re-extracted because statistics changed.
    pub rechecked: u64,
    /// Documents whose rows were patched (AGR levels, best pentagrams)
    /// without re-extraction.
    pub patched: u64,
    /// Of those, documents whose classification changed.
    pub reclassified: u64,
}

/// A document this worker owns.
#[derive(Debug)]
struct DocState {
    /// Distinct text trigrams, sorted, with their occurrences and their
    /// best pentagram with its extra count ([`FeatureScratch::profile`]):
    /// enough to re-derive the features without the text.
    profile: Vec<ProfileEntry>,
    /// Feature row, AGR features and best-pentagram reference counts.
    row: DocRow,
    /// What decides whether the network must run again.
    input: DocInput,
    class: Classification,
}

/// What a held document keeps of its int8 input.
#[derive(Debug, PartialEq, Eq)]
enum DocInput {
    /// The codes, then the scale bits ([`int8_input`]), compared after a
    /// change.
    Codes(Vec<i32>),
    /// Under the folded plan, a row whose largest value is 1.0 (one with a
    /// DIRECT feature): its folded accumulators
    /// ([`FoldedPlan::accumulate`](crate::quant::plan::FoldedPlan::accumulate)).
    /// The row's scale is that of every such row, so a patch adds the code
    /// deltas of the columns it changed (exact integers) instead of
    /// quantizing and gathering the whole row again.
    Folded(Vec<i32>),
}

/// What a statistics change asks of the held documents.
#[derive(Debug, Default)]
struct Work {
    /// Documents to re-extract (rule 1 for status flips, and rule 3).
    reextract: FxHashSet<u64>,
    /// Trigrams whose AGR level changed while their status did not: their
    /// value is patched in the documents that hold them as AGR features.
    relevel: Vec<u32>,
    /// Per document to re-extract: the trigrams whose list must be searched
    /// again (their best pentagram left the list).
    research: FxHashMap<u64, Vec<u32>>,
    /// Per document not re-extracted: best pentagrams that changed, as
    /// (old, new), patched into its row.
    bests: FxHashMap<u64, Vec<(u32, u32)>>,
    /// Trigrams whose df fell to 0.
    zeroed: Vec<u32>,
}

/// The state of one worker of the streaming classifier.
pub struct Classifier {
    model: Arc<Model>,
    /// Imported SCYTH-5 models keep statuses and scores as stored: features
    /// come from the model's lexicon and only N follows the stream.
    frozen: bool,
    user: Option<Arc<super::classify::UserRanking>>,
    /// The inference plan (see [`Classifier::with_plan`]).
    plan: Plan,
    live: LiveLexicon,
    top_k: usize,
    /// Column trigrams by (weight, df, index), for range queries.
    by_weight_df: BTreeSet<(u8, u32, u32)>,
    white_columns: u64,
    /// Trigrams with df ≥ 1.
    trigrams: u64,
    docs: FxHashMap<u64, DocState>,
    text_index: Holders,
    /// Documents holding each trigram as an AGR feature.
    agr_index: Holders,
    scale_sensitive: FxHashSet<u64>,
    /// The pentagram list changes of the current epoch.
    lists: ListChanges,
    /// Scratch counts for [`ListChanges::update`].
    profile_counts: ProfileCounts,
    features: FeatureScratch,
    predict: PredictScratch,
    codes: Vec<i32>,
    /// The quantizer of rows whose largest value is 1.0.
    unit: RowQuantizer,
}

impl Classifier {
    /// A worker starting from the model's statistics, emitting the `top_k`
    /// most probable categories per document.
    pub fn new(model: Arc<Model>, base_pentagrams: Arc<PentagramIndex>, top_k: usize) -> Self {
        let live = LiveLexicon::new(model.lexicon.clone(), base_pentagrams);
        let lex = live.base();
        let by_weight_df = lex
            .column_trigram
            .iter()
            .map(|&t| (live.weight(t), live.df(t), t))
            .collect();
        let white_columns = lex.white_columns() as u64;
        let trigrams = lex.n_trigrams() as u64;
        let model_arithmetic = model.int8_weights.arithmetic;
        Classifier {
            frozen: !model.meta.source.is_trained(),
            user: None,
            plan: Plan::Full,
            model,
            live,
            top_k,
            by_weight_df,
            white_columns,
            trigrams,
            docs: FxHashMap::default(),
            text_index: Holders::default(),
            agr_index: Holders::default(),
            scale_sensitive: FxHashSet::default(),
            lists: ListChanges::default(),
            profile_counts: ProfileCounts::default(),
            features: FeatureScratch::default(),
            predict: PredictScratch::default(),
            codes: Vec::new(),
            unit: RowQuantizer::for_max(model_arithmetic, 1.0),
        }
    }

    /// Ranks user-defined categories instead of the model's own.
    pub fn with_user_categories(mut self, user: Option<Arc<super::classify::UserRanking>>) -> Self {
        self.user = user;
        self
    }

    /// Runs the network with `plan` (prepared by the caller with
    /// [`Model::prepare_plan`], as `scyth classify` does; the folded plans
    /// need the model's float weights and give no embedding).
    pub fn with_plan(mut self, plan: Plan) -> Self {
        self.plan = plan;
        self
    }

    /// The live statistics.
    pub fn live(&self) -> &LiveLexicon {
        &self.live
    }

    /// Runs one epoch: applies the statistics changes, retracts removed
    /// documents, re-checks the documents the changes can reach, classifies
    /// new documents, and appends the classification changes to `out`.
    pub fn step(
        &mut self,
        stats: Vec<(StatChange, isize)>,
        docs: Vec<((u64, String), isize)>,
        out: &mut Vec<((u64, Classification), isize)>,
    ) -> EpochReport {
        let mut report = EpochReport::default();
        let any_stats = !stats.is_empty();
        let mut timer = StepTimer::start();
        let n_stats = stats.len();
        let mut work = self.apply_stats(stats, &mut report, &mut timer);

        let (added, removed) = net_documents(docs);
        for seq in removed {
            if let Some(doc) = self.docs.remove(&seq) {
                self.unindex(seq, &doc);
                self.scale_sensitive.remove(&seq);
                out.push(((seq, doc.class), -1));
            }
        }
        // A trigram whose last document left: one only the stream saw
        // gives its index back (reused from the next epoch), so a windowed
        // stream's tables stay as large as what it holds. One that pruning
        // took out of the statistics ([`super::prune`]) while documents
        // still hold it keeps its index, which their profiles name.
        for t in std::mem::take(&mut work.zeroed) {
            if self.text_index.get(t).is_none() {
                self.live.release_trigram(t);
            }
        }

        if any_stats {
            work.reextract.extend(self.scale_sensitive.iter().copied());
        }
        // Rule 1, level only: patch the AGR value in place.
        let mut releveled: FxHashMap<u64, Vec<ColumnDelta>> = FxHashMap::default();
        for &u in &work.relevel {
            let Some(holders) = self.agr_index.get(u) else {
                continue;
            };
            let value = self.live.agr_value(u);
            for &seq in holders {
                if work.reextract.contains(&seq) {
                    continue;
                }
                if let Some(doc) = self.docs.get_mut(&seq) {
                    let deltas = releveled.entry(seq).or_default();
                    deltas.extend(doc.row.relevel(&self.live, u, value));
                }
            }
        }
        // Rule 2: patch the changed best pentagrams in (searching again
        // only the lists whose best left).
        work.bests.retain(|seq, _| !work.reextract.contains(seq));
        let mut patched: Vec<u64> = releveled
            .keys()
            .copied()
            .chain(work.bests.keys().copied())
            .chain(
                work.research
                    .keys()
                    .copied()
                    .filter(|seq| !work.reextract.contains(seq)),
            )
            .collect();
        patched.sort_unstable();
        patched.dedup();
        for seq in patched {
            report.patched += 1;
            let changes = work.bests.remove(&seq).unwrap_or_default();
            let research = work.research.remove(&seq).unwrap_or_default();
            let deltas = releveled.remove(&seq).unwrap_or_default();
            if let Some((old, new)) = self.reclassify_patched(seq, changes, &research, deltas) {
                report.reclassified += 1;
                out.push(((seq, old), -1));
                out.push(((seq, new), 1));
            }
        }
        timer.lap(Phase::Patch);
        let mut affected: Vec<u64> = work.reextract.into_iter().collect();
        affected.sort_unstable();
        for seq in affected {
            if !self.docs.contains_key(&seq) {
                continue;
            }
            report.rechecked += 1;
            let research = work.research.remove(&seq).unwrap_or_default();
            if let Some((old, new)) = self.recheck(seq, &research) {
                report.reclassified += 1;
                out.push(((seq, old), -1));
                out.push(((seq, new), 1));
            }
        }

        timer.lap(Phase::Recheck);
        let n_added = added.len();
        for (seq, text) in added {
            let class = self.insert(seq, text);
            out.push(((seq, class), 1));
        }
        timer.lap(Phase::Insert);
        report.docs_held = self.docs.len() as u64;
        self.fill_globals(&mut report);
        timer.lap(Phase::Report);
        timer.print(|| {
            format!(
                "stats {n_stats}, added {n_added}, patched {}, rechecked {}, held {}",
                report.patched, report.rechecked, report.docs_held
            )
        });
        report
    }

    /// Applies statistics changes; returns the documents to re-extract and
    /// the trigrams to re-level (module documentation, rules 1 and 2).
    fn apply_stats(
        &mut self,
        stats: Vec<(StatChange, isize)>,
        report: &mut EpochReport,
        timer: &mut StepTimer,
    ) -> Work {
        let base = self.live.base();
        let (base_docs, base_max) = (base.n_docs, base.df_max);
        let params = base.params.score;
        let old_max = self.live.df_max();
        // Every held document's bests were updated for the previous
        // epoch's removals: the pentagram and trigram indices it released
        // are free again.
        self.live.recycle_removed();
        let mut n_docs = None;
        let mut df_max = None;
        // New df per packed trigram; `None`: the model's own (looked up
        // once the trigram's index is known, not per retraction).
        let mut dfs: FxHashMap<u64, Option<u32>> = FxHashMap::default();
        let mut pents_in: Vec<(u128, u128)> = Vec::new();
        let mut pents_out: Vec<u128> = Vec::new();
        // Each key's change reaches this worker once per epoch (a
        // retraction of the old total and the new total, from the one
        // operator and worker that owns the key), and every arm below gives
        // the same result in either order: no consolidation (a sort of
        // every change) is needed.
        for (change, diff) in stats {
            match (change, diff > 0) {
                (StatChange::Docs(n), true) => n_docs = Some(n),
                (StatChange::Docs(_), false) => {
                    n_docs.get_or_insert(base_docs);
                }
                (StatChange::DfMax(m), true) => df_max = Some(m),
                (StatChange::DfMax(_), false) => {
                    df_max.get_or_insert(base_max);
                }
                (StatChange::Df(key, df), true) => {
                    dfs.insert(key, Some(df));
                }
                (StatChange::Df(key, _), false) => {
                    // The stream no longer holds the trigram: the model's df.
                    dfs.entry(key).or_insert(None);
                }
                // One transition per key and epoch (summed per epoch).
                (StatChange::Present(key), present) => {
                    dfs.insert(key, Some(present as u32));
                }
                (StatChange::Pentagram(p, rank), true) => pents_in.push((p, rank)),
                (StatChange::Pentagram(p, _), false) => pents_out.push(p),
            }
        }
        if let Some(n) = n_docs {
            self.live.set_n_docs(n);
        }
        if self.frozen {
            return Work::default();
        }
        let new_max = df_max.unwrap_or(old_max);
        self.live.set_df_max(new_max);

        timer.lap(Phase::Collect);

        // Rule 1: column trigrams whose state changed.
        let mut old_df: FxHashMap<u32, u32> = FxHashMap::default();
        let mut keys: Vec<(u64, Option<u32>)> = dfs.into_iter().collect();
        keys.sort_unstable();
        // One batched lookup (its cache misses overlap), then the new
        // trigrams indexed in key order.
        let packed: Vec<u64> = keys.iter().map(|&(key, _)| key).collect();
        let mut found = Vec::with_capacity(packed.len());
        self.live.lookup_many(&packed, &mut found);
        let mut zeroed = Vec::new();
        for ((key, df), t) in keys.into_iter().zip(found) {
            let t = if t == u32::MAX {
                self.live.index_or_insert(key)
            } else {
                t
            };
            let df = df.unwrap_or_else(|| self.live.base_df_at(t));
            let old = self.live.set_df_at(t, df);
            match (old, df) {
                (0, d) if d > 0 => self.trigrams += 1,
                (o, 0) if o > 0 => {
                    self.trigrams -= 1;
                    zeroed.push(t);
                }
                _ => {}
            }
            if self.live.column(t) != NO_COLUMN {
                let w = self.live.weight(t);
                self.by_weight_df.remove(&(w, old, t));
                self.by_weight_df.insert((w, df, t));
                old_df.insert(t, old);
            }
        }
        timer.lap(Phase::Df);
        let mut work = Work {
            zeroed,
            ..Work::default()
        };
        let mut candidates: Vec<u32> = old_df.keys().copied().collect();
        if new_max != old_max {
            for w in 0..=crate::stats::score::MAX_WEIGHT as u8 {
                for r in changed_df_ranges(&params, w, old_max, new_max) {
                    candidates.extend(
                        self.by_weight_df
                            .range((w, *r.start(), 0)..=(w, *r.end(), u32::MAX))
                            .map(|&(_, _, t)| t),
                    );
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut reach = Vec::new();
        for t in candidates {
            let w = self.live.weight(t);
            let before = old_df.get(&t).copied().unwrap_or(self.live.df(t));
            let old: InputState = input_state(&params, w, before, old_max);
            let new = input_state(&params, w, self.live.df(t), new_max);
            if old == new {
                continue;
            }
            if old.white == new.white {
                work.relevel.push(t);
                continue;
            }
            if new.white {
                self.white_columns += 1;
            } else {
                self.white_columns -= 1;
            }
            report.flipped.push((self.live.key(t), new.white));
            reach.push(t);
            self.live.pentagram_neighbours(t, &mut reach);
        }
        reach.sort_unstable();
        reach.dedup();
        for t in &reach {
            if let Some(list) = self.text_index.get(*t) {
                work.reextract.extend(list.iter().copied());
            }
        }

        timer.lap(Phase::Status);

        // Rule 2: pentagrams that left, entered or moved in list order. A
        // pentagram whose first documents left moves later in its lists in
        // place, keeping its index; any other move leaves under its old
        // index and enters under a new one.
        self.lists.clear();
        pents_in.sort_unstable_by_key(|&(p, rank)| (rank, p));
        let incoming: FxHashSet<u128> = pents_in.iter().map(|&(p, _)| p).collect();
        // Removal order decides which indices insertions reuse: keep it
        // independent of the order in which the workers' changes arrived.
        pents_out.sort_unstable();
        for p in pents_out {
            if incoming.contains(&p) {
                continue;
            }
            let p = Pentagram(p);
            let id = self.live.appended_id(p);
            if let (Some(id), Some(tris)) = (id, self.live.remove_pentagram(p)) {
                self.lists.removed(id, tris);
            }
        }
        for (p, rank) in pents_in {
            let p = Pentagram(p);
            if let Some((id, tris, old)) = self.live.move_pentagram(p, rank) {
                self.lists.moved(id, tris, old, rank);
                continue;
            }
            let id = self.live.appended_id(p);
            if let (Some(id), Some(tris)) = (id, self.live.remove_pentagram(p)) {
                self.lists.removed(id, tris);
            }
            if let Some(tris) = self.live.insert_pentagram(p, rank)
                && let Some(id) = self.live.appended_id(p)
            {
                self.lists.inserted(id, tris, rank);
            }
        }
        self.lists.finish();
        timer.lap(Phase::Lists);
        if !self.lists.is_empty() {
            for (&seq, doc) in self.docs.iter_mut() {
                let update =
                    self.lists
                        .update(&self.live, &mut doc.profile, &mut self.profile_counts);
                if !update.research.is_empty() {
                    work.research.insert(seq, update.research);
                }
                if !update.changes.is_empty() {
                    work.bests.insert(seq, update.changes);
                }
            }
        }
        timer.lap(Phase::Bests);
        work
    }

    /// Extracts and classifies a new document and indexes it.
    fn insert(&mut self, seq: u64, text: String) -> Classification {
        let (row, profile) = self.features_of(&text);
        for &(t, _, _, _) in &profile {
            self.text_index.insert(t, seq);
        }
        let input = self.fresh_input(&row.row);
        let class = self.classify_row(&row.row, &input, seq);
        for &t in &row.agr {
            self.agr_index.insert(t, seq);
        }
        self.docs.insert(
            seq,
            DocState {
                profile,
                row,
                input,
                class: class.clone(),
            },
        );
        class
    }

    /// Removes a document from the indexes.
    fn unindex(&mut self, seq: u64, doc: &DocState) {
        for &(t, _, _, _) in &doc.profile {
            self.text_index.remove(t, seq);
        }
        self.unindex_agr(seq, &doc.row.agr);
    }

    fn unindex_agr(&mut self, seq: u64, agr: &[u32]) {
        for &t in agr {
            self.agr_index.remove(t, seq);
        }
    }

    /// Re-extracts a held document from its profile (bests already
    /// updated for this epoch's list changes, except the trigrams in
    /// `research`, whose lists are searched again); returns its old and
    /// new classification when the classification changed.
    fn recheck(&mut self, seq: u64, research: &[u32]) -> Option<(Classification, Classification)> {
        let mut profile = std::mem::take(&mut self.docs.get_mut(&seq)?.profile);
        let stale = |t: u32| research.binary_search(&t).is_ok();
        let pairs = if self.frozen {
            reextract_pairs(self.live.base(), &mut profile, stale, &mut self.features)
        } else {
            reextract_pairs(&self.live, &mut profile, stale, &mut self.features)
        };
        let row = if self.frozen {
            DocRow::build(self.live.base(), &pairs, &profile)
        } else {
            DocRow::build(&self.live, &pairs, &profile)
        };
        let doc = self.docs.get_mut(&seq)?;
        doc.profile = profile;
        let cols_changed = doc.row.row.cols != row.row.cols;
        let old = std::mem::replace(&mut doc.row, row);
        let agr = doc.row.agr.clone();
        if old.agr != agr {
            self.unindex_agr(seq, &old.agr);
            for &t in &agr {
                self.agr_index.insert(t, seq);
            }
        }
        self.update_row(seq, cols_changed, None)
    }

    /// Re-runs a document whose row values were patched in place (levels)
    /// after patching in its changed best pentagrams: `changes`, and those
    /// of the trigrams in `research` (their best left; searched again).
    fn reclassify_patched(
        &mut self,
        seq: u64,
        mut changes: Vec<(u32, u32)>,
        research: &[u32],
        mut deltas: Vec<ColumnDelta>,
    ) -> Option<(Classification, Classification)> {
        let (mut entered, mut left) = (Vec::new(), Vec::new());
        let doc = self.docs.get_mut(&seq)?;
        if !research.is_empty() {
            changes.extend(research_bests(
                &self.live,
                &mut doc.profile,
                research,
                &mut self.features,
            ));
        }
        let cols_changed = doc.row.patch(
            &self.live,
            &doc.profile,
            &changes,
            &mut entered,
            &mut left,
            &mut deltas,
        );
        for t in entered {
            self.agr_index.insert(t, seq);
        }
        self.unindex_agr(seq, &left);
        self.update_row(seq, cols_changed, Some(&deltas))
    }

    /// Runs the network on a document whose row was replaced or patched,
    /// only when its int8 input changed (`cols_changed`, or other codes or
    /// scale), and reports a changed classification. `deltas`, when given,
    /// are every (column, old value, new value) change of a patched row:
    /// a row with folded accumulators adds their code deltas instead of
    /// quantizing and gathering the whole row again.
    fn update_row(
        &mut self,
        seq: u64,
        cols_changed: bool,
        deltas: Option<&[ColumnDelta]>,
    ) -> Option<(Classification, Classification)> {
        let doc = self.docs.get_mut(&seq)?;
        if let (DocInput::Folded(acc), Some(deltas)) = (&mut doc.input, deltas) {
            // Patches change AGR features only: the DIRECT features, and
            // with them the row's largest value 1.0 and its scale, stay.
            let folded = self.model.folded_plan();
            let mut moved = false;
            for &(col, old, new) in deltas {
                let delta = self.unit.code(new) - self.unit.code(old);
                if delta != 0 {
                    folded.add_column(col, delta, acc);
                    moved = true;
                }
            }
            if !moved {
                return None;
            }
            let prediction = self.model.predict_folded_acc(
                acc,
                self.unit.qp.scale,
                doc.row.row.cols.len(),
                &mut self.predict,
            );
            // User categories need the full plan: the model decides.
            let class = classification(&self.model, &prediction, self.top_k);
            return (class != doc.class)
                .then(|| (std::mem::replace(&mut doc.class, class.clone()), class));
        }
        let row = std::mem::take(&mut doc.row.row);
        let input = self.fresh_input(&row);
        let doc = self.docs.get_mut(&seq)?;
        if !cols_changed && input == doc.input {
            doc.row.row = row;
            return None;
        }
        let class = self.classify_row(&row, &input, seq);
        let doc = self.docs.get_mut(&seq)?;
        doc.row.row = row;
        doc.input = input;
        if class == doc.class {
            return None;
        }
        Some((std::mem::replace(&mut doc.class, class.clone()), class))
    }

    /// The int8 input a held document keeps for `row`: under the folded
    /// plan, the folded accumulators of a row whose largest value is 1.0;
    /// otherwise its codes and scale.
    fn fresh_input(&mut self, row: &SparseRow) -> DocInput {
        let unit_max = row.vals.iter().fold(0.0f32, |m, &v| m.max(v)) == 1.0;
        if self.plan == Plan::Folded && unit_max {
            let qp = input_codes(
                self.model.int8_weights.arithmetic,
                &row.vals,
                &mut self.codes,
            );
            debug_assert_eq!(qp.scale.to_bits(), self.unit.qp.scale.to_bits());
            let mut acc = Vec::new();
            self.model
                .folded_plan()
                .accumulate(default_kernel(), &row.cols, &self.codes, &mut acc);
            DocInput::Folded(acc)
        } else {
            let mut codes = Vec::new();
            int8_input(&self.model, &row.vals, &mut codes);
            DocInput::Codes(codes)
        }
    }

    /// Feature row of a text and its trigram profile (sorted by trigram).
    fn features_of(&mut self, text: &str) -> (DocRow, Vec<ProfileEntry>) {
        let norm = self.model.meta.normalization;
        let pairs = if self.frozen {
            extract_pairs(self.live.base(), norm, text, &mut self.features)
        } else {
            extract_pairs(&self.live, norm, text, &mut self.features)
        };
        let mut profile: Vec<ProfileEntry> = self.features.profile().collect();
        profile.sort_unstable();
        let row = if self.frozen {
            DocRow::build(self.live.base(), &pairs, &profile)
        } else {
            DocRow::build(&self.live, &pairs, &profile)
        };
        (row, profile)
    }

    /// Classification of document `seq`'s feature row, whose int8 input
    /// is `input` ([`Classifier::fresh_input`]).
    fn classify_row(&mut self, row: &SparseRow, input: &DocInput, seq: u64) -> Classification {
        // Rule 3: without a DIRECT feature (value 1.0) the row's scale is
        // set by its own AGR values.
        if !row.is_empty() && !row.vals.contains(&1.0) {
            self.scale_sensitive.insert(seq);
        } else {
            self.scale_sensitive.remove(&seq);
        }
        let prediction = match (input, self.plan) {
            (DocInput::Folded(acc), _) => self.model.predict_folded_acc(
                acc,
                self.unit.qp.scale,
                row.cols.len(),
                &mut self.predict,
            ),
            (DocInput::Codes(_), Plan::Full) => {
                self.model
                    .predict_row(row, Precision::Int8, &mut self.predict)
            }
            (DocInput::Codes(_), plan) => {
                let mut preds = self.model.predict_rows_plan(
                    &[row],
                    Precision::Int8,
                    plan,
                    default_kernel(),
                    &mut self.predict,
                );
                preds.swap_remove(0)
            }
        };
        self.decide(&prediction)
    }

    /// The stream's record of a prediction: the model's decision, or the
    /// user's categories ranked.
    fn decide(&self, prediction: &crate::model::Prediction) -> Classification {
        match &self.user {
            Some(user) => user_classification(user, prediction, self.top_k),
            None => classification(&self.model, prediction, self.top_k),
        }
    }

    fn fill_globals(&self, report: &mut EpochReport) {
        report.n_docs = self.live.n_docs();
        report.df_max = self.live.df_max();
        report.trigrams = self.trigrams;
        report.white_columns = self.white_columns;
        report.gray_columns = self.live.base().n_columns() as u64 - self.white_columns;
        report.appended_pentagrams = self.live.n_appended_pentagrams() as u64;
        report.trigram_slots =
            (self.live.trigram_capacity() - self.live.base().n_trigrams()) as u64;
        report.pentagram_slots = self.live.appended_capacity() as u64;
        // The largest df of each weight is the last entry of its range.
        let mut top: Vec<(u64, u32)> = (0..=crate::stats::score::MAX_WEIGHT as u8)
            .flat_map(|w| {
                self.by_weight_df
                    .range((w, 0, 0)..=(w, u32::MAX, u32::MAX))
                    .rev()
                    .take(10)
                    .map(|&(_, df, t)| (self.live.key(t), df))
            })
            .collect();
        top.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        top.truncate(10);
        report.top_df = top;
    }
}

/// The phases of [`Classifier::step`] that [`StepTimer`] times.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Reading the statistics changes (and setting N and df_max).
    Collect,
    /// New dfs into the live lexicon and the (weight, df) index.
    Df,
    /// Column trigrams whose input state changed, and the documents a
    /// status flip reaches.
    Status,
    /// Pentagrams entering, leaving or moving in their lists.
    Lists,
    /// The held documents' best pentagrams after the list changes.
    Bests,
    /// Patching rows (levels, best pentagrams) and re-classifying them.
    Patch,
    /// Re-extracting documents (status flips, rule 3).
    Recheck,
    /// Extracting and classifying new documents.
    Insert,
    /// The epoch report.
    Report,
}

impl Phase {
    const ALL: [Phase; 9] = [
        Phase::Collect,
        Phase::Df,
        Phase::Status,
        Phase::Lists,
        Phase::Bests,
        Phase::Patch,
        Phase::Recheck,
        Phase::Insert,
        Phase::Report,
    ];
}

/// Per-phase timings of [`Classifier::step`], printed to standard error
/// when `SCYTH_STREAM_TIMERS` is set (to see where an epoch's time goes;
/// the first five phases are done in full by every worker, except the
/// best-pentagram update, which covers the worker's own documents).
struct StepTimer {
    on: bool,
    last: std::time::Instant,
    spent: [std::time::Duration; Phase::ALL.len()],
}

impl StepTimer {
    fn start() -> StepTimer {
        StepTimer {
            on: std::env::var_os("SCYTH_STREAM_TIMERS").is_some(),
            last: std::time::Instant::now(),
            spent: Default::default(),
        }
    }

    /// Charges the time since the last lap to `phase`.
    fn lap(&mut self, phase: Phase) {
        if self.on {
            let now = std::time::Instant::now();
            self.spent[phase as usize] += now - self.last;
            self.last = now;
        }
    }

    fn print(&self, counts: impl FnOnce() -> String) {
        if self.on {
            let phases: Vec<String> = Phase::ALL
                .iter()
                .map(|&p| {
                    let ms = self.spent[p as usize].as_secs_f64() * 1e3;
                    format!("{} {ms:.1}", format!("{p:?}").to_lowercase())
                })
                .collect();
            eprintln!(
                "scyth stream timers (ms): {}; {}",
                phases.join(", "),
                counts()
            );
        }
    }
}

/// The stream's record of a prediction: decided labels and top-k.
pub fn classification(
    model: &Model,
    prediction: &crate::model::Prediction,
    top_k: usize,
) -> Classification {
    let labels = model.decide(prediction, None);
    let label_bits = labels
        .iter()
        .map(|&c| prediction.probabilities[c as usize].to_bits())
        .collect();
    let top = prediction
        .top_k(top_k)
        .into_iter()
        .map(|(c, p)| (c, p.to_bits()))
        .collect();
    Classification {
        labels,
        label_bits,
        top,
    }
}

/// The int8 encoder input of a row: its codes, then the bits of its scale
/// (a row without a DIRECT feature can keep its codes while its scale, and
/// so its result, moves).
fn int8_input(model: &Model, vals: &[f32], out: &mut Vec<i32>) {
    let qp = input_codes(model.int8_weights.arithmetic, vals, out);
    out.push(qp.scale.to_bits() as i32);
}

/// The stream's record of a prediction ranked against user-defined
/// categories (category ids index `user.categories`).
pub fn user_classification(
    user: &super::classify::UserRanking,
    prediction: &crate::model::Prediction,
    top_k: usize,
) -> Classification {
    let (decided, top) = user.categories.decide(
        &prediction.embedding(),
        user.c0,
        user.slope,
        user.threshold,
        top_k,
    );
    Classification {
        labels: decided.iter().map(|s| s.category as u32).collect(),
        label_bits: decided.iter().map(|s| s.score.to_bits()).collect(),
        top: top
            .iter()
            .map(|s| (s.category as u32, s.score.to_bits()))
            .collect(),
    }
}

/// Sums the diffs of equal records and drops the zeros.
fn consolidate<D: Ord>(mut updates: Vec<(D, isize)>) -> Vec<(D, isize)> {
    updates.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<(D, isize)> = Vec::with_capacity(updates.len());
    for (d, r) in updates {
        match out.last_mut() {
            Some((last, sum)) if *last == d => *sum += r,
            _ => out.push((d, r)),
        }
    }
    out.retain(|u| u.1 != 0);
    out
}

/// The documents an epoch inserts and removes (net of both in one epoch).
fn net_documents(docs: Vec<((u64, String), isize)>) -> (Vec<(u64, String)>, Vec<u64>) {
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for ((seq, text), diff) in consolidate(docs) {
        if diff > 0 {
            added.push((seq, text));
        } else {
            removed.push(seq);
        }
    }
    (added, removed)
}

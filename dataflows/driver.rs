//! Runs the statistics graphs of [`super::stats`] over batches of document
//! changes and reads back the statistics after every batch: the driver for
//! tests and, later, `scyth stream`.
//!
//! Batch `e` is fed as epoch `e` (timestamp `e`), each change by the worker
//! `doc id % workers`. After each batch the workers advance their input and
//! step until the probe has passed the epoch, so the statistics of epoch `e`
//! are complete before batch `e + 1` enters. The outputs are observed with
//! `inspect` on every worker and consolidated here, once the run is over.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::{Arc, Mutex, PoisonError};

use differential_dataflow::input::Input;
use timely::dataflow::ProbeHandle;

use super::stats::{df_max, distinct_trigrams, document_count, document_frequencies};
use crate::stats::CorpusCounts;
use crate::text::{Normalization, Trigram};

/// One change to the document collection: `(doc id, text, diff)`, with diff
/// `+1` to insert the document and `-1` to retract it (any non-zero diff is a
/// change of multiplicity).
pub type DocChange = (u64, String, isize);

/// Corpus statistics at one point of the stream, in the shape of
/// [`CorpusCounts`]' trigram part so that the two compare directly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Number of documents N.
    pub n_docs: u64,
    /// Document frequency of every trigram with df ≥ 1, in trigram order.
    pub trigram_df: BTreeMap<Trigram, u32>,
    /// The largest df (0 when there are no trigrams).
    pub df_max: u32,
}

impl StreamStats {
    /// The same statistics from batch counts, for comparison.
    pub fn from_counts(counts: &CorpusCounts) -> StreamStats {
        StreamStats {
            n_docs: counts.n_docs,
            trigram_df: counts.trigram_df.iter().map(|(t, df)| (*t, *df)).collect(),
            df_max: counts.df_max(),
        }
    }
}

/// Why [`run_df_stream`] returned no statistics.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// At least one worker is needed.
    #[error("the stream needs at least one worker")]
    NoWorkers,
    /// A batch retracts a document more times than it was inserted.
    #[error("batch {batch}: document {id} is retracted more often than it was inserted")]
    NegativeMultiplicity {
        /// Index of the batch after which the multiplicity was negative.
        batch: usize,
        /// The document's id.
        id: u64,
    },
    /// Timely failed to start or a worker panicked.
    #[error("timely dataflow: {0}")]
    Timely(String),
    /// The sink refused an epoch (for example, the output could not be
    /// written).
    #[error("{0:#}")]
    Sink(anyhow::Error),
    /// The consolidated output is not a function of its key (a bug).
    #[error("epoch {epoch}: inconsistent {what} output")]
    Inconsistent {
        /// The epoch whose statistics did not consolidate.
        epoch: usize,
        /// Which output: "df", "N" or "df_max".
        what: &'static str,
    },
}

/// Shared buffer of `(record, time, diff)` updates observed on all workers.
type Sink<D> = Arc<Mutex<Vec<(D, u64, isize)>>>;

/// Streams `batches` of document changes through [`distinct_trigrams`],
/// [`document_frequencies`], [`document_count`] and [`df_max`] on `workers`
/// threads and returns the statistics after each batch (one entry per
/// batch, in order; the last is the final state).
///
/// Texts are normalized with `norm`. Every batch must leave each `(id, text)`
/// record with a non-negative multiplicity; this is checked before anything
/// runs.
pub fn run_df_stream(
    workers: usize,
    batches: Vec<Vec<DocChange>>,
    norm: Normalization,
) -> Result<Vec<StreamStats>, StreamError> {
    if workers == 0 {
        return Err(StreamError::NoWorkers);
    }
    check_multiplicities(&batches)?;
    let epochs = batches.len();
    let batches = Arc::new(batches);
    let df_sink: Sink<(u64, u32)> = Arc::default();
    let n_sink: Sink<((), u64)> = Arc::default();
    let max_sink: Sink<((), u32)> = Arc::default();

    let (df_out, n_out, max_out) = (df_sink.clone(), n_sink.clone(), max_sink.clone());
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let (index, peers) = (worker.index() as u64, worker.peers() as u64);
        let probe = ProbeHandle::new();
        let mut input = worker.dataflow::<u64, _, _>(|scope| {
            let (input, docs) = scope.new_collection::<(u64, String), isize>();
            let df = document_frequencies(distinct_trigrams(docs.clone(), norm));
            let max = df_max(df.clone());
            let n = document_count(docs);
            let (df_out, n_out, max_out) = (df_out.clone(), n_out.clone(), max_out.clone());
            df.inspect(move |u| lock(&df_out).push(*u))
                .probe_with(&probe);
            n.inspect(move |u| lock(&n_out).push(*u)).probe_with(&probe);
            max.inspect(move |u| lock(&max_out).push(*u))
                .probe_with(&probe);
            input
        });
        for (epoch, batch) in batches.iter().enumerate() {
            for (id, text, diff) in batch {
                if id % peers == index {
                    input.update((*id, text.clone()), *diff);
                }
            }
            input.advance_to(epoch as u64 + 1);
            input.flush();
            worker.step_while(|| probe.less_than(input.time()));
        }
    })
    .map_err(StreamError::Timely)?;
    for result in guards.join() {
        result.map_err(StreamError::Timely)?;
    }

    let df = snapshots(std::mem::take(&mut *lock(&df_sink)), epochs, "df")?;
    let n = snapshots(std::mem::take(&mut *lock(&n_sink)), epochs, "N")?;
    let max = snapshots(std::mem::take(&mut *lock(&max_sink)), epochs, "df_max")?;
    df.into_iter()
        .zip(n)
        .zip(max)
        .enumerate()
        .map(|(epoch, ((df, n), max))| {
            let inconsistent = |what| StreamError::Inconsistent { epoch, what };
            let mut trigram_df = BTreeMap::new();
            for (t, count) in df {
                if trigram_df.insert(Trigram(t), count).is_some() {
                    return Err(inconsistent("df"));
                }
            }
            Ok(StreamStats {
                n_docs: single(&n).map_err(|()| inconsistent("N"))?,
                trigram_df,
                df_max: single(&max).map_err(|()| inconsistent("df_max"))?,
            })
        })
        .collect()
}

/// Locks a sink, ignoring poisoning: a panicking worker already fails the run.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Rejects batches that leave any document with a negative multiplicity.
fn check_multiplicities(batches: &[Vec<DocChange>]) -> Result<(), StreamError> {
    let mut live: BTreeMap<(u64, &str), isize> = BTreeMap::new();
    for (batch, changes) in batches.iter().enumerate() {
        for (id, text, diff) in changes {
            *live.entry((*id, text.as_str())).or_insert(0) += diff;
        }
        if let Some(((id, _), _)) = live.iter().find(|(_, m)| **m < 0) {
            return Err(StreamError::NegativeMultiplicity { batch, id: *id });
        }
        live.retain(|_, m| *m != 0);
    }
    Ok(())
}

/// The records present after each of `epochs` epochs, from the updates of
/// all workers: every record must then have multiplicity exactly 1.
fn snapshots<D: Ord + Clone>(
    mut updates: Vec<(D, u64, isize)>,
    epochs: usize,
    what: &'static str,
) -> Result<Vec<Vec<D>>, StreamError> {
    updates.sort_by_key(|u| u.1);
    let mut updates = updates.into_iter().peekable();
    let mut live: BTreeMap<D, isize> = BTreeMap::new();
    let mut out = Vec::with_capacity(epochs);
    for epoch in 0..epochs {
        while let Some((record, _, diff)) = updates.next_if(|u| u.1 <= epoch as u64) {
            match live.entry(record) {
                Entry::Occupied(mut e) => {
                    *e.get_mut() += diff;
                    if *e.get() == 0 {
                        e.remove();
                    }
                }
                Entry::Vacant(e) => {
                    if diff != 0 {
                        e.insert(diff);
                    }
                }
            }
        }
        if live.values().any(|m| *m != 1) {
            return Err(StreamError::Inconsistent { epoch, what });
        }
        out.push(live.keys().cloned().collect());
    }
    Ok(out)
}

/// The value of a unit-keyed output: 0 when empty, an error when several.
fn single<V: Copy + Default>(records: &[((), V)]) -> Result<V, ()> {
    match records {
        [] => Ok(V::default()),
        [((), v)] => Ok(*v),
        _ => Err(()),
    }
}

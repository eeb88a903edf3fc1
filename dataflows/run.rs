//! Runs the classification graph: worker 0 pulls epochs of document changes
//! from a source, feeds them, and hands each completed epoch's
//! classification changes and report to a sink, in epoch order. Every
//! other worker (threads of this process, or processes of a timely cluster)
//! only computes. Output is exchanged to worker 0, so in a cluster the
//! first process writes everything.
//!
//! Backpressure: worker 0 reads the next epoch only while fewer than
//! `max_lag` epochs are in flight, so a slow dataflow slows reading
//! instead of buffering without bound.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use differential_dataflow::AsCollection;
use differential_dataflow::input::Input;
use timely::dataflow::ProbeHandle;
use timely::dataflow::operators::{Exchange, Inspect, Probe};

use super::classifier::{Classification, EpochReport};
use super::classify::{StreamModel, classify, statistics};
use super::driver::{DocChange, StreamError};
use super::words::word_statistics;
use crate::words::WordCount;

/// Everything one epoch produced, merged over the workers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EpochOutput {
    /// The epoch (0 = the first batch).
    pub epoch: u64,
    /// Classification changes `(sequence number, classification, diff)`,
    /// consolidated, ordered by sequence number with retractions first.
    pub changes: Vec<(u64, Classification, isize)>,
    /// The epoch's report: global fields from any worker, per-worker
    /// counters summed. `None` when no worker had work this epoch.
    pub report: Option<EpochReport>,
    /// Changes of the word totals (with word statistics on), consolidated,
    /// retractions first.
    pub words: Vec<(WordCount, isize)>,
}

/// One epoch's input: document changes, and the time buckets of the
/// documents that have one (`(seq, bucket, diff)`, for word statistics).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Documents inserted (+1) or retracted (-1).
    pub docs: Vec<DocChange>,
    /// Time buckets of inserted (+1) or retracted (-1) documents.
    pub buckets: Vec<(u64, String, isize)>,
}

impl From<Vec<DocChange>> for Batch {
    fn from(docs: Vec<DocChange>) -> Batch {
        Batch {
            docs,
            buckets: Vec::new(),
        }
    }
}

/// What a source has for the dataflow when asked.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceStep {
    /// The next epoch's input.
    Batch(Batch),
    /// Nothing yet (a quiet live feed): the dataflow works on what it has
    /// and asks again.
    Idle,
    /// The input has ended.
    End,
}

impl From<Option<Batch>> for SourceStep {
    fn from(batch: Option<Batch>) -> SourceStep {
        batch.map_or(SourceStep::End, SourceStep::Batch)
    }
}

/// Pulls the next epoch's input. A source waiting for input should return
/// [`SourceStep::Idle`] now and then, so that completed epochs are written
/// while the input is quiet.
pub type Source = Box<dyn FnMut() -> SourceStep + Send>;
/// Receives each completed epoch in order; an error stops reading.
pub type Sink = Box<dyn FnMut(EpochOutput) -> anyhow::Result<()> + Send>;

type Shared<T> = Arc<Mutex<T>>;
/// Classification updates `((seq, classification), epoch, diff)` gathered
/// on worker 0.
type ClassUpdates = Shared<Vec<((u64, Classification), u64, isize)>>;
/// Word total updates `(total, epoch, diff)` gathered on worker 0.
type WordUpdates = Shared<Vec<(WordCount, u64, isize)>>;

/// Runs the stream on the workers of `config` until the source ends and
/// every epoch has been handed to the sink. At most `max_lag` epochs are in
/// flight at once (at least 1). The source's first batch is epoch
/// `first_epoch` (0 for a new stream; a restarted stream feeds everything
/// it had committed as one batch at its last committed epoch).
pub fn run_classification(
    config: timely::Config,
    shared: StreamModel,
    source: Source,
    sink: Sink,
    max_lag: u64,
    first_epoch: u64,
) -> Result<(), StreamError> {
    let io: Shared<Option<(Source, Sink)>> = Arc::new(Mutex::new(Some((source, sink))));
    let failure: Shared<Option<anyhow::Error>> = Arc::default();
    let fail = failure.clone();
    let guards = timely::execute(config, move |worker| {
        let classes: ClassUpdates = Arc::default();
        let reports: Shared<Vec<(u64, EpochReport)>> = Arc::default();
        let words: WordUpdates = Arc::default();
        let probe = ProbeHandle::new();
        let (classes_in, reports_in, words_in) = (classes.clone(), reports.clone(), words.clone());
        let shared = shared.clone();
        let (mut input, mut bucket_input) = worker.dataflow::<u64, _, _>(|scope| {
            let (input, docs) = scope.new_collection::<(u64, String), isize>();
            let (bucket_input, buckets) = scope.new_collection::<(u64, String), isize>();
            // Worker 0 reads every record: spread them by sequence number
            // first, so that trigram extraction for the statistics is shared
            // by the workers (the classifier partitions the same way).
            let docs = docs
                .inner
                .exchange(|u: &((u64, String), u64, isize)| (u.0).0)
                .as_collection();
            let stats = statistics(docs.clone(), &shared);
            let (out, reps) = classify(docs.clone(), stats, &shared);
            if let Some(tokenizer) = &shared.words {
                let names = Arc::new(shared.label_names());
                word_statistics(docs, buckets, out.clone(), tokenizer.clone(), names)
                    .inner
                    .exchange(|_| 0)
                    .inspect(move |u| lock(&words_in).push(u.clone()))
                    .probe_with(&probe);
            }
            out.inner
                .exchange(|_| 0)
                .inspect(move |u| lock(&classes_in).push(u.clone()))
                .probe_with(&probe);
            reps.exchange(|_| 0)
                .inspect(move |r| lock(&reports_in).push(r.clone()))
                .probe_with(&probe);
            (input, bucket_input)
        });
        if worker.index() != 0 {
            return;
        }
        let Some((mut source, mut sink)) = lock(&io).take() else {
            return;
        };
        let lag = max_lag.max(1);
        input.advance_to(first_epoch);
        bucket_input.advance_to(first_epoch);
        let mut next_out = first_epoch;
        // Hands over, in order, the fed epochs the probe has passed.
        let mut emit = |fed: u64| -> anyhow::Result<()> {
            while next_out < fed && !probe.less_equal(&next_out) {
                sink(collect_epoch(next_out, &classes, &reports, &words))?;
                next_out += 1;
            }
            Ok(())
        };
        let mut epoch = first_epoch;
        let result = loop {
            let batch = match source() {
                SourceStep::Batch(batch) => batch,
                SourceStep::End => break Ok(()),
                SourceStep::Idle => {
                    worker.step();
                    if let Err(e) = emit(epoch) {
                        break Err(e);
                    }
                    continue;
                }
            };
            for (seq, text, diff) in batch.docs {
                input.update((seq, text), diff);
            }
            for (seq, bucket, diff) in batch.buckets {
                bucket_input.update((seq, bucket), diff);
            }
            epoch += 1;
            input.advance_to(epoch);
            input.flush();
            bucket_input.advance_to(epoch);
            bucket_input.flush();
            let oldest = epoch.saturating_sub(lag);
            worker.step_while(|| probe.less_than(&oldest));
            if let Err(e) = emit(epoch) {
                break Err(e);
            }
        };
        input.close();
        bucket_input.close();
        worker.step_while(|| !probe.done());
        let result = result.and_then(|()| emit(epoch));
        if let Err(e) = result {
            *lock(&fail) = Some(e);
        }
    })
    .map_err(StreamError::Timely)?;
    for result in guards.join() {
        result.map_err(StreamError::Timely)?;
    }
    match lock(&failure).take() {
        Some(error) => Err(StreamError::Sink(error)),
        None => Ok(()),
    }
}

/// Takes epoch `epoch`'s updates out of the shared buffers.
fn collect_epoch(
    epoch: u64,
    classes: &ClassUpdates,
    reports: &Shared<Vec<(u64, EpochReport)>>,
    words: &WordUpdates,
) -> EpochOutput {
    let mut changes: BTreeMap<(u64, Classification), isize> = BTreeMap::new();
    lock(classes).retain(|((seq, class), t, r)| {
        if *t != epoch {
            return true;
        }
        *changes.entry((*seq, class.clone())).or_insert(0) += r;
        false
    });
    let mut changes: Vec<(u64, Classification, isize)> = changes
        .into_iter()
        .filter(|(_, r)| *r != 0)
        .map(|((seq, class), r)| (seq, class, r))
        .collect();
    changes.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.cmp(&b.2)));
    let mut report: Option<EpochReport> = None;
    lock(reports).retain(|(t, r)| {
        if *t != epoch {
            return true;
        }
        match &mut report {
            None => report = Some(r.clone()),
            Some(merged) => {
                merged.docs_held += r.docs_held;
                merged.trigram_slots = merged.trigram_slots.max(r.trigram_slots);
                merged.pentagram_slots = merged.pentagram_slots.max(r.pentagram_slots);
                merged.rechecked += r.rechecked;
                merged.patched += r.patched;
                merged.reclassified += r.reclassified;
            }
        }
        false
    });
    let mut word_changes: BTreeMap<WordCount, isize> = BTreeMap::new();
    lock(words).retain(|(w, t, r)| {
        if *t != epoch {
            return true;
        }
        *word_changes.entry(w.clone()).or_insert(0) += r;
        false
    });
    let mut words: Vec<(WordCount, isize)> =
        word_changes.into_iter().filter(|(_, r)| *r != 0).collect();
    words.sort_by_key(|(_, r)| *r);
    EpochOutput {
        epoch,
        changes,
        report,
        words,
    }
}

/// Locks a buffer, ignoring poisoning: a panicking worker fails the run.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

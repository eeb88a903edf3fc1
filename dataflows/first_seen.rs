//! Each pentagram's first appearance, kept while its df reaches a minimum:
//! the statistic behind the pentagrams the stream knows beyond the model's
//! (SPEC §2, pentagram knownness and list order).
//!
//! The input is one `(pentagram, rank)` per document holding the pentagram,
//! the rank its first-appearance position in that document, so the
//! pentagram's df is its number of ranks and its first appearance the
//! smallest. Differential's `reduce` gives this too, but keeps a second,
//! output arrangement and replays each changed key's history over a
//! lattice of times. The stream's times are epochs, totally ordered, so
//! [`first_appearances`] does what `count_total` does for counts: for each
//! pentagram in a new batch it reads the ranks held before the batch from
//! the input arrangement, applies the batch's changes in time order, and
//! emits a retraction and an insertion when the result moved. The ranks
//! are arranged once and nothing else is kept.

use differential_dataflow::operators::arrange::Arranged;
use differential_dataflow::operators::arrange::TraceAgent;
use differential_dataflow::trace::cursor::cursor_list;
use differential_dataflow::trace::implementations::ValSpine;
use differential_dataflow::trace::{Cursor, TraceReader};
use differential_dataflow::{AsCollection, VecCollection};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::CapabilitySet;
use timely::dataflow::operators::generic::Operator;
use timely::progress::Antichain;

/// The arranged ranks: pentagram → rank, at epochs.
type Ranks<'scope> = Arranged<'scope, TraceAgent<ValSpine<u128, u128, u64, isize>>>;

/// `(pentagram, first rank)` for every pentagram of `occurrences` held by
/// at least `min_df` documents: the same collection as
/// `occurrences.reduce(..)` keeping the first rank of keys with `min_df`
/// or more ranks (tested against it), with one arrangement instead of two.
pub fn first_appearances<'scope>(
    occurrences: VecCollection<'scope, u64, (u128, u128)>,
    min_df: isize,
) -> VecCollection<'scope, u64, (u128, u128)> {
    let ranks: Ranks<'scope> = occurrences.arrange_by_key_named("Arrange: FirstAppearance");
    let mut trace = ranks.trace.clone();
    ranks
        .stream
        .unary_frontier(Pipeline, "FirstAppearance", move |_, _| {
            // The times of the batches read so far: the trace up to `lower`
            // holds what precedes the batches of this call.
            let mut lower = Antichain::from_elem(0u64);
            let mut upper = Antichain::from_elem(0u64);
            let mut held: Vec<(u128, isize)> = Vec::new();
            let mut changes: Vec<(u64, u128, isize)> = Vec::new();
            move |(input, _frontier), output| {
                lower.clone_from(&upper);
                let mut batches = Vec::new();
                let mut caps = CapabilitySet::new();
                input.for_each(|capability, data| {
                    for capability in capability.retain_stamp(0).iter() {
                        caps.insert(capability.clone());
                    }
                    for batch in data.drain(..) {
                        // Batches arrive in time order.
                        upper.clone_from(batch.upper());
                        batches.push(batch);
                    }
                });
                if !caps.is_empty() {
                    let mut session = output.session(&caps);
                    let (mut new, new_storage) =
                        cursor_list(batches.into_iter().filter_map(|b| b.inner).collect());
                    let (mut old, old_storage) = cursor_list(
                        trace
                            .batches_through(lower.borrow())
                            .expect("the trace holds every batch through its read frontier"),
                    );
                    while let Some(key) = new.get_key(&new_storage) {
                        held.clear();
                        old.seek_key(&old_storage, key);
                        if old.get_key(&old_storage) == Some(key) {
                            while let Some(rank) = old.get_val(&old_storage) {
                                let mut count = 0;
                                old.map_times(&old_storage, |_, diff| count += *diff);
                                if count != 0 {
                                    held.push((*rank, count));
                                }
                                old.step_val(&old_storage);
                            }
                        }
                        changes.clear();
                        while let Some(rank) = new.get_val(&new_storage) {
                            new.map_times(&new_storage, |time, diff| {
                                changes.push((*time, *rank, *diff));
                            });
                            new.step_val(&new_storage);
                        }
                        changes.sort_unstable();
                        // The df (ranks' counts summed), kept as the
                        // changes are applied.
                        let mut df: isize = held.iter().map(|&(_, count)| count).sum();
                        let mut before = first_rank(&held, df, min_df);
                        for group in changes.chunk_by(|a, b| a.0 == b.0) {
                            let time = group[0].0;
                            for &(_, rank, diff) in group {
                                add_rank(&mut held, rank, diff);
                                df += diff;
                            }
                            let after = first_rank(&held, df, min_df);
                            if after != before {
                                if let Some(rank) = before {
                                    session.give(((*key, rank), time, -1));
                                }
                                if let Some(rank) = after {
                                    session.give(((*key, rank), time, 1));
                                }
                                before = after;
                            }
                        }
                        new.step_key(&new_storage);
                    }
                }
                // Nothing before `upper` will be read again.
                trace.advance_upper(&mut upper);
                trace.set_logical_compaction(upper.borrow());
                trace.set_physical_compaction(upper.borrow());
            }
        })
        .as_collection()
}

/// Adds `diff` to `rank`'s count in `held` (sorted by rank; a count that
/// reaches 0 is dropped).
fn add_rank(held: &mut Vec<(u128, isize)>, rank: u128, diff: isize) {
    match held.binary_search_by_key(&rank, |&(r, _)| r) {
        Ok(i) => {
            held[i].1 += diff;
            if held[i].1 == 0 {
                held.remove(i);
            }
        }
        Err(i) => held.insert(i, (rank, diff)),
    }
}

/// The first rank of `held` when its df (the counts summed) is at least
/// `min_df`.
fn first_rank(held: &[(u128, isize)], df: isize, min_df: isize) -> Option<u128> {
    if df >= min_df && df > 0 {
        held.first().map(|&(rank, _)| rank)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::rc::Rc;

    use differential_dataflow::input::Input;
    use proptest::prelude::*;
    use timely::dataflow::ProbeHandle;
    use timely::dataflow::operators::{Inspect, Probe};

    use super::*;

    type Updates = Vec<((u128, u128), u64, isize)>;
    type Log = Rc<RefCell<Updates>>;

    /// The collection a list of changes holds after `epoch`.
    fn at(log: &Updates, epoch: u64) -> BTreeMap<(u128, u128), isize> {
        let mut out = BTreeMap::new();
        for &(d, t, r) in log {
            if t <= epoch {
                *out.entry(d).or_insert(0) += r;
            }
        }
        out.retain(|_, r| *r != 0);
        out
    }

    /// Feeds `epochs` of (pentagram, rank, diff) changes to both
    /// [`first_appearances`] and differential's `reduce`, and compares
    /// their collections after every epoch. With `step_each` false the
    /// dataflow runs only at the end, so batches span several epochs.
    fn compare(epochs: Vec<Vec<(u128, u128, isize)>>, min_df: isize, step_each: bool) -> usize {
        let n = epochs.len() as u64;
        let (ours, theirs) = timely::execute_directly(move |worker| {
            let ours: Log = Rc::default();
            let theirs: Log = Rc::default();
            let (ours_in, theirs_in) = (ours.clone(), theirs.clone());
            let probe = ProbeHandle::new();
            let mut input = worker.dataflow::<u64, _, _>(|scope| {
                let (input, occurrences) = scope.new_collection::<(u128, u128), isize>();
                first_appearances(occurrences.clone(), min_df)
                    .inner
                    .inspect(move |u| ours_in.borrow_mut().push(*u))
                    .probe_with(&probe);
                occurrences
                    .reduce(move |_p, ranks, out: &mut Vec<(u128, isize)>| {
                        let df: isize = ranks.iter().map(|(_, diff)| diff).sum();
                        if df >= min_df
                            && let Some((first, _)) = ranks.first()
                        {
                            out.push((**first, 1));
                        }
                    })
                    .inner
                    .inspect(move |u| theirs_in.borrow_mut().push(*u))
                    .probe_with(&probe);
                input
            });
            for (epoch, changes) in epochs.into_iter().enumerate() {
                for (p, rank, diff) in changes {
                    input.update((p, rank), diff);
                }
                input.advance_to(epoch as u64 + 1);
                input.flush();
                if step_each {
                    worker.step_while(|| probe.less_than(input.time()));
                }
            }
            input.close();
            while !probe.done() {
                worker.step();
            }
            (ours.take(), theirs.take())
        });
        let mut nonempty = 0;
        for epoch in 0..n {
            let want = at(&theirs, epoch);
            assert_eq!(at(&ours, epoch), want, "epoch {epoch}");
            nonempty += !want.is_empty() as usize;
        }
        nonempty
    }

    proptest! {
        /// Random insertions and retractions (only of held ranks, some
        /// repeated) of a few pentagrams over a few ranks: the same
        /// collection as `reduce` after every epoch.
        #[test]
        fn first_appearances_equal_reduce(
            ops in proptest::collection::vec(
                proptest::collection::vec((0u128..4, 0u128..6, any::<bool>()), 0..8),
                1..12,
            ),
            min_df in 1isize..4,
            step_each in any::<bool>(),
        ) {
            let mut held: BTreeMap<(u128, u128), isize> = BTreeMap::new();
            let epochs: Vec<Vec<(u128, u128, isize)>> = ops
                .into_iter()
                .map(|epoch| {
                    epoch
                        .into_iter()
                        .filter_map(|(p, rank, insert)| {
                            let count = held.entry((p, rank)).or_insert(0);
                            if insert {
                                *count += 1;
                                Some((p, rank, 1))
                            } else if *count > 0 {
                                *count -= 1;
                                Some((p, rank, -1))
                            } else {
                                None
                            }
                        })
                        .collect()
                })
                .collect();
            compare(epochs, min_df, step_each);
        }
    }

    /// A pentagram whose first document leaves moves to its next one; one
    /// whose df falls below the minimum leaves; several epochs in one
    /// batch are applied in order.
    #[test]
    fn first_rank_follows_retractions() {
        let epochs = vec![
            vec![(7, 10, 1), (7, 20, 1), (9, 5, 1)],
            vec![(7, 10, -1), (7, 30, 1)],
            vec![(7, 20, -1)],
            vec![(9, 5, 1), (9, 4, 1)],
        ];
        assert!(compare(epochs.clone(), 2, true) >= 3);
        assert!(compare(epochs, 2, false) >= 3);
    }
}

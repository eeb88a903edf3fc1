//! Pre-aggregation within an epoch: a collection's updates are held until
//! their time is complete, then passed on consolidated, one update per
//! distinct record and time (differences summed, zeros dropped).
//!
//! The statistics graph counts every distinct trigram and pentagram of
//! every document: an epoch of 100 long articles carries ~100,000 trigram
//! occurrences but far fewer distinct trigrams, and a common one appears in
//! most documents. Summing them here, on the worker that extracted them,
//! means the exchange and the arrangement behind `count` see one update per
//! distinct key and epoch instead of one per document.

use std::collections::BTreeMap;
use std::hash::Hash;

use differential_dataflow::{AsCollection, ExchangeData, VecCollection};
use rustc_hash::FxHashMap;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::Operator;
use timely::progress::Timestamp;

/// `updates` consolidated per time: the same collection, with each time's
/// updates emitted once the input frontier has passed it, one per distinct
/// record (differences summed; records summing to zero are dropped).
pub fn aggregate_per_time<'scope, T, D>(
    updates: VecCollection<'scope, T, D>,
) -> VecCollection<'scope, T, D>
where
    T: Timestamp + Ord,
    D: ExchangeData + Hash + Eq,
{
    updates
        .inner
        .unary_frontier(Pipeline, "AggregatePerTime", move |_capability, _info| {
            let mut stash: BTreeMap<T, (Capability<T>, FxHashMap<D, isize>)> = BTreeMap::new();
            move |(input, frontier), output| {
                let port = output.output_index();
                input.for_each_stamp(|cap, data| {
                    for batch in data {
                        for (d, t, r) in batch.drain(..) {
                            let (_, sums) = stash
                                .entry(t.clone())
                                .or_insert_with(|| (cap.delayed(&t, port), FxHashMap::default()));
                            *sums.entry(d).or_insert(0) += r;
                        }
                    }
                });
                while let Some(entry) = stash.first_entry() {
                    if frontier.less_equal(entry.key()) {
                        break;
                    }
                    let time = entry.key().clone();
                    let (capability, sums) = entry.remove();
                    let mut session = output.session(&capability);
                    for (d, r) in sums {
                        if r != 0 {
                            session.give((d, time.clone(), r));
                        }
                    }
                }
            }
        })
        .as_collection()
}

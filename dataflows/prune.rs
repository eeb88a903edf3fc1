//! Pruning of rare n-grams the model does not know (`scyth stream
//! --prune-rare AGE`): a stream without a window keeps every trigram and
//! pentagram occurrence it ever counted, and on news text most of them are
//! names and numbers seen in one document only (on livedoor dev, 98% of the
//! pentagrams the model does not know). Pruning forgets those, so the
//! statistics grow with the n-grams that recur, not with every one seen.
//!
//! The rule, per n-gram the model does not know (a trigram it never saw, or
//! a pentagram it does not know), over documents in sequence order:
//! - its first counted occurrence, in document `d`, makes it *rare*;
//! - another occurrence in a document up to `d + AGE` makes it
//!   *established*: both occurrences count and it is never pruned again;
//! - once an epoch has read a document past `d + AGE` while it is still
//!   rare, the occurrence in `d` is retracted at the start of the next
//!   epoch (as if `d` had not held it), and a later occurrence starts over
//!   as rare.
//!
//! Which occurrences count for good depends on the documents and their
//! sequence numbers only, not on how they were grouped into epochs; an
//! occurrence still waiting for its retraction is a df-1 n-gram without a
//! column, which changes no classification. So a restart that replays
//! committed epochs as one batch writes what an uninterrupted run writes. Occurrences
//! only ever arrive (the CLI refuses pruning with a window, which retracts
//! documents: a retraction of a pruned occurrence would count it out
//! twice).

use std::collections::{BTreeMap, VecDeque};

use differential_dataflow::{AsCollection, VecCollection};
use rustc_hash::{FxHashMap, FxHashSet};
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Broadcast;

/// The n-grams of `grams` with rare ones pruned after `age` documents (see
/// the module documentation). `docs` carries the sequence number of every
/// document with its time (records carry their own times, at or after
/// their batch's); `eligible` gives a record's n-gram key and
/// document sequence number when it may be pruned (keys of different kinds
/// of n-gram must differ), `None` for records that always count.
pub fn prune_rare<'scope, D, F>(
    grams: VecCollection<'scope, u64, D>,
    docs: StreamVec<'scope, u64, (u64, u64)>,
    age: u64,
    eligible: F,
) -> VecCollection<'scope, u64, D>
where
    D: timely::ExchangeData + Clone,
    F: Fn(&D) -> Option<(u128, u64)> + Clone + 'static,
{
    let route = eligible.clone();
    grams
        .inner
        .binary_frontier(
            docs.broadcast(),
            Exchange::new(move |(d, _, _): &(D, u64, isize)| {
                route(d).map_or(0, |(key, _)| spread(key))
            }),
            Pipeline,
            "PruneRare",
            move |_capability, _info| {
                let mut state: RareGrams<D> = RareGrams::new(age);
                let mut stash: BTreeMap<u64, Pending<D>> = BTreeMap::new();
                move |(grams_in, grams_frontier), (docs_in, docs_frontier), output| {
                    let port = output.output_index();
                    grams_in.for_each_stamp(|cap, data| {
                        for batch in data {
                            for (d, t, r) in batch.drain(..) {
                                stash
                                    .entry(t)
                                    .or_insert_with(|| Pending::new(cap.delayed(&t, port)))
                                    .grams
                                    .push((d, r));
                            }
                        }
                    });
                    docs_in.for_each_stamp(|cap, data| {
                        for batch in data {
                            for (seq, time) in batch.drain(..) {
                                let pending = stash
                                    .entry(time)
                                    .or_insert_with(|| Pending::new(cap.delayed(&time, port)));
                                pending.newest = pending.newest.max(Some(seq));
                            }
                        }
                    });
                    while let Some(entry) = stash.first_entry() {
                        let time = *entry.key();
                        if grams_frontier.less_equal(&time) || docs_frontier.less_equal(&time) {
                            break;
                        }
                        let pending = entry.remove();
                        let mut session = output.session(&pending.capability);
                        state.epoch(pending.grams, pending.newest, &eligible, |d, r| {
                            session.give((d, time, r))
                        });
                    }
                }
            },
        )
        .as_collection()
}

/// A key spread over the hash's bits, so workers share the n-grams evenly.
fn spread(key: u128) -> u64 {
    ((key as u64) ^ ((key >> 64) as u64)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// One epoch's records waiting for both frontiers to pass it.
struct Pending<D> {
    capability: Capability<u64>,
    grams: Vec<(D, isize)>,
    /// The largest sequence number of the epoch's documents.
    newest: Option<u64>,
}

impl<D> Pending<D> {
    fn new(capability: Capability<u64>) -> Pending<D> {
        Pending {
            capability,
            grams: Vec::new(),
            newest: None,
        }
    }
}

/// One worker's share of the rule (see the module documentation): the rare
/// n-grams with their one counted occurrence, the established ones, and the
/// rare ones in order of their document, for pruning.
pub struct RareGrams<D> {
    age: u64,
    rare: FxHashMap<u128, (u64, D)>,
    established: FxHashSet<u128>,
    /// (document, key) of rare occurrences in document order; an entry
    /// whose n-gram was established or started over since is skipped.
    queue: VecDeque<(u64, u128)>,
    /// The largest sequence number read so far.
    newest: Option<u64>,
}

impl<D: Clone> RareGrams<D> {
    /// No n-gram seen yet; rare ones are pruned `age` documents on.
    pub fn new(age: u64) -> RareGrams<D> {
        RareGrams {
            age,
            rare: FxHashMap::default(),
            established: FxHashSet::default(),
            queue: VecDeque::new(),
            newest: None,
        }
    }

    /// Applies one epoch: first prunes the rare occurrences the documents
    /// read in earlier epochs put past their age, then passes on the
    /// epoch's n-gram records (any order) to `out` with their
    /// multiplicities, and then notes `newest`, the largest sequence number
    /// of the epoch's documents. Pruning in the next epoch, not this one,
    /// means an occurrence is never retracted in the epoch that counted
    /// it, so every worker has seen its trigram counted (and indexed it)
    /// before it goes.
    pub fn epoch<F>(
        &mut self,
        mut grams: Vec<(D, isize)>,
        newest: Option<u64>,
        eligible: &F,
        mut out: impl FnMut(D, isize),
    ) where
        F: Fn(&D) -> Option<(u128, u64)>,
    {
        if let Some(read) = self.newest {
            self.prune_before(read.saturating_sub(self.age), &mut out);
        }
        grams.sort_by_key(|(d, _)| eligible(d).map_or(0, |(_, seq)| seq));
        for (d, r) in grams {
            if r > 0
                && let Some((key, seq)) = eligible(&d)
            {
                self.occurrence(key, seq, &d, &mut out);
            }
            out(d, r);
        }
        self.newest = self.newest.max(newest);
    }

    /// A counted occurrence of `key` in document `seq`.
    fn occurrence(&mut self, key: u128, seq: u64, d: &D, out: &mut impl FnMut(D, isize)) {
        if self.established.contains(&key) {
            return;
        }
        match self.rare.remove(&key) {
            Some((first, _)) if seq <= first + self.age => {
                self.established.insert(key);
            }
            stale => {
                // Never seen, or its rare occurrence is past its age (pruned
                // in this epoch's order): it starts over as rare.
                if let Some((_, old)) = stale {
                    out(old, -1);
                }
                self.rare.insert(key, (seq, d.clone()));
                self.queue.push_back((seq, key));
            }
        }
    }

    /// Prunes the rare occurrences in documents before `limit`.
    fn prune_before(&mut self, limit: u64, out: &mut impl FnMut(D, isize)) {
        while let Some(&(seq, key)) = self.queue.front() {
            if seq >= limit {
                break;
            }
            self.queue.pop_front();
            if let Some((first, _)) = self.rare.get(&key)
                && *first == seq
                && let Some((_, d)) = self.rare.remove(&key)
            {
                out(d, -1);
            }
        }
    }

    /// Rare n-grams held, and established ones.
    #[cfg(test)]
    fn sizes(&self) -> (usize, usize) {
        (self.rare.len(), self.established.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule by hand: n-gram key, document; age 2.
    #[test]
    fn rare_occurrences_are_pruned_after_age_and_established_ones_stay() {
        let eligible = |d: &(u128, u64)| Some(*d);
        let mut state: RareGrams<(u128, u64)> = RareGrams::new(2);
        let mut out = Vec::new();
        let mut epoch = |state: &mut RareGrams<(u128, u64)>, grams: Vec<(u128, u64)>, newest| {
            out.clear();
            let grams = grams.into_iter().map(|g| (g, 1)).collect();
            state.epoch(grams, newest, &eligible, |d, r| out.push((d, r)));
            out.clone()
        };
        // Epoch 0 reads docs 0..=2: key 1 in doc 0 and doc 2 (within 2:
        // established); key 2 in doc 1 only.
        assert_eq!(
            epoch(&mut state, vec![(1, 0), (2, 1), (1, 2)], Some(2)),
            vec![((1, 0), 1), ((2, 1), 1), ((1, 2), 1)]
        );
        // Epoch 1 reads docs 3..=4; nothing read before is 2 behind doc 2.
        assert_eq!(epoch(&mut state, vec![(3, 4)], Some(4)), vec![((3, 4), 1)]);
        // Epoch 2: doc 4 was read, so key 2's doc 1 goes first. Key 2
        // again (doc 5) starts over; key 3 again in doc 7, past its age:
        // its doc 4 occurrence goes as the new one starts over.
        assert_eq!(
            epoch(&mut state, vec![(3, 7), (2, 5), (1, 6)], Some(7)),
            vec![
                ((2, 1), -1),
                ((2, 5), 1),
                ((1, 6), 1),
                ((3, 4), -1),
                ((3, 7), 1)
            ]
        );
        // Doc 7 read: key 2's doc 5 is not 2 behind it; doc 9 read, the
        // next epoch prunes it.
        assert_eq!(epoch(&mut state, Vec::new(), Some(9)), vec![]);
        assert_eq!(epoch(&mut state, Vec::new(), None), vec![((2, 5), -1)]);
        assert_eq!(state.sizes(), (1, 1));
    }

    /// Grouping documents into epochs does not change what is counted:
    /// one epoch per document and everything in one epoch agree.
    #[test]
    fn pruning_does_not_depend_on_epoch_grouping() {
        let eligible = |d: &(u128, u64)| Some(*d);
        let mut state_lcg = 12345u64;
        let mut draw = |k: u64| {
            state_lcg = state_lcg
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state_lcg >> 33) % k
        };
        let docs: Vec<Vec<u128>> = (0..200)
            .map(|_| {
                let mut keys: Vec<u128> = (0..4).map(|_| draw(60) as u128).collect();
                keys.sort_unstable();
                keys.dedup();
                keys
            })
            .collect();
        let counted = |sizes: &[usize]| {
            let mut state: RareGrams<(u128, u64)> = RareGrams::new(10);
            let mut net: BTreeMap<(u128, u64), isize> = BTreeMap::new();
            let mut seq = 0u64;
            for &size in sizes {
                let mut grams = Vec::new();
                for _ in 0..size {
                    for &k in &docs[seq as usize] {
                        grams.push(((k, seq), 1));
                    }
                    seq += 1;
                }
                state.epoch(grams, Some(seq - 1), &eligible, |d, r| {
                    *net.entry(d).or_default() += r
                });
            }
            // An empty epoch applies the prunes the last one read past.
            state.epoch(Vec::new(), None, &eligible, |d, r| {
                *net.entry(d).or_default() += r
            });
            net.retain(|_, r| *r != 0);
            net
        };
        let one_by_one = counted(&[1; 200]);
        let all = counted(&[200]);
        let mixed = counted(&[7, 50, 3, 90, 50]);
        assert_eq!(one_by_one, all);
        assert_eq!(one_by_one, mixed);
        assert!(one_by_one.values().all(|&r| r == 1));
        // Something was pruned and something established.
        let total: usize = docs.iter().map(Vec::len).sum();
        assert!(one_by_one.len() < total && one_by_one.len() > total / 4);
    }
}

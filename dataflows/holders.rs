//! Which held documents hold each trigram (in their text, or as an AGR
//! feature): the classifier's reverse indexes, from a trigram whose status
//! or level changed to the documents to re-check.
//!
//! Each trigram's holders are kept as a sorted ring buffer of sequence
//! numbers. A windowed stream retracts its oldest documents, which sit at
//! the front: removing one is O(1) there, where filtering a vector shifted
//! every holder of a common trigram (thousands) for every trigram of every
//! retracted document. Other positions are found by binary search. A
//! trigram whose last holder leaves is dropped, so the index holds only
//! what the held documents contain.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

/// Sorted holders per trigram (see the module documentation).
#[derive(Debug, Default)]
pub struct Holders {
    lists: FxHashMap<u32, VecDeque<u64>>,
}

impl Holders {
    /// Records that document `seq` holds trigram `t` (idempotent).
    pub fn insert(&mut self, t: u32, seq: u64) {
        let list = self.lists.entry(t).or_default();
        match list.back() {
            // Documents arrive in sequence order: the usual case.
            None => list.push_back(seq),
            Some(&last) if last < seq => list.push_back(seq),
            _ => {
                if let Err(at) = list.binary_search(&seq) {
                    list.insert(at, seq);
                }
            }
        }
    }

    /// Records that document `seq` no longer holds trigram `t`.
    pub fn remove(&mut self, t: u32, seq: u64) {
        let Some(list) = self.lists.get_mut(&t) else {
            return;
        };
        if list.front() == Some(&seq) {
            list.pop_front();
        } else if let Ok(at) = list.binary_search(&seq) {
            list.remove(at);
        }
        if list.is_empty() {
            self.lists.remove(&t);
        }
    }

    /// The documents holding trigram `t`, ascending.
    pub fn get(&self, t: u32) -> Option<&VecDeque<u64>> {
        self.lists.get(&t)
    }

    /// Number of trigrams with at least one holder.
    pub fn len(&self) -> usize {
        self.lists.len()
    }

    /// True when no document holds any trigram.
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any sequence of insertions and removals (in and out of
        /// sequence order, repeated, of absent holders) leaves exactly the
        /// sets a naive map of sets holds, each sorted, and no empty list.
        #[test]
        fn holders_equal_a_map_of_sets(ops in proptest::collection::vec((any::<bool>(), 0u32..4, 0u64..12), 0..200)) {
            let mut holders = Holders::default();
            let mut want: BTreeMap<u32, BTreeSet<u64>> = BTreeMap::new();
            for (add, t, seq) in ops {
                if add {
                    holders.insert(t, seq);
                    want.entry(t).or_default().insert(seq);
                } else {
                    holders.remove(t, seq);
                    if let Some(set) = want.get_mut(&t) {
                        set.remove(&seq);
                        if set.is_empty() {
                            want.remove(&t);
                        }
                    }
                }
            }
            prop_assert_eq!(holders.len(), want.len());
            for (t, set) in &want {
                let got: Vec<u64> = holders.get(*t).expect("held").iter().copied().collect();
                prop_assert_eq!(got, set.iter().copied().collect::<Vec<_>>());
            }
        }
    }
}

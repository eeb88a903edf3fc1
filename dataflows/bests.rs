//! Keeping the held documents' best pentagrams current when pentagram
//! lists change, without searching the lists again.
//!
//! A document's best pentagram for its trigram t is the entry of t's list
//! (the model's entries, then the appended ones by first-appearance rank)
//! with the largest extra count (occurrences of its two other trigrams in
//! the document), ties to the earliest. The document's counts never change,
//! so when an epoch only *inserts* entries into t's list the old entries
//! keep their extras and their relative order: the new best is the old best
//! or an inserted entry, whichever is larger, ties to the earlier position.
//! Removing an entry other than the old best changes nothing. Only when
//! the old best itself leaves the list (its pentagram became unknown, or
//! moved in rank order, which is a removal and an insertion under a new
//! index) must the whole list be searched again.
//!
//! So an epoch's list changes are recorded once per worker
//! ([`ListChanges`]), and each held document's profile is updated from them
//! ([`ListChanges::update`]) in time linear in its profile plus the inserted
//! entries of its changed trigrams, instead of walking the documents of
//! every changed pentagram.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::bits;
use crate::features::lexicon::pentagram_members;
use crate::features::{LiveLexicon, ProfileEntry};

/// An inserted list entry: (position key, pentagram, other, other).
type Inserted = (u128, u32, u32, u32);

/// The pentagram list changes of one epoch.
#[derive(Debug, Default)]
pub struct ListChanges {
    /// Per trigram: the entries inserted this epoch, in list order.
    inserted: FxHashMap<u32, Vec<Inserted>>,
    /// Pentagram indices that left every list this epoch.
    removed: FxHashSet<u32>,
    /// Pentagram indices that moved later in their lists this epoch (in
    /// place, keeping their index), with their old and new ranks.
    moved: FxHashMap<u32, (u128, u128)>,
    /// Trigrams whose list changed (bitset over trigram indices).
    touched: Vec<u64>,
    /// The trigrams set in `touched` (to clear it).
    touched_list: Vec<u32>,
}

/// The occurrence counts of one profile at a time, by trigram index: what
/// [`ListChanges::update`] reads for every inserted entry it scores (a
/// binary search of the profile per partner was half its time). Loaded
/// only for a profile that has entries to score, cleared after.
#[derive(Debug, Default)]
pub struct ProfileCounts {
    counts: Vec<u32>,
    loaded: Vec<u32>,
}

impl ProfileCounts {
    fn load(&mut self, profile: &[ProfileEntry]) {
        if let Some(&(last, ..)) = profile.last()
            && self.counts.len() <= last as usize
        {
            // Profiles are sorted by trigram: the last is the largest.
            self.counts
                .resize((last as usize + 1).next_power_of_two(), 0);
        }
        for &(t, count, _, _) in profile {
            self.counts[t as usize] = count;
            self.loaded.push(t);
        }
    }

    fn clear(&mut self) {
        for t in self.loaded.drain(..) {
            self.counts[t as usize] = 0;
        }
    }

    #[inline]
    fn get(&self, t: u32) -> u32 {
        self.counts.get(t as usize).copied().unwrap_or(0)
    }
}

/// What [`ListChanges::update`] did to a profile.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BestUpdate {
    /// Best pentagrams that changed, as (old, new) pentagram indices (old
    /// `u32::MAX` when the trigram had none): the row is patched from them.
    pub changes: Vec<(u32, u32)>,
    /// Trigrams whose old best left the list: their lists must be searched
    /// again (ascending).
    pub research: Vec<u32>,
}

impl ListChanges {
    /// Forgets the previous epoch's changes.
    pub fn clear(&mut self) {
        for &t in &self.touched_list {
            if let Some(w) = self.touched.get_mut(t as usize / 64) {
                *w = 0;
            }
        }
        self.touched_list.clear();
        self.inserted.clear();
        self.removed.clear();
        self.moved.clear();
    }

    /// True when no list changed.
    pub fn is_empty(&self) -> bool {
        self.touched_list.is_empty()
    }

    /// Records that pentagram index `id`, with trigrams `tris`, left its lists.
    pub fn removed(&mut self, id: u32, tris: [u32; 3]) {
        self.removed.insert(id);
        for (t, _, _) in pentagram_members(tris).into_iter().flatten() {
            self.touch(t);
        }
    }

    /// Records that pentagram index `id`, with trigrams `tris`, moved in
    /// place from rank `old` to the later rank `new`
    /// ([`LiveLexicon::move_pentagram`]).
    pub fn moved(&mut self, id: u32, tris: [u32; 3], old: u128, new: u128) {
        self.moved.insert(id, (old, new));
        for (t, _, _) in pentagram_members(tris).into_iter().flatten() {
            self.touch(t);
        }
    }

    /// Records that pentagram index `id`, with trigrams `tris` and
    /// first-appearance rank `rank`, entered its lists.
    pub fn inserted(&mut self, id: u32, tris: [u32; 3], rank: u128) {
        for (t, a, b) in pentagram_members(tris).into_iter().flatten() {
            self.touch(t);
            self.inserted.entry(t).or_default().push((rank, id, a, b));
        }
    }

    /// Puts each trigram's inserted entries in list order (call once after
    /// recording an epoch).
    pub fn finish(&mut self) {
        for list in self.inserted.values_mut() {
            list.sort_unstable();
        }
    }

    fn touch(&mut self, t: u32) {
        if bits::insert(&mut self.touched, t) {
            self.touched_list.push(t);
        }
    }

    #[inline]
    fn is_touched(&self, t: u32) -> bool {
        bits::contains(&self.touched, t)
    }

    /// Updates the best pentagrams of `profile` (sorted by trigram, bests
    /// valid for the lists before this epoch's changes) to the lists after
    /// them, except for the trigrams listed in the result's `research`
    /// (their old best left; the caller searches their lists again).
    /// `counts` is scratch (empty between calls).
    pub fn update(
        &self,
        live: &LiveLexicon,
        profile: &mut [ProfileEntry],
        counts: &mut ProfileCounts,
    ) -> BestUpdate {
        let mut out = BestUpdate::default();
        if self.is_empty() {
            return out;
        }
        let mut loaded = false;
        for i in 0..profile.len() {
            let (t, _, extra, id) = profile[i];
            if !self.is_touched(t) {
                continue;
            }
            if id != u32::MAX && self.removed.contains(&id) {
                out.research.push(t);
                continue;
            }
            let moved = self.moved.get(&id).copied();
            let entries = self.inserted.get(&t);
            if moved.is_none() && entries.is_none() {
                continue;
            }
            if !loaded {
                counts.load(profile);
                loaded = true;
            }
            // (pentagram, extra, position key); `None` keys (model
            // entries) come before every appended entry. The old best's
            // key is read only when an entry ties with it.
            let mut best: Option<(u32, u32, Option<Option<u128>>)> =
                (id != u32::MAX).then_some((id, extra, None));
            let mut consider = |p: u32, e: u32, rank: u128| {
                let wins = match &mut best {
                    None => true,
                    Some((bp, be, bk)) => {
                        e > *be
                            || (e == *be
                                && Some(rank) < *bk.get_or_insert_with(|| live.list_key(*bp)))
                    }
                };
                if wins {
                    best = Some((p, e, Some(Some(rank))));
                }
            };
            if let Some((old, new)) = moved {
                // The best moved later: entries now between its old and its
                // new place that tie with it come first (earlier entries
                // scored less, or the best would have been one of them).
                let (ranks, triples) = live.appended_in(t, old + 1..new);
                for (&rank, e) in ranks.iter().zip(triples.chunks_exact(3)) {
                    consider(e[0], counts.get(e[1]) + counts.get(e[2]), rank);
                }
            }
            for &(rank, p, a, b) in entries.map_or(&[][..], Vec::as_slice) {
                consider(p, counts.get(a) + counts.get(b), rank);
            }
            if let Some((p, e, _)) = best
                && p != id
            {
                profile[i].2 = e;
                profile[i].3 = p;
                out.changes.push((id, p));
            }
        }
        counts.clear();
        out
    }
}

/// The best entry (pentagram, extra) of `t`'s lists for the counts of
/// `profile`, by a full scan in list order (the definition, for tests).
#[cfg(test)]
fn best_by_scan(live: &LiveLexicon, profile: &[ProfileEntry], t: u32) -> (u32, u32) {
    let count = |u: u32| {
        profile
            .binary_search_by_key(&u, |e| e.0)
            .map_or(0, |i| profile[i].1)
    };
    let (model, appended) = crate::features::FeatureSource::pentagram_lists(live, t);
    let mut best = (u32::MAX, u32::MAX);
    for e in model.chunks_exact(3).chain(appended.chunks_exact(3)) {
        let extra = count(e[1]) + count(e[2]);
        if best.0 == u32::MAX || extra > best.1 {
            best = (e[0], extra);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::features::live::pentagram_index;
    use crate::features::live::tests::{counts, texts};
    use crate::features::{Lexicon, LexiconParams};
    use crate::text::{Normalization, Pentagram};

    /// A profile of `text` (counts only) with bests by full scan.
    fn profile_of(live: &mut LiveLexicon, text: &str) -> Vec<ProfileEntry> {
        let chars: Vec<char> = Normalization::NfkcLowercase.apply(text);
        let mut counts: FxHashMap<u32, u32> = FxHashMap::default();
        for w in chars.windows(3) {
            let t = live.index_or_insert(crate::text::Trigram::new([w[0], w[1], w[2]]).0);
            *counts.entry(t).or_default() += 1;
        }
        let mut profile: Vec<ProfileEntry> =
            counts.into_iter().map(|(t, c)| (t, c, 0, 0)).collect();
        profile.sort_unstable();
        rescan(live, &mut profile);
        profile
    }

    fn rescan(live: &LiveLexicon, profile: &mut [ProfileEntry]) {
        for i in 0..profile.len() {
            let (p, e) = best_by_scan(live, profile, profile[i].0);
            profile[i].2 = e;
            profile[i].3 = p;
        }
    }

    /// After pentagrams are inserted (in and out of rank order), removed
    /// and moved, updating a profile from the recorded changes (and
    /// re-scanning only the trigrams it names) equals a full re-scan.
    #[test]
    fn update_equals_full_scan_60_texts() {
        let mut moved = 0;
        let mut moved_later = 0;
        let mut lost_to_move = 0;
        for seed in 0..60u64 {
            let params = LexiconParams {
                pent_min_df: 2,
                ..LexiconParams::default()
            };
            let base = Arc::new(Lexicon::build(&counts(&texts(seed, 5, 14)), &params));
            let index = Arc::new(pentagram_index(&base));
            let mut live = LiveLexicon::new(base, index);
            let stream = texts(seed + 500, 6, 12);
            let pents: Vec<(Pentagram, u128)> = counts(&stream)
                .pentagrams
                .iter()
                .map(|(p, c)| (*p, 4 * c.first_seen as u128 + 2))
                .collect();
            let mut known = Vec::new();
            for &(p, rank) in pents.iter().step_by(2) {
                if live.insert_pentagram(p, rank).is_some() {
                    known.push((p, rank));
                }
            }
            let mut profiles: Vec<Vec<ProfileEntry>> =
                stream.iter().map(|t| profile_of(&mut live, t)).collect();

            // One epoch: the other pentagrams enter (between the known ones
            // in rank order), every third known one leaves, every fifth
            // moves earlier (a removal and an insertion), and some move
            // later in place.
            let mut changes = ListChanges::default();
            let mut later_ids = FxHashSet::default();
            for (k, &(p, rank)) in known.iter().enumerate() {
                if k % 3 == 0 || k % 5 == 1 {
                    let id = live.appended_id(p).expect("known");
                    let tris = live.remove_pentagram(p).expect("known");
                    changes.removed(id, tris);
                }
                if k % 5 == 1 {
                    let tris = live.insert_pentagram(p, rank - 2).expect("moved");
                    let id = live.appended_id(p).expect("inserted");
                    changes.inserted(id, tris, rank - 2);
                    moved += 1;
                } else if k % 3 != 0 && k % 2 == 0 {
                    // Later, in place, past the next few entries (ranks
                    // 4k + 1 are free).
                    let (id, tris, old) = live.move_pentagram(p, rank + 11).expect("later");
                    changes.moved(id, tris, old, rank + 11);
                    later_ids.insert(id);
                    moved_later += 1;
                }
            }
            for &(p, rank) in pents.iter().skip(1).step_by(2) {
                if let Some(tris) = live.insert_pentagram(p, rank + 1) {
                    let id = live.appended_id(p).expect("inserted");
                    changes.inserted(id, tris, rank + 1);
                }
            }
            changes.finish();
            let mut scratch = ProfileCounts::default();
            for profile in &mut profiles {
                let mut want = profile.clone();
                rescan(&live, &mut want);
                let update = changes.update(&live, profile, &mut scratch);
                lost_to_move += update
                    .changes
                    .iter()
                    .filter(|(old, _)| later_ids.contains(old))
                    .count();
                for &t in &update.research {
                    let i = profile.binary_search_by_key(&t, |e| e.0).expect("held");
                    let (p, e) = best_by_scan(&live, profile, t);
                    profile[i].2 = e;
                    profile[i].3 = p;
                }
                assert_eq!(*profile, want, "seed {seed}");
            }
            changes.clear();
            assert!(changes.is_empty());
        }
        assert!(moved >= 20, "only {moved} pentagrams moved");
        assert!(
            moved_later >= 20,
            "only {moved_later} pentagrams moved later"
        );
        // A best that moved later lost to an entry it now follows.
        assert!(lost_to_move >= 3, "{lost_to_move} bests lost by a move");
    }
}

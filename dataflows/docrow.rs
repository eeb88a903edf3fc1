//! A held document's feature row, kept so that a change of best pentagrams
//! patches it instead of rebuilding it from the whole profile.
//!
//! The row is exact set arithmetic over trigrams (SPEC §3): a column is set
//! iff its trigram u is white and either occurs in the text (DIRECT, value
//! 1.0) or is a member of the best pentagram of some text trigram (AGR,
//! value `agr_value(u)`). Which columns are set and their values never
//! depend on the order in which they were set. So each document keeps, per
//! trigram, how many of its best pentagrams contain it (reference counts,
//! one per member position); when a best pentagram changes, the counts of
//! the old and the new pentagram's members move, and only trigrams whose
//! count crosses zero (and that are white, have a column and do not occur
//! in the text) enter or leave the row. Statuses and values are those of
//! the current statistics: a status flip re-extracts the document instead
//! (the classifier's rule 1).

use crate::features::{
    FeatureKind, FeaturePair, FeatureSource, LiveLexicon, NO_COLUMN, ProfileEntry, SparseRow,
};

/// One change of a row: (column, old value, new value), 0.0 for a column
/// not set. A patch reports its changes so that a row's int8 accumulators
/// can follow them.
pub type ColumnDelta = (u32, f32, f32);

/// A held document's row with what patching it needs.
#[derive(Debug, Default)]
pub struct DocRow {
    /// The feature row (columns ascending).
    pub row: SparseRow,
    /// Trigrams set as AGR features, ascending.
    pub agr: Vec<u32>,
    /// Per trigram (ascending): member positions of the document's best
    /// pentagrams that hold it.
    refs: Vec<(u32, u32)>,
}

impl DocRow {
    /// The row of extracted `pairs`, for a document whose final profile
    /// (best pentagrams included) is `profile`.
    pub fn build<S: FeatureSource + ?Sized>(
        lex: &S,
        pairs: &[FeaturePair],
        profile: &[ProfileEntry],
    ) -> DocRow {
        let row = SparseRow::from_pairs(pairs);
        let mut agr: Vec<u32> = pairs
            .iter()
            .filter(|p| matches!(p.kind, FeatureKind::Agr { .. }))
            .map(|p| p.trigram)
            .collect();
        agr.sort_unstable();
        let mut members: Vec<u32> = profile
            .iter()
            .filter(|e| e.3 != u32::MAX)
            .flat_map(|e| lex.pentagram_trigrams(e.3))
            .collect();
        members.sort_unstable();
        let mut refs: Vec<(u32, u32)> = Vec::new();
        for u in members {
            match refs.last_mut() {
                Some((last, n)) if *last == u => *n += 1,
                _ => refs.push((u, 1)),
            }
        }
        DocRow { row, agr, refs }
    }

    /// Applies best-pentagram changes `(old, new)` (pentagram indices,
    /// `u32::MAX` for none) of a document with `profile`. Trigrams entering
    /// or leaving the AGR features are appended to `entered` and `left`,
    /// and the columns they set or clear to `deltas`. Returns whether the
    /// row changed.
    pub fn patch(
        &mut self,
        lex: &LiveLexicon,
        profile: &[ProfileEntry],
        changes: &[(u32, u32)],
        entered: &mut Vec<u32>,
        left: &mut Vec<u32>,
        deltas: &mut Vec<ColumnDelta>,
    ) -> bool {
        let mut crossed: Vec<u32> = Vec::new();
        for &(old, new) in changes {
            if old != u32::MAX {
                for u in lex.pentagram_trigrams(old) {
                    if self.add_ref(u, -1) {
                        crossed.push(u);
                    }
                }
            }
            if new != u32::MAX {
                for u in lex.pentagram_trigrams(new) {
                    if self.add_ref(u, 1) {
                        crossed.push(u);
                    }
                }
            }
        }
        crossed.sort_unstable();
        crossed.dedup();
        let mut changed = false;
        for u in crossed {
            let held = self.refs.binary_search_by_key(&u, |r| r.0).is_ok();
            let col = lex.column(u);
            if col == NO_COLUMN
                || profile.binary_search_by_key(&u, |e| e.0).is_ok()
                || !lex.is_white(u)
            {
                continue;
            }
            let at = self.row.cols.binary_search(&col);
            match (held, at) {
                (true, Err(pos)) => {
                    let value = lex.agr_value(u);
                    self.row.cols.insert(pos, col);
                    self.row.vals.insert(pos, value);
                    deltas.push((col, 0.0, value));
                    let i = self.agr.binary_search(&u).unwrap_or_else(|i| i);
                    self.agr.insert(i, u);
                    entered.push(u);
                    changed = true;
                }
                (false, Ok(pos)) => {
                    self.row.cols.remove(pos);
                    deltas.push((col, self.row.vals.remove(pos), 0.0));
                    if let Ok(i) = self.agr.binary_search(&u) {
                        self.agr.remove(i);
                    }
                    left.push(u);
                    changed = true;
                }
                _ => {}
            }
        }
        changed
    }

    /// Adds `delta` to trigram `u`'s reference count; true when the count
    /// crossed zero (the trigram entered or left the best pentagrams).
    fn add_ref(&mut self, u: u32, delta: i32) -> bool {
        match self.refs.binary_search_by_key(&u, |r| r.0) {
            Ok(i) => {
                let n = self.refs[i].1 as i32 + delta;
                if n <= 0 {
                    self.refs.remove(i);
                    true
                } else {
                    self.refs[i].1 = n as u32;
                    false
                }
            }
            Err(i) => {
                if delta > 0 {
                    self.refs.insert(i, (u, delta as u32));
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Sets AGR feature `u`'s value to `value` (its level changed); the
    /// change, if the row holds `u`.
    pub fn relevel(&mut self, lex: &LiveLexicon, u: u32, value: f32) -> Option<ColumnDelta> {
        let col = lex.column(u);
        let pos = self.row.cols.binary_search(&col).ok()?;
        let old = std::mem::replace(&mut self.row.vals[pos], value);
        Some((col, old, value))
    }
}

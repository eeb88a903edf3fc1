//! A lexicon built from an imported SCYTH-5 checkpoint's dictionaries: the
//! statuses and scores are frozen as stored (nothing is recomputed from df,
//! which the checkpoint does not have), columns are the checkpoint's own,
//! and each trigram's pentagram list keeps the `pairs_list` order, which is
//! what breaks ties between equally good pentagrams (SPEC §3.3).

use anyhow::{Result, bail, ensure};
use rustc_hash::FxHashSet;

use crate::features::lexicon::{Lexicon, LexiconParams, NO_COLUMN, build_slots};
use crate::text::{Pentagram, Trigram};

/// Keys with this bit set stand for checkpoint trigrams that no text can
/// produce (ids without a 3-character string, and columns without a
/// trigram): a packed trigram uses 63 bits, so they never match a window.
pub const UNREACHABLE_KEY: u64 = 1 << 63;

/// One trigram of a checkpoint, by the checkpoint's trigram id order.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedTrigram {
    /// Its characters, when the checkpoint names it with a 3-character string.
    pub chars: Option<[char; 3]>,
    /// `status_dic[id] is True` (absent counts as gray).
    pub white: bool,
    /// `score_dic[id]` (absent counts as 0.0, as the card's `.get(id, 0.0)`).
    pub score: f64,
    /// `trigram2col[id]`, if it has a column.
    pub column: Option<u32>,
}

/// The dictionaries of a checkpoint, with ids turned into indices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportedVocabulary {
    /// Every trigram the dictionaries mention.
    pub trigrams: Vec<ImportedTrigram>,
    /// Each pentagram's three trigrams (indices into `trigrams`), offsets 0–2.
    pub pentagrams: Vec<[u32; 3]>,
    /// `pairs_list` as (trigram index, pentagram index), in stored order.
    pub pairs: Vec<(u32, u32)>,
    /// Input columns (D).
    pub n_columns: usize,
}

impl Lexicon {
    /// Builds the lexicon of an imported checkpoint (see the module docs).
    /// `params` supplies the gray weight; df, N and df_max are zero. Fails
    /// when two trigrams share a string or a column, a column is out of
    /// range, or `pairs_list` links a trigram to a pentagram that does not
    /// contain it.
    pub fn from_imported(v: &ImportedVocabulary, params: LexiconParams) -> Result<Lexicon> {
        let d = v.n_columns;
        let mut column_owner = vec![u32::MAX; d];
        for (i, t) in v.trigrams.iter().enumerate() {
            if let Some(c) = t.column {
                ensure!(
                    (c as usize) < d,
                    "trigram #{i} has column {c}, but input_dim is {d}"
                );
                ensure!(
                    column_owner[c as usize] == u32::MAX,
                    "column {c} belongs to two trigrams (#{} and #{i})",
                    column_owner[c as usize]
                );
                column_owner[c as usize] = i as u32;
            }
        }
        // Sort keys: real trigrams by code points, unreachable ones after.
        let mut entries: Vec<(u64, Option<usize>)> = v
            .trigrams
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let key = match t.chars {
                    Some(c) => Trigram::new(c).0,
                    None => UNREACHABLE_KEY | i as u64,
                };
                (key, Some(i))
            })
            .collect();
        let orphan_columns: Vec<u32> = (0..d as u32)
            .filter(|&c| column_owner[c as usize] == u32::MAX)
            .collect();
        for &c in &orphan_columns {
            entries.push((UNREACHABLE_KEY | (1 << 62) | c as u64, None));
        }
        entries.sort_unstable_by_key(|e| e.0);
        if let Some(w) = entries.windows(2).find(|w| w[0].0 == w[1].0) {
            bail!(
                "two trigram ids share the string {:?}",
                Trigram(w[0].0).to_text()
            );
        }
        let n = entries.len();
        let mut index_of = vec![0u32; v.trigrams.len()];
        let mut keys = Vec::with_capacity(n);
        let mut score = Vec::with_capacity(n);
        let mut white = Vec::with_capacity(n);
        let mut column = Vec::with_capacity(n);
        let mut column_trigram = vec![0u32; d];
        for (new, &(key, orig)) in entries.iter().enumerate() {
            keys.push(key);
            match orig {
                Some(i) => {
                    index_of[i] = new as u32;
                    let t = &v.trigrams[i];
                    score.push(t.score);
                    white.push(t.white as u8);
                    column.push(t.column.unwrap_or(NO_COLUMN));
                    if let Some(c) = t.column {
                        column_trigram[c as usize] = new as u32;
                    }
                }
                None => {
                    let c = (key & !(UNREACHABLE_KEY | (1 << 62))) as u32;
                    score.push(0.0);
                    white.push(0);
                    column.push(c);
                    column_trigram[c as usize] = new as u32;
                }
            }
        }

        let pent_trigrams: Vec<u32> = v
            .pentagrams
            .iter()
            .flat_map(|m| m.iter().map(|&t| index_of[t as usize]))
            .collect();
        let pent_keys: Vec<u64> = v
            .pentagrams
            .iter()
            .flat_map(|m| pentagram_key(&v.trigrams, m))
            .collect();
        let (pent_offsets, pent_lists) = lists_from_pairs(v, &index_of, &pent_trigrams, n)?;
        let slots = build_slots(&keys);
        let mut lexicon = Lexicon {
            params,
            n_docs: 0,
            df_max: 0,
            keys: keys.into(),
            slots: slots.into(),
            df: vec![0u32; n].into(),
            score: score.into(),
            white: white.into(),
            column: column.into(),
            column_trigram: column_trigram.into(),
            pent_offsets: pent_offsets.into(),
            pent_lists: pent_lists.into(),
            pent_trigrams: pent_trigrams.into(),
            pent_df: vec![0u32; v.pentagrams.len()].into(),
            pent_keys: pent_keys.into(),
            records: Vec::new(),
            scan: Default::default(),
        };
        lexicon.index_records();
        Ok(lexicon)
    }
}

/// The packed pentagram of three overlapping trigrams (for display), or
/// all-ones halves when they do not spell one.
fn pentagram_key(trigrams: &[ImportedTrigram], m: &[u32; 3]) -> [u64; 2] {
    let c = |k: usize| trigrams[m[k] as usize].chars;
    match (c(0), c(1), c(2)) {
        (Some(a), Some(b), Some(e))
            if a[1] == b[0] && a[2] == b[1] && b[1] == e[0] && b[2] == e[1] =>
        {
            Pentagram::new([a[0], a[1], a[2], b[2], e[2]]).to_halves()
        }
        _ => [u64::MAX; 2],
    }
}

/// Per-trigram pentagram lists in `pairs_list` order, as CSR offsets and
/// `(pentagram, other, other)` triples (the two positions of the pentagram
/// other than one occurrence of the trigram; the extraction scores a list
/// by those, the trigram's own count being common to every entry).
fn lists_from_pairs(
    v: &ImportedVocabulary,
    index_of: &[u32],
    pent_trigrams: &[u32],
    n: usize,
) -> Result<(Vec<u32>, Vec<u32>)> {
    let mut seen = FxHashSet::default();
    let mut per: Vec<Vec<u32>> = vec![Vec::new(); n];
    for &(t, p) in &v.pairs {
        if seen.insert((t, p)) {
            per[index_of[t as usize] as usize].push(p);
        }
    }
    let mut offsets = Vec::with_capacity(n + 1);
    let mut lists = Vec::new();
    offsets.push(0u32);
    for (t, ps) in per.iter().enumerate() {
        for &p in ps {
            let m = &pent_trigrams[3 * p as usize..3 * p as usize + 3];
            let Some(k) = m.iter().position(|&x| x as usize == t) else {
                bail!(
                    "pairs_list links a trigram to pentagram #{p}, which does not contain it \
                     (its trigrams are {m:?}, the trigram is {t})"
                );
            };
            lists.extend_from_slice(&[p, m[(k + 1) % 3], m[(k + 2) % 3]]);
        }
        offsets.push((lists.len() / 3) as u32);
    }
    Ok((offsets, lists))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{FeatureKind, FeatureScratch, extract_pairs};
    use crate::text::Normalization;

    fn tri(s: &str, white: bool, score: f64, column: Option<u32>) -> ImportedTrigram {
        let c: Vec<char> = s.chars().collect();
        ImportedTrigram {
            chars: Some([c[0], c[1], c[2]]),
            white,
            score,
            column,
        }
    }

    /// In "abcd", pentagrams 0 (abc·bcd·cde) and 1 (zbc·abc·bcd) tie for
    /// "abc" (2 occurrences each): the one listed first in pairs_list wins,
    /// whatever the ids.
    #[test]
    fn ties_follow_pairs_list_order() {
        let mut v = ImportedVocabulary {
            trigrams: vec![
                tri("abc", false, 1.0, Some(0)),
                tri("bcd", true, 9.0, Some(1)),
                tri("cde", true, 9.0, Some(2)),
                tri("zbc", true, 18.0, Some(3)),
            ],
            pentagrams: vec![[0, 1, 2], [3, 0, 1]],
            pairs: vec![(0, 1), (0, 0)],
            n_columns: 5,
        };
        let run = |v: &ImportedVocabulary| {
            let lex = Lexicon::from_imported(v, LexiconParams::default()).expect("valid");
            assert_eq!(lex.n_columns(), 5, "orphan column 4 gets a placeholder");
            let mut scratch = FeatureScratch::default();
            extract_pairs(&lex, Normalization::Lowercase, "ABCD", &mut scratch)
                .iter()
                .map(|p| (p.column, p.value, p.kind))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            run(&v),
            [
                (1, 1.0, FeatureKind::Direct),
                (3, 0.07, FeatureKind::Agr { pentagram: 1 })
            ]
        );
        v.pairs.reverse();
        assert_eq!(
            run(&v),
            [
                (1, 1.0, FeatureKind::Direct),
                (2, (0.5f64 * 0.07) as f32, FeatureKind::Agr { pentagram: 0 })
            ]
        );
    }

    #[test]
    fn pair_with_foreign_pentagram_is_rejected() {
        let v = ImportedVocabulary {
            trigrams: vec![tri("abc", true, 1.0, None), tri("xyz", true, 1.0, None)],
            pentagrams: vec![[0, 0, 0]],
            pairs: vec![(1, 0)],
            n_columns: 0,
        };
        let err = Lexicon::from_imported(&v, LexiconParams::default()).unwrap_err();
        assert!(err.to_string().contains("does not contain it"), "{err}");
    }
}

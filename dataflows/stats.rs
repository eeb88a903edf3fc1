//! Incremental corpus statistics (SPEC §2) as differential dataflow: the
//! distinct trigrams of each document, the document frequency of every
//! trigram, the number of documents N and the largest df.
//!
//! Each function maps collections to collections and builds no inputs, so
//! documents may be inserted and retracted (a difference of −1) and every
//! result follows. The input is a multiset of `(doc id, text)` records: a
//! record present twice counts as two documents, exactly as two calls of
//! [`CorpusCounts::add`](crate::stats::CorpusCounts::add) would. No record may
//! ever have a negative multiplicity (retract only what was inserted).

use differential_dataflow::VecCollection;
use differential_dataflow::lattice::Lattice;
use differential_dataflow::operators::CountTotal;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use super::aggregate::aggregate_per_time;
use crate::stats::DocNgrams;
use crate::text::Normalization;

/// `(doc id, packed trigram)` for every distinct trigram of every document,
/// the trigram packed as [`Trigram::0`](crate::text::Trigram) after `norm`
/// (SPEC §1), via [`DocNgrams::of`]. A document shorter than three
/// characters contributes nothing.
pub fn distinct_trigrams<'scope, T>(
    docs: VecCollection<'scope, T, (u64, String)>,
    norm: Normalization,
) -> VecCollection<'scope, T, (u64, u64)>
where
    T: Timestamp + Lattice + Ord,
{
    docs.flat_map(move |(id, text)| {
        DocNgrams::of(&norm.apply(&text))
            .trigrams
            .into_iter()
            .map(move |t| (id, t.0))
    })
}

/// `(trigram, df)` for every trigram contained in at least one document,
/// from the output of [`distinct_trigrams`]: df is the number of documents
/// containing the trigram. A trigram whose df falls to 0 disappears. The
/// occurrences are pre-aggregated per epoch ([`aggregate_per_time`]), so
/// the count sees one update per distinct trigram and epoch. Times are
/// totally ordered (epochs), so the count reads each changed trigram's
/// total from its input arrangement (`count_total`) and keeps no second,
/// output arrangement.
pub fn document_frequencies<'scope, T>(
    doc_trigrams: VecCollection<'scope, T, (u64, u64)>,
) -> VecCollection<'scope, T, (u64, u32)>
where
    T: Timestamp + Lattice + TotalOrder + Ord,
{
    aggregate_per_time(doc_trigrams.map(|(_, trigram)| trigram))
        .count_total()
        .map(|(trigram, df)| (trigram, count_to_u32(df)))
}

/// `((), N)` with N the number of documents; empty while there are none.
pub fn document_count<'scope, T>(
    docs: VecCollection<'scope, T, (u64, String)>,
) -> VecCollection<'scope, T, ((), u64)>
where
    T: Timestamp + Lattice + TotalOrder + Ord,
{
    aggregate_per_time(docs.map(|_| ()))
        .count_total()
        .map(|((), n)| ((), u64::try_from(n).unwrap_or(0)))
}

/// `((), df_max)`, the largest df of the output of [`document_frequencies`];
/// empty while no trigram has been seen. Only df_max moves the normalized
/// IDF (SPEC §2), so this is what decides when scores must be recomputed.
///
/// The reduction sees the distinct df values with their counts, not every
/// trigram, so its work per change is bounded by the number of distinct df
/// values. The df changes are summed per df value and epoch on the worker
/// that counted them ([`aggregate_per_time`]): most changed trigrams move
/// between a few small dfs, so the one worker that owns the single key
/// receives a few thousand updates per epoch instead of two per changed
/// trigram.
pub fn df_max<'scope, T>(
    df: VecCollection<'scope, T, (u64, u32)>,
) -> VecCollection<'scope, T, ((), u32)>
where
    T: Timestamp + Lattice + Ord,
{
    aggregate_per_time(df.map(|(_, df)| ((), df))).reduce(
        |_unit, dfs, out: &mut Vec<(u32, isize)>| {
            // Values arrive sorted ascending and non-empty.
            if let Some((max, _)) = dfs.last() {
                out.push((**max, 1));
            }
        },
    )
}

/// A count of documents as a df. Counts are positive for any valid input (no
/// negative multiplicities); anything else saturates rather than wrapping.
fn count_to_u32(count: isize) -> u32 {
    u32::try_from(count).unwrap_or(if count < 0 { 0 } else { u32::MAX })
}

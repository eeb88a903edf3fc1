//! What feature extraction reads: the trigram table and pentagram lists of a
//! lexicon, behind a trait so that the same extraction code runs over a
//! model's frozen [`Lexicon`] (batch) and over the stream's
//! [`LiveLexicon`](crate::features::LiveLexicon), whose statistics move.

use crate::features::extract::prefetch_at;
use crate::features::lexicon::Lexicon;

/// Read access to trigram statuses, columns, scores and known pentagrams.
///
/// Trigrams and pentagrams are identified by dense `u32` indices local to
/// the source. Every method is cheap (array reads, at most a score
/// evaluation) because extraction calls them per trigram of a text.
pub trait FeatureSource {
    /// Number of trigram indices (sizes the extraction scratch).
    fn n_trigrams(&self) -> usize;
    /// The index of each packed trigram in `keys`, or `u32::MAX` when
    /// unseen, into `out` (cleared).
    fn lookup_many(&self, keys: &[u64], out: &mut Vec<u32>);
    /// Input column of trigram `t`, or [`NO_COLUMN`](crate::features::NO_COLUMN).
    fn column(&self, t: u32) -> u32;
    /// Whether trigram `t` is white.
    fn is_white(&self, t: u32) -> bool;
    /// Input column of trigram `t` when it is white, else
    /// [`NO_COLUMN`](crate::features::NO_COLUMN): the column DIRECT and
    /// AGR may set (both set white trigrams only).
    #[inline]
    fn white_column(&self, t: u32) -> u32 {
        if self.is_white(t) {
            self.column(t)
        } else {
            crate::features::NO_COLUMN
        }
    }
    /// AGR value of trigram `t` (SPEC §3: `f32(clamp(score / 18) · gray_weight)`).
    fn agr_value(&self, t: u32) -> f32;
    /// The known pentagrams containing `t` as `(pentagram, other, other)`
    /// triples flattened, in list order: the first slice, then the second
    /// (pentagrams appended after the first part was fixed).
    fn pentagram_lists(&self, t: u32) -> (&[u32], &[u32]);
    /// The trigram indices at offsets 0, 1, 2 of pentagram `p`.
    fn pentagram_trigrams(&self, p: u32) -> [u32; 3];

    /// The model lexicon whose [`ScanLists`](crate::features::lexicon::ScanLists)
    /// are this source's pentagram lists, when it has them: extraction then
    /// scans those (8-byte entries, byte counts by scan key) instead of
    /// [`FeatureSource::pentagram_lists`]. `None` (the default, and the
    /// stream's live lexicon, whose lists grow): the lists are scanned as
    /// triples and byte counts are indexed by trigram.
    #[inline]
    fn scan_lexicon(&self) -> Option<&Lexicon> {
        None
    }

    /// Hint: trigram `t`'s column, status and pentagram list offsets will
    /// be read soon (extraction issues these ahead so that the cache misses
    /// of a document's trigrams overlap). No effect on results.
    #[inline]
    fn prefetch_trigram(&self, _t: u32) {}

    /// Hint: pentagram `p`'s member triple will be read soon.
    #[inline]
    fn prefetch_pentagram(&self, _p: u32) {}

    /// Hint: trigram `t`'s column, status and AGR value will be read soon.
    #[inline]
    fn prefetch_agr(&self, _t: u32) {}
}

impl FeatureSource for Lexicon {
    #[inline]
    fn n_trigrams(&self) -> usize {
        Lexicon::n_trigrams(self)
    }

    #[inline]
    fn lookup_many(&self, keys: &[u64], out: &mut Vec<u32>) {
        Lexicon::lookup_many(self, keys, out)
    }

    #[inline]
    fn column(&self, t: u32) -> u32 {
        self.column[t as usize]
    }

    #[inline]
    fn is_white(&self, t: u32) -> bool {
        self.white[t as usize] == 1
    }

    #[inline]
    fn white_column(&self, t: u32) -> u32 {
        self.records[t as usize].white_column
    }

    #[inline]
    fn agr_value(&self, t: u32) -> f32 {
        self.records[t as usize].agr
    }

    #[inline]
    fn pentagram_lists(&self, t: u32) -> (&[u32], &[u32]) {
        let (start, end) = (
            self.records[t as usize].list_start as usize,
            self.records[t as usize + 1].list_start as usize,
        );
        (&self.pent_lists[3 * start..3 * end], &[])
    }

    #[inline]
    fn scan_lexicon(&self) -> Option<&Lexicon> {
        Some(self)
    }

    #[inline]
    fn prefetch_trigram(&self, t: u32) {
        prefetch_at(&self.records, t as usize);
    }

    #[inline]
    fn prefetch_pentagram(&self, p: u32) {
        prefetch_at(&self.pent_trigrams, 3 * p as usize);
    }

    #[inline]
    fn prefetch_agr(&self, t: u32) {
        prefetch_at(&self.records, t as usize);
    }

    #[inline]
    fn pentagram_trigrams(&self, p: u32) -> [u32; 3] {
        let at = 3 * p as usize;
        [
            self.pent_trigrams[at],
            self.pent_trigrams[at + 1],
            self.pent_trigrams[at + 2],
        ]
    }
}

//! Packed character n-grams. A trigram is three Unicode scalar values packed
//! into one `u64` (21 bits each, first character most significant), so that
//! integer order equals code-point order and no string is allocated. A
//! pentagram packs five characters into a `u128` the same way.

use serde::{Deserialize, Serialize};

const BITS: u32 = 21;
const MASK: u64 = (1 << BITS) - 1;

/// Three consecutive characters of a normalized text, packed into a `u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Trigram(pub u64);

impl Trigram {
    /// Packs three characters.
    pub fn new(chars: [char; 3]) -> Trigram {
        Trigram(((chars[0] as u64) << (2 * BITS)) | ((chars[1] as u64) << BITS) | chars[2] as u64)
    }

    /// The three characters back. Every packed value made by [`Trigram::new`]
    /// unpacks to valid scalars; other bit patterns become U+FFFD.
    pub fn chars(self) -> [char; 3] {
        let at =
            |shift: u32| char::from_u32(((self.0 >> shift) & MASK) as u32).unwrap_or('\u{FFFD}');
        [at(2 * BITS), at(BITS), at(0)]
    }

    /// The trigram as a string, for display and export.
    pub fn to_text(self) -> String {
        self.chars().iter().collect()
    }
}

/// Five consecutive characters of a normalized text, packed into a `u128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pentagram(pub u128);

impl Pentagram {
    /// Packs five characters.
    pub fn new(chars: [char; 5]) -> Pentagram {
        Pentagram(
            chars
                .iter()
                .fold(0u128, |acc, &c| (acc << BITS) | c as u128),
        )
    }

    /// The five characters back (invalid bit patterns become U+FFFD).
    pub fn chars(self) -> [char; 5] {
        let mut out = ['\u{FFFD}'; 5];
        for (i, slot) in out.iter_mut().enumerate() {
            let shift = BITS * (4 - i as u32);
            *slot = char::from_u32(((self.0 >> shift) & MASK as u128) as u32).unwrap_or('\u{FFFD}');
        }
        out
    }

    /// The three trigrams at offsets 0, 1 and 2.
    pub fn trigrams(self) -> [Trigram; 3] {
        let c = self.chars();
        [
            Trigram::new([c[0], c[1], c[2]]),
            Trigram::new([c[1], c[2], c[3]]),
            Trigram::new([c[2], c[3], c[4]]),
        ]
    }

    /// The pentagram as a string.
    pub fn to_text(self) -> String {
        self.chars().iter().collect()
    }

    /// The two `u64` halves (high, low) used to store pentagrams in tables.
    pub fn to_halves(self) -> [u64; 2] {
        [(self.0 >> 64) as u64, self.0 as u64]
    }

    /// Rebuilds a pentagram from [`Pentagram::to_halves`].
    pub fn from_halves(halves: [u64; 2]) -> Pentagram {
        Pentagram(((halves[0] as u128) << 64) | halves[1] as u128)
    }
}

/// Every window of three characters, in text order: `max(0, n - 2)` of them.
pub fn trigrams(chars: &[char]) -> impl Iterator<Item = Trigram> + '_ {
    chars.windows(3).map(|w| Trigram::new([w[0], w[1], w[2]]))
}

/// Every window of five characters, in text order: `max(0, n - 4)` of them.
pub fn pentagrams(chars: &[char]) -> impl Iterator<Item = Pentagram> + '_ {
    chars
        .windows(5)
        .map(|w| Pentagram::new([w[0], w[1], w[2], w[3], w[4]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigram_round_trip_and_order() {
        let t = Trigram::new(['日', '本', '語']);
        assert_eq!(t.chars(), ['日', '本', '語']);
        assert_eq!(t.to_text(), "日本語");
        let max = Trigram::new(['\u{10FFFF}'; 3]);
        assert_eq!(max.chars(), ['\u{10FFFF}'; 3]);
        // Integer order is code-point order.
        assert!(Trigram::new(['a', 'b', 'c']) < Trigram::new(['a', 'b', 'd']));
        assert!(Trigram::new(['a', 'z', 'z']) < Trigram::new(['b', 'a', 'a']));
    }

    #[test]
    fn window_counts() {
        let empty: Vec<char> = vec![];
        assert_eq!(trigrams(&empty).count(), 0);
        assert_eq!(trigrams(&['a', 'b']).count(), 0);
        assert_eq!(trigrams(&['a', 'b', 'c']).count(), 1);
        let text: Vec<char> = "ababa".chars().collect();
        let tris: Vec<String> = trigrams(&text).map(|t| t.to_text()).collect();
        assert_eq!(tris, ["aba", "bab", "aba"]);
        let pents: Vec<String> = pentagrams(&text).map(|p| p.to_text()).collect();
        assert_eq!(pents, ["ababa"]);
        assert_eq!(pentagrams(&text[..4]).count(), 0);
    }

    #[test]
    fn pentagram_trigrams_and_halves() {
        let p = Pentagram::new(['あ', 'い', 'う', 'え', 'お']);
        let tris: Vec<String> = p.trigrams().iter().map(|t| t.to_text()).collect();
        assert_eq!(tris, ["あいう", "いうえ", "うえお"]);
        assert_eq!(Pentagram::from_halves(p.to_halves()), p);
    }
}

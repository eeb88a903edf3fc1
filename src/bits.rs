//! Bit sets over dense `u32` indices as plain `Vec<u64>` words, grown on
//! demand: the extraction's set columns, the stream's changed trigrams and
//! the live lexicon's trigrams with appended lists all use one.

/// Sets bit `i` of `set` (growing it to a power of two of words when `i`
/// lies past its end); false when the bit already was set.
#[inline]
pub fn insert(set: &mut Vec<u64>, i: u32) -> bool {
    let word = i as usize / 64;
    if word >= set.len() {
        set.resize((word + 1).next_power_of_two(), 0);
    }
    let bit = 1u64 << (i % 64);
    let fresh = set[word] & bit == 0;
    set[word] |= bit;
    fresh
}

/// Whether bit `i` of `set` is set (false past its end).
#[inline]
pub fn contains(set: &[u64], i: u32) -> bool {
    set.get(i as usize / 64)
        .is_some_and(|w| w & (1 << (i % 64)) != 0)
}

/// Clears bit `i` of `set` (nothing past its end).
#[inline]
pub fn remove(set: &mut [u64], i: u32) {
    if let Some(w) = set.get_mut(i as usize / 64) {
        *w &= !(1 << (i % 64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_contains_remove() {
        let mut set = Vec::new();
        assert!(!contains(&set, 200));
        assert!(insert(&mut set, 200));
        assert!(!insert(&mut set, 200), "already set");
        assert_eq!(set.len(), 4, "grown to a power of two of words");
        assert!(contains(&set, 200) && !contains(&set, 199));
        remove(&mut set, 200);
        remove(&mut set, 10_000);
        assert!(!contains(&set, 200));
    }
}

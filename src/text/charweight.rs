//! Character-type weights of SCYTH-5 (SPEC §2): kanji count most, kana less,
//! ASCII letters and digits least, everything else nothing.

/// Weight of one character: kanji U+4E00–U+9FAF → 6 (々 and CJK Extension A
/// are 0, as in the original table), hiragana and katakana → 2, ASCII
/// letters and digits → 1, anything else → 0.
pub fn char_weight(c: char) -> u8 {
    match c {
        '\u{4E00}'..='\u{9FAF}' => 6,
        '\u{3040}'..='\u{309F}' | '\u{30A0}'..='\u{30FF}' => 2,
        'a'..='z' | 'A'..='Z' | '0'..='9' => 1,
        _ => 0,
    }
}

/// Weight of a trigram: the sum of its three characters' weights (0–18).
pub fn trigram_weight(chars: [char; 3]) -> u8 {
    chars.iter().map(|&c| char_weight(c)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_boundaries() {
        assert_eq!(char_weight('\u{4E00}'), 6);
        assert_eq!(char_weight('\u{9FAF}'), 6);
        assert_eq!(char_weight('\u{9FB0}'), 0);
        assert_eq!(char_weight('々'), 0);
        assert_eq!(
            char_weight('\u{3400}'),
            0,
            "CJK Extension A is not kanji here"
        );
        assert_eq!(char_weight('\u{3040}'), 2);
        assert_eq!(char_weight('\u{309F}'), 2);
        assert_eq!(char_weight('\u{30A0}'), 2);
        assert_eq!(char_weight('\u{30FF}'), 2);
        assert_eq!(char_weight('ー'), 2);
        assert_eq!(char_weight('Z'), 1);
        assert_eq!(char_weight('7'), 1);
        assert_eq!(char_weight('ａ'), 0, "full-width letters are not ASCII");
        assert_eq!(char_weight(' '), 0);
        assert_eq!(char_weight('。'), 0);
    }

    #[test]
    fn trigram_examples_from_the_card() {
        assert_eq!(trigram_weight(['日', '本', '語']), 18);
        assert_eq!(trigram_weight(['あ', 'い', 'う']), 6);
        assert_eq!(trigram_weight(['a', 'b', 'c']), 3);
    }
}

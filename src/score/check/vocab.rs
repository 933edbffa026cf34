//! The words the number check understands, in Hindi and English: cardinals, Hindi
//! fraction words and modifiers (डेढ़, ढाई, सवा, साढ़े, पौने), scales (सौ/हजार/लाख/करोड़/
//! अरब, hundred … trillion, lakh, crore), month and weekday names, range words. One table
//! serves both sides, so a Hindi source that quotes English (or an output that keeps a
//! Hindi word) is read the same way.
//!
//! Deliberately absent: English ordinal words ("first", "second" are mostly not numbers),
//! vague plurals (हजारों, "thousands of" without a numeral never become quantities).

use std::collections::HashMap;
use std::sync::OnceLock;

use super::tokens::{Num, TokKind};
use super::words::{
    ENGLISH_CARDINALS, ENGLISH_TENS, HINDI_CARDINALS, HINDI_ORDINAL_SUFFIXES, MONTHS,
    OTHER_NUMBERS, SCALES, WEEKDAYS,
};

/// The scale that a bare "k" glued to digits means ("50k"); a lone "k" means nothing.
pub(crate) const ATTACHED_K: f64 = 1_000.0;

/// Folds spelling variants so one table entry covers them: lowercase, nukta dropped
/// (ज़ → ज, precomposed ड़ → ड), chandrabindu written as anusvara (पाँच → पांच), and
/// zero-width joiners removed.
pub(crate) fn fold_key(word: &str) -> String {
    let mut key = String::with_capacity(word.len());
    for c in word.chars().flat_map(char::to_lowercase) {
        match c {
            '\u{093c}' | '\u{200c}' | '\u{200d}' => {}
            '\u{0901}' => key.push('\u{0902}'),
            '\u{0958}'..='\u{095f}' => key.push(NUKTA_BASES[(c as usize) - 0x0958]),
            _ => key.push(c),
        }
    }
    key
}

/// The consonants under the precomposed nukta letters U+0958..U+095F.
const NUKTA_BASES: [char; 8] = ['क', 'ख', 'ग', 'ज', 'ड', 'ढ', 'फ', 'य'];

fn table() -> &'static HashMap<String, TokKind> {
    static TABLE: OnceLock<HashMap<String, TokKind>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut map = HashMap::new();
        let mut add = |word: &str, kind: TokKind| {
            map.insert(fold_key(word), kind);
        };
        for (value, spellings) in HINDI_CARDINALS.iter().enumerate() {
            for word in *spellings {
                add(word, word_number(value as f64, 1.0));
            }
        }
        for (value, word) in ENGLISH_CARDINALS.iter().enumerate() {
            add(word, word_number(value as f64, 1.0));
        }
        for (word, value) in ENGLISH_TENS {
            add(word, word_number(value, 1.0));
        }
        for (word, value, unit) in OTHER_NUMBERS {
            add(word, word_number(value, unit));
        }
        for (word, scale) in SCALES {
            add(word, TokKind::Scale(scale));
        }
        for (word, month, needs_number) in MONTHS {
            add(
                word,
                TokKind::Month {
                    month,
                    needs_number,
                },
            );
        }
        for (word, day) in WEEKDAYS {
            add(word, TokKind::Weekday(day));
        }
        for (word, shift) in [("सवा", 0.25), ("साढ़े", 0.5), ("साढ़ा", 0.5), ("पौने", -0.25)]
        {
            add(word, TokKind::Modifier(shift));
        }
        for word in ["a", "an"] {
            add(word, TokKind::Article);
        }
        for word in ["to", "or", "से", "या"] {
            add(word, TokKind::Connector { hyphen: false });
        }
        for word in ["am", "pm"] {
            add(word, TokKind::Meridiem);
        }
        add("and", TokKind::And);
        add("half", TokKind::Half);
        add("of", TokKind::Of);
        map
    })
}

/// A number written as a word.
fn word_number(value: f64, unit: f64) -> TokKind {
    TokKind::Num(Num {
        value,
        unit,
        word: true,
        int_digits: 0,
    })
}

/// What a folded word means; Hindi ordinals (पांचवां) resolve through their cardinal.
pub(crate) fn lookup(key: &str) -> Option<TokKind> {
    if let Some(kind) = table().get(key) {
        return Some(kind.clone());
    }
    let stem = HINDI_ORDINAL_SUFFIXES
        .iter()
        .find_map(|suffix| key.strip_suffix(&fold_key(suffix)))?;
    match table().get(stem) {
        Some(number @ TokKind::Num(_)) => Some(number.clone()),
        _ => None,
    }
}

/// True for a Hindi ordinal ending standing on its own (as in "21 वीं" or "21वीं").
pub(crate) fn is_hindi_ordinal_suffix(key: &str) -> bool {
    HINDI_ORDINAL_SUFFIXES
        .iter()
        .any(|suffix| fold_key(suffix) == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_of(word: &str) -> Option<f64> {
        match lookup(&fold_key(word)) {
            Some(TokKind::Num(n)) => Some(n.value),
            _ => None,
        }
    }

    #[test]
    fn spelling_variants_fold_to_one_entry() {
        assert_eq!(value_of("पाँच"), Some(5.0));
        assert_eq!(value_of("पच्चीस"), Some(25.0));
        assert_eq!(value_of("निन्यानवे"), Some(99.0));
        assert_eq!(value_of("सातवीं"), Some(7.0));
        assert_eq!(value_of("Twenty"), Some(20.0));
        assert_eq!(lookup(&fold_key("हज़ार")), Some(TokKind::Scale(1e3)));
        assert_eq!(lookup(&fold_key("करोड़")), Some(TokKind::Scale(1e7)));
        assert_eq!(lookup("दवा"), None);
    }

    #[test]
    fn every_hindi_cardinal_spelling_is_distinct() {
        let mut seen = HashMap::new();
        for (value, spellings) in HINDI_CARDINALS.iter().enumerate() {
            for word in *spellings {
                assert_eq!(
                    seen.insert(fold_key(word), value),
                    None,
                    "{word} listed twice"
                );
            }
        }
    }
}

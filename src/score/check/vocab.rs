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

use super::words::{
    ENGLISH_CARDINALS, ENGLISH_TENS, HINDI_CARDINALS, HINDI_ORDINAL_SUFFIXES, MONTHS,
    OTHER_NUMBERS, SCALES, WEEKDAYS,
};

/// What a word means to the number check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Lexeme {
    /// A cardinal, ordinal or fraction word; `unit` is how precisely it states the value.
    Number {
        value: f64,
        unit: f64,
    },
    /// Multiplies the number before it (हजार, lakh, million, dozen).
    Scale(f64),
    /// Shifts the next number: सवा +¼, साढ़े +½, पौने −¼.
    Modifier(f64),
    /// "a"/"an", which is 1 before a scale ("a million").
    Article,
    And,
    Half,
    Of,
    /// Joins the two ends of a range: "to", "or", से, या.
    RangeWord,
    /// `needs_number`: the name is also an ordinary word or an abbreviation (May, March,
    /// Aug), so it is read as a month only next to a number.
    Month {
        month: u8,
        needs_number: bool,
    },
    Weekday(u8),
    /// am / pm.
    Meridiem,
}

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

fn table() -> &'static HashMap<String, Lexeme> {
    static TABLE: OnceLock<HashMap<String, Lexeme>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut map = HashMap::new();
        let mut add = |word: &str, lexeme: Lexeme| {
            map.insert(fold_key(word), lexeme);
        };
        for (value, spellings) in HINDI_CARDINALS.iter().enumerate() {
            for word in *spellings {
                add(
                    word,
                    Lexeme::Number {
                        value: value as f64,
                        unit: 1.0,
                    },
                );
            }
        }
        for (value, word) in ENGLISH_CARDINALS.iter().enumerate() {
            add(
                word,
                Lexeme::Number {
                    value: value as f64,
                    unit: 1.0,
                },
            );
        }
        for (word, value) in ENGLISH_TENS {
            add(word, Lexeme::Number { value, unit: 1.0 });
        }
        for (word, value, unit) in OTHER_NUMBERS {
            add(word, Lexeme::Number { value, unit });
        }
        for (word, scale) in SCALES {
            add(word, Lexeme::Scale(scale));
        }
        for (word, month, needs_number) in MONTHS {
            add(
                word,
                Lexeme::Month {
                    month,
                    needs_number,
                },
            );
        }
        for (word, day) in WEEKDAYS {
            add(word, Lexeme::Weekday(day));
        }
        for (word, shift) in [("सवा", 0.25), ("साढ़े", 0.5), ("साढ़ा", 0.5), ("पौने", -0.25)]
        {
            add(word, Lexeme::Modifier(shift));
        }
        for word in ["a", "an"] {
            add(word, Lexeme::Article);
        }
        for word in ["to", "or", "से", "या"] {
            add(word, Lexeme::RangeWord);
        }
        for word in ["am", "pm"] {
            add(word, Lexeme::Meridiem);
        }
        add("and", Lexeme::And);
        add("half", Lexeme::Half);
        add("of", Lexeme::Of);
        map
    })
}

/// Looks a folded word up; Hindi ordinals (पांचवां) resolve through their cardinal.
pub(crate) fn lookup(key: &str) -> Option<Lexeme> {
    if let Some(lexeme) = table().get(key) {
        return Some(*lexeme);
    }
    let stem = HINDI_ORDINAL_SUFFIXES
        .iter()
        .find_map(|suffix| key.strip_suffix(&fold_key(suffix)))?;
    match table().get(stem) {
        Some(number @ Lexeme::Number { .. }) => Some(*number),
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

    #[test]
    fn spelling_variants_fold_to_one_entry() {
        assert_eq!(
            lookup(&fold_key("पाँच")),
            Some(Lexeme::Number {
                value: 5.0,
                unit: 1.0
            })
        );
        assert_eq!(lookup(&fold_key("हज़ार")), Some(Lexeme::Scale(1e3)));
        assert_eq!(lookup(&fold_key("करोड़")), Some(Lexeme::Scale(1e7)));
        assert_eq!(
            lookup(&fold_key("पच्चीस")),
            Some(Lexeme::Number {
                value: 25.0,
                unit: 1.0
            })
        );
        assert_eq!(
            lookup(&fold_key("निन्यानवे")),
            Some(Lexeme::Number {
                value: 99.0,
                unit: 1.0
            })
        );
        assert_eq!(
            lookup(&fold_key("सातवीं")),
            Some(Lexeme::Number {
                value: 7.0,
                unit: 1.0
            })
        );
        assert_eq!(
            lookup(&fold_key("Twenty")),
            Some(Lexeme::Number {
                value: 20.0,
                unit: 1.0
            })
        );
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

//! Which writing system a sentence is written in. Translation treats a Hindi sentence,
//! an English sentence pasted from a tweet, and a mixed one differently, so every
//! sentence carries a tag computed here.

/// The letters a piece of text is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Script {
    /// Only Devanagari letters (Hindi, Marathi, Nepali, ...).
    Devanagari,
    /// Only Latin letters (English, romanized names).
    Latin,
    /// Letters of more than one script, e.g. Hindi with an English name inside.
    Mixed,
    /// Letters of one script that is neither Devanagari nor Latin (Urdu, Cyrillic, ...).
    Other,
    /// No letters at all: numbers, punctuation, emoji, whitespace.
    NoLetters,
}

const DEVANAGARI: u8 = 1;
const LATIN: u8 = 2;
const OTHER: u8 = 4;

/// The set of letter scripts seen so far; the segmenter feeds it one char at a time,
/// so tagging costs no second pass over the text.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScriptTally(u8);

impl ScriptTally {
    #[inline]
    pub(crate) fn add(&mut self, c: char) {
        self.0 |= letter_class(c);
    }

    pub(crate) fn has_letters(self) -> bool {
        self.0 != 0
    }

    pub(crate) fn script(self) -> Script {
        match self.0 {
            0 => Script::NoLetters,
            DEVANAGARI => Script::Devanagari,
            LATIN => Script::Latin,
            OTHER => Script::Other,
            _ => Script::Mixed,
        }
    }
}

/// The script of all letters in `text`.
pub fn script_of(text: &str) -> Script {
    let mut tally = ScriptTally::default();
    text.chars().for_each(|c| tally.add(c));
    tally.script()
}

/// True for chars of the Devanagari blocks that are letters, vowel signs or marks
/// (not digits, dandas or the abbreviation sign).
#[inline]
pub(crate) fn is_devanagari_letter(c: char) -> bool {
    matches!(c, '\u{0900}'..='\u{0963}' | '\u{0971}'..='\u{097F}' | '\u{A8E0}'..='\u{A8FF}' | '\u{1CD0}'..='\u{1CFF}')
}

/// True for the Devanagari digits ०–९, which the segmenter treats like 0–9.
#[inline]
pub(crate) fn is_devanagari_digit(c: char) -> bool {
    matches!(c, '\u{0966}'..='\u{096F}')
}

/// True for Latin letters, including accented ones (é, ñ) and full-width forms.
#[inline]
pub(crate) fn is_latin_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    matches!(c,
        '\u{00C0}'..='\u{00D6}' | '\u{00D8}'..='\u{00F6}' | '\u{00F8}'..='\u{024F}'
        | '\u{1E00}'..='\u{1EFF}' | '\u{2C60}'..='\u{2C7F}' | '\u{A720}'..='\u{A7FF}'
        | '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}')
}

#[inline]
fn letter_class(c: char) -> u8 {
    if c.is_ascii() {
        return if c.is_ascii_alphabetic() { LATIN } else { 0 };
    }
    if is_devanagari_letter(c) {
        DEVANAGARI
    } else if is_latin_letter(c) {
        LATIN
    } else if c.is_alphabetic() && !is_combining_diacritic(c) {
        OTHER
    } else {
        0
    }
}

/// Generic combining accents attach to letters of any script; they say nothing about it.
fn is_combining_diacritic(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_each_script_and_mixtures() {
        assert_eq!(script_of("नमस्ते दुनिया"), Script::Devanagari);
        assert_eq!(script_of("Hello, café"), Script::Latin);
        assert_eq!(script_of("मोदी ने G20 पर कहा"), Script::Mixed);
        assert_eq!(script_of("Привет"), Script::Other);
        assert_eq!(script_of("१२.५ % 2025 — 🙂"), Script::NoLetters);
        assert_eq!(script_of(""), Script::NoLetters);
    }

    #[test]
    fn dandas_and_digits_are_not_letters() {
        assert_eq!(script_of("। ॥ ० ९"), Script::NoLetters);
        assert!(is_devanagari_digit('५'));
        assert!(!is_devanagari_letter('५'));
        assert!(is_devanagari_letter('ि'));
    }
}

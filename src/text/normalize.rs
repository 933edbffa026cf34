//! One spelling for the same text. Scraped pages mix precomposed and decomposed
//! letters, invisible characters, exotic spaces and three kinds of line endings; the
//! segmenter, the cleaner and the tokenizer all behave better on a single form.
//!
//! Decisions:
//! - Unicode NFC, except for nukta letters. NFC leaves क़ ख़ ग़ ज़ ड़ ढ़ फ़ य़ (U+0958–U+095F)
//!   decomposed (they are composition exclusions) but composes ऩ ऱ ऴ. We write every
//!   nukta letter decomposed, as base consonant + U+093C NUKTA, so one letter has one
//!   spelling whatever the source used. (This is also what the Indic NLP normalizer does.)
//! - ZWJ/ZWNJ shape conjuncts (क्‍ष vs क्ष) and emoji sequences; they are kept after a
//!   virama, between two Indic characters and between two emoji, and dropped elsewhere.
//! - Other invisible characters (zero-width space, BOM, soft hyphen, word joiner,
//!   direction marks) are dropped; unusual spaces become U+0020; line endings become `\n`.
//! - Devanagari digits stay as they are: the segmenter reads them as numbers.

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

const ZWNJ: char = '\u{200C}';
const ZWJ: char = '\u{200D}';
const NUKTA: char = '\u{093C}';

/// Normalizes `text` as the module documentation describes.
pub fn normalize(text: &str) -> String {
    let cleaned = map_invisibles_and_breaks(text);
    let composed = match is_nfc_quick(cleaned.chars()) {
        IsNormalized::Yes => cleaned,
        _ => cleaned.nfc().collect(),
    };
    decompose_nukta_letters(composed)
}

/// True for characters that render as nothing and carry no meaning in news text.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' // soft hyphen
            | '\u{180E}' // Mongolian vowel separator, used as a zero-width space
            | '\u{200B}' // zero-width space
            | '\u{200E}' | '\u{200F}' // LRM, RLM
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{FEFF}' // BOM / zero-width no-break space
    )
}

/// Spaces that look like a space but are a different code point.
fn is_unusual_space(c: char) -> bool {
    matches!(
        c,
        '\u{00A0}' | '\u{1680}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

fn is_virama(c: char) -> bool {
    matches!(
        c,
        '\u{094D}'
            | '\u{09CD}'
            | '\u{0A4D}'
            | '\u{0ACD}'
            | '\u{0B4D}'
            | '\u{0BCD}'
            | '\u{0C4D}'
            | '\u{0CCD}'
            | '\u{0D4D}'
            | '\u{0DCA}'
    )
}

/// Devanagari and the other Brahmic scripts of India, where joiners shape conjuncts.
fn is_indic(c: char) -> bool {
    matches!(c, '\u{0900}'..='\u{0DFF}' | '\u{A8E0}'..='\u{A8FF}' | '\u{1CD0}'..='\u{1CFF}')
}

fn is_emoji_part(c: char) -> bool {
    matches!(c, '\u{2600}'..='\u{27BF}' | '\u{2B00}'..='\u{2BFF}' | '\u{FE0F}' | '\u{1F000}'..='\u{1FAFF}')
}

fn joiner_shapes_text(previous: Option<char>, next: Option<char>) -> bool {
    match (previous, next) {
        (Some(p), _) if is_virama(p) => true,
        (Some(p), Some(n)) => {
            (is_indic(p) && is_indic(n)) || (is_emoji_part(p) && is_emoji_part(n))
        }
        _ => false,
    }
}

fn map_invisibles_and_breaks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut previous: Option<char> = None;
    while let Some(c) = chars.next() {
        let kept = match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                '\n'
            }
            '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' => '\n',
            '\u{2029}' => {
                out.push('\n');
                '\n'
            }
            ZWJ | ZWNJ => {
                if !joiner_shapes_text(previous, chars.peek().copied()) {
                    continue;
                }
                c
            }
            c if is_invisible(c) => continue,
            c if is_unusual_space(c) => ' ',
            c => c,
        };
        out.push(kept);
        previous = Some(kept);
    }
    out
}

/// NFC composes these three nukta letters although it decomposes the other eight;
/// writing them decomposed gives every nukta letter the same shape.
fn decompose_nukta_letters(text: String) -> String {
    const COMPOSED: [(char, char); 3] = [
        ('\u{0929}', '\u{0928}'),
        ('\u{0931}', '\u{0930}'),
        ('\u{0934}', '\u{0933}'),
    ];
    if !text.contains(|c| COMPOSED.iter().any(|&(composed, _)| composed == c)) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match COMPOSED.iter().find(|&&(composed, _)| composed == c) {
            Some(&(_, base)) => {
                out.push(base);
                out.push(NUKTA);
            }
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nukta_letter_ends_up_decomposed() {
        // Precomposed क़ (excluded from NFC composition) and ऩ (composed by NFC).
        assert_eq!(normalize("\u{0958}"), "\u{0915}\u{093C}");
        assert_eq!(normalize("\u{0929}"), "\u{0928}\u{093C}");
        assert_eq!(normalize("\u{0928}\u{093C}"), "\u{0928}\u{093C}");
        assert_eq!(normalize("\u{095C}"), normalize("\u{0921}\u{093C}"));
    }

    #[test]
    fn joiners_survive_only_where_they_shape() {
        let half_form = "क्\u{200D}ष";
        assert_eq!(normalize(half_form), half_form);
        let between_letters = "र\u{200C}ह";
        assert_eq!(normalize(between_letters), between_letters);
        assert_eq!(normalize("news\u{200D} today\u{200C}"), "news today");
        let family = "👨\u{200D}👩";
        assert_eq!(normalize(family), family);
    }

    #[test]
    fn invisibles_spaces_and_line_endings() {
        assert_eq!(normalize("\u{FEFF}भारत\u{200B}ीय"), "भारतीय");
        assert_eq!(normalize("soft\u{00AD}ware"), "software");
        assert_eq!(normalize("a\u{00A0}b\u{202F}c\u{3000}d"), "a b c d");
        assert_eq!(normalize("a\r\nb\rc\u{2028}d\u{2029}e"), "a\nb\nc\nd\n\ne");
    }

    #[test]
    fn devanagari_digits_are_kept() {
        assert_eq!(normalize("२.५ प्रतिशत"), "२.५ प्रतिशत");
    }
}

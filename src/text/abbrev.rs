//! Words after which a period does not end a sentence: titles (Dr., डॉ.), initials
//! (J., एस.), initialisms (U.S., ई.पू.) and words that precede a number (No. 5).
//! A missed split only makes one sentence longer; a false split cuts a name in two,
//! so ambiguous cases lean towards not splitting, except where a common Hindi word
//! would be swallowed (आई. "came" vs the initial I.).

use super::script::{is_devanagari_digit, is_devanagari_letter, is_latin_letter};

/// Latin abbreviations that never end a sentence (compared ignoring ASCII case).
const LATIN_TITLES: &[&str] = &[
    "Mr", "Mrs", "Ms", "Mx", "Dr", "Prof", "Sr", "Jr", "St", "Mt", "Ft", "Gen", "Lt", "Col",
    "Capt", "Cmdr", "Sgt", "Maj", "Brig", "Adm", "Gov", "Govt", "Sen", "Rep", "Hon", "Rev", "Fr",
    "Pres", "Supt", "Insp", "Smt", "Shri", "Sh", "Kum", "vs", "Inc", "Ltd", "Co", "Corp", "Bros",
    "Dept", "Univ", "Assn", "approx", "Rs",
];

/// Latin abbreviations that only stand for themselves before a number (No. 5, Aug. 15).
const LATIN_BEFORE_NUMBER: &[&str] = &[
    "No", "Nos", "Vol", "Fig", "Figs", "pp", "Art", "Sec", "Ch", "Para", "Jan", "Feb", "Mar",
    "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec",
];

/// Devanagari abbreviations: डॉ. (doctor), प्रो. (professor), कु. (Kumari), स्व. (late),
/// सं. (editor / era), पृ. (page), रु. (rupees), नं. (number), लि. (limited), ...
const DEVANAGARI_ABBREVIATIONS: &[&str] = &[
    "डॉ",
    "डा",
    "प्रो",
    "श्री",
    "सुश्री",
    "कु",
    "स्व",
    "सं",
    "पृ",
    "रु",
    "मि",
    "नं",
    "कं",
    "लि",
    "प्रा",
    "जि",
    "उ",
    "प्र",
    "पू",
    "मो",
];

/// English letter names written in Devanagari that rarely end a Hindi sentence (के and
/// पी are words too, but news names like के. चंद्रशेखर and पी. चिदंबरम are far more common
/// before a period).
const DEVANAGARI_INITIALS: &[&str] = &[
    "ए",
    "बी",
    "सी",
    "डी",
    "एफ",
    "एच",
    "जे",
    "के",
    "एल",
    "एम",
    "एन",
    "पी",
    "क्यू",
    "आर",
    "एस",
    "टी",
    "यू",
    "वी",
    "डब्ल्यू",
    "एक्स",
    "वाई",
    "जेड",
    "\u{091C}\u{093C}\u{0947}\u{0921}",
    "\u{095B}\u{0947}\u{0921}",
];

/// Letter names that also end Hindi sentences (आई "came", जी "ji", ई "CE", ओ "oh"):
/// initials only next to another initial, as in आई. के. गुजराल or जी. एस. राव.
const AMBIGUOUS_DEVANAGARI_INITIALS: &[&str] = &["ई", "आई", "ओ", "जी"];

/// "ई." is "CE" after a year (1526 ई.) and an initial before a name (ई. श्रीधरन).
const ERA: &str = "ई";

/// Words that continue a sentence after a year's "ई." (1526 ई. में).
const AFTER_ERA: &[&str] = &["में", "से", "तक", "के", "की", "का", "को", "पर", "पू."];

pub(crate) fn is_opening_punctuation(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '“' | '‘' | '«' | '‹' | '(' | '[' | '{' | '「' | '『' | '（' | '¿' | '¡'
    )
}

/// True when a period right after `token` (the text since the last whitespace) is part
/// of an abbreviation rather than the end of a sentence; `previous_word` comes before
/// the token and `next_word` after the space.
pub(crate) fn is_abbreviation(previous_word: &str, token: &str, next_word: &str) -> bool {
    let token = token.trim_start_matches(is_opening_punctuation);
    let Some(first) = token.chars().next() else {
        return false;
    };
    if token.contains(['@', '/']) || token.starts_with("www") || token.starts_with("WWW") {
        return false;
    }
    if token.contains('.') {
        return is_initialism(token);
    }
    if is_latin_letter(first) {
        is_latin_abbreviation(token, next_word)
    } else if is_devanagari_letter(first) {
        is_devanagari_abbreviation(previous_word, token, next_word)
    } else {
        false
    }
}

fn is_latin_abbreviation(token: &str, next_word: &str) -> bool {
    let single_letter = token.chars().count() == 1;
    let listed = |list: &[&str]| list.iter().any(|a| a.eq_ignore_ascii_case(token));
    single_letter
        || listed(LATIN_TITLES)
        || (listed(LATIN_BEFORE_NUMBER) && starts_with_digit(next_word))
}

fn is_devanagari_abbreviation(previous_word: &str, token: &str, next_word: &str) -> bool {
    if DEVANAGARI_ABBREVIATIONS.contains(&token) || DEVANAGARI_INITIALS.contains(&token) {
        return true;
    }
    if token == ERA {
        return !starts_with_digit(previous_word) || AFTER_ERA.contains(&next_word);
    }
    AMBIGUOUS_DEVANAGARI_INITIALS.contains(&token)
        && (is_initial_word(previous_word) || is_initial_word(next_word))
}

/// A word such as `पी.`, `J.` or `एस.के.`: one initial or a run of them, with the period.
fn is_initial_word(word: &str) -> bool {
    let word = word.trim_start_matches(is_opening_punctuation);
    let Some(stem) = word.strip_suffix('.') else {
        return false;
    };
    if stem.contains('.') {
        return is_initialism(stem);
    }
    let single_latin = stem.chars().count() == 1 && stem.chars().all(is_latin_letter);
    single_latin
        || DEVANAGARI_INITIALS.contains(&stem)
        || AMBIGUOUS_DEVANAGARI_INITIALS.contains(&stem)
}

/// Short letter groups joined by periods: U.S, e.g, Ph.D, a.m, ई.पू, एस.के, उ.प्र.
fn is_initialism(token: &str) -> bool {
    token.split('.').all(|piece| {
        let Some(first) = piece.chars().next() else {
            return false;
        };
        if is_latin_letter(first) {
            piece.chars().count() <= 3 && piece.chars().all(is_latin_letter)
        } else if is_devanagari_letter(first) {
            piece.chars().all(is_devanagari_letter)
                && (piece.chars().count() <= 3
                    || DEVANAGARI_INITIALS.contains(&piece)
                    || DEVANAGARI_ABBREVIATIONS.contains(&piece))
        } else {
            false
        }
    })
}

fn starts_with_digit(word: &str) -> bool {
    word.trim_start_matches(is_opening_punctuation)
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || is_devanagari_digit(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_initials_and_initialisms() {
        assert!(is_abbreviation("", "Dr", "Sharma"));
        assert!(is_abbreviation("", "(Mr", "Rao"));
        assert!(is_abbreviation("", "J", "K."));
        assert!(is_abbreviation("", "U.S", "President"));
        assert!(is_abbreviation("", "डॉ", "शर्मा"));
        assert!(is_abbreviation("", "एस", "जयशंकर"));
        assert!(is_abbreviation("", "ई.पू", "में"));
        assert!(is_abbreviation("", "ई", "श्रीधरन"));
        assert!(is_abbreviation("1526", "ई", "में"));
        assert!(!is_abbreviation("1526", "ई", "बाबर"));
        assert!(is_abbreviation("", "No", "5"));
        assert!(is_abbreviation("", "Aug", "१५"));
    }

    #[test]
    fn ordinary_words_and_links_are_not_abbreviations() {
        assert!(!is_abbreviation("", "है", "अब"));
        assert!(!is_abbreviation("", "आई", "फिर"));
        assert!(is_abbreviation("", "आई", "के."));
        assert!(is_abbreviation("एस.", "जी", "राव"));
        assert!(!is_abbreviation("", "No", "Then"));
        assert!(!is_abbreviation("", "today", "The"));
        assert!(!is_abbreviation("", "example.com", "Then"));
        assert!(!is_abbreviation("", "www.bbc.in", "Then"));
        assert!(!is_abbreviation("", "a@b.in", "Then"));
        assert!(!is_abbreviation("", "2.5", "The"));
        assert!(!is_abbreviation("", "", "The"));
    }
}

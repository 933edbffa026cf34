//! The reference's punctuation normalization and its Indic-digit table: the first
//! two things every source sentence goes through.

use std::sync::LazyLock;

use regex::{Captures, Regex};

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a fixed pattern compiles")
}

/// Replacements applied in order (the reference's list, without its entries that
/// replace a string with itself).
static REPLACEMENTS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    vec![
        (re(r"\r"), ""),
        (re(r"\(\s*"), "("),
        (re(r"\s*\)"), ")"),
        (re(r"\s:\s?"), ":"),
        (re(r"\s;\s?"), ";"),
        (re(r"[`´‘‚’]"), "'"),
        (re(r#"[„“”«»]"#), "\""),
        (re(r"[–—]"), "-"),
        (re(r" %"), "%"),
    ]
});
static SPACE_BEFORE_MARK: LazyLock<Regex> = LazyLock::new(|| re(r" [?!;]"));
static MULTISPACE: LazyLock<Regex> = LazyLock::new(|| re(r"[ ]{2,}"));
static BRACKET_SPACE_MARK: LazyLock<Regex> = LazyLock::new(|| re(r"\) ([\.!:?;,])"));
static DIGIT_SPACE_PERCENT: LazyLock<Regex> = LazyLock::new(|| re(r"(\d) %"));
static QUOTE_THEN_MARKS: LazyLock<Regex> = LazyLock::new(|| re(r#""([,\.]+)"#));
static DIGIT_SPACE_DIGIT: LazyLock<Regex> = LazyLock::new(|| re(r"(\d) (\d)"));

/// Quotes, dashes and spacing around marks, as the reference's `_punc_norm`.
pub(super) fn normalize(text: &str) -> String {
    let mut text = text.to_string();
    for (pattern, with) in REPLACEMENTS.iter() {
        text = pattern.replace_all(&text, *with).into_owned();
    }
    text = SPACE_BEFORE_MARK
        .replace_all(&text, |c: &Captures| c[0].trim().to_string())
        .into_owned();
    text = MULTISPACE.replace_all(&text, " ").into_owned();
    text = BRACKET_SPACE_MARK.replace_all(&text, ")$1").into_owned();
    text = DIGIT_SPACE_PERCENT.replace_all(&text, "$1%").into_owned();
    text = QUOTE_THEN_MARKS.replace_all(&text, "$1\"").into_owned();
    // A space between two digits becomes a decimal point (the reference's
    // "digit, no-break space, digit" rule, written with a plain space).
    text = DIGIT_SPACE_DIGIT.replace_all(&text, "$1.$2").into_owned();
    text.trim().to_string()
}

/// The zero of each script whose ten digits the reference maps to ASCII: Bengali,
/// Gujarati, Devanagari, Kannada, Extended Arabic-Indic, Meetei Mayek, Oriya,
/// Gurmukhi and Ol Chiki.
const DIGIT_ZEROS: [u32; 9] = [
    0x09e6, 0x0ae6, 0x0966, 0x0ce6, 0x06f0, 0xabf0, 0x0b66, 0x0a66, 0x1c50,
];

/// Indic digits to ASCII. The reference's table also maps Arabic-Indic zero (but not
/// its other digits) and Telugu one to nine (but not its zero).
pub(super) fn ascii_digits(text: &str) -> String {
    text.chars()
        .map(|c| {
            let code = c as u32;
            let digit = DIGIT_ZEROS
                .iter()
                .find(|&&zero| (zero..zero + 10).contains(&code))
                .map(|zero| code - zero)
                .or((code == 0x0660).then_some(0))
                .or((0x0c67..=0x0c6f).contains(&code).then(|| code - 0x0c66));
            digit.map_or(c, |d| char::from(b'0' + d as u8))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indic_digits_become_ascii_with_the_references_gaps() {
        assert_eq!(ascii_digits("१२३ ৪৫ ٠١ ౦౧"), "123 45 0١ ౦1");
    }

    #[test]
    fn spacing_marks_and_quotes_are_normalized() {
        assert_eq!(normalize("“क” ( ख ) ; ग ?  घ"), "\"क\" (ख);ग? घ");
        assert_eq!(normalize("12 500 और 40 %"), "12.500 और 40%");
    }
}

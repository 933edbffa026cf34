//! Normalization: one spelling per letter, invisible characters, spaces, line endings.

use saar::text::{normalize, split_sentences};

#[test]
fn both_spellings_of_nukta_words_become_one() {
    let precomposed = "\u{095B}िला \u{095E}ैसला"; // ज़िला फ़ैसला with precomposed letters
    let decomposed = "\u{091C}\u{093C}िला \u{092B}\u{093C}ैसला";
    assert_eq!(normalize(precomposed), normalize(decomposed));
    assert_eq!(normalize(precomposed), decomposed);
}

#[test]
fn conjunct_joiners_are_kept_and_stray_ones_dropped() {
    let eyelash_ra = "र्\u{200D}य";
    assert_eq!(normalize(eyelash_ra), eyelash_ra);
    let explicit_half = "क्\u{200C}ष";
    assert_eq!(normalize(explicit_half), explicit_half);
    assert_eq!(normalize("ANI\u{200D} said"), "ANI said");
    assert_eq!(normalize("\u{200C}समाचार"), "समाचार");
}

#[test]
fn invisible_characters_and_odd_spaces_are_fixed() {
    assert_eq!(
        normalize("नई\u{00A0}दिल्ली\u{200B} में\u{2009}बैठक\u{00AD}"),
        "नई दिल्ली में बैठक"
    );
}

#[test]
fn line_endings_become_line_feeds_and_paragraphs_survive() {
    let text = normalize("पहला।\r\n\r\nदूसरा।\rतीसरा।");
    assert_eq!(text, "पहला।\n\nदूसरा।\nतीसरा।");
    assert_eq!(split_sentences(&text).len(), 3);
}

#[test]
fn normalizing_twice_changes_nothing() {
    let text = "क़ानून \u{0929} र्\u{200D}य NBSP\u{00A0}here\r\n";
    assert_eq!(normalize(&normalize(text)), normalize(text));
}

//! Properties of the text pipeline on generated input: segmentation tiles any string
//! (random bytes included) at grapheme boundaries, and chunking rebuilds the input and
//! respects the budget, or fails with the one typed error that says why.

use proptest::prelude::*;
use saar::text::counters::{CharCounter, WordCounter};
use saar::text::{
    chunk, clean, normalize, split_sentences, ChunkError, ChunkSettings, TokenCounter,
};
use unicode_segmentation::UnicodeSegmentation;

/// Pieces that exercise the rules: letters, vowel signs, virama and joiners, digits,
/// terminators, quotes, abbreviations, URLs, spaces and line breaks.
const PIECES: &[&str] = &[
    "क",
    "ख़",
    "ग",
    "ा",
    "ि",
    "ी",
    "्",
    "ं",
    "़",
    "\u{200D}",
    "\u{200C}",
    "ष",
    "र",
    "।",
    "॥",
    ".",
    "..",
    "…",
    "?",
    "!",
    "२.५",
    "10.30",
    "2 1/2",
    " ",
    "  ",
    "\n",
    "\n\n",
    "\r\n",
    "\"",
    "“",
    "”",
    "'",
    "(",
    ")",
    ",",
    ";",
    " - ",
    "—",
    "Dr.",
    "डॉ.",
    "एस.",
    "U.S.",
    "Mr",
    "the",
    "The",
    "News",
    "example.com",
    "a@b.in",
    "@ANI",
    "#tag",
    "https://x.org/a?b=1.",
    "e\u{301}",
    "🇮🇳",
    "👍🏽",
    "\u{093E}",
    "\t",
    "0",
];

fn article() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..120).prop_map(|pieces| pieces.concat())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        article(),
        any::<String>(),
        prop::collection::vec(any::<u8>(), 0..400)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
    ]
}

fn grapheme_boundaries(text: &str) -> std::collections::HashSet<usize> {
    text.grapheme_indices(true)
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect()
}

fn largest_grapheme_count(text: &str, counter: &dyn TokenCounter) -> usize {
    text.graphemes(true)
        .map(|g| counter.count(g))
        .max()
        .unwrap_or(0)
}

fn check_chunks(
    text: &str,
    counter: &dyn TokenCounter,
    settings: ChunkSettings,
) -> Result<(), TestCaseError> {
    let sentences = split_sentences(text);
    match chunk(text, &sentences, counter, settings) {
        Ok(chunks) => {
            let rebuilt: String = chunks.iter().map(|c| c.new_text(text)).collect();
            prop_assert_eq!(rebuilt, text);
            let graphemes = grapheme_boundaries(text);
            for c in &chunks {
                prop_assert_eq!(c.tokens, counter.count(c.text(text)));
                prop_assert!(c.tokens <= settings.max_tokens);
                prop_assert!(c.overlap.start == c.range.start && c.overlap.end < c.range.end);
                prop_assert!(
                    graphemes.contains(&c.range.start) && graphemes.contains(&c.range.end)
                );
            }
        }
        Err(ChunkError::GraphemeOverBudget { .. }) => {
            prop_assert!(largest_grapheme_count(text, counter) > settings.max_tokens);
        }
        Err(other) => prop_assert!(false, "unexpected error {other:?}"),
    }
    Ok(())
}

proptest! {
    #[test]
    fn sentences_tile_any_text_at_grapheme_boundaries(text in any_text()) {
        let sentences = split_sentences(&text);
        let rebuilt: String = sentences.iter().map(|s| s.text(&text)).collect();
        prop_assert_eq!(&rebuilt, &text);
        let graphemes = grapheme_boundaries(&text);
        for s in &sentences {
            prop_assert!(s.range.start < s.range.end);
            prop_assert!(graphemes.contains(&s.range.end));
        }
    }

    #[test]
    fn chunks_rebuild_the_text_within_a_char_budget(text in article(), max_tokens in 1usize..40, overlap in 0usize..3) {
        check_chunks(&text, &CharCounter, ChunkSettings { max_tokens, overlap_sentences: overlap })?;
    }

    #[test]
    fn chunks_rebuild_the_text_within_a_word_budget(text in any_text(), max_tokens in 1usize..12, overlap in 0usize..3) {
        check_chunks(&text, &WordCounter, ChunkSettings { max_tokens, overlap_sentences: overlap })?;
    }

    #[test]
    fn normalizing_is_idempotent(text in any_text()) {
        let once = normalize(&text);
        prop_assert_eq!(normalize(&once), once);
    }

    #[test]
    fn cleaning_without_removals_changes_nothing(text in any_text()) {
        let cleaned = clean(&text);
        if cleaned.removed.is_empty() {
            prop_assert_eq!(cleaned.text, text);
        } else {
            prop_assert!(cleaned.text.len() < text.len());
        }
    }
}

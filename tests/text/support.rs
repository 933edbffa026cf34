//! Helpers shared by the text test cases.

use saar::text::{split_sentences, Sentence};
use unicode_segmentation::UnicodeSegmentation;

/// The sentences of `text`, trimmed, after checking that they tile it exactly.
pub fn sentences_of(text: &str) -> Vec<&str> {
    let sentences = split_sentences(text);
    assert_tiles(text, &sentences);
    sentences.iter().map(|s| s.content(text)).collect()
}

pub fn assert_tiles(text: &str, sentences: &[Sentence]) {
    let joined: String = sentences.iter().map(|s| s.text(text)).collect();
    assert_eq!(joined, text, "sentences must concatenate back to the input");
    let graphemes = grapheme_boundaries(text);
    for sentence in sentences {
        assert!(!sentence.range.is_empty(), "empty sentence in {text:?}");
        assert!(
            graphemes.contains(&sentence.range.end),
            "boundary {} inside a grapheme of {text:?}",
            sentence.range.end
        );
    }
}

/// Byte offsets where a grapheme cluster starts, plus the end of the text.
pub fn grapheme_boundaries(text: &str) -> std::collections::BTreeSet<usize> {
    text.grapheme_indices(true)
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect()
}

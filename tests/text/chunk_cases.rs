//! Chunking: budgets, overlap, cutting of oversized sentences, and the typed errors.

use saar::text::counters::{CharCounter, WordCounter};
use saar::text::{
    chunk, split_sentences, Boundary, Chunk, ChunkError, ChunkSettings, Sentence, TokenCounter,
};

use crate::support::grapheme_boundaries;

const PASSAGE: &str = "नगर निगम ने नई योजना की घोषणा की। इसके तहत हर वार्ड में पानी पहुंचेगा। \
    अधिकारियों ने बताया कि काम अगले महीने शुरू होगा।\n\nThe council approved the budget. \
    विपक्ष ने योजना का स्वागत किया। लोगों ने उम्मीद जताई कि काम समय पर पूरा होगा।\n";

fn settings(max_tokens: usize, overlap_sentences: usize) -> ChunkSettings {
    ChunkSettings {
        max_tokens,
        overlap_sentences,
    }
}

fn chunks_of(text: &str, counter: &dyn TokenCounter, settings: ChunkSettings) -> Vec<Chunk> {
    let sentences = split_sentences(text);
    let chunks = chunk(text, &sentences, counter, settings).expect("chunking succeeds");
    let rebuilt: String = chunks.iter().map(|c| c.new_text(text)).collect();
    assert_eq!(
        rebuilt, text,
        "chunks without overlap must rebuild the input"
    );
    for c in &chunks {
        assert_eq!(c.tokens, counter.count(c.text(text)));
        assert!(c.tokens <= settings.max_tokens, "chunk over budget: {c:?}");
    }
    chunks
}

#[test]
fn whole_sentences_are_packed_under_the_budget() {
    let chunks = chunks_of(PASSAGE, &WordCounter, settings(20, 0));
    assert!(chunks.len() >= 3);
    let sentence_ends: Vec<usize> = split_sentences(PASSAGE)
        .iter()
        .map(|s| s.range.end)
        .collect();
    assert!(
        chunks.iter().all(|c| sentence_ends.contains(&c.range.end)),
        "chunks end at sentence ends"
    );
    assert!(chunks.iter().all(|c| c.overlap.is_empty()));
}

#[test]
fn a_budget_larger_than_the_text_gives_one_chunk() {
    let chunks = chunks_of(PASSAGE, &WordCounter, settings(1000, 2));
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].sentences, 0..split_sentences(PASSAGE).len());
    assert_eq!(chunks[0].boundary, Boundary::EndOfText);
}

#[test]
fn overlap_repeats_the_previous_chunks_last_sentence() {
    let sentences = split_sentences(PASSAGE);
    let chunks = chunks_of(PASSAGE, &WordCounter, settings(24, 1));
    assert!(chunks.len() >= 2);
    for pair in chunks.windows(2) {
        let (previous, next) = (&pair[0], &pair[1]);
        assert!(!next.overlap.is_empty(), "{next:?}");
        assert_eq!(next.overlap.end, previous.range.end);
        let last_sentence = &sentences[previous.sentences.end - 1];
        assert_eq!(next.overlap, last_sentence.range);
        assert!(
            WordCounter.count(next.overlap_text(PASSAGE)) <= 12,
            "overlap stays within half the budget"
        );
    }
}

#[test]
fn a_long_sentence_is_cut_at_commas_first() {
    let text = "बैठक में सड़क, पानी, बिजली, स्वास्थ्य, शिक्षा, सफाई, परिवहन, रोजगार पर चर्चा हुई।";
    let chunks = chunks_of(text, &WordCounter, settings(4, 0));
    assert!(chunks.len() > 1);
    for c in &chunks[..chunks.len() - 1] {
        assert!(
            c.text(text).ends_with(", "),
            "cut after a comma: {:?}",
            c.text(text)
        );
        assert_eq!(c.boundary, Boundary::Inline);
    }
}

#[test]
fn a_long_sentence_without_commas_is_cut_between_words() {
    let text = "यह एक बहुत लंबा वाक्य है जिसमें कोई अल्पविराम नहीं है और जो बजट से बड़ा है।";
    let chunks = chunks_of(text, &WordCounter, settings(3, 0));
    assert!(chunks.len() >= 5);
    assert!(chunks[..chunks.len() - 1]
        .iter()
        .all(|c| c.text(text).ends_with(' ')));
}

#[test]
fn a_long_word_is_cut_between_grapheme_clusters() {
    let text = "जलमहलपरिसरनगरनिगम";
    let chunks = chunks_of(text, &CharCounter, settings(3, 0));
    let graphemes = grapheme_boundaries(text);
    assert!(chunks.len() > 3);
    assert!(chunks
        .iter()
        .all(|c| graphemes.contains(&c.range.start) && graphemes.contains(&c.range.end)));
}

#[test]
fn a_zero_budget_is_an_error() {
    let sentences = split_sentences(PASSAGE);
    assert_eq!(
        chunk(PASSAGE, &sentences, &WordCounter, settings(0, 0)),
        Err(ChunkError::ZeroBudget)
    );
}

#[test]
fn a_grapheme_over_the_budget_is_an_error_not_a_loop() {
    let text = "अब कि";
    let sentences = split_sentences(text);
    let error = chunk(text, &sentences, &CharCounter, settings(1, 0)).expect_err("कि is two chars");
    assert!(
        matches!(
            error,
            ChunkError::GraphemeOverBudget {
                offset: 7,
                tokens: 2,
                max_tokens: 1,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("--max-tokens"));
}

#[test]
fn sentences_that_do_not_tile_the_text_are_rejected() {
    let text = "पहला। दूसरा।";
    let mut sentences = split_sentences(text);
    sentences[1].range.start += 1;
    let error = chunk(text, &sentences, &WordCounter, settings(10, 0)).expect_err("gap");
    assert!(matches!(error, ChunkError::SentencesMismatch { .. }));
    let past_end = vec![Sentence {
        range: 0..text.len() + 1,
        ..sentences[0].clone()
    }];
    assert!(chunk(text, &past_end, &WordCounter, settings(10, 0)).is_err());
}

#[test]
fn a_paragraph_can_be_chunked_on_its_own() {
    let sentences = split_sentences(PASSAGE);
    let paragraphs = saar::text::paragraphs(&sentences);
    assert_eq!(paragraphs.len(), 2);
    let second = &sentences[paragraphs[1].clone()];
    let chunks = chunk(PASSAGE, second, &WordCounter, settings(12, 0)).expect("chunks");
    assert_eq!(chunks[0].range.start, second[0].range.start);
    assert_eq!(chunks.last().map(|c| c.range.end), Some(PASSAGE.len()));
    assert_eq!(
        chunks[0].sentences.start, 0,
        "indices are into the slice passed in"
    );
}

/// Counts words squared: concatenations count more than their parts, the opposite of
/// what the chunker's per-sentence estimate assumes, so every chunk must be re-checked.
struct SuperAdditive;

impl TokenCounter for SuperAdditive {
    fn count(&self, text: &str) -> usize {
        text.split_whitespace().count().pow(2)
    }
}

#[test]
fn chunks_stay_within_budget_when_counts_do_not_add_up() {
    let text = "एक दो। तीन चार। पांच छह। सात आठ। नौ दस।";
    let chunks = chunks_of(text, &SuperAdditive, settings(9, 0));
    assert!(chunks.len() >= 3);
}

#[test]
fn translated_parts_are_joined_with_the_source_breaks() {
    let sentences = split_sentences(PASSAGE);
    let parts: Vec<(String, Boundary)> = sentences
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("S{i}"), s.boundary))
        .collect();
    let joined = saar::text::join_parts(parts.iter().map(|(t, b)| (t.as_str(), *b)));
    assert_eq!(joined, "S0 S1 S2\n\nS3 S4 S5");
}

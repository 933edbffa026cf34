//! Fuzzes the chunker: the first byte picks the budget and overlap, the rest is text.
//! Chunks must rebuild the text and fit the budget, or fail with a typed error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use saar::text::counters::CharCounter;
use saar::text::{chunk, split_sentences, ChunkError, ChunkSettings, TokenCounter};

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let settings = ChunkSettings {
        max_tokens: usize::from(knobs & 0x3F),
        overlap_sentences: usize::from(knobs >> 6),
    };
    let sentences = split_sentences(&text);
    match chunk(&text, &sentences, &CharCounter, settings) {
        Ok(chunks) => {
            let rebuilt: String = chunks.iter().map(|c| c.new_text(&text)).collect();
            assert_eq!(rebuilt, text);
            assert!(chunks
                .iter()
                .all(|c| c.tokens <= settings.max_tokens
                    && c.tokens == CharCounter.count(c.text(&text))));
        }
        Err(ChunkError::ZeroBudget) => assert_eq!(settings.max_tokens, 0),
        Err(ChunkError::GraphemeOverBudget { .. }) => {}
        Err(error) => panic!("unexpected error: {error}"),
    }
});

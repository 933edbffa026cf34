//! Fuzzes normalization, cleaning and sentence segmentation with arbitrary bytes:
//! nothing may panic and the sentences must tile the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use saar::text::{clean, normalize, split_sentences};

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    for text in [
        raw.to_string(),
        normalize(&raw),
        clean(&normalize(&raw)).text,
    ] {
        let sentences = split_sentences(&text);
        let rebuilt: String = sentences.iter().map(|s| s.text(&text)).collect();
        assert_eq!(rebuilt, text);
        assert!(sentences.iter().all(|s| !s.range.is_empty()));
    }
});

//! SentencePiece vocabularies (`tokenizer.ggml.model = "llama"`: Llama 1–2, Mistral,
//! Gemma 1–3) rebuilt from GGUF metadata as the HF tokenizer.json of such models is:
//! a BPE over the whole text with byte fallback, whose merges come from the piece
//! scores. llama.cpp's SPM tokenizer merges, at each step, the adjacent pair whose
//! joined text is the highest-scoring piece; a BPE whose merge list holds every
//! split of every piece, ranked by the joined piece's score, makes the same choices
//! (HF's `SentencePieceExtractor` builds Llama and Gemma tokenizer.json files so).
//!
//! Spaces become `▁`, and with `add_space_prefix` (llama.cpp's default; Gemma files
//! turn it off) every stretch of text between special tokens gets a leading `▁`.

use std::collections::HashMap;

use serde_json::json;
use tokenizers::models::bpe::BPE;
use tokenizers::{DecoderWrapper, NormalizerWrapper, Tokenizer};

use super::gguf::{added_tokens, bos_eos_processor, GgufTokenizerMeta, TOKEN_TYPE_BYTE};

/// SentencePiece's whitespace marker.
const SPACE_MARK: &str = "\u{2581}";

pub(crate) fn build(meta: &GgufTokenizerMeta) -> Result<Tokenizer, String> {
    let error = |e: &dyn std::fmt::Display| e.to_string();
    let is_byte = |id: usize| meta.token_type(id) == TOKEN_TYPE_BYTE;
    let merges = merges_from_scores(&meta.tokens, &meta.scores, is_byte);
    let vocab = meta.vocab();
    let has_bytes = (0..meta.tokens.len()).any(is_byte);
    let mut builder = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .byte_fallback(has_bytes)
        .fuse_unk(true);
    if let Some(unk) = meta.token(meta.unk_id) {
        builder = builder.unk_token(unk);
    }
    let model = builder.build().map_err(|e| error(&e))?;

    let add_space_prefix = meta.add_space_prefix.unwrap_or(true);
    let replace = json!({"type": "Replace", "pattern": {"String": " "}, "content": SPACE_MARK});
    let normalizer = if add_space_prefix {
        json!({"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": SPACE_MARK}, replace]})
    } else {
        replace
    };
    let normalizer: NormalizerWrapper =
        serde_json::from_value(normalizer).map_err(|e| error(&e))?;
    let mut decoders = vec![
        json!({"type": "Replace", "pattern": {"String": SPACE_MARK}, "content": " "}),
        json!({"type": "ByteFallback"}),
        json!({"type": "Fuse"}),
    ];
    if add_space_prefix {
        decoders.push(json!({"type": "Strip", "content": " ", "start": 1, "stop": 0}));
    }
    let decoder: DecoderWrapper =
        serde_json::from_value(json!({"type": "Sequence", "decoders": decoders}))
            .map_err(|e| error(&e))?;

    let mut tokenizer = Tokenizer::new(model);
    tokenizer.with_normalizer(Some(normalizer));
    tokenizer.with_decoder(Some(decoder));
    tokenizer.with_post_processor(bos_eos_processor(meta, true)?);
    tokenizer.add_tokens(&added_tokens(meta));
    Ok(tokenizer)
}

/// Every split of every piece into two pieces, best joined score first; ties by the
/// joined piece's id, then the halves' ids, as HF's extractor orders them.
/// `skip` leaves pieces out as merge results (byte pieces are never built by merging).
pub(crate) fn merges_from_scores(
    tokens: &[String],
    scores: &[f32],
    skip: impl Fn(usize) -> bool,
) -> Vec<(String, String)> {
    let ids: HashMap<&str, usize> = tokens
        .iter()
        .enumerate()
        .map(|(id, token)| (token.as_str(), id))
        .collect();
    let mut found: Vec<(f32, usize, usize, usize)> = Vec::new();
    for (id, token) in tokens.iter().enumerate() {
        if skip(id) || ids.get(token.as_str()) != Some(&id) {
            continue;
        }
        let score = scores.get(id).copied().unwrap_or(0.0);
        for (split, _) in token.char_indices().skip(1) {
            let (left, right) = token.split_at(split);
            if let (Some(&l), Some(&r)) = (ids.get(left), ids.get(right)) {
                found.push((score, id, l, r));
            }
        }
    }
    found.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(a.1.cmp(&b.1))
            .then(a.2.cmp(&b.2))
            .then(a.3.cmp(&b.3))
    });
    found
        .into_iter()
        .map(|(_, _, l, r)| (tokens[l].clone(), tokens[r].clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_follow_scores_of_the_joined_piece() {
        let tokens: Vec<String> = ["a", "b", "c", "ab", "bc", "abc"]
            .map(String::from)
            .to_vec();
        let scores = [0.0, 0.0, 0.0, -3.0, -1.0, -2.0];
        let merges = merges_from_scores(&tokens, &scores, |_| false);
        let pairs: Vec<(&str, &str)> = merges
            .iter()
            .map(|(l, r)| (l.as_str(), r.as_str()))
            .collect();
        assert_eq!(pairs, [("b", "c"), ("a", "bc"), ("ab", "c"), ("a", "b")]);
    }
}

//! Tiny tokenizers of the other kinds a GGUF file can hold, trained with the
//! tokenizers crate on [`super::sample_text`] and shaped as the models' own
//! tokenizer.json files are: SentencePiece vocabularies as HF converts them (a BPE
//! with byte fallback over `▁`-marked text, Llama 2 and Gemma conventions), and
//! byte-level BPEs with the pre-tokenizers of several model families. Tests write
//! them as vocab-only GGUF files and check saar's rebuild against them.

use std::collections::HashSet;

use serde_json::{json, Value};
use tokenizers::models::bpe::{BpeTrainer, Vocab, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{
    AddedToken, DecoderWrapper, ModelWrapper, NormalizerWrapper, PostProcessorWrapper,
    PreTokenizerWrapper, Tokenizer,
};

use super::sample_text::all_sentences;
use super::tokenizer::QWEN2_SPLIT_REGEX;
use super::SynthError;
use crate::model::tokenizer::merges_from_scores;

/// Trained pieces besides specials and bytes.
const TRAINED_VOCAB: usize = 1024;
const SPACE_MARK: &str = "\u{2581}";

/// Which SentencePiece convention: Llama 2 (`<s>`, a `▁` before the text) or Gemma
/// (`<bos>`, turn markers, no dummy prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpmStyle {
    Llama2,
    Gemma,
}

impl SpmStyle {
    /// Special tokens in id order, then the roles (bos, eos, unk, pad).
    fn specials(self) -> (&'static [&'static str], [Option<&'static str>; 4]) {
        match self {
            SpmStyle::Llama2 => (
                &["<unk>", "<s>", "</s>"],
                [Some("<s>"), Some("</s>"), Some("<unk>"), None],
            ),
            SpmStyle::Gemma => (
                &[
                    "<pad>",
                    "<eos>",
                    "<bos>",
                    "<unk>",
                    "<start_of_turn>",
                    "<end_of_turn>",
                ],
                [Some("<bos>"), Some("<eos>"), Some("<unk>"), Some("<pad>")],
            ),
        }
    }
}

/// The byte-level BPE pre-tokenizers of model families, as their tokenizer.json has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BpeStyle {
    /// GPT-2, phi-2, OLMo, MPT: the byte-level regex alone.
    Gpt2,
    /// StarCoder, SmolLM, Command-R, Refact: single digits, then GPT-2's regex.
    Digits,
    /// DeepSeek Coder: its list of isolating splits.
    DeepseekCoder,
    /// Qwen 2: one regex that lets a mark or space lead a run of letters, NFC first.
    Qwen2,
}

fn json_to<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, SynthError> {
    serde_json::from_value(value).map_err(|e| SynthError::Tokenizer(e.to_string()))
}

fn tokenizer_error(error: impl std::fmt::Display) -> SynthError {
    SynthError::Tokenizer(error.to_string())
}

/// Trains a BPE over the sample text with `normalizer` and `pre_tokenizer`.
fn train(
    normalizer: Option<NormalizerWrapper>,
    pre_tokenizer: PreTokenizerWrapper,
    alphabet: HashSet<char>,
) -> Result<Tokenizer, SynthError> {
    let mut tokenizer = Tokenizer::new(BPE::default());
    tokenizer.with_normalizer(normalizer);
    tokenizer.with_pre_tokenizer(Some(pre_tokenizer));
    let trainer = BpeTrainer::builder()
        .vocab_size(TRAINED_VOCAB)
        .show_progress(false)
        .initial_alphabet(alphabet)
        .build();
    tokenizer
        .train(&mut TrainerWrapper::BpeTrainer(trainer), all_sentences())
        .map_err(tokenizer_error)?;
    Ok(tokenizer)
}

/// A SentencePiece-style tokenizer and its `tokenizer_config.json`.
pub fn build_spm_tokenizer(style: SpmStyle) -> Result<(Tokenizer, Value), SynthError> {
    let replace = json!({"type": "Replace", "pattern": {"String": " "}, "content": SPACE_MARK});
    let normalizer = match style {
        SpmStyle::Llama2 => json!({"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": SPACE_MARK}, replace]}),
        SpmStyle::Gemma => replace,
    };
    let normalizer: NormalizerWrapper = json_to(normalizer)?;
    // spm never merges across a word start: train on `▁`-initial words.
    let words = json_to(json!({"type": "Split", "pattern": {"String": SPACE_MARK},
                               "behavior": "MergedWithNext", "invert": false}))?;
    let trained = train(Some(normalizer.clone()), words, HashSet::new())?;
    let mut learned: Vec<(String, u32)> = trained.get_vocab(false).into_iter().collect();
    learned.sort_by_key(|(_, id)| *id);

    let (specials, [bos, eos, unk, pad]) = style.specials();
    let mut tokens: Vec<String> = specials.iter().map(|s| s.to_string()).collect();
    tokens.extend((0..=255u8).map(|b| format!("<0x{b:02X}>")));
    let first_piece = tokens.len();
    tokens.extend(learned.into_iter().map(|(piece, _)| piece));
    // Later pieces score lower, as spm's BPE trainer scores them.
    let scores: Vec<f32> = (0..tokens.len())
        .map(|id| if id < first_piece { 0.0 } else { -(id as f32) })
        .collect();
    let merges = merges_from_scores(&tokens, &scores, |id| {
        (specials.len()..first_piece).contains(&id)
    });
    let vocab: Vocab = tokens
        .iter()
        .enumerate()
        .map(|(id, t)| (t.clone(), id as u32))
        .collect();
    let model = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .byte_fallback(true)
        .fuse_unk(true)
        .unk_token("<unk>".into())
        .build()
        .map_err(tokenizer_error)?;

    let mut decoders = vec![
        json!({"type": "Replace", "pattern": {"String": SPACE_MARK}, "content": " "}),
        json!({"type": "ByteFallback"}),
        json!({"type": "Fuse"}),
    ];
    if style == SpmStyle::Llama2 {
        decoders.push(json!({"type": "Strip", "content": " ", "start": 1, "stop": 0}));
    }
    let bos = bos.unwrap_or_default();
    let bos_id = tokens.iter().position(|t| t == bos).unwrap_or(0);
    let post: PostProcessorWrapper = json_to(json!({
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}},
    }))?;
    let mut tokenizer = Tokenizer::new(ModelWrapper::BPE(model));
    tokenizer.with_normalizer(Some(normalizer));
    tokenizer.with_decoder(Some(json_to::<DecoderWrapper>(
        json!({"type": "Sequence", "decoders": decoders}),
    )?));
    tokenizer.with_post_processor(Some(post));
    let added: Vec<AddedToken> = specials
        .iter()
        .map(|s| AddedToken::from(*s, true).normalized(false))
        .collect();
    tokenizer.add_special_tokens(&added);
    let config = json!({
        "add_bos_token": true, "add_eos_token": false, "bos_token": bos, "eos_token": eos,
        "unk_token": unk, "pad_token": pad, "tokenizer_class": "PreTrainedTokenizerFast",
    });
    Ok((tokenizer, config))
}

/// Special tokens of the byte-level tokenizers (ChatML, as SmolLM2's).
pub const BPE_SPECIALS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// A byte-level BPE tokenizer with `style`'s pre-tokenizer and its `tokenizer_config.json`.
pub fn build_bpe_tokenizer(style: BpeStyle) -> Result<(Tokenizer, Value), SynthError> {
    let byte_level = |use_regex: bool| json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": use_regex});
    let split = |regex: &str| json!({"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": false});
    let pre = match style {
        BpeStyle::Gpt2 => byte_level(true),
        BpeStyle::Digits => json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true}, byte_level(true)]}),
        BpeStyle::DeepseekCoder => json!({"type": "Sequence", "pretokenizers": [
            split(r"[\r\n]"), split(r"\s?\p{L}+"), split(r"\s?\p{P}+"),
            split("[\u{4e00}-\u{9fa5}\u{800}-\u{4e00}\u{ac00}-\u{d7ff}]+"), split(r"\p{N}"), byte_level(false)]}),
        BpeStyle::Qwen2 => json!({"type": "Sequence", "pretokenizers": [
            split(QWEN2_SPLIT_REGEX), byte_level(false)]}),
    };
    let normalizer = match style {
        BpeStyle::Qwen2 => Some(json_to(json!({"type": "NFC"}))?),
        _ => None,
    };
    let alphabet: HashSet<char> = ByteLevel::alphabet().into_iter().collect();
    let mut tokenizer = train(normalizer, json_to(pre)?, alphabet)?;
    tokenizer.with_decoder(Some(json_to::<DecoderWrapper>(byte_level(true))?));
    let added: Vec<AddedToken> = BPE_SPECIALS
        .iter()
        .map(|s| AddedToken::from(*s, true))
        .collect();
    tokenizer.add_special_tokens(&added);
    let config = json!({
        "add_bos_token": false, "bos_token": "<|endoftext|>", "eos_token": "<|im_end|>",
        "unk_token": "<|endoftext|>", "tokenizer_class": "PreTrainedTokenizerFast",
    });
    Ok((tokenizer, config))
}

//! The tiny tokenizers of synthetic models: byte-level BPE in the Qwen / Llama-3
//! style, trained with the tokenizers crate on [`super::sample_text`], plus each
//! family's special tokens, and the `tokenizer_config.json` that goes with them.

use std::collections::HashSet;

use serde_json::{json, Map, Value};
use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::bpe::{BpeTrainer, BPE};
use tokenizers::models::{ModelWrapper, TrainerWrapper};
use tokenizers::normalizers::NFC;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence as PreSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::processors::sequence::Sequence as PostSequence;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::processors::PostProcessorWrapper;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

use super::sample_text::all_sentences;
use super::{Family, SynthError};

/// Qwen2's split regex: digits one at a time.
pub const QWEN2_SPLIT_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Llama-3's split regex: digits in groups of up to three.
pub const LLAMA3_SPLIT_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Size of the trained BPE vocabulary: the 256 byte symbols, the merges, and for
/// Gemma (whose specials come first, as in the real vocabulary) its special tokens.
/// About a thousand keeps tiny models tiny while Hindi gets ~3.4 bytes per token
/// (real tokenizers: 2.5 to 4) and saar's English prompts ~2.3 (real: ~4.5).
const TRAINED_VOCAB: usize = 1024;

/// Special tokens of a family and the roles they play.
#[derive(Debug, Clone, Copy)]
pub struct FamilyTokens {
    /// All special tokens, in id order.
    pub specials: &'static [&'static str],
    /// Gemma puts its specials at ids 0.., the others after the BPE vocabulary.
    pub specials_first: bool,
    /// `bos_token` of `tokenizer_config.json`.
    pub bos: Option<&'static str>,
    /// `bos_token_id` of `config.json` (Qwen names one there but has no `bos_token`).
    pub config_bos: Option<&'static str>,
    /// `eos_token` of `tokenizer_config.json`: the end of an assistant turn.
    pub eos: &'static str,
    pub pad: Option<&'static str>,
    /// `eos_token_id` of `config.json` and `generation_config.json`.
    pub config_eos: &'static [&'static str],
    pub generation_eos: &'static [&'static str],
    /// Whether the tokenizer prepends the BOS token (its post-processor does so).
    pub add_bos: bool,
    pub split_regex: &'static str,
}

pub fn family_tokens(family: Family) -> FamilyTokens {
    match family {
        Family::Qwen => FamilyTokens {
            specials: &["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
            specials_first: false,
            bos: None,
            config_bos: Some("<|endoftext|>"),
            eos: "<|im_end|>",
            pad: Some("<|endoftext|>"),
            config_eos: &["<|im_end|>"],
            generation_eos: &["<|im_end|>", "<|endoftext|>"],
            add_bos: false,
            split_regex: QWEN2_SPLIT_REGEX,
        },
        Family::Llama => FamilyTokens {
            specials: &[
                "<|begin_of_text|>",
                "<|end_of_text|>",
                "<|start_header_id|>",
                "<|end_header_id|>",
                "<|eot_id|>",
            ],
            specials_first: false,
            bos: Some("<|begin_of_text|>"),
            config_bos: Some("<|begin_of_text|>"),
            eos: "<|eot_id|>",
            pad: None,
            config_eos: &["<|end_of_text|>", "<|eot_id|>"],
            generation_eos: &["<|end_of_text|>", "<|eot_id|>"],
            add_bos: true,
            split_regex: LLAMA3_SPLIT_REGEX,
        },
        Family::Gemma => FamilyTokens {
            specials: &[
                "<pad>",
                "<eos>",
                "<bos>",
                "<start_of_turn>",
                "<end_of_turn>",
            ],
            specials_first: true,
            bos: Some("<bos>"),
            config_bos: Some("<bos>"),
            eos: "<eos>",
            pad: Some("<pad>"),
            config_eos: &["<eos>", "<end_of_turn>"],
            generation_eos: &["<eos>", "<end_of_turn>"],
            add_bos: true,
            split_regex: LLAMA3_SPLIT_REGEX,
        },
    }
}

/// Vocabulary size of [`build_tokenizer`]'s tokenizer for `family`, added tokens included.
pub fn tiny_vocab_size(family: Family) -> usize {
    let tokens = family_tokens(family);
    if tokens.specials_first {
        TRAINED_VOCAB
    } else {
        TRAINED_VOCAB + tokens.specials.len()
    }
}

/// Builds the family's tiny tokenizer. Deterministic: the same JSON every run.
pub fn build_tokenizer(family: &Family) -> Result<Tokenizer, SynthError> {
    let tokens = family_tokens(*family);
    let mut tokenizer = Tokenizer::new(BPE::default());
    if *family == Family::Qwen {
        tokenizer.with_normalizer(Some(NFC));
    }
    let split = Split::new(
        SplitPattern::Regex(tokens.split_regex.to_string()),
        SplitDelimiterBehavior::Isolated,
        false,
    )
    .map_err(tokenizer_error)?;
    let trim_offsets = *family != Family::Qwen;
    tokenizer.with_pre_tokenizer(Some(PreTokenizerWrapper::Sequence(PreSequence::new(vec![
        PreTokenizerWrapper::Split(split),
        PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, trim_offsets, false)),
    ]))));
    tokenizer.with_decoder(Some(DecoderWrapper::ByteLevel(ByteLevel::new(
        false, false, false,
    ))));

    let special_tokens: Vec<AddedToken> = tokens
        .specials
        .iter()
        .map(|content| AddedToken::from(*content, true))
        .collect();
    let alphabet: HashSet<char> = ByteLevel::alphabet().into_iter().collect();
    let trainer = BpeTrainer::builder()
        .vocab_size(TRAINED_VOCAB)
        .show_progress(false)
        .initial_alphabet(alphabet)
        .special_tokens(if tokens.specials_first {
            special_tokens.clone()
        } else {
            Vec::new()
        })
        .build();
    tokenizer
        .train(&mut TrainerWrapper::BpeTrainer(trainer), all_sentences())
        .map_err(tokenizer_error)?;
    if !tokens.specials_first {
        tokenizer.add_special_tokens(&special_tokens);
    }
    if tokens.split_regex == LLAMA3_SPLIT_REGEX {
        // Llama-3's tokenizer looks whole pre-tokens up in the vocabulary before merging.
        if let ModelWrapper::BPE(bpe) = tokenizer.get_model() {
            let mut bpe = bpe.clone();
            bpe.ignore_merges = true;
            tokenizer.with_model(bpe);
        }
    }
    if let Some(processor) = post_processor(&tokenizer, *family)? {
        tokenizer.with_post_processor(Some(processor));
    }
    Ok(tokenizer)
}

/// What the real tokenizer.json of each family does after the model: Qwen only
/// fixes byte-level offsets; Llama-3 and Gemma also prepend BOS.
fn post_processor(
    tokenizer: &Tokenizer,
    family: Family,
) -> Result<Option<PostProcessorWrapper>, SynthError> {
    let tokens = family_tokens(family);
    let byte_level = PostProcessorWrapper::ByteLevel(ByteLevel::new(true, false, true));
    let Some(bos) = tokens.bos.filter(|_| tokens.add_bos) else {
        return Ok(Some(PostProcessorWrapper::ByteLevel(ByteLevel::new(
            false, false, false,
        ))));
    };
    let bos_id = required_id(tokenizer, bos)?;
    let template = TemplateProcessing::builder()
        .try_single(format!("{bos} $A"))
        .map_err(tokenizer_error)?
        .try_pair(format!("{bos} $A {bos} $B:1"))
        .map_err(tokenizer_error)?
        .special_tokens(vec![(bos, bos_id)])
        .build()
        .map_err(tokenizer_error)?;
    Ok(Some(match family {
        Family::Llama => PostProcessorWrapper::Sequence(PostSequence::new(vec![
            byte_level,
            PostProcessorWrapper::Template(template),
        ])),
        _ => PostProcessorWrapper::Template(template),
    }))
}

/// The id of a token the tokenizer must contain.
pub fn required_id(tokenizer: &Tokenizer, token: &str) -> Result<u32, SynthError> {
    tokenizer
        .token_to_id(token)
        .ok_or_else(|| SynthError::Tokenizer(format!("the tokenizer has no `{token}` token")))
}

fn tokenizer_error(error: impl std::fmt::Display) -> SynthError {
    SynthError::Tokenizer(error.to_string())
}

/// `tokenizer_config.json` as `transformers` writes it for a fast tokenizer.
pub fn tokenizer_config_json(
    tokenizer: &Tokenizer,
    family: Family,
    chat_template: &str,
    model_max_length: usize,
) -> Result<Value, SynthError> {
    let tokens = family_tokens(family);
    let mut decoder = Map::new();
    for token in tokens.specials {
        let id = required_id(tokenizer, token)?;
        decoder.insert(
            id.to_string(),
            json!({
                "content": token,
                "lstrip": false,
                "normalized": false,
                "rstrip": false,
                "single_word": false,
                "special": true
            }),
        );
    }
    Ok(json!({
        "add_bos_token": tokens.add_bos,
        "add_eos_token": false,
        "added_tokens_decoder": decoder,
        "bos_token": tokens.bos,
        "chat_template": chat_template,
        "clean_up_tokenization_spaces": false,
        "eos_token": tokens.eos,
        "model_max_length": model_max_length,
        "pad_token": tokens.pad,
        "split_special_tokens": false,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": null
    }))
}

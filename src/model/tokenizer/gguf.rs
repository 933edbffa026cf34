//! A tokenizer from GGUF metadata, for a local `.gguf` file with no tokenizer.json
//! beside it, rebuilt as the HF tokenizer llama.cpp's converter read: byte-level BPE
//! (`tokenizer.ggml.model = "gpt2"`, see [`super::gguf_bpe`]) and SentencePiece
//! (`"llama"`, see [`super::gguf_spm`]). What both share lives here: the metadata,
//! the token types, which tokens are matched in raw text, and the BOS/EOS rule.

use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::gguf_file::Value;
use serde_json::json;
use tokenizers::{AddedToken, PostProcessorWrapper, Tokenizer};

use super::TokenizerError;

/// GGUF token types (llama.cpp `llama_token_type`).
pub(crate) const TOKEN_TYPE_UNKNOWN: i64 = 2;
pub(crate) const TOKEN_TYPE_CONTROL: i64 = 3;
pub(crate) const TOKEN_TYPE_USER_DEFINED: i64 = 4;
pub(crate) const TOKEN_TYPE_BYTE: i64 = 6;

/// Tokens llama.cpp treats as end-of-generation by their text alone (and marks as
/// control tokens even when the file calls them user-defined), from `llama-vocab.cpp`.
const END_OF_GENERATION: [&str; 14] = [
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
];

/// The tokenizer-related metadata of a GGUF file.
#[derive(Debug, Clone, Default)]
pub(crate) struct GgufTokenizerMeta {
    pub model: Option<String>,
    pub pre: Option<String>,
    pub tokens: Vec<String>,
    pub scores: Vec<f32>,
    pub merges: Vec<String>,
    pub token_types: Vec<i64>,
    pub bos_id: Option<u32>,
    pub eos_id: Option<u32>,
    /// End-of-turn token (Llama 3 `<|eot_id|>`), which also ends generation.
    pub eot_id: Option<u32>,
    pub unk_id: Option<u32>,
    pub pad_id: Option<u32>,
    /// `tokenizer.ggml.add_bos_token` / `add_eos_token` as the file sets them.
    pub add_bos: Option<bool>,
    pub add_eos: Option<bool>,
    /// `tokenizer.ggml.add_space_prefix` (SentencePiece's dummy prefix).
    pub add_space_prefix: Option<bool>,
    pub chat_template: Option<String>,
}

impl GgufTokenizerMeta {
    pub fn token(&self, id: Option<u32>) -> Option<String> {
        id.and_then(|id| self.tokens.get(id as usize).cloned())
    }

    /// Token text to id for a `tokenizers` BPE; a text listed twice keeps its last id,
    /// as llama.cpp's own map does.
    pub fn vocab(&self) -> tokenizers::models::bpe::Vocab {
        self.tokens
            .iter()
            .enumerate()
            .map(|(id, token)| (token.clone(), id as u32))
            .collect()
    }

    /// The token type llama.cpp ends up with: end-of-generation names are control.
    pub fn token_type(&self, id: usize) -> i64 {
        let stored = self.token_types.get(id).copied().unwrap_or(1);
        let name = self.tokens.get(id).map(String::as_str).unwrap_or("");
        if stored == TOKEN_TYPE_USER_DEFINED && END_OF_GENERATION.contains(&name) {
            TOKEN_TYPE_CONTROL
        } else {
            stored
        }
    }

    /// Ids that end generation: EOS, EOT, and every token llama.cpp stops on by name.
    pub fn end_of_generation_ids(&self) -> Vec<u32> {
        let named = self
            .tokens
            .iter()
            .enumerate()
            .filter(|(_, token)| END_OF_GENERATION.contains(&token.as_str()))
            .filter_map(|(id, _)| u32::try_from(id).ok());
        self.eos_id
            .into_iter()
            .chain(self.eot_id)
            .chain(named)
            .collect()
    }
}

pub(crate) fn read_gguf_meta(path: &Path) -> Result<GgufTokenizerMeta, TokenizerError> {
    let invalid = |message: String| TokenizerError::Invalid {
        path: path.display().to_string(),
        what: "GGUF file",
        message,
    };
    let mut file = std::fs::File::open(path).map_err(|e| TokenizerError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    // saar's own header reader: candle's refuses files with IQ4_NL/IQ4_XS tensors.
    let content = crate::engine::llm::gguf_header::read_header(&mut file)
        .map_err(|e| invalid(first_line(&e.to_string())))?;
    Ok(meta_from(&content.metadata))
}

/// The message of an error without the backtrace candle appends under `RUST_BACKTRACE`.
pub(crate) fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or("").trim_end().to_string()
}

fn meta_from(md: &HashMap<String, Value>) -> GgufTokenizerMeta {
    let string = |key: &str| md.get(key).and_then(|v| v.to_string().ok()).cloned();
    let array = |key: &str| md.get(key).and_then(|v| v.to_vec().ok());
    let strings = |key: &str| -> Vec<String> {
        array(key)
            .map(|items| {
                items
                    .iter()
                    .map(|v| v.to_string().cloned().unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default()
    };
    let id = |key: &str| {
        md.get(key)
            .and_then(integer)
            .and_then(|n| u32::try_from(n).ok())
    };
    let flag = |key: &str| md.get(key).and_then(|v| v.to_bool().ok());
    GgufTokenizerMeta {
        model: string("tokenizer.ggml.model"),
        pre: string("tokenizer.ggml.pre"),
        tokens: strings("tokenizer.ggml.tokens"),
        scores: array("tokenizer.ggml.scores")
            .map(|items| items.iter().map(|v| v.to_f32().unwrap_or(0.0)).collect())
            .unwrap_or_default(),
        merges: strings("tokenizer.ggml.merges"),
        token_types: array("tokenizer.ggml.token_type")
            .map(|items| items.iter().map(|v| integer(v).unwrap_or(1)).collect())
            .unwrap_or_default(),
        bos_id: id("tokenizer.ggml.bos_token_id"),
        eos_id: id("tokenizer.ggml.eos_token_id"),
        eot_id: id("tokenizer.ggml.eot_token_id"),
        unk_id: id("tokenizer.ggml.unknown_token_id"),
        pad_id: id("tokenizer.ggml.padding_token_id"),
        add_bos: flag("tokenizer.ggml.add_bos_token"),
        add_eos: flag("tokenizer.ggml.add_eos_token"),
        add_space_prefix: flag("tokenizer.ggml.add_space_prefix"),
        chat_template: string("tokenizer.chat_template"),
    }
}

/// Any GGUF integer type as i64.
fn integer(value: &Value) -> Option<i64> {
    Some(match value {
        Value::U8(v) => i64::from(*v),
        Value::I8(v) => i64::from(*v),
        Value::U16(v) => i64::from(*v),
        Value::I16(v) => i64::from(*v),
        Value::U32(v) => i64::from(*v),
        Value::I32(v) => i64::from(*v),
        Value::U64(v) => i64::try_from(*v).ok()?,
        Value::I64(v) => *v,
        _ => return None,
    })
}

/// Rebuilds the HF tokenizer a GGUF was converted from; an unknown kind or
/// pre-tokenizer is refused by name.
pub(crate) fn build_tokenizer(
    meta: &GgufTokenizerMeta,
    path: &Path,
) -> Result<Tokenizer, TokenizerError> {
    let model = meta.model.as_deref().unwrap_or("none");
    let unsupported = |kind: String| TokenizerError::UnsupportedGguf {
        path: path.display().to_string(),
        kind,
    };
    if meta.tokens.is_empty() {
        return Err(unsupported(format!("{model} (no tokenizer.ggml.tokens)")));
    }
    let built = match model {
        "gpt2" => super::gguf_bpe::build(meta).map_err(|e| match e {
            super::gguf_bpe::BpeError::UnknownPre(pre) => {
                unsupported(format!("gpt2 (pre-tokenizer {pre})"))
            }
            super::gguf_bpe::BpeError::Build(message) => invalid(path, message),
        })?,
        "llama" => super::gguf_spm::build(meta).map_err(|message| invalid(path, message))?,
        other => return Err(unsupported(other.to_string())),
    };
    Ok(built)
}

fn invalid(path: &Path, message: String) -> TokenizerError {
    TokenizerError::Invalid {
        path: path.display().to_string(),
        what: "GGUF tokenizer",
        message,
    }
}

/// Tokens llama.cpp matches in raw text before the model sees it: control and
/// unknown tokens (special: skipped when decoding) and user-defined ones (kept).
pub(crate) fn added_tokens(meta: &GgufTokenizerMeta) -> Vec<AddedToken> {
    (0..meta.tokens.len())
        .filter_map(|id| {
            let kind = meta.token_type(id);
            let special = matches!(kind, TOKEN_TYPE_CONTROL | TOKEN_TYPE_UNKNOWN);
            (special || kind == TOKEN_TYPE_USER_DEFINED)
                .then(|| AddedToken::from(meta.tokens[id].clone(), special).normalized(false))
        })
        .filter(|token| !token.content.is_empty())
        .collect()
}

/// The post-processor that adds BOS and/or EOS as the file's flags (or llama.cpp's
/// default for the kind, `default_bos`) say; `None` when neither is added.
pub(crate) fn bos_eos_processor(
    meta: &GgufTokenizerMeta,
    default_bos: bool,
) -> Result<Option<PostProcessorWrapper>, String> {
    let bos = meta
        .token(meta.bos_id)
        .filter(|_| meta.add_bos.unwrap_or(default_bos));
    let eos = meta
        .token(meta.eos_id)
        .filter(|_| meta.add_eos.unwrap_or(false));
    if bos.is_none() && eos.is_none() {
        return Ok(None);
    }
    let piece =
        |token: &str, type_id: u32| json!({"SpecialToken": {"id": token, "type_id": type_id}});
    let sequence = |id: &str, type_id: u32| json!({"Sequence": {"id": id, "type_id": type_id}});
    let mut single = Vec::new();
    let mut pair = Vec::new();
    let mut special_tokens = serde_json::Map::new();
    for (token, id) in [(&bos, meta.bos_id), (&eos, meta.eos_id)] {
        if let (Some(token), Some(id)) = (token, id) {
            special_tokens.insert(
                token.clone(),
                json!({"id": token, "ids": [id], "tokens": [token]}),
            );
        }
    }
    for (part, type_id) in [("A", 0), ("B", 1)] {
        let target = if part == "A" { &mut single } else { &mut pair };
        if let Some(bos) = &bos {
            target.push(piece(bos, type_id));
        }
        target.push(sequence(part, type_id));
        if let Some(eos) = &eos {
            target.push(piece(eos, type_id));
        }
    }
    let pair: Vec<serde_json::Value> = single.iter().cloned().chain(pair).collect();
    let spec = json!({"type": "TemplateProcessing", "single": single, "pair": pair,
                      "special_tokens": special_tokens});
    serde_json::from_value(spec)
        .map(Some)
        .map_err(|e| e.to_string())
}

//! A tokenizer from GGUF metadata, for a local `.gguf` file with no tokenizer.json
//! beside it. Only byte-level BPE (`tokenizer.ggml.model = "gpt2"`) can be rebuilt
//! exactly; the pre-tokenizer regex is the one `tokenizer.ggml.pre` names.

use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::gguf_file::Value;
use serde_json::json;
use tokenizers::Tokenizer;

use super::TokenizerError;

/// GGUF token types (llama.cpp `llama_token_type`).
const TOKEN_TYPE_CONTROL: i64 = 3;
const TOKEN_TYPE_USER_DEFINED: i64 = 4;

/// Qwen2/Qwen2.5/Qwen3 (`tokenizer.ggml.pre = "qwen2"`).
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Llama 3.x (`llama-bpe`): like Qwen2, but digits in groups of up to three.
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The tokenizer-related metadata of a GGUF file.
#[derive(Debug, Clone, Default)]
pub(crate) struct GgufTokenizerMeta {
    pub model: Option<String>,
    pub pre: Option<String>,
    pub tokens: Vec<String>,
    pub merges: Vec<String>,
    pub token_types: Vec<i64>,
    pub bos_id: Option<u32>,
    pub eos_id: Option<u32>,
    /// End-of-turn token (Llama 3 `<|eot_id|>`), which also ends generation.
    pub eot_id: Option<u32>,
    pub add_bos: bool,
    pub chat_template: Option<String>,
}

impl GgufTokenizerMeta {
    pub fn token(&self, id: Option<u32>) -> Option<String> {
        id.and_then(|id| self.tokens.get(id as usize).cloned())
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
        .map_err(|e| invalid(e.to_string()))?;
    Ok(meta_from(&content.metadata))
}

fn meta_from(md: &HashMap<String, Value>) -> GgufTokenizerMeta {
    let string = |key: &str| md.get(key).and_then(|v| v.to_string().ok()).cloned();
    let strings = |key: &str| -> Vec<String> {
        md.get(key)
            .and_then(|v| v.to_vec().ok())
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
    GgufTokenizerMeta {
        model: string("tokenizer.ggml.model"),
        pre: string("tokenizer.ggml.pre"),
        tokens: strings("tokenizer.ggml.tokens"),
        merges: strings("tokenizer.ggml.merges"),
        token_types: md
            .get("tokenizer.ggml.token_type")
            .and_then(|v| v.to_vec().ok())
            .map(|items| items.iter().map(|v| integer(v).unwrap_or(1)).collect())
            .unwrap_or_default(),
        bos_id: id("tokenizer.ggml.bos_token_id"),
        eos_id: id("tokenizer.ggml.eos_token_id"),
        eot_id: id("tokenizer.ggml.eot_token_id"),
        add_bos: md
            .get("tokenizer.ggml.add_bos_token")
            .and_then(|v| v.to_bool().ok())
            .unwrap_or(false),
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

/// Rebuilds the HF tokenizer a byte-level BPE GGUF was converted from.
pub(crate) fn build_tokenizer(
    meta: &GgufTokenizerMeta,
    path: &Path,
) -> Result<Tokenizer, TokenizerError> {
    let model = meta.model.as_deref().unwrap_or("none");
    let pre = meta.pre.as_deref().unwrap_or("default");
    let unsupported = || TokenizerError::UnsupportedGguf {
        path: path.display().to_string(),
        kind: format!("{model} (pre-tokenizer {pre})"),
    };
    if model != "gpt2" || meta.tokens.is_empty() {
        return Err(unsupported());
    }
    let split = |pattern: &str| json!({"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": false});
    let byte_level = |use_regex: bool| json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": use_regex});
    let (normalizer, pre_tokenizer, ignore_merges) = match pre {
        "qwen2" => (
            json!({"type": "NFC"}),
            json!({"type": "Sequence", "pretokenizers": [split(QWEN2_SPLIT), byte_level(false)]}),
            false,
        ),
        "llama-bpe" | "llama3" | "llama-v3" => (
            serde_json::Value::Null,
            json!({"type": "Sequence", "pretokenizers": [split(LLAMA3_SPLIT), byte_level(false)]}),
            true,
        ),
        "gpt2" => (serde_json::Value::Null, byte_level(true), false),
        _ => return Err(unsupported()),
    };
    let vocab: serde_json::Map<String, serde_json::Value> = meta
        .tokens
        .iter()
        .enumerate()
        .map(|(id, token)| (token.clone(), json!(id)))
        .collect();
    let merges: Vec<serde_json::Value> = meta
        .merges
        .iter()
        .filter_map(|m| m.split_once(' '))
        .map(|(a, b)| json!([a, b]))
        .collect();
    let added_tokens: Vec<serde_json::Value> = meta
        .token_types
        .iter()
        .enumerate()
        .filter(|(_, t)| matches!(**t, TOKEN_TYPE_CONTROL | TOKEN_TYPE_USER_DEFINED))
        .filter_map(|(id, t)| {
            let content = meta.tokens.get(id)?;
            Some(json!({
                "id": id, "content": content, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": *t == TOKEN_TYPE_CONTROL,
            }))
        })
        .collect();
    let post_processor = match meta.token(meta.bos_id.filter(|_| meta.add_bos)) {
        Some(bos) => json!({
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {bos.clone(): {"id": bos, "ids": [meta.bos_id], "tokens": [bos]}},
        }),
        None => {
            json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false})
        }
    };
    let spec = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added_tokens,
        "normalizer": normalizer,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": post_processor,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
            "ignore_merges": ignore_merges, "vocab": vocab, "merges": merges,
        },
    });
    let bytes = serde_json::to_vec(&spec).map_err(|e| TokenizerError::Invalid {
        path: path.display().to_string(),
        what: "GGUF tokenizer",
        message: e.to_string(),
    })?;
    Tokenizer::from_bytes(bytes).map_err(|e| TokenizerError::Invalid {
        path: path.display().to_string(),
        what: "GGUF tokenizer",
        message: e.to_string(),
    })
}

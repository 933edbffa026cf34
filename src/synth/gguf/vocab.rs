//! GGUF tokenizer metadata as llama.cpp's converter writes it for a gpt2-type
//! (byte-level BPE) or llama-type (SentencePiece) vocabulary: tokens, types, merges
//! or scores, special ids and the chat template, read from `tokenizer.json` and
//! `tokenizer_config.json`.

use candle_core::quantized::gguf_file::Value as Gguf;
use serde_json::Value;

use super::metadata::{usize_of, Metadata};
use super::HfModel;
use crate::synth::tokenizer::{LLAMA3_SPLIT_REGEX, QWEN2_SPLIT_REGEX};
use crate::synth::SynthError;

/// llama.cpp token types (`gguf.TokenType`).
const TOKEN_NORMAL: i32 = 1;
const TOKEN_UNKNOWN: i32 = 2;
const TOKEN_CONTROL: i32 = 3;
const TOKEN_USER_DEFINED: i32 = 4;
const TOKEN_UNUSED: i32 = 5;
const TOKEN_BYTE: i32 = 6;
/// Special token roles llama.cpp reads, with their GGUF key names.
const SPECIAL_ROLES: [(&str, &str); 7] = [
    ("bos", "bos_token_id"),
    ("eos", "eos_token_id"),
    ("unk", "unknown_token_id"),
    ("sep", "seperator_token_id"),
    ("pad", "padding_token_id"),
    ("cls", "cls_token_id"),
    ("mask", "mask_token_id"),
];

/// `tokenizer.ggml.*` and `tokenizer.chat_template`, as for a gpt2-type BPE vocabulary.
pub fn tokenizer_metadata(model: &HfModel) -> Result<Metadata, SynthError> {
    let tokenizer = &model.tokenizer;
    let vocab = tokenizer
        .pointer("/model/vocab")
        .and_then(Value::as_object)
        .ok_or_else(|| model.invalid("tokenizer.json has no BPE `model.vocab`"))?;
    let added: Vec<&Value> = tokenizer
        .get("added_tokens")
        .and_then(Value::as_array)
        .map(|list| list.iter().collect())
        .unwrap_or_default();
    let mut by_id: std::collections::BTreeMap<usize, (&str, Option<bool>)> = vocab
        .iter()
        .filter_map(|(token, id)| Some((id.as_u64()? as usize, (token.as_str(), None))))
        .collect();
    for token in &added {
        if let (Some(id), Some(content)) = (
            token.get("id").and_then(Value::as_u64),
            token.get("content").and_then(Value::as_str),
        ) {
            let special = token
                .get("special")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            by_id.insert(id as usize, (content, Some(special)));
        }
    }
    let known = by_id.keys().next_back().map_or(0, |max| max + 1);
    let vocab_size = usize_of(&model.config, "vocab_size").unwrap_or(known);
    if known > vocab_size {
        return Err(model.invalid(format!(
            "the tokenizer has ids up to {} but config.json `vocab_size` is {vocab_size}",
            known - 1
        )));
    }
    let sentencepiece = tokenizer
        .pointer("/model/byte_fallback")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut md = if sentencepiece {
        sentencepiece_vocab(model, &by_id, vocab_size)?
    } else {
        byte_level_vocab(model, &by_id, vocab_size)?
    };
    let specials = SpecialTokens::read(model, &added);
    for (role, key) in SPECIAL_ROLES {
        if let Some(id) = specials.id(role) {
            md.push((format!("tokenizer.ggml.{key}"), Gguf::U32(id)));
        }
    }
    for (role, add) in [("bos", specials.add_bos), ("eos", specials.add_eos)] {
        if let Some(add) = add {
            md.push((format!("tokenizer.ggml.add_{role}_token"), Gguf::Bool(add)));
        }
    }
    if let Some(template) = chat_template(model) {
        md.push(("tokenizer.chat_template".into(), Gguf::String(template)));
    }
    Ok(md)
}

/// Token ids to (text, `Some(special)` for added tokens).
type TokensById<'a> = std::collections::BTreeMap<usize, (&'a str, Option<bool>)>;

/// A SentencePiece vocabulary (`"llama"`), as converted from a tokenizer.json BPE with
/// byte fallback: pieces as they are, scores that rank each piece by the first merge
/// that builds it (what spm's own scores do), byte and unknown pieces typed.
fn sentencepiece_vocab(
    model: &HfModel,
    by_id: &TokensById,
    vocab_size: usize,
) -> Result<Metadata, SynthError> {
    let unk = model
        .tokenizer
        .pointer("/model/unk_token")
        .and_then(Value::as_str);
    let mut first_merge: std::collections::HashMap<String, usize> = Default::default();
    for (rank, merge) in merges(model)?.iter().enumerate() {
        if let Some((left, right)) = merge.to_string().ok().and_then(|m| m.split_once(' ')) {
            first_merge.entry(format!("{left}{right}")).or_insert(rank);
        }
    }
    let mut tokens = Vec::with_capacity(vocab_size);
    let mut types = Vec::with_capacity(vocab_size);
    let mut scores = Vec::with_capacity(vocab_size);
    for id in 0..vocab_size {
        let (token, kind) = match by_id.get(&id) {
            None => (format!("[PAD{id}]"), TOKEN_UNUSED),
            Some((token, _)) if Some(*token) == unk => (token.to_string(), TOKEN_UNKNOWN),
            Some((token, Some(true))) => (token.to_string(), TOKEN_CONTROL),
            Some((token, Some(false))) => (token.to_string(), TOKEN_USER_DEFINED),
            Some((token, None)) if is_byte_piece(token) => (token.to_string(), TOKEN_BYTE),
            Some((token, None)) => (token.to_string(), TOKEN_NORMAL),
        };
        let score = first_merge
            .get(&token)
            .map_or(0.0, |rank| -1.0 - *rank as f32);
        tokens.push(Gguf::String(token));
        types.push(Gguf::I32(kind));
        scores.push(Gguf::F32(score));
    }
    let add_space_prefix = model.tokenizer.get("normalizer").is_some_and(has_prepend);
    Ok(vec![
        ("tokenizer.ggml.model".into(), Gguf::String("llama".into())),
        ("tokenizer.ggml.tokens".into(), Gguf::Array(tokens)),
        ("tokenizer.ggml.scores".into(), Gguf::Array(scores)),
        ("tokenizer.ggml.token_type".into(), Gguf::Array(types)),
        (
            "tokenizer.ggml.add_space_prefix".into(),
            Gguf::Bool(add_space_prefix),
        ),
    ])
}

/// `<0xAB>`, spm's byte pieces.
fn is_byte_piece(token: &str) -> bool {
    token.len() == 6
        && token.starts_with("<0x")
        && token.ends_with('>')
        && token[3..5].chars().all(|c| c.is_ascii_hexdigit())
}

fn has_prepend(normalizer: &Value) -> bool {
    normalizer.get("type").and_then(Value::as_str) == Some("Prepend")
        || normalizer
            .get("normalizers")
            .and_then(Value::as_array)
            .is_some_and(|list| list.iter().any(has_prepend))
}

/// A byte-level BPE vocabulary (`"gpt2"`) with its merges.
fn byte_level_vocab(
    model: &HfModel,
    by_id: &TokensById,
    vocab_size: usize,
) -> Result<Metadata, SynthError> {
    let tokenizer = &model.tokenizer;
    let mut tokens = Vec::with_capacity(vocab_size);
    let mut types = Vec::with_capacity(vocab_size);
    for id in 0..vocab_size {
        let (token, kind) = match by_id.get(&id) {
            None => (format!("[PAD{id}]"), TOKEN_UNUSED),
            Some((token, None)) => (token.to_string(), TOKEN_NORMAL),
            Some((token, Some(special))) if *special || looks_special(token) => {
                (token.to_string(), TOKEN_CONTROL)
            }
            Some((token, Some(_))) => (token.replace('\u{2581}', " "), TOKEN_USER_DEFINED),
        };
        tokens.push(Gguf::String(token));
        types.push(Gguf::I32(kind));
    }
    Ok(vec![
        ("tokenizer.ggml.model".into(), Gguf::String("gpt2".into())),
        (
            "tokenizer.ggml.pre".into(),
            Gguf::String(pre_tokenizer_name(tokenizer).into()),
        ),
        ("tokenizer.ggml.tokens".into(), Gguf::Array(tokens)),
        ("tokenizer.ggml.token_type".into(), Gguf::Array(types)),
        ("tokenizer.ggml.merges".into(), Gguf::Array(merges(model)?)),
    ])
}

/// llama.cpp's `does_token_look_special`.
fn looks_special(token: &str) -> bool {
    matches!(token, "<pad>" | "<mask>" | "<2mass>" | "[@BOS@]")
        || (token.starts_with("<|") && token.ends_with("|>"))
        || (token.starts_with("<｜") && token.ends_with("｜>"))
        || (token.starts_with("<unused") && token.ends_with('>'))
}

/// llama.cpp names its pre-tokenizers by hashing real tokenizers; synthetic ones
/// match no hash, so name them by their split regex instead.
fn pre_tokenizer_name(tokenizer: &Value) -> &'static str {
    let mut regexes = Vec::new();
    collect_split_regexes(
        tokenizer.get("pre_tokenizer").unwrap_or(&Value::Null),
        &mut regexes,
    );
    match regexes.as_slice() {
        [regex] if *regex == QWEN2_SPLIT_REGEX => "qwen2",
        [regex] if *regex == LLAMA3_SPLIT_REGEX => "llama-bpe",
        _ => "default",
    }
}

fn collect_split_regexes<'a>(node: &'a Value, out: &mut Vec<&'a str>) {
    if let Some(regex) = node.pointer("/pattern/Regex").and_then(Value::as_str) {
        out.push(regex);
    }
    if let Some(children) = node.get("pretokenizers").and_then(Value::as_array) {
        children
            .iter()
            .for_each(|child| collect_split_regexes(child, out));
    }
}

/// Merges as "left right" strings; a space inside a part becomes `Ġ`, as gguf-py writes.
fn merges(model: &HfModel) -> Result<Vec<Gguf>, SynthError> {
    let list = model
        .tokenizer
        .pointer("/model/merges")
        .and_then(Value::as_array)
        .ok_or_else(|| model.invalid("tokenizer.json has no BPE `model.merges`"))?;
    let encode = |part: &str| part.replace(' ', "\u{0120}");
    list.iter()
        .map(|merge| match merge {
            Value::String(text) => Ok(Gguf::String(text.clone())),
            Value::Array(pair) => {
                let parts: Vec<String> =
                    pair.iter().filter_map(Value::as_str).map(encode).collect();
                Ok(Gguf::String(parts.join(" ")))
            }
            _ => Err(model.invalid("tokenizer.json has a malformed merge")),
        })
        .collect()
}

/// Special token ids and BOS/EOS insertion, as gguf-py's `SpecialVocab` finds them.
struct SpecialTokens {
    ids: Vec<(&'static str, u32)>,
    add_bos: Option<bool>,
    add_eos: Option<bool>,
}

impl SpecialTokens {
    fn read(model: &HfModel, added: &[&Value]) -> Self {
        let tc = &model.tokenizer_config;
        let content = |role: &str| -> Option<String> {
            match tc.get(format!("{role}_token"))? {
                Value::String(text) => Some(text.clone()),
                Value::Object(entry) => entry.get("content")?.as_str().map(str::to_string),
                _ => None,
            }
        };
        let added_id = |text: &str| {
            added.iter().find_map(|token| {
                (token.get("content")?.as_str()? == text).then(|| token.get("id")?.as_u64())?
            })
        };
        let mut ids = Vec::new();
        for (role, _) in SPECIAL_ROLES {
            let from_tokenizer = content(role).and_then(|text| added_id(&text));
            // config.json's `{role}_token_id` fills roles tokenizer_config leaves open.
            let from_config = model
                .config
                .get(format!("{role}_token_id"))
                .and_then(Value::as_u64);
            if let Some(id) = from_tokenizer
                .or(from_config)
                .and_then(|id| u32::try_from(id).ok())
            {
                ids.push((role, id));
            }
        }
        let (mut add_bos, mut add_eos) =
            template_adds(&model.tokenizer, content("bos"), content("eos"));
        if let Some(add) = tc.get("add_bos_token").and_then(Value::as_bool) {
            add_bos = Some(add);
        }
        if let Some(add) = tc.get("add_eos_token").and_then(Value::as_bool) {
            add_eos = Some(add);
        }
        Self {
            ids,
            add_bos,
            add_eos,
        }
    }

    fn id(&self, role: &str) -> Option<u32> {
        self.ids.iter().find(|(r, _)| *r == role).map(|(_, id)| *id)
    }
}

/// Whether the post-processor's single-sequence template starts with BOS / ends with EOS.
fn template_adds(
    tokenizer: &Value,
    bos: Option<String>,
    eos: Option<String>,
) -> (Option<bool>, Option<bool>) {
    let processor = tokenizer.get("post_processor").unwrap_or(&Value::Null);
    let candidates: Vec<&Value> = match processor.get("processors").and_then(Value::as_array) {
        Some(list) => list.iter().collect(),
        None => vec![processor],
    };
    let Some(template) = candidates
        .into_iter()
        .find(|p| p.get("type").and_then(Value::as_str) == Some("TemplateProcessing"))
    else {
        return (None, None);
    };
    let single: Vec<&Value> = template
        .get("single")
        .and_then(Value::as_array)
        .map(|list| list.iter().collect())
        .unwrap_or_default();
    if single.len() <= 1 {
        return (None, None);
    }
    let special = |piece: &Value| {
        piece
            .pointer("/SpecialToken/id")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let first = single.first().and_then(|piece| special(piece));
    let last = single.last().and_then(|piece| special(piece));
    (
        first.map(|first| Some(first) == bos),
        last.map(|last| Some(last) == eos),
    )
}

/// `chat_template.jinja` when present, else `tokenizer_config.json`'s template
/// (a string, or the `default` entry of a list of named templates).
fn chat_template(model: &HfModel) -> Option<String> {
    if let Some(template) = &model.chat_template {
        return Some(template.clone());
    }
    match model.tokenizer_config.get("chat_template")? {
        Value::String(text) => Some(text.clone()),
        Value::Array(list) => list.iter().find_map(|entry| {
            (entry.get("name")?.as_str()? == "default")
                .then(|| entry.get("template")?.as_str().map(str::to_string))?
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn special_looking_tokens_are_recognised() {
        assert!(looks_special("<|im_end|>"));
        assert!(looks_special("<pad>"));
        assert!(looks_special("<unused12>"));
        assert!(!looks_special("<eos>"));
        assert!(!looks_special("|>"));
    }

    #[test]
    fn templates_tell_whether_bos_and_eos_are_added() {
        let tokenizer = json!({"post_processor": {"type": "Sequence", "processors": [
            {"type": "ByteLevel"},
            {"type": "TemplateProcessing", "single": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}}
            ]}
        ]}});
        let adds = template_adds(&tokenizer, Some("<s>".into()), Some("</s>".into()));
        assert_eq!(adds, (Some(true), Some(true)));
        let adds = template_adds(&tokenizer, Some("<bos>".into()), None);
        assert_eq!(adds, (Some(false), Some(false)));
        assert_eq!(template_adds(&json!({}), None, None), (None, None));
    }

    #[test]
    fn split_regex_names_the_pre_tokenizer() {
        let qwen = json!({"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_SPLIT_REGEX}}, {"type": "ByteLevel"}]}});
        assert_eq!(pre_tokenizer_name(&qwen), "qwen2");
        let llama =
            json!({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": LLAMA3_SPLIT_REGEX}}});
        assert_eq!(pre_tokenizer_name(&llama), "llama-bpe");
        assert_eq!(
            pre_tokenizer_name(&json!({"pre_tokenizer": null})),
            "default"
        );
    }
}

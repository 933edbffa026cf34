//! Reading `tokenizer_config.json` (special tokens, chat template) and
//! `generation_config.json` (EOS ids) as HF transformers writes them.

use std::path::Path;

use serde_json::Value;

use super::TokenizerError;
use crate::prompt::SpecialTokens;

/// Where a chat template was found, or why it could not be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChatSource {
    Found { text: String, origin: String },
    Missing,
    Bad { path: String, message: String },
}

/// What saar needs from `tokenizer_config.json`.
#[derive(Debug, Clone)]
pub(crate) struct TokenizerConfig {
    pub special: SpecialTokens,
    pub chat_template: ChatSource,
}

pub(crate) fn read_json(path: &Path, what: &'static str) -> Result<Value, TokenizerError> {
    let text = std::fs::read_to_string(path).map_err(|e| TokenizerError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| TokenizerError::Invalid {
        path: path.display().to_string(),
        what,
        message: e.to_string(),
    })
}

pub(crate) fn read_tokenizer_config(path: &Path) -> Result<TokenizerConfig, TokenizerError> {
    let json = read_json(path, "tokenizer_config.json")?;
    Ok(parse_tokenizer_config(&json, &path.display().to_string()))
}

pub(crate) fn parse_tokenizer_config(json: &Value, origin: &str) -> TokenizerConfig {
    let special = SpecialTokens {
        bos: json.get("bos_token").and_then(token_content),
        eos: json.get("eos_token").and_then(token_content),
        unk: json.get("unk_token").and_then(token_content),
        pad: json.get("pad_token").and_then(token_content),
    };
    TokenizerConfig {
        special,
        chat_template: chat_template_field(json.get("chat_template"), origin),
    }
}

/// A special token as HF stores it: a string, or an `AddedToken` dict with `content`.
pub(crate) fn token_content(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Object(map) => map.get("content").and_then(Value::as_str).map(String::from),
        _ => None,
    }
}

/// `chat_template` is a string, or a list of `{name, template}` of which HF uses
/// the one named `default`.
fn chat_template_field(value: Option<&Value>, origin: &str) -> ChatSource {
    let bad = |message: &str| ChatSource::Bad {
        path: origin.to_string(),
        message: message.to_string(),
    };
    match value {
        None | Some(Value::Null) => ChatSource::Missing,
        Some(Value::String(text)) => ChatSource::Found {
            text: text.clone(),
            origin: origin.to_string(),
        },
        Some(Value::Array(entries)) => {
            let default = entries
                .iter()
                .find(|e| e.get("name").and_then(Value::as_str) == Some("default"));
            match default
                .and_then(|e| e.get("template"))
                .and_then(Value::as_str)
            {
                Some(text) => ChatSource::Found {
                    text: text.to_string(),
                    origin: format!("{origin} (chat_template \"default\")"),
                },
                None => bad("no entry named \"default\" with a template"),
            }
        }
        Some(_) => bad("found another type"),
    }
}

/// `eos_token_id` of `generation_config.json`: an int, a list of ints, or absent.
pub(crate) fn read_generation_eos(path: &Path) -> Result<Vec<u32>, TokenizerError> {
    let json = read_json(path, "generation_config.json")?;
    Ok(parse_eos_ids(json.get("eos_token_id")))
}

pub(crate) fn parse_eos_ids(value: Option<&Value>) -> Vec<u32> {
    let as_id = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(as_id).collect(),
        Some(v) => as_id(v).into_iter().collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn special_tokens_accept_strings_and_added_token_dicts() {
        let cfg = parse_tokenizer_config(
            &json!({
                "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
                "eos_token": "</s>",
                "pad_token": null,
            }),
            "tokenizer_config.json",
        );
        assert_eq!(cfg.special.bos.as_deref(), Some("<s>"));
        assert_eq!(cfg.special.eos.as_deref(), Some("</s>"));
        assert_eq!(cfg.special.pad, None);
        assert_eq!(cfg.special.unk, None);
        assert_eq!(cfg.chat_template, ChatSource::Missing);
    }

    #[test]
    fn named_chat_templates_use_default() {
        let cfg = parse_tokenizer_config(
            &json!({"chat_template": [
                {"name": "tool_use", "template": "T"},
                {"name": "default", "template": "D"}
            ]}),
            "cfg",
        );
        assert!(matches!(cfg.chat_template, ChatSource::Found { ref text, .. } if text == "D"));
        let cfg = parse_tokenizer_config(
            &json!({"chat_template": [{"name": "x", "template": "T"}]}),
            "cfg",
        );
        assert!(matches!(cfg.chat_template, ChatSource::Bad { .. }));
    }

    #[test]
    fn eos_ids_are_an_int_or_a_list() {
        assert_eq!(parse_eos_ids(Some(&json!(7))), vec![7]);
        assert_eq!(parse_eos_ids(Some(&json!([1, 2, -3, "x"]))), vec![1, 2]);
        assert!(parse_eos_ids(Some(&json!(null))).is_empty());
        assert!(parse_eos_ids(None).is_empty());
    }
}

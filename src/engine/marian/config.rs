//! Marian's `config.json` and `generation_config.json`, read with the defaults
//! transformers' `MarianConfig` and `GenerationConfig` use for fields a file lacks
//! (older opus-mt configs predate `decoder_vocab_size`, `share_encoder_decoder_embeddings`
//! and the generation file itself), so a model behaves here as it does under HF.

use std::path::Path;

use serde::Deserialize;

use super::layers::Activation;
use super::layout::{Layout, Norms, Positions};
use crate::engine::EngineError;

/// The network's shape and special ids, from `config.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct MarianConfig {
    #[serde(default = "marian_model_type")]
    pub model_type: String,
    #[serde(default = "d_vocab")]
    pub vocab_size: usize,
    #[serde(default)]
    pub decoder_vocab_size: Option<usize>,
    #[serde(default = "d_positions")]
    pub max_position_embeddings: usize,
    #[serde(default = "d_model")]
    pub d_model: usize,
    #[serde(default = "d_layers")]
    pub encoder_layers: usize,
    #[serde(default = "d_layers")]
    pub decoder_layers: usize,
    #[serde(default = "d_heads")]
    pub encoder_attention_heads: usize,
    #[serde(default = "d_heads")]
    pub decoder_attention_heads: usize,
    #[serde(default = "d_ffn")]
    pub encoder_ffn_dim: usize,
    #[serde(default = "d_ffn")]
    pub decoder_ffn_dim: usize,
    /// HF's class default is `gelu`; every converted opus-mt config says `swish`.
    #[serde(default = "d_activation")]
    pub activation_function: String,
    #[serde(default)]
    pub scale_embedding: bool,
    #[serde(default = "d_special")]
    pub pad_token_id: Option<u32>,
    #[serde(default = "d_special")]
    pub decoder_start_token_id: Option<u32>,
    #[serde(default = "d_eos")]
    pub eos_token_id: Option<TokenIds>,
    #[serde(default)]
    pub bos_token_id: Option<u32>,
    #[serde(default = "d_eos")]
    pub forced_eos_token_id: Option<TokenIds>,
    #[serde(default = "yes")]
    pub share_encoder_decoder_embeddings: bool,
    #[serde(default = "yes")]
    pub tie_word_embeddings: bool,
    /// Pre-norm and extra norms belong to other BART-family models; HF's Marian has
    /// none, so configs that ask for them are refused rather than run wrongly.
    #[serde(default)]
    pub normalize_before: bool,
    #[serde(default)]
    pub normalize_embedding: bool,
    #[serde(default)]
    pub add_final_layer_norm: bool,
    /// Generation fields that pre-`generation_config.json` repos keep here.
    #[serde(flatten)]
    pub generation: GenerationFile,
}

/// A token id or a list of them, as HF configs write `eos_token_id`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum TokenIds {
    One(u32),
    Many(Vec<u32>),
}

impl TokenIds {
    pub fn to_vec(&self) -> Vec<u32> {
        match self {
            TokenIds::One(id) => vec![*id],
            TokenIds::Many(ids) => ids.clone(),
        }
    }
}

/// `early_stopping`: `true`, `false` or `"never"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EarlyStopping {
    /// Stop a sentence once `num_beams` hypotheses are finished.
    True,
    /// Stop when the best running beam cannot beat the worst finished one at the
    /// current length (HF's default heuristic).
    #[default]
    False,
    /// Keep searching until no running beam can improve, at any length.
    Never,
}

impl<'de> Deserialize<'de> for EarlyStopping {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Bool(true) => Ok(EarlyStopping::True),
            serde_json::Value::Bool(false) | serde_json::Value::Null => Ok(EarlyStopping::False),
            serde_json::Value::String(s) if s == "never" => Ok(EarlyStopping::Never),
            other => Err(serde::de::Error::custom(format!(
                "early_stopping must be true, false or \"never\", not {other}"
            ))),
        }
    }
}

/// The generation fields saar honours, as written in either file (all optional).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GenerationFile {
    pub max_length: Option<usize>,
    pub max_new_tokens: Option<usize>,
    pub min_length: Option<usize>,
    pub min_new_tokens: Option<usize>,
    pub num_beams: Option<usize>,
    pub length_penalty: Option<f64>,
    pub early_stopping: Option<EarlyStopping>,
    pub no_repeat_ngram_size: Option<usize>,
    pub repetition_penalty: Option<f32>,
    pub bad_words_ids: Option<Vec<Vec<u32>>>,
    pub renormalize_logits: Option<bool>,
}

/// The special ids and search defaults generation uses, resolved from both files.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GenerationDefaults {
    pub decoder_start_token_id: u32,
    pub pad_token_id: u32,
    pub eos_token_ids: Vec<u32>,
    pub forced_eos_token_ids: Vec<u32>,
    pub bad_words_ids: Vec<Vec<u32>>,
    /// Longest decoder sequence, counting the start token, as HF's `max_length`.
    pub max_length: usize,
    pub max_new_tokens: Option<usize>,
    pub min_length: usize,
    pub min_new_tokens: usize,
    pub num_beams: usize,
    pub length_penalty: f64,
    pub early_stopping: EarlyStopping,
    pub no_repeat_ngram_size: usize,
    pub repetition_penalty: f32,
    pub renormalize_logits: bool,
}

/// `generation_config.json` as a whole: the search fields plus the special ids.
#[derive(Debug, Clone, Default, Deserialize)]
struct GenerationConfigFile {
    #[serde(flatten)]
    fields: GenerationFile,
    decoder_start_token_id: Option<u32>,
    bos_token_id: Option<u32>,
    pad_token_id: Option<u32>,
    eos_token_id: Option<TokenIds>,
    forced_eos_token_id: Option<TokenIds>,
}

impl MarianConfig {
    pub fn from_file(path: &Path) -> Result<Self, EngineError> {
        let config: MarianConfig = read_json(path)?;
        config.validate(path)?;
        Ok(config)
    }

    /// Rows of the decoder's output layer: the target vocabulary.
    pub fn target_vocab_size(&self) -> usize {
        if self.share_encoder_decoder_embeddings {
            self.vocab_size
        } else {
            self.decoder_vocab_size.unwrap_or(self.vocab_size)
        }
    }

    /// The network this config describes.
    pub fn layout(&self) -> Result<Layout, EngineError> {
        Ok(Layout {
            d_model: self.d_model,
            encoder_layers: self.encoder_layers,
            decoder_layers: self.decoder_layers,
            encoder_heads: self.encoder_attention_heads,
            decoder_heads: self.decoder_attention_heads,
            encoder_ffn: self.encoder_ffn_dim,
            decoder_ffn: self.decoder_ffn_dim,
            source_vocab: self.vocab_size,
            target_vocab: self.target_vocab_size(),
            activation: Activation::parse(&self.activation_function)?,
            scale_embedding: self.scale_embedding,
            shared_embeddings: self.share_encoder_decoder_embeddings,
            tied_output: self.tie_word_embeddings,
            encoder_norms: Norms::default(),
            decoder_norms: Norms::default(),
            positions: Positions::Marian,
            pad_id: self.pad_token_id.unwrap_or(0),
            max_positions: self.max_position_embeddings,
        })
    }

    fn validate(&self, path: &Path) -> Result<(), EngineError> {
        let invalid = |message: String| EngineError::Config {
            path: path.display().to_string(),
            message,
        };
        if self.model_type != "marian" {
            return Err(EngineError::UnsupportedArchitecture {
                found: self.model_type.clone(),
                supported: "marian (opus-mt) for the translation engine",
            });
        }
        if self.normalize_before || self.normalize_embedding || self.add_final_layer_norm {
            return Err(invalid(
                "pre-norm or extra layer norms are not Marian's post-norm layout".into(),
            ));
        }
        for (heads, what) in [
            (self.encoder_attention_heads, "encoder"),
            (self.decoder_attention_heads, "decoder"),
        ] {
            if heads == 0 || self.d_model % heads != 0 {
                return Err(invalid(format!(
                    "d_model {} does not split into {heads} {what} heads",
                    self.d_model
                )));
            }
        }
        if self.vocab_size == 0 || self.max_position_embeddings == 0 {
            return Err(invalid(
                "vocab_size and max_position_embeddings must be positive".into(),
            ));
        }
        Ok(())
    }

    /// Generation defaults: `generation_config.json` when present (as HF loads it),
    /// else the generation fields of `config.json`; HF's defaults for the rest.
    pub fn generation_defaults(
        &self,
        generation_path: Option<&Path>,
    ) -> Result<GenerationDefaults, EngineError> {
        let ids = ConfigIds {
            pad_token_id: self.pad_token_id,
            decoder_start_token_id: self.decoder_start_token_id,
            bos_token_id: self.bos_token_id,
            eos_token_id: self.eos_token_id.clone(),
            forced_eos_token_id: self.forced_eos_token_id.clone(),
        };
        resolve_generation(
            &ids,
            &self.generation,
            self.target_vocab_size(),
            generation_path,
        )
    }
}

/// The special ids a model's `config.json` gives, for [`resolve_generation`].
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfigIds {
    pub pad_token_id: Option<u32>,
    pub decoder_start_token_id: Option<u32>,
    pub bos_token_id: Option<u32>,
    pub eos_token_id: Option<TokenIds>,
    pub forced_eos_token_id: Option<TokenIds>,
}

/// Generation defaults from `generation_config.json` when present (as HF loads it),
/// else from the generation fields of `config.json` (`legacy`) and its ids; HF's
/// defaults for the rest. Every id must fall inside the target vocabulary `vocab`.
pub(crate) fn resolve_generation(
    ids: &ConfigIds,
    legacy: &GenerationFile,
    vocab: usize,
    generation_path: Option<&Path>,
) -> Result<GenerationDefaults, EngineError> {
    let file: GenerationConfigFile = match generation_path {
        Some(path) => read_json(path)?,
        None => GenerationConfigFile {
            fields: legacy.clone(),
            ..Default::default()
        },
    };
    let fields = &file.fields;
    let missing = |what: &str| EngineError::Config {
        path: "config.json".into(),
        message: format!("no {what} in config.json or generation_config.json"),
    };
    let pad_token_id = file
        .pad_token_id
        .or(ids.pad_token_id)
        .ok_or_else(|| missing("pad_token_id"))?;
    let decoder_start_token_id = file
        .decoder_start_token_id
        .or(ids.decoder_start_token_id)
        .or(file.bos_token_id)
        .or(ids.bos_token_id)
        .ok_or_else(|| missing("decoder_start_token_id"))?;
    let eos_token_ids = file
        .eos_token_id
        .as_ref()
        .or(ids.eos_token_id.as_ref())
        .map(TokenIds::to_vec)
        .ok_or_else(|| missing("eos_token_id"))?;
    let forced_eos_token_ids = match (&file.forced_eos_token_id, generation_path) {
        (Some(ids), _) => ids.to_vec(),
        // A generation file that omits it turns it off, as in HF.
        (None, Some(_)) => Vec::new(),
        (None, None) => ids
            .forced_eos_token_id
            .as_ref()
            .map(TokenIds::to_vec)
            .unwrap_or_default(),
    };
    let defaults = GenerationDefaults {
        decoder_start_token_id,
        pad_token_id,
        eos_token_ids,
        forced_eos_token_ids,
        bad_words_ids: fields.bad_words_ids.clone().unwrap_or_default(),
        max_length: fields.max_length.unwrap_or(20),
        max_new_tokens: fields.max_new_tokens,
        min_length: fields.min_length.unwrap_or(0),
        min_new_tokens: fields.min_new_tokens.unwrap_or(0),
        num_beams: fields.num_beams.unwrap_or(1).max(1),
        length_penalty: fields.length_penalty.unwrap_or(1.0),
        early_stopping: fields.early_stopping.unwrap_or_default(),
        no_repeat_ngram_size: fields.no_repeat_ngram_size.unwrap_or(0),
        repetition_penalty: fields.repetition_penalty.unwrap_or(1.0),
        renormalize_logits: fields.renormalize_logits.unwrap_or(false),
    };
    let vocab = vocab as u32;
    let all_ids = defaults
        .bad_words_ids
        .iter()
        .flatten()
        .chain(&defaults.eos_token_ids)
        .chain(&defaults.forced_eos_token_ids)
        .chain([&defaults.pad_token_id, &defaults.decoder_start_token_id]);
    if let Some(bad) = all_ids.into_iter().find(|&&id| id >= vocab) {
        return Err(EngineError::Config {
            path: generation_path.map_or("config.json".into(), |p| p.display().to_string()),
            message: format!("token id {bad} is outside the vocabulary of {vocab}"),
        });
    }
    Ok(defaults)
}

pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, EngineError> {
    let error = |message: String| EngineError::Config {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| error(e.to_string()))
}

fn marian_model_type() -> String {
    "marian".into()
}
fn d_vocab() -> usize {
    58101
}
fn d_positions() -> usize {
    1024
}
fn d_model() -> usize {
    1024
}
fn d_layers() -> usize {
    12
}
fn d_heads() -> usize {
    16
}
fn d_ffn() -> usize {
    4096
}
fn d_activation() -> String {
    "gelu".into()
}
fn d_special() -> Option<u32> {
    Some(58100)
}
fn d_eos() -> Option<TokenIds> {
    Some(TokenIds::One(0))
}
fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_config_takes_hf_defaults() {
        let config: MarianConfig = serde_json::from_str(r#"{"model_type": "marian"}"#).unwrap();
        assert_eq!(config.vocab_size, 58101);
        assert_eq!(config.activation_function, "gelu");
        assert!(config.share_encoder_decoder_embeddings && config.tie_word_embeddings);
        let defaults = config.generation_defaults(None).unwrap();
        assert_eq!(defaults.decoder_start_token_id, 58100);
        assert_eq!(defaults.eos_token_ids, vec![0]);
        assert_eq!(defaults.forced_eos_token_ids, vec![0]);
        assert_eq!((defaults.max_length, defaults.num_beams), (20, 1));
    }

    #[test]
    fn legacy_generation_fields_in_config_json_are_read() {
        let json = r#"{"vocab_size": 100, "pad_token_id": 99, "decoder_start_token_id": 99,
            "num_beams": 4, "max_length": 512, "bad_words_ids": [[99]], "early_stopping": "never"}"#;
        let config: MarianConfig = serde_json::from_str(json).unwrap();
        let defaults = config.generation_defaults(None).unwrap();
        assert_eq!(defaults.num_beams, 4);
        assert_eq!(defaults.max_length, 512);
        assert_eq!(defaults.bad_words_ids, vec![vec![99]]);
        assert_eq!(defaults.early_stopping, EarlyStopping::Never);
    }

    #[test]
    fn ids_outside_the_vocabulary_are_refused() {
        let json = r#"{"vocab_size": 10, "pad_token_id": 12, "decoder_start_token_id": 9}"#;
        let config: MarianConfig = serde_json::from_str(json).unwrap();
        assert!(config.generation_defaults(None).is_err());
    }
}

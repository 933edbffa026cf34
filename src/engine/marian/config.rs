//! Marian's `config.json` and `generation_config.json`, read with the defaults
//! transformers' `MarianConfig` and `GenerationConfig` use for fields a file lacks
//! (older opus-mt configs predate `decoder_vocab_size`, `share_encoder_decoder_embeddings`
//! and the generation file itself), so a model behaves here as it does under HF.

use std::path::Path;

use serde::Deserialize;

pub(crate) use super::generation::{read_json, resolve_generation, ConfigIds};
pub use super::generation::{EarlyStopping, GenerationDefaults, GenerationFile, TokenIds};
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

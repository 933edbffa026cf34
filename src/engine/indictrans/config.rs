//! IndicTrans2's `config.json`, read with the defaults of the reference's
//! `IndicTransConfig` for fields a file lacks, and turned into the [`Layout`] of the
//! network saar shares with Marian: fairseq's transformer with pre-norm layers and
//! final norms, `layernorm_embedding`, separate source and target vocabularies, an
//! output layer of its own, and positions counted past the padding id.

use std::path::Path;

use serde::Deserialize;

use crate::engine::marian::config::{
    read_json, resolve_generation, ConfigIds, GenerationFile, TokenIds,
};
use crate::engine::marian::layers::Activation;
use crate::engine::marian::layout::{Layout, Norms, Positions};
use crate::engine::marian::GenerationDefaults;
use crate::engine::EngineError;

/// The network's shape and special ids, from `config.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct IndicTransConfig {
    #[serde(default)]
    pub model_type: Option<String>,
    pub encoder_vocab_size: usize,
    pub decoder_vocab_size: usize,
    #[serde(default = "d_embed")]
    pub encoder_embed_dim: usize,
    #[serde(default = "d_embed")]
    pub decoder_embed_dim: usize,
    #[serde(default = "d_positions")]
    pub max_source_positions: usize,
    #[serde(default = "d_positions")]
    pub max_target_positions: usize,
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
    #[serde(default = "d_activation")]
    pub activation_function: String,
    #[serde(default)]
    pub encoder_normalize_before: bool,
    #[serde(default)]
    pub decoder_normalize_before: bool,
    #[serde(default)]
    pub layernorm_embedding: bool,
    #[serde(default)]
    pub share_decoder_input_output_embed: bool,
    #[serde(default = "yes")]
    pub scale_embedding: bool,
    #[serde(default = "d_start")]
    pub decoder_start_token_id: u32,
    #[serde(default = "d_pad")]
    pub pad_token_id: u32,
    #[serde(default)]
    pub bos_token_id: Option<u32>,
    #[serde(default = "d_eos")]
    pub eos_token_id: TokenIds,
    /// Generation fields a config may carry when no generation file exists.
    #[serde(flatten)]
    pub generation: GenerationFile,
}

impl IndicTransConfig {
    pub fn from_file(path: &Path) -> Result<Self, EngineError> {
        let config: IndicTransConfig = read_json(path)?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), EngineError> {
        let invalid = |message: String| EngineError::Config {
            path: path.display().to_string(),
            message,
        };
        if let Some(kind) = self.model_type.as_deref().filter(|k| *k != "IndicTrans") {
            return Err(EngineError::UnsupportedArchitecture {
                found: kind.to_string(),
                supported: "IndicTrans (IndicTrans2) for this engine",
            });
        }
        if self.encoder_embed_dim != self.decoder_embed_dim {
            return Err(invalid(format!(
                "encoder_embed_dim {} and decoder_embed_dim {} differ; cross-attention needs one width",
                self.encoder_embed_dim, self.decoder_embed_dim
            )));
        }
        for (heads, what) in [
            (self.encoder_attention_heads, "encoder"),
            (self.decoder_attention_heads, "decoder"),
        ] {
            if heads == 0 || self.encoder_embed_dim % heads != 0 {
                return Err(invalid(format!(
                    "embed_dim {} does not split into {heads} {what} heads",
                    self.encoder_embed_dim
                )));
            }
        }
        if self.encoder_vocab_size == 0 || self.decoder_vocab_size == 0 {
            return Err(invalid("the vocabulary sizes must be positive".into()));
        }
        Ok(())
    }

    /// The network this config describes.
    pub fn layout(&self) -> Result<Layout, EngineError> {
        Ok(Layout {
            d_model: self.encoder_embed_dim,
            encoder_layers: self.encoder_layers,
            decoder_layers: self.decoder_layers,
            encoder_heads: self.encoder_attention_heads,
            decoder_heads: self.decoder_attention_heads,
            encoder_ffn: self.encoder_ffn_dim,
            decoder_ffn: self.decoder_ffn_dim,
            source_vocab: self.encoder_vocab_size,
            target_vocab: self.decoder_vocab_size,
            activation: Activation::parse(&self.activation_function)?,
            scale_embedding: self.scale_embedding,
            shared_embeddings: false,
            tied_output: self.share_decoder_input_output_embed,
            encoder_norms: Norms {
                pre_norm: self.encoder_normalize_before,
                embedding: self.layernorm_embedding,
            },
            decoder_norms: Norms {
                pre_norm: self.decoder_normalize_before,
                embedding: self.layernorm_embedding,
            },
            positions: Positions::Fairseq {
                padding_idx: self.pad_token_id,
            },
            pad_id: self.pad_token_id,
            max_positions: self.max_source_positions.max(self.max_target_positions),
        })
    }

    /// Generation defaults: `generation_config.json` when present, as HF loads it.
    pub fn generation_defaults(
        &self,
        generation_path: Option<&Path>,
    ) -> Result<GenerationDefaults, EngineError> {
        let ids = ConfigIds {
            pad_token_id: Some(self.pad_token_id),
            decoder_start_token_id: Some(self.decoder_start_token_id),
            bos_token_id: self.bos_token_id,
            eos_token_id: Some(self.eos_token_id.clone()),
            forced_eos_token_id: None,
        };
        resolve_generation(
            &ids,
            &self.generation,
            self.decoder_vocab_size,
            generation_path,
        )
    }
}

fn d_embed() -> usize {
    512
}
fn d_positions() -> usize {
    210
}
fn d_layers() -> usize {
    6
}
fn d_heads() -> usize {
    8
}
fn d_ffn() -> usize {
    2048
}
fn d_activation() -> String {
    "relu".into()
}
fn d_start() -> u32 {
    2
}
fn d_pad() -> u32 {
    1
}
fn d_eos() -> TokenIds {
    TokenIds::One(2)
}
fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_config_takes_the_reference_defaults() {
        let json = r#"{"encoder_vocab_size": 40, "decoder_vocab_size": 30}"#;
        let config: IndicTransConfig = serde_json::from_str(json).unwrap();
        let layout = config.layout().unwrap();
        assert_eq!(layout.activation, Activation::Relu);
        assert!(!layout.encoder_norms.pre_norm && layout.scale_embedding);
        assert_eq!(layout.positions, Positions::Fairseq { padding_idx: 1 });
        let defaults = config.generation_defaults(None).unwrap();
        assert_eq!(
            (defaults.decoder_start_token_id, defaults.pad_token_id),
            (2, 1)
        );
        assert_eq!(defaults.eos_token_ids, vec![2]);
        assert!(defaults.forced_eos_token_ids.is_empty());
    }

    #[test]
    fn unequal_widths_are_refused() {
        let json = r#"{"encoder_vocab_size": 40, "decoder_vocab_size": 30,
            "encoder_embed_dim": 32, "decoder_embed_dim": 64}"#;
        let config: IndicTransConfig = serde_json::from_str(json).unwrap();
        assert!(config.validate(Path::new("config.json")).is_err());
    }
}

//! Synthetic models: random weights of a chosen shape, with real configs, a real
//! tokenizer built with the tokenizers crate and a real chat template. Tests drive
//! the whole binary with tiny ones; `saar bench` measures speed on real-shaped ones.
//!
//! One function lays out a family's tensors in Hugging Face naming; two
//! serialisers write them: [`write_safetensors_model`] as an HF model folder and
//! [`write_gguf_model`] as llama.cpp would after converting that folder.
//! [`convert_safetensors_to_gguf`] runs the same GGUF path on any HF folder.
//!
//! ```no_run
//! use saar::synth::{write_gguf_model, write_safetensors_model, Arch, GgufQuant, ModelTemplate, Shape};
//! # fn main() -> Result<(), saar::synth::SynthError> {
//! let shape = Shape::tiny(Arch::Qwen3);
//! let template = ModelTemplate::simple(shape.arch.family());
//! write_safetensors_model("/tmp/qwen3-tiny".as_ref(), &shape, candle_core::DType::F32, 7, &template)?;
//! write_gguf_model("/tmp/qwen3-tiny.gguf".as_ref(), &shape, GgufQuant::Q8_0, 7, &template)?;
//! # Ok(())
//! # }
//! ```

pub(crate) mod gguf;
mod hf_files;
mod rng;
mod safetensors_io;
pub mod sample_text;
mod shape;
mod tokenizer;
mod vocab_kinds;
mod weights;

use std::path::{Path, PathBuf};

use candle_core::DType;

pub use gguf::{permute_for_interleaved_rope, write_vocab_gguf, GgufQuant};
pub use hf_files::write_safetensors_model;
pub use rng::random_token_ids;
pub use shape::{Arch, Family, Shape};
pub use tokenizer::{build_tokenizer, family_tokens, tiny_vocab_size, FamilyTokens};
pub use vocab_kinds::{build_bpe_tokenizer, build_spm_tokenizer, BpeStyle, SpmStyle, BPE_SPECIALS};
pub use weights::FavouredToken;

/// Errors from writing or converting synthetic models.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    InvalidModel { path: PathBuf, message: String },
    #[error("invalid model shape: {0}")]
    Shape(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("no tensor named `{0}` in the model")]
    MissingTensor(String),
    #[error("cannot convert `{0}`: saar converts qwen2, qwen3, llama and gemma3 text models")]
    UnsupportedArchitecture(String),
    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
}

impl SynthError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        SynthError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    fn invalid(path: &Path, message: impl Into<String>) -> Self {
        SynthError::InvalidModel {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// What a synthetic model carries besides its weights.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelTemplate {
    /// Jinja chat template stored in `tokenizer_config.json` / `tokenizer.chat_template`.
    pub chat_template: String,
    /// Makes one token win greedy decoding from any input (EOS tests).
    pub favoured_token: Option<FavouredToken>,
}

impl ModelTemplate {
    pub fn new(chat_template: impl Into<String>) -> Self {
        Self {
            chat_template: chat_template.into(),
            favoured_token: None,
        }
    }

    /// A short chat template in the style of the family (not the official one).
    pub fn simple(family: Family) -> Self {
        let template = match family {
            Family::Qwen => concat!(
                "{% for message in messages %}<|im_start|>{{ message.role }}\n",
                "{{ message.content }}<|im_end|>\n{% endfor %}",
                "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
            ),
            Family::Llama => concat!(
                "{{ bos_token }}{% for message in messages %}<|start_header_id|>",
                "{{ message.role }}<|end_header_id|>\n\n{{ message.content | trim }}<|eot_id|>",
                "{% endfor %}{% if add_generation_prompt %}",
                "<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
            ),
            Family::Gemma => concat!(
                "{{ bos_token }}{% for message in messages %}<start_of_turn>",
                "{{ 'model' if message.role == 'assistant' else message.role }}\n",
                "{{ message.content | trim }}<end_of_turn>\n{% endfor %}",
                "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
            ),
        };
        Self::new(template)
    }

    /// Same template, with `token` made the likely next token by about `logit_margin`.
    pub fn with_favoured_token(mut self, token: impl Into<String>, logit_margin: f32) -> Self {
        self.favoured_token = Some(FavouredToken {
            token: token.into(),
            logit_margin,
        });
        self
    }
}

/// Writes a single GGUF file holding the model that [`write_safetensors_model`]
/// writes for the same arguments, laid out as llama.cpp's converter (and, for
/// `Q4KM`, `llama-quantize`) would lay it out.
pub fn write_gguf_model(
    path: &Path,
    shape: &Shape,
    quant: GgufQuant,
    seed: u64,
    template: &ModelTemplate,
) -> Result<(), SynthError> {
    let model = hf_files::SynthModel::new(shape, DType::F32, seed, template)?;
    let name = format!("saar-synth-{}", shape.arch.gguf_name());
    gguf::write_gguf(&model.as_hf_model(name, path)?, quant, path)
}

/// Converts an HF model folder (`config.json`, `model*.safetensors`,
/// `tokenizer.json`, `tokenizer_config.json`) to GGUF as llama.cpp's
/// `convert_hf_to_gguf.py` does (then `llama-quantize` for `Q4KM`).
pub fn convert_safetensors_to_gguf(
    hf_dir: &Path,
    out_path: &Path,
    quant: GgufQuant,
) -> Result<(), SynthError> {
    gguf::convert_dir(hf_dir, out_path, quant)
}

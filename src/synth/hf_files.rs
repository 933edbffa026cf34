//! The Hugging Face side of a synthetic model: `config.json` and
//! `generation_config.json` with the real field names of each family, the
//! tokenizer files, and the folder that holds them with `model.safetensors`.

use std::path::Path;

use candle_core::DType;
use serde_json::{json, Value};
use tokenizers::Tokenizer;

use super::gguf::HfModel;
use super::safetensors_io::write_safetensors;
use super::tokenizer::{family_tokens, required_id, tokenizer_config_json};
use super::weights::SyntheticTensors;
use super::{build_tokenizer, Arch, ModelTemplate, Shape, SynthError};

/// `transformers_version` recorded in the configs, as `save_pretrained` does.
const TRANSFORMERS_VERSION: &str = "4.51.3";
/// Gemma3 alternates five local-attention layers with one global layer.
const GEMMA3_SLIDING_WINDOW_PATTERN: usize = 6;
/// Gemma3's rope base for local-attention layers.
const GEMMA3_LOCAL_ROPE_THETA: f64 = 10_000.0;

/// Every part of a synthetic model, in memory (weights are generated on demand).
pub struct SynthModel {
    pub tokenizer: Tokenizer,
    pub config: Value,
    pub generation_config: Value,
    pub tokenizer_config: Value,
    pub tensors: SyntheticTensors,
}

impl SynthModel {
    pub fn new(
        shape: &Shape,
        dtype: DType,
        seed: u64,
        template: &ModelTemplate,
    ) -> Result<Self, SynthError> {
        validate(shape)?;
        let family = shape.arch.family();
        let tokenizer = build_tokenizer(&family)?;
        let tokenizer_vocab = tokenizer.get_vocab_size(true);
        if tokenizer_vocab > shape.vocab {
            return Err(SynthError::Shape(format!(
                "vocab {} is smaller than the tokenizer's {tokenizer_vocab} tokens",
                shape.vocab
            )));
        }
        let favoured = match &template.favoured_token {
            Some(favour) => Some((required_id(&tokenizer, &favour.token)?, favour.logit_margin)),
            None => None,
        };
        let ids = SpecialIds::resolve(&tokenizer, shape.arch)?;
        Ok(Self {
            config: config_json(shape, dtype_name(dtype)?, &ids),
            generation_config: generation_config_json(shape.arch, &ids),
            tokenizer_config: tokenizer_config_json(
                &tokenizer,
                family,
                &template.chat_template,
                shape.context,
            )?,
            tensors: SyntheticTensors::new(shape, seed, favoured),
            tokenizer,
        })
    }

    /// The model as the GGUF writer reads an HF folder.
    pub fn as_hf_model(&self, name: String, origin: &Path) -> Result<HfModel<'_>, SynthError> {
        let tokenizer_json = self
            .tokenizer
            .to_string(false)
            .map_err(|e| SynthError::Tokenizer(e.to_string()))?;
        let tokenizer = serde_json::from_str(&tokenizer_json)
            .map_err(|e| SynthError::Tokenizer(e.to_string()))?;
        Ok(HfModel {
            name,
            origin: origin.to_path_buf(),
            config: self.config.clone(),
            tokenizer,
            tokenizer_config: self.tokenizer_config.clone(),
            chat_template: None,
            tensors: &self.tensors,
        })
    }
}

/// Writes an HF model folder: `config.json`, `generation_config.json`,
/// `model.safetensors` (in `dtype`: F32, F16 or BF16), `tokenizer.json` and
/// `tokenizer_config.json`. The same `seed` gives the same bytes.
pub fn write_safetensors_model(
    dir: &Path,
    shape: &Shape,
    dtype: DType,
    seed: u64,
    template: &ModelTemplate,
) -> Result<(), SynthError> {
    let model = SynthModel::new(shape, dtype, seed, template)?;
    std::fs::create_dir_all(dir).map_err(|e| SynthError::io(dir, e))?;
    write_json(&dir.join("config.json"), &model.config)?;
    write_json(
        &dir.join("generation_config.json"),
        &model.generation_config,
    )?;
    write_json(&dir.join("tokenizer_config.json"), &model.tokenizer_config)?;
    let tokenizer_path = dir.join("tokenizer.json");
    model
        .tokenizer
        .save(&tokenizer_path, true)
        .map_err(|e| SynthError::Tokenizer(format!("{}: {e}", tokenizer_path.display())))?;
    write_safetensors(&dir.join("model.safetensors"), &model.tensors, dtype)
}

fn write_json(path: &Path, value: &Value) -> Result<(), SynthError> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| SynthError::invalid(path, e.to_string()))?;
    text.push('\n');
    std::fs::write(path, text).map_err(|e| SynthError::io(path, e))
}

/// Checks what the architectures themselves require of a shape.
fn validate(shape: &Shape) -> Result<(), SynthError> {
    shape.validate().map_err(SynthError::Shape)?;
    let derived_head_dim = shape.hidden / shape.heads;
    // Qwen2 and Llama loaders (candle's included) derive head_dim from hidden / heads.
    if matches!(shape.arch, Arch::Qwen2 | Arch::Llama) && shape.head_dim != derived_head_dim {
        return Err(SynthError::Shape(format!(
            "{:?} needs head_dim = hidden / heads = {derived_head_dim}, not {}",
            shape.arch, shape.head_dim
        )));
    }
    if shape.arch == Arch::Gemma3 && !shape.tied_embeddings {
        return Err(SynthError::Shape(
            "Gemma3 always ties its embeddings".into(),
        ));
    }
    if shape.arch == Arch::Gemma3 && shape.sliding_window.is_none() {
        return Err(SynthError::Shape("Gemma3 needs a sliding_window".into()));
    }
    Ok(())
}

fn dtype_name(dtype: DType) -> Result<&'static str, SynthError> {
    match dtype {
        DType::F32 => Ok("float32"),
        DType::F16 => Ok("float16"),
        DType::BF16 => Ok("bfloat16"),
        other => Err(SynthError::Shape(format!(
            "weights can be F32, F16 or BF16, not {other:?}"
        ))),
    }
}

/// Token ids the configs name.
struct SpecialIds {
    bos: Option<u32>,
    pad: Option<u32>,
    config_eos: Vec<u32>,
    generation_eos: Vec<u32>,
}

impl SpecialIds {
    fn resolve(tokenizer: &Tokenizer, arch: Arch) -> Result<Self, SynthError> {
        let tokens = family_tokens(arch.family());
        let id = |token: &str| required_id(tokenizer, token);
        let ids = |list: &[&str]| list.iter().map(|t| id(t)).collect::<Result<Vec<_>, _>>();
        Ok(Self {
            bos: tokens.config_bos.map(id).transpose()?,
            pad: tokens.pad.map(id).transpose()?,
            config_eos: ids(tokens.config_eos)?,
            generation_eos: ids(tokens.generation_eos)?,
        })
    }
}

/// One id as a number, several as a list, as the HF configs write them.
fn id_or_list(ids: &[u32]) -> Value {
    match ids {
        [one] => json!(one),
        many => json!(many),
    }
}

fn config_json(shape: &Shape, torch_dtype: &str, ids: &SpecialIds) -> Value {
    let mut config = json!({
        "architectures": [shape.arch.hf_class()],
        "attention_dropout": 0.0,
        "bos_token_id": ids.bos,
        "eos_token_id": id_or_list(&ids.config_eos),
        "hidden_size": shape.hidden,
        "initializer_range": 0.02,
        "intermediate_size": shape.ffn,
        "max_position_embeddings": shape.context,
        "model_type": shape.arch.hf_model_type(),
        "num_attention_heads": shape.heads,
        "num_hidden_layers": shape.layers,
        "num_key_value_heads": shape.kv_heads,
        "rms_norm_eps": shape.rms_norm_eps,
        "rope_scaling": null,
        "rope_theta": shape.rope_theta,
        "tie_word_embeddings": shape.tied_embeddings,
        "torch_dtype": torch_dtype,
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": true,
        "vocab_size": shape.vocab
    });
    let extra = match shape.arch {
        Arch::Qwen2 => json!({
            "hidden_act": "silu",
            "max_window_layers": shape.layers,
            "sliding_window": shape.context,
            "use_sliding_window": false
        }),
        Arch::Qwen3 => json!({
            "attention_bias": false,
            "head_dim": shape.head_dim,
            "hidden_act": "silu",
            "max_window_layers": shape.layers,
            "sliding_window": null,
            "use_sliding_window": false
        }),
        Arch::Llama => json!({
            "attention_bias": false,
            "head_dim": shape.head_dim,
            "hidden_act": "silu",
            "mlp_bias": false,
            "pretraining_tp": 1
        }),
        Arch::Gemma3 => {
            let layer_types: Vec<&str> = (0..shape.layers)
                .map(|i| {
                    if (i + 1) % GEMMA3_SLIDING_WINDOW_PATTERN == 0 {
                        "full_attention"
                    } else {
                        "sliding_attention"
                    }
                })
                .collect();
            json!({
                "attention_bias": false,
                "attn_logit_softcapping": null,
                "cache_implementation": "hybrid",
                "final_logit_softcapping": null,
                "head_dim": shape.head_dim,
                "hidden_activation": "gelu_pytorch_tanh",
                "layer_types": layer_types,
                "pad_token_id": ids.pad,
                "query_pre_attn_scalar": shape.head_dim,
                "rope_local_base_freq": GEMMA3_LOCAL_ROPE_THETA,
                "sliding_window": shape.sliding_window,
                "sliding_window_pattern": GEMMA3_SLIDING_WINDOW_PATTERN
            })
        }
    };
    merge(&mut config, extra);
    config
}

fn generation_config_json(arch: Arch, ids: &SpecialIds) -> Value {
    let mut config = json!({
        "bos_token_id": ids.bos,
        "do_sample": true,
        "eos_token_id": id_or_list(&ids.generation_eos),
        "transformers_version": TRANSFORMERS_VERSION
    });
    let sampling = match arch {
        Arch::Qwen2 => json!({
            "pad_token_id": ids.pad,
            "repetition_penalty": 1.05,
            "temperature": 0.7,
            "top_k": 20,
            "top_p": 0.8
        }),
        Arch::Qwen3 => json!({
            "pad_token_id": ids.pad,
            "temperature": 0.6,
            "top_k": 20,
            "top_p": 0.95
        }),
        Arch::Llama => json!({ "temperature": 0.6, "top_p": 0.9 }),
        Arch::Gemma3 => json!({
            "cache_implementation": "hybrid",
            "pad_token_id": ids.pad,
            "top_k": 64,
            "top_p": 0.95
        }),
    };
    merge(&mut config, sampling);
    config
}

fn merge(target: &mut Value, extra: Value) {
    if let (Value::Object(target), Value::Object(extra)) = (target, extra) {
        target.extend(extra);
    }
}

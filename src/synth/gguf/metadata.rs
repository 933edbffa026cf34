//! GGUF metadata as llama.cpp's converter writes it: `general.*` and the
//! architecture keys from `config.json` (the tokenizer keys are in `vocab.rs`).

use candle_core::quantized::gguf_file::Value as Gguf;
use serde_json::Value;

use super::{GgufQuant, HfModel};
use crate::synth::{Arch, SynthError};

/// `general.quantization_version` of current GGML quantization formats.
const QUANTIZATION_VERSION: u32 = 2;

pub type Metadata = Vec<(String, Gguf)>;

/// Hyper-parameters the tensor transforms need, read once from `config.json`.
#[derive(Debug, Clone)]
pub struct ArchParams {
    pub arch: Arch,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
}

impl ArchParams {
    pub fn read(model: &HfModel) -> Result<Self, SynthError> {
        let config = &model.config;
        let arch = architecture(config)?;
        let layers = required(model, "num_hidden_layers")?;
        let heads = usize_of(config, "num_attention_heads").unwrap_or(if arch == Arch::Gemma3 {
            8
        } else {
            0
        });
        if heads == 0 {
            return Err(model.invalid("config.json has no `num_attention_heads`"));
        }
        let kv_heads = usize_of(config, "num_key_value_heads").unwrap_or(heads);
        Ok(Self {
            arch,
            layers,
            heads,
            kv_heads,
        })
    }
}

/// The architecture of an HF config: `model_type`, else `architectures[0]`.
pub fn architecture(config: &Value) -> Result<Arch, SynthError> {
    let model_type = config.get("model_type").and_then(Value::as_str);
    let class = config
        .get("architectures")
        .and_then(|list| list.get(0))
        .and_then(Value::as_str);
    model_type
        .and_then(Arch::from_hf)
        .or_else(|| class.and_then(Arch::from_hf))
        .ok_or_else(|| {
            SynthError::UnsupportedArchitecture(
                model_type.or(class).unwrap_or("unknown").to_string(),
            )
        })
}

pub fn usize_of(config: &Value, key: &str) -> Option<usize> {
    config
        .get(key)?
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
}

fn f64_of(config: &Value, key: &str) -> Option<f64> {
    config.get(key)?.as_f64()
}

fn required(model: &HfModel, key: &str) -> Result<usize, SynthError> {
    usize_of(&model.config, key).ok_or_else(|| model.invalid(format!("config.json has no `{key}`")))
}

fn u32_value(value: usize) -> Gguf {
    Gguf::U32(u32::try_from(value).unwrap_or(u32::MAX))
}

/// First of `keys` the config holds as a number.
fn first_number(config: &Value, keys: &[&str]) -> Option<Value> {
    keys.iter()
        .filter_map(|key| config.get(*key))
        .find(|value| value.is_number())
        .cloned()
}

/// The rope settings as llama.cpp's `TextModel` gathers them: `rope_parameters`
/// (or `rope_scaling`), with the top-level rope bases mirrored in when the block
/// is not split per attention type.
pub fn rope_parameters(config: &Value) -> serde_json::Map<String, Value> {
    let mut params = config
        .get("rope_parameters")
        .or_else(|| config.get("rope_scaling"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if !params.contains_key("full_attention") && !params.contains_key("sliding_attention") {
        let local = [
            "local_rope_theta",
            "rope_local_theta",
            "rope_theta_local",
            "swa_rope_theta",
            "rope_local_base_freq",
        ];
        if let Some(theta) = first_number(config, &local) {
            params.insert(
                "sliding_attention".into(),
                serde_json::json!({ "rope_theta": theta }),
            );
        }
        let global = [
            "global_rope_theta",
            "rope_global_theta",
            "rope_theta_global",
            "rope_theta",
            "rotary_emb_base",
        ];
        if !params.contains_key("rope_theta") {
            if let Some(theta) = first_number(config, &global) {
                params.insert("rope_theta".into(), theta);
            }
        }
        if !params.contains_key("rope_type") {
            if let Some(kind) = params.get("type").cloned() {
                params.insert("rope_type".into(), kind);
            }
        }
    }
    params
}

/// The rope block of full-attention layers (the whole block when not split).
pub fn full_attention_rope(
    params: &serde_json::Map<String, Value>,
) -> &serde_json::Map<String, Value> {
    params
        .get("full_attention")
        .and_then(Value::as_object)
        .unwrap_or(params)
}

/// `general.*` and `{arch}.*` keys.
pub fn model_metadata(
    model: &HfModel,
    params: &ArchParams,
    quant: GgufQuant,
) -> Result<Metadata, SynthError> {
    let config = &model.config;
    let arch = params.arch;
    let p = arch.gguf_name();
    let gemma = arch == Arch::Gemma3;
    let mut md: Metadata = vec![
        ("general.architecture".into(), Gguf::String(p.into())),
        ("general.type".into(), Gguf::String("model".into())),
        ("general.name".into(), Gguf::String(model.name.clone())),
    ];
    let mut put = |key: &str, value: Gguf| md.push((format!("{p}.{key}"), value));
    put("block_count", u32_value(params.layers));
    let context = usize_of(config, "max_position_embeddings").or(gemma.then_some(131_072));
    if let Some(context) = context {
        put("context_length", u32_value(context));
    }
    put(
        "embedding_length",
        u32_value(required(model, "hidden_size")?),
    );
    if let Some(ffn) = usize_of(config, "intermediate_size") {
        put("feed_forward_length", u32_value(ffn));
    }
    put("attention.head_count", u32_value(params.heads));
    if usize_of(config, "num_key_value_heads").is_some() || gemma {
        let kv = usize_of(config, "num_key_value_heads").unwrap_or(4);
        put("attention.head_count_kv", u32_value(kv));
    }
    let all_rope = rope_parameters(config);
    let rope = full_attention_rope(&all_rope);
    let rope_type = rope.get("rope_type").and_then(Value::as_str).unwrap_or("");
    let factor = rope.get("factor").and_then(Value::as_f64);
    match (rope_type, factor) {
        ("linear", Some(factor)) => {
            put("rope.scaling.type", Gguf::String("linear".into()));
            put("rope.scaling.factor", Gguf::F32(factor as f32));
        }
        ("yarn", Some(factor)) => {
            put("rope.scaling.type", Gguf::String("yarn".into()));
            put("rope.scaling.factor", Gguf::F32(factor as f32));
            if let Some(original) = rope
                .get("original_max_position_embeddings")
                .and_then(Value::as_u64)
            {
                put(
                    "rope.scaling.original_context_length",
                    u32_value(original as usize),
                );
            }
        }
        _ => {}
    }
    let theta = rope
        .get("rope_theta")
        .and_then(Value::as_f64)
        .or(gemma.then_some(1_000_000.0));
    if let Some(theta) = theta {
        put("rope.freq_base", Gguf::F32(theta as f32));
    }
    let local_theta = all_rope
        .get("sliding_attention")
        .and_then(|block| block.get("rope_theta"))
        .and_then(Value::as_f64);
    if let Some(local_theta) = local_theta {
        put("rope.freq_base_swa", Gguf::F32(local_theta as f32));
    }
    let eps = f64_of(config, "rms_norm_eps").or(gemma.then_some(1e-6));
    if let Some(eps) = eps {
        put("attention.layer_norm_rms_epsilon", Gguf::F32(eps as f32));
    }
    // transformers' LlamaConfig always carries head_dim; Gemma3 defaults it to 256.
    let hidden = required(model, "hidden_size")?;
    let head_dim = usize_of(config, "head_dim").or(match arch {
        Arch::Llama => Some(hidden / params.heads),
        Arch::Gemma3 => Some(256),
        _ => None,
    });
    if let Some(head_dim) = head_dim {
        put("attention.key_length", u32_value(head_dim));
        put("attention.value_length", u32_value(head_dim));
    }
    match arch {
        Arch::Llama => {
            put("vocab_size", u32_value(required(model, "vocab_size")?));
            put(
                "rope.dimension_count",
                u32_value(head_dim.unwrap_or(hidden / params.heads)),
            );
        }
        Arch::Gemma3 => {
            if let Some(cap) = f64_of(config, "final_logit_softcapping").filter(|&cap| cap != 0.0) {
                put("final_logit_softcapping", Gguf::F32(cap as f32));
            }
            if usize_of(config, "sliding_window_pattern") != Some(1) {
                let window = usize_of(config, "sliding_window")
                    .ok_or_else(|| model.invalid("config.json has no `sliding_window`"))?;
                put("attention.sliding_window", u32_value(window));
            }
            // llama.cpp hard-codes Gemma3's layer pattern and attention scale; write the
            // model's own so checkpoints that differ from the released ones load right.
            if let Some(types) = config.get("layer_types").and_then(Value::as_array) {
                let sliding = types
                    .iter()
                    .map(|t| Gguf::Bool(t.as_str() == Some("sliding_attention")));
                put(
                    "attention.sliding_window_pattern",
                    Gguf::Array(sliding.collect()),
                );
            } else if let Some(pattern) = usize_of(config, "sliding_window_pattern") {
                put("attention.sliding_window_pattern", u32_value(pattern));
            }
            if let Some(scalar) = f64_of(config, "query_pre_attn_scalar") {
                put("attention.scale", Gguf::F32(scalar.powf(-0.5) as f32));
            }
        }
        Arch::Qwen2 | Arch::Qwen3 => {}
    }
    md.push(("general.file_type".into(), Gguf::U32(quant.file_type())));
    md.push((
        "general.quantization_version".into(),
        Gguf::U32(QUANTIZATION_VERSION),
    ));
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flat_configs_mirror_their_rope_bases() {
        let config = json!({"rope_theta": 1e6, "rope_local_base_freq": 1e4, "rope_scaling": null});
        let params = rope_parameters(&config);
        assert_eq!(full_attention_rope(&params)["rope_theta"], 1e6);
        assert_eq!(params["sliding_attention"]["rope_theta"], 1e4);
    }

    #[test]
    fn split_rope_blocks_are_read_per_attention_type() {
        // transformers 5 writes Gemma3's rope settings this way.
        let config = json!({"rope_parameters": {
            "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1e6},
            "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}
        }});
        let params = rope_parameters(&config);
        let full = full_attention_rope(&params);
        assert_eq!(full["rope_type"], "linear");
        assert_eq!(full["rope_theta"], 1e6);
        assert_eq!(params["sliding_attention"]["rope_theta"], 1e4);
    }

    #[test]
    fn legacy_type_key_names_the_rope_type() {
        let config = json!({"rope_theta": 5e5, "rope_scaling": {"type": "yarn", "factor": 4.0}});
        assert_eq!(rope_parameters(&config)["rope_type"], "yarn");
    }
}

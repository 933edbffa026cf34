//! `config.json` of every supported family, as transformers 4 and 5 write it, turned into
//! a [`DecoderConfig`]. Every per-family default and naming quirk of the JSON lives here,
//! so a parity fix is one edit.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::config::{Activation, DecoderConfig, Family, SUPPORTED_ARCHITECTURES};
use super::rope::{RopeScaling, RopeSpec};
use crate::engine::EngineError;

/// `config.json` as written by transformers (any version we know), all fields optional so
/// that each family can apply its own defaults and name what is missing.
#[derive(Debug, Default, Deserialize)]
struct RawConfig {
    model_type: Option<String>,
    text_config: Option<Box<RawConfig>>,
    vocab_size: Option<usize>,
    hidden_size: Option<usize>,
    intermediate_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    rms_norm_eps: Option<f64>,
    rope_theta: Option<f64>,
    rope_scaling: Option<Value>,
    rope_parameters: Option<Value>,
    rope_local_base_freq: Option<f64>,
    max_position_embeddings: Option<usize>,
    tie_word_embeddings: Option<bool>,
    attention_bias: Option<bool>,
    mlp_bias: Option<bool>,
    hidden_act: Option<String>,
    hidden_activation: Option<String>,
    query_pre_attn_scalar: Option<f64>,
    sliding_window: Option<usize>,
    sliding_window_pattern: Option<usize>,
    use_sliding_window: Option<bool>,
    max_window_layers: Option<usize>,
    layer_types: Option<Vec<String>>,
    final_logit_softcapping: Option<f64>,
}

/// Reads `config.json` and returns the family and its normalized config.
pub fn from_hf_config(path: &Path) -> Result<DecoderConfig, EngineError> {
    let shown = path.display().to_string();
    let err = |message: String| EngineError::Config {
        path: shown.clone(),
        message,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(format!("cannot read it ({e}); check the model folder")))?;
    let raw: RawConfig = serde_json::from_str(&text)
        .map_err(|e| err(format!("is not valid JSON ({e}); download it again")))?;
    let model_type = raw.model_type.clone().ok_or_else(|| {
        err("field `model_type` is missing; saar cannot tell the architecture".into())
    })?;
    let family = Family::from_name(&model_type).ok_or(EngineError::UnsupportedArchitecture {
        found: model_type.clone(),
        supported: SUPPORTED_ARCHITECTURES,
    })?;
    // Multimodal gemma3 keeps the language model under `text_config`; a top-level
    // `tie_word_embeddings` there still applies to it.
    let outer_tie = raw.tie_word_embeddings;
    let raw = match (family, model_type.as_str(), raw.text_config) {
        (Family::Gemma3, "gemma3", Some(text)) => *text,
        (Family::Gemma3, "gemma3", None) => {
            return Err(err(
                "field `text_config` is missing for a multimodal gemma3".into(),
            ))
        }
        (_, _, text_config) => RawConfig { text_config, ..raw },
    };
    normalize(family, raw, outer_tie).map_err(err)
}

fn required(value: Option<usize>, field: &str) -> Result<usize, String> {
    value.ok_or_else(|| format!("required field `{field}` is missing; the file is incomplete"))
}

fn normalize(
    family: Family,
    raw: RawConfig,
    outer_tie: Option<bool>,
) -> Result<DecoderConfig, String> {
    let gemma = family == Family::Gemma3;
    let hidden_size = required(raw.hidden_size, "hidden_size")?;
    let intermediate_size = required(raw.intermediate_size, "intermediate_size")?;
    let num_layers = required(raw.num_hidden_layers, "num_hidden_layers")?;
    let (num_heads, vocab_size) = if gemma {
        (
            raw.num_attention_heads.unwrap_or(8),
            raw.vocab_size.unwrap_or(262_208),
        )
    } else {
        (
            required(raw.num_attention_heads, "num_attention_heads")?,
            required(raw.vocab_size, "vocab_size")?,
        )
    };
    let num_kv_heads = match (raw.num_key_value_heads, gemma) {
        (Some(n), _) => n,
        (None, true) => 4,
        (None, false) => num_heads,
    };
    let head_dim = match (raw.head_dim, family) {
        (Some(d), _) => d,
        (None, Family::Qwen3) => 128,
        (None, Family::Gemma3) => 256,
        (None, _) => hidden_size.checked_div(num_heads).unwrap_or(0),
    };
    let context_length = raw.max_position_embeddings.unwrap_or(match family {
        Family::Llama => 2048,
        Family::Qwen2 | Family::Qwen3 => 32_768,
        Family::Gemma3 => 131_072,
    });
    let activation = match raw
        .hidden_activation
        .as_deref()
        .or(raw.hidden_act.as_deref())
        .unwrap_or(if gemma { "gelu_pytorch_tanh" } else { "silu" })
    {
        "silu" | "swish" => Activation::Silu,
        "gelu_pytorch_tanh" | "gelu_new" | "gelu_fast" => Activation::GeluTanh,
        "gelu" => Activation::Gelu,
        other => {
            return Err(format!(
                "activation `{other}` is not supported (silu, gelu, gelu_pytorch_tanh)"
            ))
        }
    };
    let attention_bias = raw.attention_bias.unwrap_or(false);
    let (qkv_bias, o_bias) = match family {
        Family::Qwen2 => (true, false),
        _ => (attention_bias, attention_bias),
    };
    let (sliding_window, sliding_layers) = sliding_layout(family, &raw, num_layers)?;
    let (rope, local_rope) = rope_specs(family, &raw, context_length)?;
    let attention_scale = match (gemma, raw.query_pre_attn_scalar) {
        (true, Some(scalar)) => scalar.powf(-0.5),
        (true, None) => 256f64.powf(-0.5),
        (false, _) => (head_dim as f64).powf(-0.5),
    };
    let cfg = DecoderConfig {
        family,
        vocab_size,
        hidden_size,
        intermediate_size,
        num_layers,
        num_heads,
        num_kv_heads,
        head_dim,
        rms_norm_eps: raw.rms_norm_eps.unwrap_or(1e-6),
        norm_weight_offset: if gemma { 1.0 } else { 0.0 },
        context_length,
        tie_word_embeddings: raw.tie_word_embeddings.or(outer_tie).unwrap_or(gemma),
        qkv_bias,
        o_bias,
        mlp_bias: raw.mlp_bias.unwrap_or(false),
        activation,
        qk_norm: matches!(family, Family::Qwen3 | Family::Gemma3),
        sandwich_norms: gemma,
        embedding_scale: gemma.then(|| (hidden_size as f64).sqrt()),
        attention_scale,
        final_logit_softcap: raw.final_logit_softcapping,
        rope,
        local_rope,
        sliding_window,
        sliding_layers,
        interleaved_rope: false,
    };
    cfg.validate()?;
    Ok(cfg)
}

/// Which layers use a sliding window, from `layer_types` (newer configs) or the older
/// per-family rules (`sliding_window_pattern` for gemma3, `max_window_layers` for qwen).
fn sliding_layout(
    family: Family,
    raw: &RawConfig,
    num_layers: usize,
) -> Result<(Option<usize>, Vec<bool>), String> {
    let window = match family {
        Family::Gemma3 => Some(raw.sliding_window.unwrap_or(4096)),
        Family::Qwen2 | Family::Qwen3 if raw.use_sliding_window == Some(true) => {
            Some(raw.sliding_window.unwrap_or(4096))
        }
        _ => None,
    };
    let Some(window) = window else {
        return Ok((None, vec![false; num_layers]));
    };
    let layers = match &raw.layer_types {
        Some(types) if types.len() != num_layers => {
            return Err(format!(
                "`layer_types` has {} entries but `num_hidden_layers` is {num_layers}",
                types.len()
            ))
        }
        Some(types) => types.iter().map(|t| t == "sliding_attention").collect(),
        None if family == Family::Gemma3 => {
            let pattern = raw.sliding_window_pattern.unwrap_or(6).max(1);
            (0..num_layers).map(|i| (i + 1) % pattern != 0).collect()
        }
        None => {
            let first = raw.max_window_layers.unwrap_or(28);
            (0..num_layers).map(|i| i >= first).collect()
        }
    };
    Ok((Some(window), layers))
}

/// RoPE for full and (gemma3) sliding layers. transformers 5 writes `rope_parameters`
/// (nested per layer type for gemma3); older files write `rope_theta` + `rope_scaling`.
fn rope_specs(
    family: Family,
    raw: &RawConfig,
    context_length: usize,
) -> Result<(RopeSpec, Option<RopeSpec>), String> {
    let params = raw.rope_parameters.as_ref().and_then(Value::as_object);
    let nested = |key: &str| params.and_then(|p| p.get(key)).and_then(Value::as_object);
    if family == Family::Gemma3 {
        let full =
            nested("full_attention").or(raw.rope_scaling.as_ref().and_then(Value::as_object));
        let theta = raw.rope_theta.unwrap_or(1_000_000.0);
        let global = rope_spec(full, theta, context_length)?;
        let local_theta = raw.rope_local_base_freq.unwrap_or(10_000.0);
        let local = rope_spec(nested("sliding_attention"), local_theta, context_length)?;
        return Ok((global, Some(local)));
    }
    let flat = params
        .filter(|p| !p.contains_key("full_attention"))
        .or(raw.rope_scaling.as_ref().and_then(Value::as_object));
    let spec = rope_spec(flat, raw.rope_theta.unwrap_or(10_000.0), context_length)?;
    Ok((spec, None))
}

fn rope_spec(
    params: Option<&Map<String, Value>>,
    default_theta: f64,
    context_length: usize,
) -> Result<RopeSpec, String> {
    let Some(p) = params else {
        return Ok(RopeSpec {
            theta: default_theta,
            scaling: RopeScaling::None,
        });
    };
    let num = |key: &str| p.get(key).and_then(Value::as_f64);
    let need = |key: &str| num(key).ok_or_else(|| format!("RoPE parameter `{key}` is missing"));
    let kind = p
        .get("rope_type")
        .or_else(|| p.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("default");
    let original = num("original_max_position_embeddings").unwrap_or(context_length as f64);
    let scaling = match kind {
        "default" => RopeScaling::None,
        "linear" => RopeScaling::Linear {
            factor: need("factor")?,
        },
        "llama3" => RopeScaling::Llama3 {
            factor: need("factor")?,
            low_freq_factor: need("low_freq_factor")?,
            high_freq_factor: need("high_freq_factor")?,
            original_context: original,
        },
        "yarn" => RopeScaling::Yarn {
            factor: num("factor").unwrap_or(context_length as f64 / original),
            original_context: original,
            beta_fast: num("beta_fast").unwrap_or(32.0),
            beta_slow: num("beta_slow").unwrap_or(1.0),
            attention_factor: num("attention_factor"),
            mscale: num("mscale"),
            mscale_all_dim: num("mscale_all_dim"),
            truncate: p.get("truncate").and_then(Value::as_bool).unwrap_or(true),
        },
        other => {
            return Err(format!(
                "rope_type `{other}` is not supported (default, linear, llama3, yarn)"
            ))
        }
    };
    Ok(RopeSpec {
        theta: num("rope_theta").unwrap_or(default_theta),
        scaling,
    })
}

//! Test fixtures built in-test: tiny random-weight models of every family written as
//! safetensors (HF layout) and as GGUF (llama.cpp layout), loaded on the CPU.

mod batched;
mod configs;
mod errors;
mod families;
mod shared_steps;
mod sixteen_bit;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde_json::{json, Value};

use super::Family;
use crate::engine::{CausalLm, EngineError, Placement};
use crate::model::{ModelFiles, Weights};

pub const FAMILIES: [Family; 4] = [Family::Qwen2, Family::Qwen3, Family::Llama, Family::Gemma3];

/// `config.json` of a tiny model exercising each family's particular features.
pub fn tiny_config(family: Family) -> Value {
    let mut cfg = json!({
        "vocab_size": 128,
        "hidden_size": 64,
        "intermediate_size": 96,
        "num_hidden_layers": 3,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-6,
        "max_position_embeddings": 2048,
        "hidden_act": "silu",
    });
    let extra = match family {
        Family::Qwen2 => {
            json!({"model_type": "qwen2", "tie_word_embeddings": true, "rope_theta": 1000000.0})
        }
        Family::Qwen3 => {
            json!({"model_type": "qwen3", "head_dim": 32, "tie_word_embeddings": false})
        }
        Family::Llama => json!({
            "model_type": "llama", "rope_theta": 500000.0, "tie_word_embeddings": false,
            "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                             "high_freq_factor": 4.0, "original_max_position_embeddings": 16}
        }),
        Family::Gemma3 => json!({
            "model_type": "gemma3_text", "num_hidden_layers": 4, "head_dim": 16,
            "hidden_activation": "gelu_pytorch_tanh", "query_pre_attn_scalar": 24,
            "sliding_window": 4, "sliding_window_pattern": 2, "rope_theta": 1000000.0,
            "rope_local_base_freq": 20000.0, "rope_scaling": {"rope_type": "linear", "factor": 2.0},
            "final_logit_softcapping": 30.0, "tie_word_embeddings": true
        }),
    };
    for (k, v) in extra.as_object().into_iter().flatten() {
        cfg[k] = v.clone();
    }
    cfg
}

/// Deterministic values in `[-scale, scale)` (xorshift), so failures reproduce.
pub fn random(shape: &[usize], scale: f32, seed: u64) -> Tensor {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect();
    Tensor::from_vec(values, shape, &Device::Cpu).unwrap()
}

fn dim(cfg: &Value, key: &str) -> usize {
    cfg[key].as_u64().unwrap() as usize
}

/// Random weights under HF names (`model.` prefix), shaped by `cfg`.
pub fn tiny_weights(family: Family, cfg: &Value) -> HashMap<String, Tensor> {
    let (hidden, inter, vocab) = (
        dim(cfg, "hidden_size"),
        dim(cfg, "intermediate_size"),
        dim(cfg, "vocab_size"),
    );
    let heads = dim(cfg, "num_attention_heads");
    let kv = dim(cfg, "num_key_value_heads");
    let head_dim = cfg["head_dim"]
        .as_u64()
        .map_or(hidden / heads, |d| d as usize);
    let gemma = family == Family::Gemma3;
    let mut seed = 1u64;
    let mut w = HashMap::new();
    let mut put = |name: String, shape: &[usize], scale: f32, offset: f32| {
        seed += 1;
        let t = (random(shape, scale, seed) + offset as f64).unwrap();
        w.insert(name, t);
    };
    // Gemma stores norms as `w - 1`; others as `w`.
    let norm_offset = if gemma { 0.0 } else { 1.0 };
    put(
        "model.embed_tokens.weight".into(),
        &[vocab, hidden],
        0.3,
        0.0,
    );
    put("model.norm.weight".into(), &[hidden], 0.2, norm_offset);
    if cfg["tie_word_embeddings"] != json!(true) {
        put("lm_head.weight".into(), &[vocab, hidden], 0.2, 0.0);
    }
    for i in 0..dim(cfg, "num_hidden_layers") {
        let p = format!("model.layers.{i}");
        put(
            format!("{p}.input_layernorm.weight"),
            &[hidden],
            0.2,
            norm_offset,
        );
        put(
            format!("{p}.post_attention_layernorm.weight"),
            &[hidden],
            0.2,
            norm_offset,
        );
        put(
            format!("{p}.self_attn.q_proj.weight"),
            &[heads * head_dim, hidden],
            0.25,
            0.0,
        );
        put(
            format!("{p}.self_attn.k_proj.weight"),
            &[kv * head_dim, hidden],
            0.25,
            0.0,
        );
        put(
            format!("{p}.self_attn.v_proj.weight"),
            &[kv * head_dim, hidden],
            0.25,
            0.0,
        );
        put(
            format!("{p}.self_attn.o_proj.weight"),
            &[hidden, heads * head_dim],
            0.2,
            0.0,
        );
        put(
            format!("{p}.mlp.gate_proj.weight"),
            &[inter, hidden],
            0.25,
            0.0,
        );
        put(
            format!("{p}.mlp.up_proj.weight"),
            &[inter, hidden],
            0.25,
            0.0,
        );
        put(
            format!("{p}.mlp.down_proj.weight"),
            &[hidden, inter],
            0.2,
            0.0,
        );
        if family == Family::Qwen2 {
            put(
                format!("{p}.self_attn.q_proj.bias"),
                &[heads * head_dim],
                0.2,
                0.0,
            );
            put(
                format!("{p}.self_attn.k_proj.bias"),
                &[kv * head_dim],
                0.2,
                0.0,
            );
            put(
                format!("{p}.self_attn.v_proj.bias"),
                &[kv * head_dim],
                0.2,
                0.0,
            );
        }
        if matches!(family, Family::Qwen3 | Family::Gemma3) {
            put(
                format!("{p}.self_attn.q_norm.weight"),
                &[head_dim],
                0.2,
                norm_offset,
            );
            put(
                format!("{p}.self_attn.k_norm.weight"),
                &[head_dim],
                0.2,
                norm_offset,
            );
        }
        if gemma {
            put(
                format!("{p}.pre_feedforward_layernorm.weight"),
                &[hidden],
                0.2,
                0.0,
            );
            put(
                format!("{p}.post_feedforward_layernorm.weight"),
                &[hidden],
                0.2,
                0.0,
            );
        }
    }
    w
}

/// `ModelFiles` for a folder holding `config.json` and the given weights.
pub fn model_files(dir: &Path, weights: Weights) -> ModelFiles {
    let config = dir.join("config.json");
    ModelFiles {
        config: config.exists().then_some(config),
        ..ModelFiles::new(dir.display().to_string(), weights)
    }
}

/// Writes `config.json` and `model.safetensors` into `dir`.
pub fn write_safetensors(dir: &Path, cfg: &Value, weights: &HashMap<String, Tensor>) -> ModelFiles {
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string_pretty(cfg).unwrap(),
    )
    .unwrap();
    let path: PathBuf = dir.join("model.safetensors");
    candle_core::safetensors::save(weights, &path).unwrap();
    model_files(dir, Weights::Safetensors(vec![path]))
}

pub fn cpu() -> Placement {
    Placement {
        device: Device::Cpu,
        dtype: None,
    }
}

pub fn load_cpu(files: &ModelFiles) -> Result<Box<dyn CausalLm>, EngineError> {
    super::load(files, &cpu())
}

/// A random GGUF model of `shape` in `quant` (weights from `seed`) in a fresh temp dir
/// (kept alive by the returned guard).
pub fn gguf_model(
    shape: &crate::synth::Shape,
    quant: crate::synth::GgufQuant,
    seed: u64,
) -> (tempfile::TempDir, ModelFiles) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.gguf");
    let template = crate::synth::ModelTemplate::simple(shape.arch.family());
    crate::synth::write_gguf_model(&path, shape, quant, seed, &template).unwrap();
    let files = model_files(dir.path(), Weights::Gguf(path));
    (dir, files)
}

/// [`Shape::tiny`](crate::synth::Shape::tiny) with rows of ten 32-element blocks: not
/// whole K-quant super-blocks (so Q4_K_M falls back to Q5_0/Q8_0 as llama-quantize
/// does), and long enough that kernels rounding differently at different row counts
/// would show in the logits (rows of two blocks agreed anyway).
pub fn wide_small_blocks(arch: crate::synth::Arch) -> crate::synth::Shape {
    crate::synth::Shape {
        hidden: 320,
        head_dim: 80,
        ffn: 640,
        ..crate::synth::Shape::tiny(arch)
    }
}

/// A tiny model of `family` saved in a fresh temp dir (kept alive by the returned guard).
pub fn tiny_model(family: Family) -> (tempfile::TempDir, ModelFiles) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny_config(family);
    let files = write_safetensors(dir.path(), &cfg, &tiny_weights(family, &cfg));
    (dir, files)
}

pub fn logits(model: &mut dyn CausalLm, ids: &[u32], pos: usize) -> Vec<f32> {
    model.forward(ids, pos).unwrap().to_vec1().unwrap()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Token ids that reach across the whole tiny vocabulary.
pub fn sample_ids(n: usize) -> Vec<u32> {
    (0..n as u32).map(|i| (i * 37 + 11) % 128).collect()
}

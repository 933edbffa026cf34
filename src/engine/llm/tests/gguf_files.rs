//! GGUF files converted in-test from the same weights the way llama.cpp's converter does
//! (llama q/k permuted for interleaved RoPE, gemma norms stored as `1 + w`, llama3 scaling
//! as `rope_freqs`) must give the logits of the safetensors model.

use candle_core::quantized::gguf_file::{self, Value as Gguf};
use candle_core::quantized::{GgmlDType, QTensor};

use super::*;

fn gguf_name(family: Family, hf: &str) -> String {
    match hf {
        "model.embed_tokens.weight" => return "token_embd.weight".into(),
        "model.norm.weight" => return "output_norm.weight".into(),
        "lm_head.weight" => return "output.weight".into(),
        _ => {}
    }
    let rest = hf.strip_prefix("model.layers.").expect("per-layer tensor");
    let (layer, rest) = rest.split_once('.').unwrap();
    let (module, suffix) = rest.rsplit_once('.').unwrap();
    let base = match module {
        "input_layernorm" => "attn_norm",
        "self_attn.q_proj" => "attn_q",
        "self_attn.k_proj" => "attn_k",
        "self_attn.v_proj" => "attn_v",
        "self_attn.o_proj" => "attn_output",
        "self_attn.q_norm" => "attn_q_norm",
        "self_attn.k_norm" => "attn_k_norm",
        "post_attention_layernorm" if family == Family::Gemma3 => "post_attention_norm",
        "post_attention_layernorm" => "ffn_norm",
        "pre_feedforward_layernorm" => "ffn_norm",
        "post_feedforward_layernorm" => "post_ffw_norm",
        "mlp.gate_proj" => "ffn_gate",
        "mlp.up_proj" => "ffn_up",
        "mlp.down_proj" => "ffn_down",
        other => panic!("no GGUF name for {other}"),
    };
    format!("blk.{layer}.{base}.{suffix}")
}

/// llama.cpp's `LlamaModel.permute`: half-split rotary pairs become adjacent.
fn permute_for_interleaved_rope(w: &Tensor, heads: usize) -> Tensor {
    let (out, inp) = w.dims2().unwrap();
    w.reshape((heads, 2, out / heads / 2, inp))
        .unwrap()
        .transpose(1, 2)
        .unwrap()
        .contiguous()
        .unwrap()
        .reshape((out, inp))
        .unwrap()
}

/// llama.cpp's converter form of llama3 scaling: one divisor per frequency.
fn llama3_rope_factors(cfg: &Value, head_dim: usize) -> Tensor {
    let scaling = &cfg["rope_scaling"];
    let get = |k: &str| scaling[k].as_f64().unwrap();
    let (factor, low, high, old) = (
        get("factor"),
        get("low_freq_factor"),
        get("high_freq_factor"),
        get("original_max_position_embeddings"),
    );
    let base = cfg["rope_theta"].as_f64().unwrap();
    let factors: Vec<f32> = (0..head_dim / 2)
        .map(|i| {
            let freq = 1.0 / base.powf((2 * i) as f64 / head_dim as f64);
            let wavelen = 2.0 * std::f64::consts::PI / freq;
            if wavelen < old / high {
                1.0
            } else if wavelen > old / low {
                factor as f32
            } else {
                let smooth = (old / wavelen - low) / (high - low);
                (1.0 / ((1.0 - smooth) / factor + smooth)) as f32
            }
        })
        .collect();
    Tensor::new(factors, &Device::Cpu).unwrap()
}

/// Writes `model.gguf` converted from HF-layout `weights`, 2-D tensors in `dtype`.
pub fn write_gguf(
    dir: &Path,
    family: Family,
    cfg: &Value,
    weights: &HashMap<String, Tensor>,
    dtype: GgmlDType,
) -> ModelFiles {
    let arch = family.name();
    let get = |k: &str| cfg[k].as_u64().unwrap() as u32;
    let heads = get("num_attention_heads") as usize;
    let kv_heads = get("num_key_value_heads") as usize;
    let head_dim = cfg["head_dim"]
        .as_u64()
        .map_or(get("hidden_size") as usize / heads, |d| d as usize);
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    for (name, w) in weights {
        let mut w = w.clone();
        if family == Family::Llama && name.ends_with("q_proj.weight") {
            w = permute_for_interleaved_rope(&w, heads);
        }
        if family == Family::Llama && name.ends_with("k_proj.weight") {
            w = permute_for_interleaved_rope(&w, kv_heads);
        }
        if family == Family::Gemma3 && name.ends_with("norm.weight") {
            w = (w + 1.0).unwrap();
        }
        let q_dtype = if w.rank() == 2 { dtype } else { GgmlDType::F32 };
        tensors.push((
            gguf_name(family, name),
            QTensor::quantize(&w, q_dtype).unwrap(),
        ));
    }
    if family == Family::Llama {
        let factors = llama3_rope_factors(cfg, head_dim);
        tensors.push((
            "rope_freqs.weight".into(),
            QTensor::quantize(&factors, GgmlDType::F32).unwrap(),
        ));
    }
    let file_type = if dtype == GgmlDType::Q8_0 { 7 } else { 0 };
    let mut meta: Vec<(String, Gguf)> = vec![
        ("general.architecture".into(), Gguf::String(arch.into())),
        ("general.file_type".into(), Gguf::U32(file_type)),
        (
            format!("{arch}.block_count"),
            Gguf::U32(get("num_hidden_layers")),
        ),
        (
            format!("{arch}.context_length"),
            Gguf::U32(get("max_position_embeddings")),
        ),
        (
            format!("{arch}.embedding_length"),
            Gguf::U32(get("hidden_size")),
        ),
        (
            format!("{arch}.feed_forward_length"),
            Gguf::U32(get("intermediate_size")),
        ),
        (
            format!("{arch}.attention.head_count"),
            Gguf::U32(heads as u32),
        ),
        (
            format!("{arch}.attention.head_count_kv"),
            Gguf::U32(kv_heads as u32),
        ),
        (
            format!("{arch}.attention.key_length"),
            Gguf::U32(head_dim as u32),
        ),
        (
            format!("{arch}.attention.layer_norm_rms_epsilon"),
            Gguf::F32(1e-6),
        ),
        (
            format!("{arch}.rope.freq_base"),
            Gguf::F32(cfg["rope_theta"].as_f64().unwrap_or(10_000.0) as f32),
        ),
    ];
    if family == Family::Gemma3 {
        meta.push((
            format!("{arch}.attention.sliding_window"),
            Gguf::U32(get("sliding_window")),
        ));
        meta.push((
            format!("{arch}.attention.sliding_window_pattern"),
            Gguf::U32(get("sliding_window_pattern")),
        ));
        meta.push((
            format!("{arch}.rope.scaling.type"),
            Gguf::String("linear".into()),
        ));
        let factor = cfg["rope_scaling"]["factor"].as_f64().unwrap() as f32;
        meta.push((format!("{arch}.rope.scaling.factor"), Gguf::F32(factor)));
        // Beyond llama.cpp's fixed gemma3 choices, which this tiny model does not follow.
        let scale = cfg["query_pre_attn_scalar"].as_f64().unwrap().powf(-0.5) as f32;
        meta.push((format!("{arch}.attention.scale"), Gguf::F32(scale)));
        let local_theta = cfg["rope_local_base_freq"].as_f64().unwrap() as f32;
        meta.push((format!("{arch}.rope.freq_base_swa"), Gguf::F32(local_theta)));
        let cap = cfg["final_logit_softcapping"].as_f64().unwrap() as f32;
        meta.push((format!("{arch}.final_logit_softcapping"), Gguf::F32(cap)));
    }
    let path = dir.join("model.gguf");
    let mut file = std::fs::File::create(&path).unwrap();
    let meta_refs: Vec<(&str, &Gguf)> = meta.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    gguf_file::write(&mut file, &meta_refs, &tensor_refs).unwrap();
    model_files(dir, Weights::Gguf(path))
}

#[test]
fn f32_gguf_matches_safetensors_for_every_family() {
    let ids = sample_ids(10);
    for family in FAMILIES {
        let cfg = tiny_config(family);
        let weights = tiny_weights(family, &cfg);
        let st_dir = tempfile::tempdir().unwrap();
        let mut dense = load_cpu(&write_safetensors(st_dir.path(), &cfg, &weights)).unwrap();
        let gguf_dir = tempfile::tempdir().unwrap();
        let mut quant = load_cpu(&write_gguf(
            gguf_dir.path(),
            family,
            &cfg,
            &weights,
            GgmlDType::F32,
        ))
        .unwrap();
        assert_eq!(quant.info().architecture, family.name());
        assert_eq!(quant.info().dtype, "f32");
        assert_eq!(quant.info().context_length, 2048);
        let diff = max_abs_diff(
            &logits(dense.as_mut(), &ids[..7], 0),
            &logits(quant.as_mut(), &ids[..7], 0),
        );
        assert!(diff < 1e-4, "{family:?}: prefill logits differ by {diff}");
        for m in 7..ids.len() {
            let d = logits(dense.as_mut(), &ids[m..m + 1], m);
            let q = logits(quant.as_mut(), &ids[m..m + 1], m);
            let diff = max_abs_diff(&d, &q);
            assert!(diff < 1e-4, "{family:?}: step {m} logits differ by {diff}");
        }
    }
}

#[test]
fn q8_0_gguf_runs_quantized_and_stays_close() {
    let ids = sample_ids(8);
    for family in [Family::Qwen2, Family::Gemma3] {
        let cfg = tiny_config(family);
        let weights = tiny_weights(family, &cfg);
        let st_dir = tempfile::tempdir().unwrap();
        let dense = logits(
            load_cpu(&write_safetensors(st_dir.path(), &cfg, &weights))
                .unwrap()
                .as_mut(),
            &ids,
            0,
        );
        let gguf_dir = tempfile::tempdir().unwrap();
        let mut model = load_cpu(&write_gguf(
            gguf_dir.path(),
            family,
            &cfg,
            &weights,
            GgmlDType::Q8_0,
        ))
        .unwrap();
        assert_eq!(model.info().dtype, "q8_0");
        let quant = logits(model.as_mut(), &ids, 0);
        // Random tiny models amplify Q8_0's ~0.4% weight rounding to a few percent.
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        let error: Vec<f32> = dense.iter().zip(&quant).map(|(d, q)| d - q).collect();
        let relative = norm(&error) / norm(&dense);
        assert!(
            relative > 0.0,
            "{family:?}: Q8_0 weights should not be bit-exact"
        );
        assert!(
            relative < 0.15,
            "{family:?}: Q8_0 logits drift by {relative} (relative L2)"
        );
    }
}

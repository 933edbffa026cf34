//! `convert_safetensors_to_gguf` checked against the safetensors weights it reads:
//! the same file as `write_gguf_model`, llama.cpp's transforms (llama q/k
//! permutation, Gemma norm shift), quantization error, sharded and bf16 input.

mod synth_support;

use candle_core::{DType, Tensor};
use saar::synth::{
    convert_safetensors_to_gguf, permute_for_interleaved_rope, Arch, GgufQuant, Shape, SynthError,
};
use synth_support::{max_abs, max_diff, safetensors, write_gguf, write_hf, Gguf};

#[test]
fn direct_gguf_equals_converted_safetensors() {
    let cases = [
        (Shape::tiny(Arch::Qwen2), GgufQuant::F32),
        (Shape::tiny(Arch::Qwen3), GgufQuant::Q8_0),
        (Shape::tiny(Arch::Llama), GgufQuant::F32),
        (Shape::tiny(Arch::Gemma3), GgufQuant::F16),
        (Shape::tiny_kquant(Arch::Llama), GgufQuant::Q4KM),
    ];
    for (shape, quant) in cases {
        let dir = tempfile::tempdir().unwrap();
        let hf = dir.path().join("hf");
        write_hf(&hf, &shape, DType::F32, 4);
        convert_safetensors_to_gguf(&hf, &dir.path().join("converted.gguf"), quant).unwrap();
        let mut direct = write_gguf(&dir.path().join("direct.gguf"), &shape, quant, 4);
        let mut converted = Gguf::open(&dir.path().join("converted.gguf"));
        let keys: Vec<_> = direct
            .content
            .metadata
            .keys()
            .filter(|k| *k != "general.name")
            .cloned()
            .collect();
        for key in &keys {
            let (a, b) = (
                format!("{:?}", direct.md(key)),
                format!("{:?}", converted.md(key)),
            );
            assert_eq!(a, b, "{:?} {key}", shape.arch);
        }
        assert_eq!(keys.len() + 1, converted.content.metadata.len());
        assert_eq!(direct.types(), converted.types());
        for name in direct.types().keys() {
            assert_eq!(
                max_diff(&direct.tensor(name), &converted.tensor(name)),
                0.0,
                "{name}"
            );
        }
    }
}

#[test]
fn converter_transforms_match_llama_cpp() {
    // Llama: q/k rows permuted for interleaved rope, k by kv heads.
    let shape = Shape::tiny(Arch::Llama);
    let dir = tempfile::tempdir().unwrap();
    write_hf(dir.path(), &shape, DType::F32, 6);
    let hf = safetensors(dir.path());
    let out = dir.path().join("m.gguf");
    convert_safetensors_to_gguf(dir.path(), &out, GgufQuant::F32).unwrap();
    let mut gguf = Gguf::open(&out);
    let q = &hf["model.layers.1.self_attn.q_proj.weight"];
    let k = &hf["model.layers.1.self_attn.k_proj.weight"];
    let v = &hf["model.layers.1.self_attn.v_proj.weight"];
    let permuted_q = permute_for_interleaved_rope(q, shape.heads).unwrap();
    assert_eq!(
        max_diff(&gguf.tensor("blk.1.attn_q.weight"), &permuted_q),
        0.0
    );
    assert!(max_diff(&gguf.tensor("blk.1.attn_q.weight"), q) > 0.0);
    let permuted_k = permute_for_interleaved_rope(k, shape.kv_heads).unwrap();
    assert_eq!(
        max_diff(&gguf.tensor("blk.1.attn_k.weight"), &permuted_k),
        0.0
    );
    assert_eq!(max_diff(&gguf.tensor("blk.1.attn_v.weight"), v), 0.0);
    assert_eq!(
        max_diff(&gguf.tensor("output.weight"), &hf["lm_head.weight"]),
        0.0
    );

    // Gemma3: every RMSNorm weight gains 1; Qwen3 keeps its norms (and q/k rows) as they are.
    for (arch, shift) in [(Arch::Gemma3, 1.0), (Arch::Qwen3, 0.0)] {
        let dir = tempfile::tempdir().unwrap();
        write_hf(dir.path(), &Shape::tiny(arch), DType::F32, 6);
        let hf = safetensors(dir.path());
        let out = dir.path().join("m.gguf");
        convert_safetensors_to_gguf(dir.path(), &out, GgufQuant::F32).unwrap();
        let mut gguf = Gguf::open(&out);
        let mut pairs = vec![
            (
                "blk.0.attn_norm.weight",
                "model.layers.0.input_layernorm.weight",
            ),
            (
                "blk.0.attn_q_norm.weight",
                "model.layers.0.self_attn.q_norm.weight",
            ),
            ("output_norm.weight", "model.norm.weight"),
        ];
        if arch == Arch::Gemma3 {
            pairs.extend([
                (
                    "blk.0.post_attention_norm.weight",
                    "model.layers.0.post_attention_layernorm.weight",
                ),
                (
                    "blk.0.ffn_norm.weight",
                    "model.layers.0.pre_feedforward_layernorm.weight",
                ),
                (
                    "blk.0.post_ffw_norm.weight",
                    "model.layers.0.post_feedforward_layernorm.weight",
                ),
            ]);
        }
        for (gguf_name, hf_name) in pairs {
            let expected = (&hf[hf_name] + shift).unwrap();
            assert!(
                max_diff(&gguf.tensor(gguf_name), &expected) < 1e-6,
                "{arch:?} {gguf_name}"
            );
        }
        let q = &hf["model.layers.0.self_attn.q_proj.weight"];
        assert_eq!(max_diff(&gguf.tensor("blk.0.attn_q.weight"), q), 0.0);
        assert_eq!(
            max_diff(
                &gguf.tensor("token_embd.weight"),
                &hf["model.embed_tokens.weight"]
            ),
            0.0
        );
    }
}

#[test]
fn quantized_weights_stay_close_to_the_originals() {
    let shape = Shape::tiny_kquant(Arch::Qwen3);
    let dir = tempfile::tempdir().unwrap();
    write_hf(dir.path(), &shape, DType::F32, 8);
    let hf = safetensors(dir.path());
    for (quant, tolerance) in [(GgufQuant::Q8_0, 0.01), (GgufQuant::Q4KM, 0.2)] {
        let out = dir.path().join(format!("{}.gguf", quant.name()));
        convert_safetensors_to_gguf(dir.path(), &out, quant).unwrap();
        let mut gguf = Gguf::open(&out);
        let original = &hf["model.layers.0.mlp.up_proj.weight"];
        let scale = max_abs(original);
        let error = max_diff(&gguf.tensor("blk.0.ffn_up.weight"), original) / scale;
        assert!(error < tolerance && error > 0.0, "{quant:?}: {error}");
    }
}

#[test]
fn converter_reads_sharded_bf16_folders() {
    let shape = Shape::tiny(Arch::Qwen2);
    let dir = tempfile::tempdir().unwrap();
    let (whole, sharded) = (dir.path().join("whole"), dir.path().join("sharded"));
    write_hf(&whole, &shape, DType::BF16, 9);
    std::fs::create_dir_all(&sharded).unwrap();
    for file in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(whole.join(file), sharded.join(file)).unwrap();
    }
    let tensors = safetensors(&whole);
    let (first, second): (Vec<_>, Vec<_>) = tensors
        .iter()
        .partition(|(name, _)| name.contains("layers.1."));
    let mut weight_map = serde_json::Map::new();
    for (part, file) in [
        (first, "model-00001-of-00002.safetensors"),
        (second, "model-00002-of-00002.safetensors"),
    ] {
        let part: std::collections::HashMap<String, Tensor> = part
            .into_iter()
            .map(|(name, t)| (name.clone(), t.clone()))
            .collect();
        part.keys().for_each(|name| {
            weight_map.insert(name.clone(), file.into());
        });
        candle_core::safetensors::save(&part, sharded.join(file)).unwrap();
    }
    let index = serde_json::json!({ "metadata": {}, "weight_map": weight_map });
    std::fs::write(
        sharded.join("model.safetensors.index.json"),
        index.to_string(),
    )
    .unwrap();

    convert_safetensors_to_gguf(&whole, &dir.path().join("whole.gguf"), GgufQuant::F32).unwrap();
    convert_safetensors_to_gguf(&sharded, &dir.path().join("sharded.gguf"), GgufQuant::F32)
        .unwrap();
    let mut a = Gguf::open(&dir.path().join("whole.gguf"));
    let mut b = Gguf::open(&dir.path().join("sharded.gguf"));
    assert_eq!(a.types(), b.types());
    for name in a.types().keys() {
        assert_eq!(max_diff(&a.tensor(name), &b.tensor(name)), 0.0, "{name}");
    }
    let bf16_embedding = tensors["model.embed_tokens.weight"]
        .to_dtype(DType::F32)
        .unwrap();
    assert_eq!(
        max_diff(&a.tensor("token_embd.weight"), &bf16_embedding),
        0.0
    );
}

#[test]
fn converter_refuses_what_it_cannot_convert() {
    let dir = tempfile::tempdir().unwrap();
    let missing = convert_safetensors_to_gguf(
        &dir.path().join("nothing"),
        &dir.path().join("x.gguf"),
        GgufQuant::F32,
    );
    assert!(missing.is_err());
    write_hf(dir.path(), &Shape::tiny(Arch::Llama), DType::F32, 0);
    let config_path = dir.path().join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    config["model_type"] = "mistral".into();
    config["architectures"] = serde_json::json!(["MistralForCausalLM"]);
    std::fs::write(&config_path, config.to_string()).unwrap();
    let error = convert_safetensors_to_gguf(dir.path(), &dir.path().join("x.gguf"), GgufQuant::F32)
        .unwrap_err();
    assert!(
        matches!(error, SynthError::UnsupportedArchitecture(ref name) if name == "mistral"),
        "{error}"
    );
}

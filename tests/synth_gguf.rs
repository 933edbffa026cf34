//! GGUF files of synthetic models read back with candle: llama.cpp's metadata keys,
//! tensor names and the Q4_K_M type mix. The converter is covered in `synth_convert.rs`.

mod synth_support;

use candle_core::quantized::GgmlDType;
use candle_core::DType;
use saar::model::tokenizer::ModelTokenizer;
use saar::model::{HubSettings, ModelFiles, ModelSpec};
use saar::prompt::Message;
use saar::synth::{
    build_tokenizer, family_tokens, tiny_vocab_size, write_gguf_model, write_safetensors_model,
    Arch, Family, GgufQuant, ModelTemplate, Shape,
};
use synth_support::{write_gguf, TEMPLATE};

#[test]
fn metadata_follows_llama_cpp_for_every_architecture() {
    for arch in Arch::ALL {
        let shape = Shape::tiny(arch);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.gguf");
        let gguf = write_gguf(&path, &shape, GgufQuant::F32, 1);
        let p = arch.gguf_name();
        assert_eq!(gguf.md("general.architecture").to_string().unwrap(), p);
        assert_eq!(gguf.u32("general.file_type"), 0);
        for (key, expected) in [
            ("block_count", shape.layers),
            ("context_length", shape.context),
            ("embedding_length", shape.hidden),
            ("feed_forward_length", shape.ffn),
            ("attention.head_count", shape.heads),
            ("attention.head_count_kv", shape.kv_heads),
        ] {
            assert_eq!(
                gguf.u32(&format!("{p}.{key}")) as usize,
                expected,
                "{p}.{key}"
            );
        }
        let theta = gguf.md(&format!("{p}.rope.freq_base")).to_f32().unwrap();
        assert_eq!(theta as f64, shape.rope_theta);
        let eps = gguf
            .md(&format!("{p}.attention.layer_norm_rms_epsilon"))
            .to_f32()
            .unwrap();
        assert_eq!(eps, shape.rms_norm_eps as f32);
        let has_key_length = gguf
            .content
            .metadata
            .contains_key(&format!("{p}.attention.key_length"));
        assert_eq!(has_key_length, arch != Arch::Qwen2, "{arch:?}");
        if has_key_length {
            assert_eq!(
                gguf.u32(&format!("{p}.attention.key_length")) as usize,
                shape.head_dim
            );
        }
        match arch {
            Arch::Llama => {
                assert_eq!(
                    gguf.u32("llama.rope.dimension_count") as usize,
                    shape.head_dim
                );
                assert_eq!(gguf.u32("llama.vocab_size") as usize, shape.vocab);
            }
            Arch::Gemma3 => {
                assert_eq!(gguf.u32("gemma3.attention.sliding_window"), 128);
                assert_eq!(
                    gguf.md("gemma3.rope.freq_base_swa").to_f32().unwrap(),
                    10_000.0
                );
            }
            _ => {}
        }

        let tokens = gguf.md("tokenizer.ggml.tokens").to_vec().unwrap();
        assert_eq!(tokens.len(), shape.vocab);
        assert_eq!(gguf.md("tokenizer.ggml.model").to_string().unwrap(), "gpt2");
        let pre = gguf.md("tokenizer.ggml.pre").to_string().unwrap().clone();
        assert_eq!(
            pre,
            if arch.family() == Family::Qwen {
                "qwen2"
            } else {
                "llama-bpe"
            }
        );
        assert!(!gguf
            .md("tokenizer.ggml.merges")
            .to_vec()
            .unwrap()
            .is_empty());
        assert_eq!(
            gguf.md("tokenizer.chat_template").to_string().unwrap(),
            TEMPLATE
        );
        let eos = gguf.u32("tokenizer.ggml.eos_token_id") as usize;
        let token_types = gguf.md("tokenizer.ggml.token_type").to_vec().unwrap();
        assert_eq!(
            token_types[eos].to_i32().unwrap(),
            3,
            "EOS is a control token"
        );
        let eos_text = tokens[eos].to_string().unwrap();
        assert_eq!(eos_text, family_tokens(arch.family()).eos);
        let add_bos = gguf.md("tokenizer.ggml.add_bos_token").to_bool().unwrap();
        assert_eq!(add_bos, arch.family() != Family::Qwen);
    }
}

#[test]
fn tensor_names_are_llama_cpp_names() {
    let expected_block = |arch: Arch| -> Vec<&'static str> {
        let mut names = vec![
            "attn_k.weight",
            "attn_norm.weight",
            "attn_output.weight",
            "attn_q.weight",
            "attn_v.weight",
            "ffn_down.weight",
            "ffn_gate.weight",
            "ffn_norm.weight",
            "ffn_up.weight",
        ];
        match arch {
            Arch::Qwen2 => names.extend(["attn_k.bias", "attn_q.bias", "attn_v.bias"]),
            Arch::Qwen3 => names.extend(["attn_k_norm.weight", "attn_q_norm.weight"]),
            Arch::Gemma3 => names.extend([
                "attn_k_norm.weight",
                "attn_q_norm.weight",
                "post_attention_norm.weight",
                "post_ffw_norm.weight",
            ]),
            Arch::Llama => {}
        }
        names.sort_unstable();
        names
    };
    for arch in Arch::ALL {
        let shape = Shape::tiny(arch);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.gguf");
        let types = write_gguf(&path, &shape, GgufQuant::F16, 2).types();
        let mut expected = vec![
            "token_embd.weight".to_string(),
            "output_norm.weight".to_string(),
        ];
        if !shape.tied_embeddings {
            expected.push("output.weight".into());
        }
        for layer in 0..shape.layers {
            expected.extend(
                expected_block(arch)
                    .iter()
                    .map(|n| format!("blk.{layer}.{n}")),
            );
        }
        expected.sort();
        assert_eq!(
            types.keys().cloned().collect::<Vec<_>>(),
            expected,
            "{arch:?}"
        );
        for (name, dtype) in &types {
            let one_d = name.ends_with("_norm.weight") || name.ends_with(".bias");
            let want = if one_d {
                GgmlDType::F32
            } else {
                GgmlDType::F16
            };
            assert_eq!(*dtype, want, "{arch:?} {name}");
        }
    }
}

#[test]
fn q4_k_m_uses_llama_cpp_type_mix() {
    let types_of = |shape: &Shape| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gguf");
        let gguf = write_gguf(&path, shape, GgufQuant::Q4KM, 1);
        assert_eq!(gguf.u32("general.file_type"), 15);
        gguf.types()
    };
    // 256-wide, 2 layers: use_more_bits picks layer 1 (>= 7 * 2 / 8) for attn_v and ffn_down.
    let tied = types_of(&Shape::tiny_kquant(Arch::Qwen2));
    assert_eq!(
        tied["token_embd.weight"],
        GgmlDType::Q6K,
        "a tied embedding is the output head"
    );
    for (name, dtype) in [
        ("blk.0.attn_q.weight", GgmlDType::Q4K),
        ("blk.0.attn_v.weight", GgmlDType::Q4K),
        ("blk.1.attn_v.weight", GgmlDType::Q6K),
        ("blk.0.ffn_down.weight", GgmlDType::Q4K),
        ("blk.1.ffn_down.weight", GgmlDType::Q6K),
        ("blk.1.ffn_up.weight", GgmlDType::Q4K),
        ("blk.1.attn_output.weight", GgmlDType::Q4K),
        ("blk.1.attn_q.bias", GgmlDType::F32),
        ("blk.1.ffn_norm.weight", GgmlDType::F32),
        ("output_norm.weight", GgmlDType::F32),
    ] {
        assert_eq!(tied[name], dtype, "{name}");
    }
    let untied = types_of(&Shape::tiny_kquant(Arch::Llama));
    assert_eq!(untied["output.weight"], GgmlDType::Q6K);
    assert_eq!(untied["token_embd.weight"], GgmlDType::Q4K);
    // 64-wide rows are not whole K-quant blocks: llama.cpp falls back to Q5_0 / Q8_0.
    let narrow = types_of(&Shape::tiny(Arch::Qwen3));
    assert_eq!(narrow["blk.0.attn_q.weight"], GgmlDType::Q5_0);
    assert_eq!(narrow["blk.1.attn_v.weight"], GgmlDType::Q8_0);
    assert_eq!(narrow["output.weight"], GgmlDType::Q8_0);
    assert_eq!(narrow["token_embd.weight"], GgmlDType::Q5_0);
}

#[test]
fn vocabulary_beyond_the_tokenizer_is_padded_as_unused() {
    let real = tiny_vocab_size(Family::Llama);
    let shape = Shape {
        vocab: real + 20,
        ..Shape::tiny(Arch::Llama)
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.gguf");
    let gguf = write_gguf(&path, &shape, GgufQuant::F32, 1);
    let tokens = gguf.md("tokenizer.ggml.tokens").to_vec().unwrap();
    let types = gguf.md("tokenizer.ggml.token_type").to_vec().unwrap();
    assert_eq!(tokens.len(), real + 20);
    let padded = real + 5;
    assert_eq!(
        tokens[padded].to_string().unwrap(),
        &format!("[PAD{padded}]")
    );
    assert_eq!(types[padded].to_i32().unwrap(), 5);
    assert_eq!(types[100].to_i32().unwrap(), 1);
    assert_eq!(
        gguf.content.tensor_infos["token_embd.weight"].shape.dims(),
        [real + 20, 64]
    );
}

/// What `--model PATH` resolves a local folder or `.gguf` file to.
fn model_files(path: &std::path::Path) -> ModelFiles {
    let spec = ModelSpec::parse(path.to_str().unwrap()).unwrap();
    let settings = HubSettings {
        offline: true,
        ..HubSettings::from_env()
    };
    saar::model::resolve(&spec, &settings).unwrap()
}

#[test]
fn saar_reads_the_same_tokenizer_and_template_from_folder_and_gguf() {
    let texts = [
        "सोमवार को नए अस्पताल का उद्घाटन हुआ, 2024 में 35% अधिक मरीज आए।",
        "Officials said 1234567 voters took part.\n\nNext line  with  spaces.",
    ];
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chat_templates");
    for arch in Arch::ALL {
        let template_text =
            std::fs::read_to_string(fixtures.join(format!("{}.jinja", arch.gguf_name()))).unwrap();
        let template = ModelTemplate::new(template_text.clone());
        let dir = tempfile::tempdir().unwrap();
        let shape = Shape::tiny(arch);
        write_safetensors_model(dir.path(), &shape, DType::F32, 1, &template).unwrap();
        let gguf_path = dir.path().join("model.gguf");
        write_gguf_model(&gguf_path, &shape, GgufQuant::Q8_0, 1, &template).unwrap();

        let from_dir = ModelTokenizer::load(&model_files(dir.path())).unwrap();
        let from_gguf = ModelTokenizer::load(&model_files(&gguf_path)).unwrap();
        let reference = build_tokenizer(&arch.family()).unwrap();
        for text in texts {
            for add_special in [false, true] {
                let expected = reference
                    .encode(text, add_special)
                    .unwrap()
                    .get_ids()
                    .to_vec();
                assert_eq!(
                    from_dir.encode(text, add_special).unwrap(),
                    expected,
                    "{arch:?} folder"
                );
                assert_eq!(
                    from_gguf.encode(text, add_special).unwrap(),
                    expected,
                    "{arch:?} gguf"
                );
            }
        }
        assert_eq!(
            from_gguf.chat_template_source(),
            Some(template_text.as_str())
        );
        let eos = reference
            .token_to_id(family_tokens(arch.family()).eos)
            .unwrap();
        assert!(from_dir.eos_token_ids().contains(&eos), "{arch:?}");
        assert!(from_gguf.eos_token_ids().contains(&eos), "{arch:?}");

        let messages = [
            Message::system("संक्षेप में बताइए।"),
            Message::user("आज बारिश हुई।"),
        ];
        let rendered_dir = from_dir.chat_template().unwrap().render(&messages).unwrap();
        let rendered_gguf = from_gguf
            .chat_template()
            .unwrap()
            .render(&messages)
            .unwrap();
        assert_eq!(rendered_dir, rendered_gguf, "{arch:?}");
        assert!(
            rendered_dir.contains("आज बारिश हुई।"),
            "{arch:?}: {rendered_dir}"
        );
    }
}

//! Synthetic models read back: the HF folder (configs, safetensors, tokenizer files)
//! and the tiny tokenizers. GGUF output is covered in `synth_gguf.rs`.

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use saar::synth::{
    build_tokenizer, family_tokens, tiny_vocab_size, write_safetensors_model, Arch, Family,
    ModelTemplate, Shape, SynthError,
};
use serde_json::Value;
use synth_support::{write_hf, TEMPLATE};

mod synth_support;

/// Writes an HF folder, for the cases that must fail.
fn try_write(shape: &Shape, template: &ModelTemplate) -> Result<(), SynthError> {
    let dir = tempfile::tempdir().unwrap();
    write_safetensors_model(dir.path(), shape, DType::F32, 0, template)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The HF tensor names and shapes each tiny architecture must have, written out by hand.
fn expected_tensors(arch: Arch) -> BTreeMap<String, Vec<usize>> {
    let shape = Shape::tiny(arch);
    let (h, hd, ffn, v) = (shape.hidden, shape.head_dim, shape.ffn, shape.vocab);
    let (q, kv) = (shape.heads * hd, shape.kv_heads * hd);
    let mut names = BTreeMap::new();
    names.insert("model.embed_tokens.weight".to_string(), vec![v, h]);
    names.insert("model.norm.weight".to_string(), vec![h]);
    if matches!(arch, Arch::Qwen3 | Arch::Llama) {
        names.insert("lm_head.weight".to_string(), vec![v, h]);
    }
    for layer in 0..shape.layers {
        let mut add = |suffix: &str, dims: Vec<usize>| {
            names.insert(format!("model.layers.{layer}.{suffix}"), dims);
        };
        add("input_layernorm.weight", vec![h]);
        add("post_attention_layernorm.weight", vec![h]);
        add("self_attn.q_proj.weight", vec![q, h]);
        add("self_attn.k_proj.weight", vec![kv, h]);
        add("self_attn.v_proj.weight", vec![kv, h]);
        add("self_attn.o_proj.weight", vec![h, q]);
        add("mlp.gate_proj.weight", vec![ffn, h]);
        add("mlp.up_proj.weight", vec![ffn, h]);
        add("mlp.down_proj.weight", vec![h, ffn]);
        match arch {
            Arch::Qwen2 => {
                add("self_attn.q_proj.bias", vec![q]);
                add("self_attn.k_proj.bias", vec![kv]);
                add("self_attn.v_proj.bias", vec![kv]);
            }
            Arch::Qwen3 => {
                add("self_attn.q_norm.weight", vec![hd]);
                add("self_attn.k_norm.weight", vec![hd]);
            }
            Arch::Gemma3 => {
                add("self_attn.q_norm.weight", vec![hd]);
                add("self_attn.k_norm.weight", vec![hd]);
                add("pre_feedforward_layernorm.weight", vec![h]);
                add("post_feedforward_layernorm.weight", vec![h]);
            }
            Arch::Llama => {}
        }
    }
    names
}

#[test]
fn safetensors_folder_has_every_tensor_and_real_config_fields() {
    for arch in Arch::ALL {
        let dir = tempfile::tempdir().unwrap();
        let shape = Shape::tiny(arch);
        write_hf(dir.path(), &shape, DType::F32, 1);

        let tensors =
            candle_core::safetensors::load(dir.path().join("model.safetensors"), &Device::Cpu)
                .unwrap();
        let found: BTreeMap<String, Vec<usize>> = tensors
            .iter()
            .map(|(name, t)| (name.clone(), t.dims().to_vec()))
            .collect();
        assert_eq!(found, expected_tensors(arch), "{arch:?}");

        let config = read_json(&dir.path().join("config.json"));
        assert_eq!(config["model_type"], arch.hf_model_type());
        assert_eq!(config["architectures"][0], arch.hf_class());
        assert_eq!(config["hidden_size"], shape.hidden);
        assert_eq!(config["num_hidden_layers"], shape.layers);
        assert_eq!(config["num_key_value_heads"], shape.kv_heads);
        assert_eq!(config["vocab_size"], shape.vocab);
        assert_eq!(config["tie_word_embeddings"], shape.tied_embeddings);
        assert_eq!(config["torch_dtype"], "float32");
        for key in [
            "rope_theta",
            "rms_norm_eps",
            "max_position_embeddings",
            "bos_token_id",
            "eos_token_id",
        ] {
            assert!(!config[key].is_null(), "{arch:?} config lacks {key}");
        }
        if arch == Arch::Gemma3 {
            assert_eq!(config["query_pre_attn_scalar"], shape.head_dim);
            assert_eq!(config["sliding_window"], 128);
            assert_eq!(config["hidden_activation"], "gelu_pytorch_tanh");
            assert_eq!(
                config["layer_types"],
                serde_json::json!(["sliding_attention", "sliding_attention"])
            );
        }
    }
}

#[test]
fn gemma3_puts_a_global_layer_every_sixth_layer() {
    let dir = tempfile::tempdir().unwrap();
    let shape = Shape {
        layers: 7,
        ..Shape::tiny(Arch::Gemma3)
    };
    write_hf(dir.path(), &shape, DType::F32, 1);
    let config = read_json(&dir.path().join("config.json"));
    let globals: Vec<usize> = config["layer_types"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, kind)| *kind == "full_attention")
        .map(|(layer, _)| layer)
        .collect();
    assert_eq!(globals, [5]);
    assert_eq!(config["sliding_window_pattern"], 6);
}

#[test]
fn tokenizer_files_name_the_family_special_tokens() {
    for (arch, eos, bos) in [
        (Arch::Qwen2, "<|im_end|>", None),
        (Arch::Llama, "<|eot_id|>", Some("<|begin_of_text|>")),
        (Arch::Gemma3, "<eos>", Some("<bos>")),
    ] {
        let dir = tempfile::tempdir().unwrap();
        write_hf(dir.path(), &Shape::tiny(arch), DType::F32, 1);
        let tokenizer =
            tokenizers::Tokenizer::from_file(dir.path().join("tokenizer.json")).unwrap();
        let tokenizer_config = read_json(&dir.path().join("tokenizer_config.json"));
        assert_eq!(tokenizer_config["chat_template"], TEMPLATE);
        assert_eq!(tokenizer_config["eos_token"], eos);
        assert_eq!(tokenizer_config["bos_token"].as_str(), bos);
        let eos_id = tokenizer.token_to_id(eos).unwrap();
        let generation = read_json(&dir.path().join("generation_config.json"));
        let stops: Vec<u64> = match &generation["eos_token_id"] {
            Value::Array(ids) => ids.iter().map(|id| id.as_u64().unwrap()).collect(),
            id => vec![id.as_u64().unwrap()],
        };
        assert!(stops.contains(&u64::from(eos_id)), "{arch:?}: {stops:?}");
        let decoder = &tokenizer_config["added_tokens_decoder"][eos_id.to_string()];
        assert_eq!(decoder["content"], eos);
        assert_eq!(decoder["special"], true);
    }
}

#[test]
fn tiny_tokenizers_round_trip_hindi_and_keep_specials_whole() {
    // Not among the training sentences.
    let text = "सोमवार को नए अस्पताल का उद्घाटन हुआ, 2024 में 35% अधिक मरीज आए।";
    for family in [Family::Qwen, Family::Llama, Family::Gemma] {
        let tokenizer = build_tokenizer(&family).unwrap();
        assert_eq!(
            tokenizer.get_vocab_size(true),
            tiny_vocab_size(family),
            "{family:?}"
        );
        let encoding = tokenizer.encode(text, false).unwrap();
        let ids = encoding.get_ids();
        // Trained merges compress Devanagari well below its UTF-8 byte count.
        assert!(
            ids.len() < text.len() / 2,
            "{family:?}: {} tokens",
            ids.len()
        );
        assert_eq!(tokenizer.decode(ids, false).unwrap(), text, "{family:?}");
        for special in family_tokens(family).specials {
            let id = tokenizer.token_to_id(special).unwrap();
            let wrapped = format!("नमस्ते{special}दुनिया");
            let ids = tokenizer
                .encode(wrapped.as_str(), false)
                .unwrap()
                .get_ids()
                .to_vec();
            assert!(ids.contains(&id), "{family:?}: {special} split apart");
        }
    }
}

#[test]
fn bos_is_prepended_only_where_the_family_does_so() {
    for (family, prepends) in [
        (Family::Qwen, false),
        (Family::Llama, true),
        (Family::Gemma, true),
    ] {
        let tokenizer = build_tokenizer(&family).unwrap();
        let plain = tokenizer.encode("खबर", false).unwrap().get_ids().to_vec();
        let with_specials = tokenizer.encode("खबर", true).unwrap().get_ids().to_vec();
        assert_eq!(
            with_specials.len() == plain.len() + 1,
            prepends,
            "{family:?}"
        );
    }
}

#[test]
fn tokenizer_and_weights_are_deterministic_per_seed() {
    for family in [Family::Qwen, Family::Gemma] {
        let first = build_tokenizer(&family).unwrap().to_string(false).unwrap();
        let second = build_tokenizer(&family).unwrap().to_string(false).unwrap();
        assert_eq!(first, second, "{family:?}");
    }
    let shape = Shape::tiny(Arch::Llama);
    let template = ModelTemplate::new(TEMPLATE);
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    for (dir, seed) in dirs.iter().zip([7, 7, 8]) {
        write_safetensors_model(dir.path(), &shape, DType::F32, seed, &template).unwrap();
    }
    let read = |dir: &tempfile::TempDir, file: &str| std::fs::read(dir.path().join(file)).unwrap();
    for file in [
        "model.safetensors",
        "tokenizer.json",
        "config.json",
        "tokenizer_config.json",
    ] {
        assert_eq!(read(&dirs[0], file), read(&dirs[1], file), "{file}");
    }
    assert_ne!(
        read(&dirs[0], "model.safetensors"),
        read(&dirs[2], "model.safetensors")
    );
}

#[test]
fn half_precision_weights_round_the_f32_ones() {
    let shape = Shape::tiny(Arch::Qwen3);
    let template = ModelTemplate::new(TEMPLATE);
    let load = |dtype: DType| {
        let dir = tempfile::tempdir().unwrap();
        write_safetensors_model(dir.path(), &shape, dtype, 3, &template).unwrap();
        let config = read_json(&dir.path().join("config.json"));
        let tensors =
            candle_core::safetensors::load(dir.path().join("model.safetensors"), &Device::Cpu)
                .unwrap();
        (config["torch_dtype"].as_str().unwrap().to_string(), tensors)
    };
    let (_, full) = load(DType::F32);
    for (dtype, name, tolerance) in [
        (DType::BF16, "bfloat16", 1e-2),
        (DType::F16, "float16", 1e-3),
    ] {
        let (torch_dtype, half) = load(dtype);
        assert_eq!(torch_dtype, name);
        for (tensor_name, tensor) in &half {
            assert_eq!(tensor.dtype(), dtype, "{tensor_name}");
            let widened = tensor.to_dtype(DType::F32).unwrap();
            let diff = (widened - &full[tensor_name]).unwrap().abs().unwrap();
            let relative = (diff / (full[tensor_name].abs().unwrap() + 1e-3).unwrap()).unwrap();
            let worst: f32 = relative
                .flatten_all()
                .unwrap()
                .max(0)
                .unwrap()
                .to_scalar()
                .unwrap();
            assert!(worst < tolerance, "{tensor_name}: {worst}");
        }
    }
}

#[test]
fn weights_have_the_requested_spread() {
    let dir = tempfile::tempdir().unwrap();
    write_hf(dir.path(), &Shape::tiny(Arch::Qwen2), DType::F32, 5);
    let tensors =
        candle_core::safetensors::load(dir.path().join("model.safetensors"), &Device::Cpu).unwrap();
    let std_of = |t: &Tensor| -> f32 {
        let mean = t.mean_all().unwrap();
        t.broadcast_sub(&mean)
            .unwrap()
            .sqr()
            .unwrap()
            .mean_all()
            .unwrap()
            .sqrt()
            .unwrap()
            .to_scalar()
            .unwrap()
    };
    // Embedding rows are scaled so logits spread by about 2: 2 / sqrt(64).
    let embed = &tensors["model.embed_tokens.weight"];
    assert!((std_of(embed) - 0.25).abs() < 0.01, "{}", std_of(embed));
    let projection = &tensors["model.layers.1.mlp.down_proj.weight"];
    assert!(
        (std_of(projection) - 0.02).abs() < 0.002,
        "{}",
        std_of(projection)
    );
    let norm: f32 = tensors["model.norm.weight"]
        .mean_all()
        .unwrap()
        .to_scalar()
        .unwrap();
    assert!((norm - 1.0).abs() < 0.05, "norms sit around 1, got {norm}");
}

#[test]
fn shapes_that_cannot_hold_the_tokenizer_are_refused() {
    let template = ModelTemplate::new(TEMPLATE);
    let small_vocab = Shape {
        vocab: 100,
        ..Shape::tiny(Arch::Qwen2)
    };
    let error = try_write(&small_vocab, &template).unwrap_err();
    assert!(matches!(error, SynthError::Shape(_)), "{error}");
    let odd_heads = Shape {
        kv_heads: 3,
        ..Shape::tiny(Arch::Qwen3)
    };
    assert!(try_write(&odd_heads, &template).is_err());
    let mut untied_gemma = Shape::tiny(Arch::Gemma3);
    untied_gemma.tied_embeddings = false;
    assert!(try_write(&untied_gemma, &template).is_err());
    let odd_head_dim = Shape {
        head_dim: 8,
        ..Shape::tiny(Arch::Llama)
    };
    assert!(try_write(&odd_head_dim, &template).is_err());
}

#[test]
fn favoured_token_must_exist() {
    let template = ModelTemplate::new(TEMPLATE).with_favoured_token("<no-such-token>", 10.0);
    let error = try_write(&Shape::tiny(Arch::Llama), &template).unwrap_err();
    assert!(error.to_string().contains("<no-such-token>"), "{error}");
}

/// Runs `saar bench ARGS` and returns whether it succeeded, its JSON lines and stderr.
fn bench(args: &[&str]) -> (bool, Vec<Value>, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_saar"))
        .arg("bench")
        .args(["--device", "cpu", "--threads", "2"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let reports = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (output.status.success(), reports, stderr)
}

fn field<'a>(reports: &'a [Value], key: &str) -> Vec<&'a str> {
    reports.iter().map(|r| r[key].as_str().unwrap()).collect()
}

#[test]
fn bench_reports_one_json_line_per_format() {
    let work = tempfile::tempdir().unwrap();
    let work_dir = work.path().to_str().unwrap();
    let (ok, reports, stderr) = bench(&[
        "--shape",
        "tiny-qwen3",
        "--quant",
        "q8_0",
        "--prompt-tokens",
        "24",
        "--new-tokens",
        "3",
        "--work-dir",
        work_dir,
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(field(&reports, "format"), ["safetensors-f32", "gguf-q8_0"]);
    for report in &reports {
        assert_eq!(report["shape"], "tiny-qwen3");
        assert_eq!(report["kernels"], "saar");
        assert_eq!(report["threads"], 2);
        assert_eq!(report["prompt_tokens"], 24);
        assert_eq!(report["new_tokens"], 3);
        for key in ["prefill_tok_s", "decode_tok_s", "load_secs", "file_bytes"] {
            assert!(report[key].as_f64().unwrap() > 0.0, "{key}: {report}");
        }
        assert!(report["peak_rss_bytes"].as_u64().is_some(), "{report}");
    }
    // The readable table goes to stderr, one line per row under its header.
    assert!(stderr.contains("prefill tok/s"), "{stderr}");
    // --work-dir keeps what was built.
    assert!(work
        .path()
        .join("tiny-qwen3-f32/model.safetensors")
        .is_file());
    let gguf = work.path().join("tiny-qwen3-q8_0.gguf");
    assert!(gguf.is_file());

    // --model benches that very file, on both kernel paths, named after what it holds,
    // a row per prompt length (70 crosses the prefill kernel's 64-key tiles).
    let (ok, reports, stderr) = bench(&[
        "--model",
        gguf.to_str().unwrap(),
        "--kernels",
        "both",
        "--prompt-tokens",
        "8,70",
        "--new-tokens",
        "2",
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(
        field(&reports, "kernels"),
        ["saar", "candle", "saar", "candle"]
    );
    assert_eq!(field(&reports, "format"), ["gguf-q8_0"; 4]);
    assert_eq!(field(&reports, "shape"), ["tiny-qwen3-q8_0.gguf"; 4]);
    let lengths: Vec<u64> = reports
        .iter()
        .map(|r| r["prompt_tokens"].as_u64().unwrap())
        .collect();
    assert_eq!(lengths, [8, 8, 70, 70]);
    assert_eq!(stderr.matches("saar/candle").count(), 2, "{stderr}");
}

#[test]
fn bench_runs_the_marian_rows_on_both_kernel_paths() {
    let (ok, reports, stderr) = bench(&[
        "--shape",
        "tiny-marian",
        "--kernels",
        "both",
        "--batch",
        "1,3",
        "--prompt-tokens",
        "6",
        "--new-tokens",
        "4",
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(
        field(&reports, "kernels"),
        ["saar", "candle", "saar", "candle"]
    );
    assert_eq!(field(&reports, "format"), ["marian-f32"; 4]);
    let batches: Vec<u64> = reports
        .iter()
        .map(|r| r["batch"].as_u64().unwrap())
        .collect();
    assert_eq!(batches, [1, 1, 3, 3]);
    for report in &reports {
        let batch = report["batch"].as_u64().unwrap();
        assert_eq!(report["generated_tokens"].as_u64(), Some(4 * batch));
        assert!(
            report["translate_tok_s"].as_f64().unwrap() > 0.0,
            "{report}"
        );
    }
}

#[test]
fn bench_refuses_options_that_do_not_fit_the_shape() {
    let (ok, _, stderr) = bench(&["--shape", "tiny-marian", "--formats", "all"]);
    assert!(
        !ok && stderr.contains("--formats is for LLM shapes"),
        "{stderr}"
    );
    let (ok, _, stderr) = bench(&["--shape", "tiny-qwen2", "--batch", "8"]);
    assert!(!ok && stderr.contains("--batch is for Marian"), "{stderr}");
    let (ok, _, stderr) = bench(&["--formats", "gguf-q3"]);
    assert!(!ok && stderr.contains("unknown format"), "{stderr}");
    let (ok, _, stderr) = bench(&["--model", "/no/such/model.gguf"]);
    assert!(!ok && stderr.contains("no such file"), "{stderr}");
}

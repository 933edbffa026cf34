//! Every family decodes incrementally (prefill, chunk at an offset, single steps) to the
//! same logits as one full forward, and gemma3's multimodal layouts load the same model.

use super::*;

#[test]
fn incremental_decoding_matches_full_forward_for_every_family() {
    let ids = sample_ids(12);
    for family in FAMILIES {
        let (_dir, files) = tiny_model(family);
        let mut model = load_cpu(&files).unwrap();
        let full: Vec<Vec<f32>> = (1..=ids.len())
            .map(|m| logits(model.as_mut(), &ids[..m], 0))
            .collect();
        let check = |got: &[f32], upto: usize| {
            let diff = max_abs_diff(got, &full[upto - 1]);
            let scale = full[upto - 1].iter().fold(0f32, |m, x| m.max(x.abs()));
            assert!(
                diff < 1e-5,
                "{family:?}: logits after {upto} tokens differ by {diff} (max |logit| {scale})"
            );
        };
        check(&logits(model.as_mut(), &ids[..3], 0), 3);
        check(&logits(model.as_mut(), &ids[3..7], 3), 7);
        for m in 7..ids.len() {
            check(&logits(model.as_mut(), &ids[m..m + 1], m), m + 1);
        }
        // Restarting at position 0 forgets the previous sequence.
        check(&logits(model.as_mut(), &ids[..5], 0), 5);
    }
}

#[test]
fn logits_depend_on_earlier_tokens_and_the_sliding_window_limits_them() {
    // Changing the first token must change the last logits (attention reaches back) ...
    for family in FAMILIES {
        let (_dir, files) = tiny_model(family);
        let mut model = load_cpu(&files).unwrap();
        let ids = sample_ids(6);
        let mut other = ids.clone();
        other[0] = (other[0] + 1) % 128;
        let a = logits(model.as_mut(), &ids, 0);
        let b = logits(model.as_mut(), &other, 0);
        assert!(
            max_abs_diff(&a, &b) > 1e-4,
            "{family:?} ignores earlier tokens"
        );
    }
    // ... while through four layers that all slide over 4 positions, a token reaches
    // at most 4 * 3 positions ahead.
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = tiny_config(Family::Gemma3);
    cfg["layer_types"] = json!(vec!["sliding_attention"; 4]);
    let files = write_safetensors(dir.path(), &cfg, &tiny_weights(Family::Gemma3, &cfg));
    let mut model = load_cpu(&files).unwrap();
    let first_token_effect = |model: &mut dyn CausalLm, n: usize| {
        let ids = sample_ids(n);
        let mut other = ids.clone();
        other[0] = (other[0] + 1) % 128;
        max_abs_diff(&logits(model, &ids, 0), &logits(model, &other, 0))
    };
    assert!(
        first_token_effect(model.as_mut(), 13) > 1e-5,
        "position 12 should still see token 0"
    );
    assert!(
        first_token_effect(model.as_mut(), 14) < 1e-6,
        "token 0 leaked past the window"
    );
}

#[test]
fn long_prefill_is_chunked_without_changing_logits() {
    let ids: Vec<u32> = (0..1100u32).map(|i| (i * 7919 + 3) % 128).collect();
    let (_dir, files) = tiny_model(Family::Gemma3);
    let mut model = load_cpu(&files).unwrap();
    let whole = logits(model.as_mut(), &ids, 0);
    logits(model.as_mut(), &ids[..100], 0);
    let split = logits(model.as_mut(), &ids[100..], 100);
    assert!(max_abs_diff(&whole, &split) < 1e-4);
}

#[test]
fn gemma3_multimodal_layouts_load_the_same_language_model() {
    let cfg = tiny_config(Family::Gemma3);
    let weights = tiny_weights(Family::Gemma3, &cfg);
    let ids = sample_ids(5);
    let reference = {
        let dir = tempfile::tempdir().unwrap();
        let files = write_safetensors(dir.path(), &cfg, &weights);
        logits(load_cpu(&files).unwrap().as_mut(), &ids, 0)
    };
    let mut text_config = cfg.clone();
    text_config["model_type"] = json!("gemma3_text");
    let outer = json!({"model_type": "gemma3", "text_config": text_config, "vision_config": {}});
    for prefix in ["model.language_model.", "language_model.model."] {
        let renamed: HashMap<String, Tensor> = weights
            .iter()
            .map(|(k, v)| (k.replacen("model.", prefix, 1), v.clone()))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let files = write_safetensors(dir.path(), &outer, &renamed);
        let mut model = load_cpu(&files).unwrap();
        assert_eq!(model.info().architecture, "gemma3");
        let got = logits(model.as_mut(), &ids, 0);
        assert!(max_abs_diff(&got, &reference) < 1e-6, "prefix {prefix}");
    }
}

#[test]
fn model_info_describes_the_loaded_model() {
    let (_dir, mut files) = tiny_model(Family::Qwen3);
    files.context_length = Some(100);
    let model = load_cpu(&files).unwrap();
    let info = model.info();
    assert_eq!(info.architecture, "qwen3");
    assert_eq!(info.dtype, "f32");
    assert_eq!(info.device, "cpu");
    assert_eq!(info.vocab_size, 128);
    assert_eq!(info.context_length, 100, "the preset caps the context");
}

#[test]
fn bf16_on_cpu_stays_close_to_f32() {
    let (_dir, files) = tiny_model(Family::Llama);
    let ids = sample_ids(6);
    let f32_logits = logits(load_cpu(&files).unwrap().as_mut(), &ids, 0);
    let placement = Placement {
        device: Device::Cpu,
        dtype: Some(candle_core::DType::BF16),
    };
    let mut model = crate::engine::llm::load(&files, &placement).unwrap();
    assert_eq!(model.info().dtype, "bf16");
    let bf16_logits = logits(model.as_mut(), &ids, 0);
    let scale = f32_logits.iter().fold(0f32, |m, x| m.max(x.abs()));
    assert!(max_abs_diff(&f32_logits, &bf16_logits) < 0.1 * scale);
}

#[test]
fn sharded_safetensors_load_like_one_file() {
    let cfg = tiny_config(Family::Qwen3);
    let weights = tiny_weights(Family::Qwen3, &cfg);
    let ids = sample_ids(5);
    let dir = tempfile::tempdir().unwrap();
    let whole = logits(
        load_cpu(&write_safetensors(dir.path(), &cfg, &weights))
            .unwrap()
            .as_mut(),
        &ids,
        0,
    );
    let (first, second): (HashMap<_, _>, HashMap<_, _>) = weights
        .into_iter()
        .partition(|(name, _)| name.contains("layers.0.") || name.contains("embed"));
    let shards: Vec<PathBuf> = [first, second]
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let path = dir
                .path()
                .join(format!("model-0000{}-of-00002.safetensors", i + 1));
            candle_core::safetensors::save(part, &path).unwrap();
            path
        })
        .collect();
    let files = model_files(dir.path(), Weights::Safetensors(shards));
    let sharded = logits(load_cpu(&files).unwrap().as_mut(), &ids, 0);
    assert_eq!(whole, sharded);
}

#[test]
fn half_precision_checkpoints_load_into_f32_on_cpu() {
    let cfg = tiny_config(Family::Gemma3);
    let weights = tiny_weights(Family::Gemma3, &cfg);
    let ids = sample_ids(6);
    let dir = tempfile::tempdir().unwrap();
    let reference = logits(
        load_cpu(&write_safetensors(dir.path(), &cfg, &weights))
            .unwrap()
            .as_mut(),
        &ids,
        0,
    );
    for dtype in [candle_core::DType::F16, candle_core::DType::BF16] {
        let stored: HashMap<String, Tensor> = weights
            .iter()
            .map(|(k, v)| (k.clone(), v.to_dtype(dtype).unwrap()))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let mut model = load_cpu(&write_safetensors(dir.path(), &cfg, &stored)).unwrap();
        assert_eq!(model.info().dtype, "f32", "a CPU runs f32 by default");
        let got = logits(model.as_mut(), &ids, 0);
        let diff = max_abs_diff(&got, &reference);
        assert!(
            diff > 0.0 && diff < 0.1,
            "{dtype:?} weights moved logits by {diff}"
        );
    }
}

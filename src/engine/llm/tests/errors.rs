//! Bad input never panics: incomplete configs, corrupt or truncated weights, missing
//! tensors, foreign architectures and out-of-range requests give typed, named errors.

use super::*;
use crate::synth;

fn load_err(files: &ModelFiles) -> EngineError {
    match load_cpu(files) {
        Ok(_) => panic!("loading {} should fail", files.name),
        Err(e) => e,
    }
}

#[test]
fn missing_required_config_field_is_named() {
    for (family, field) in [
        (Family::Llama, "hidden_size"),
        (Family::Qwen2, "num_attention_heads"),
        (Family::Gemma3, "num_hidden_layers"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = tiny_config(family);
        cfg.as_object_mut().unwrap().remove(field);
        let files = write_safetensors(
            dir.path(),
            &cfg,
            &tiny_weights(family, &tiny_config(family)),
        );
        match load_err(&files) {
            EngineError::Config { path, message } => {
                assert!(path.ends_with("config.json"), "{path}");
                assert!(message.contains(field), "{message}");
            }
            other => panic!("expected a config error, got {other}"),
        }
    }
}

#[test]
fn unknown_architecture_lists_the_supported_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = tiny_config(Family::Llama);
    cfg["model_type"] = json!("mamba");
    let files = write_safetensors(
        dir.path(),
        &cfg,
        &tiny_weights(Family::Llama, &tiny_config(Family::Llama)),
    );
    let err = load_err(&files);
    assert!(
        matches!(err, EngineError::UnsupportedArchitecture { ref found, .. } if found == "mamba")
    );
    assert!(err.to_string().contains("qwen2, qwen3, llama and gemma3"));
}

#[test]
fn corrupt_or_truncated_safetensors_give_weights_errors() {
    let (dir, files) = tiny_model(Family::Qwen2);
    let path = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    for broken in [
        bytes[..bytes.len() / 2].to_vec(),
        b"not a safetensors file at all".to_vec(),
    ] {
        std::fs::write(&path, &broken).unwrap();
        match load_err(&files) {
            EngineError::Weights { path: p, .. } => assert!(p.ends_with("model.safetensors")),
            other => panic!("expected a weights error, got {other}"),
        }
    }
    let message = load_err(&files).to_string();
    assert!(message.contains("download it again"), "{message}");
}

#[test]
fn missing_tensor_and_wrong_shape_are_named() {
    let cfg = tiny_config(Family::Qwen3);
    let mut weights = tiny_weights(Family::Qwen3, &cfg);
    weights.remove("model.layers.1.self_attn.k_norm.weight");
    let dir = tempfile::tempdir().unwrap();
    let err = load_err(&write_safetensors(dir.path(), &cfg, &weights)).to_string();
    assert!(
        err.contains("model.layers.1.self_attn.k_norm.weight"),
        "{err}"
    );

    let mut cfg = tiny_config(Family::Qwen3);
    cfg["intermediate_size"] = json!(80);
    let dir = tempfile::tempdir().unwrap();
    let err = load_err(&write_safetensors(
        dir.path(),
        &cfg,
        &tiny_weights(Family::Qwen3, &tiny_config(Family::Qwen3)),
    ));
    assert!(matches!(err, EngineError::Weights { .. }), "{err}");
    assert!(err.to_string().contains("shape"), "{err}");
}

#[test]
fn broken_gguf_files_give_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.gguf");
    let shape = synth::Shape::tiny(synth::Arch::Qwen2);
    let template = synth::ModelTemplate::simple(synth::Family::Qwen);
    synth::write_gguf_model(&path, &shape, synth::GgufQuant::F32, 3, &template).unwrap();
    let files = model_files(dir.path(), crate::model::Weights::Gguf(path.clone()));
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 1000]).unwrap();
    assert!(matches!(load_err(&files), EngineError::Weights { .. }));
    std::fs::write(&path, &bytes[..200]).unwrap();
    assert!(matches!(load_err(&files), EngineError::Weights { .. }));
    // The same bytes claiming another architecture.
    let needle = b"qwen2.block_count";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    let arch_at = bytes.windows(5).position(|w| w == b"qwen2").unwrap();
    assert!(arch_at < at);
    let mut foreign = bytes.clone();
    foreign[arch_at..arch_at + 5].copy_from_slice(b"mamba");
    std::fs::write(&path, &foreign).unwrap();
    assert!(matches!(
        load_err(&files),
        EngineError::UnsupportedArchitecture { .. }
    ));
}

#[test]
fn requests_outside_the_model_are_refused() {
    let (_dir, mut files) = tiny_model(Family::Llama);
    files.context_length = Some(8);
    let mut model = load_cpu(&files).unwrap();
    assert!(matches!(
        model.forward(&sample_ids(9), 0),
        Err(EngineError::ContextOverflow {
            tokens: 9,
            context: 8
        })
    ));
    assert!(matches!(
        model.forward(&[500], 0),
        Err(EngineError::TokenOutOfRange {
            id: 500,
            vocab: 128
        })
    ));
    assert!(matches!(
        model.forward(&[], 0),
        Err(EngineError::EmptyPrompt)
    ));
    model.forward(&[1, 2, 3], 0).unwrap();
    assert!(matches!(
        model.forward(&[4], 5),
        Err(EngineError::CachePosition {
            requested: 5,
            cached: 3
        })
    ));
    model.forward(&[4], 3).unwrap();
}

#[test]
fn gguf_types_saar_cannot_run_are_named_and_the_message_lists_the_rest() {
    use crate::engine::kernels::quant::QuantKind;
    use crate::engine::llm::gguf_header::{self, TensorType};
    use crate::synth::gguf::writer::{write, RawTensor};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iq2.gguf");
    // IQ2_XXS: 66 bytes per 256 values.
    let tensor = RawTensor {
        name: "blk.0.attn_q.weight".into(),
        tensor_type: TensorType(16),
        dims: vec![2, 256],
        data: vec![0; 2 * 66],
    };
    write(&mut std::fs::File::create(&path).unwrap(), &[], &[tensor]).unwrap();
    let files = model_files(dir.path(), crate::model::Weights::Gguf(path));
    let err = load_err(&files);
    assert!(
        matches!(err, EngineError::UnsupportedQuantization { .. }),
        "{err}"
    );
    let message = err.to_string();
    assert!(message.contains("is IQ2_XXS"), "{message}");
    // The types the message offers are exactly those saar loads.
    let floats = [gguf_header::F32, gguf_header::F16, gguf_header::BF16];
    let runs = floats
        .into_iter()
        .chain(QuantKind::ALL.iter().map(|k| TensorType(k.gguf_type())));
    for t in runs {
        assert!(
            message.contains(&t.name()),
            "{} missing: {message}",
            t.name()
        );
    }
    let offered = message.split("saar runs:").nth(1).unwrap();
    assert!(!offered.contains("IQ2"), "{message}");
}

//! bf16 and f16 safetensors on saar's CPU kernels: the matrices stay 16-bit in memory
//! (no f32 copy of the model), activations run in f32, and the logits equal those of
//! the same weights widened to f32 (widening is exact, so only summation order differs).

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};

use super::*;
use crate::engine::kernels::{self, Backend};
use crate::engine::llm::hf_config::from_hf_config;
use crate::engine::llm::modules::Linear;
use crate::engine::llm::weights::{Part, WeightLoader};

fn converted(weights: &HashMap<String, Tensor>, dtype: DType) -> HashMap<String, Tensor> {
    weights
        .iter()
        .map(|(name, t)| (name.clone(), t.to_dtype(dtype).unwrap()))
        .collect()
}

#[test]
fn sixteen_bit_weights_give_the_logits_of_their_f32_widening() {
    for family in [Family::Qwen2, Family::Llama] {
        let cfg = tiny_config(family);
        let weights = tiny_weights(family, &cfg);
        for dtype in [DType::BF16, DType::F16] {
            let narrow = converted(&weights, dtype);
            let widened = converted(&narrow, DType::F32);
            let (narrow_dir, wide_dir) =
                (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            let narrow_files = write_safetensors(narrow_dir.path(), &cfg, &narrow);
            let wide_files = write_safetensors(wide_dir.path(), &cfg, &widened);
            let ids = [3u32, 17, 5, 99, 42, 8];
            let got = logits(load_cpu(&narrow_files).unwrap().as_mut(), &ids, 0);
            let want = logits(load_cpu(&wide_files).unwrap().as_mut(), &ids, 0);
            let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 1e-4 * scale,
                    "{family:?} {dtype:?}: {g} vs {w}"
                );
            }
        }
    }
}

#[test]
fn saar_kernels_keep_sixteen_bit_matrices_and_f32_norms() {
    if kernels::backend() != Backend::Saar {
        return; // SAAR_KERNELS=candle: candle's path converts, as it always did.
    }
    let family = Family::Qwen2;
    let cfg = tiny_config(family);
    let dir = tempfile::tempdir().unwrap();
    let files = write_safetensors(
        dir.path(),
        &cfg,
        &converted(&tiny_weights(family, &cfg), DType::BF16),
    );
    let config = from_hf_config(files.config.as_ref().unwrap()).unwrap();
    let mut loader =
        WeightLoader::open_dense(&files.weights, family, &Device::Cpu, DType::F32).unwrap();
    assert_eq!(loader.dtype(), DType::F32, "activations run in f32");
    let hidden = config.hidden_size;
    match loader.linear(Part::Q, 0, hidden, hidden, true).unwrap() {
        Linear::SaarDense { weight, bias } => {
            assert_eq!(weight.dtype(), DType::BF16);
            assert_eq!(bias.unwrap().dtype(), DType::F32);
        }
        other => panic!("expected saar's kernel, got {other:?}"),
    }
    let norm = loader.norm(Part::AttnNorm, 0, hidden, &config).unwrap();
    let x = Tensor::ones((1, 1, hidden), DType::F32, &Device::Cpu).unwrap();
    assert_eq!(norm.forward(&x).unwrap().dtype(), DType::F32);
}

#[test]
fn f16_gguf_gives_the_logits_of_f16_safetensors() {
    use crate::synth::{self, Arch, GgufQuant, ModelTemplate, Shape};
    for arch in [Arch::Qwen2, Arch::Llama] {
        let shape = Shape::tiny(arch);
        let template = ModelTemplate::simple(arch.family());
        let st_dir = tempfile::tempdir().unwrap();
        synth::write_safetensors_model(st_dir.path(), &shape, DType::F16, 5, &template).unwrap();
        let gguf_dir = tempfile::tempdir().unwrap();
        let gguf = gguf_dir.path().join("model.gguf");
        synth::write_gguf_model(&gguf, &shape, GgufQuant::F16, 5, &template).unwrap();
        let st_files = model_files(
            st_dir.path(),
            crate::model::Weights::Safetensors(vec![st_dir.path().join("model.safetensors")]),
        );
        let gguf_files = model_files(gguf_dir.path(), crate::model::Weights::Gguf(gguf));
        let ids = [3u32, 17, 5, 99, 42, 8];
        let want = logits(load_cpu(&st_files).unwrap().as_mut(), &ids, 0);
        let got = logits(load_cpu(&gguf_files).unwrap().as_mut(), &ids, 0);
        let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
        let diff = max_abs_diff(&got, &want);
        // The matrices are the same f16 values; only norms and biases differ (f32 in the
        // GGUF file, rounded to f16 in the safetensors one). Misread blocks differ by O(scale).
        assert!(
            diff > 0.0 && diff <= 1e-2 * scale,
            "{arch:?}: F16 GGUF logits differ by {diff} (scale {scale})"
        );
    }
}

//! Every GGUF quant type people download (Q2_K, Q3_K_S/M/L, IQ4_NL, IQ4_XS, and BF16
//! files) loads and generates through the engine, on saar's kernels and on candle's
//! path, from a tiny model whose matrices are wide enough for the 256-element types.
//!
//! One test in this binary: it switches the process-wide kernel backend.

use std::collections::BTreeSet;
use std::path::Path;

use candle_core::Device;
use saar::engine::generate::{generate, GenerationSettings};
use saar::engine::kernels::{set_backend, Backend};
use saar::engine::llm::gguf_header::read_header;
use saar::engine::{CausalLm, Placement};
use saar::model::{HubSettings, ModelFiles, ModelSpec};
use saar::synth::{write_gguf_model, Arch, GgufQuant, ModelTemplate, Shape};

fn model_files(path: &Path) -> ModelFiles {
    let spec = ModelSpec::parse(path.to_str().unwrap()).unwrap();
    let settings = HubSettings {
        offline: true,
        ..HubSettings::from_env()
    };
    saar::model::resolve(&spec, &settings).unwrap()
}

fn load(files: &ModelFiles, backend: Backend) -> Box<dyn CausalLm> {
    set_backend(backend);
    let placement = Placement {
        device: Device::Cpu,
        dtype: None,
    };
    saar::engine::llm::load(files, &placement).unwrap()
}

fn logits(model: &mut dyn CausalLm, ids: &[u32]) -> Vec<f32> {
    model.forward(ids, 0).unwrap().to_vec1().unwrap()
}

/// The largest difference relative to the largest magnitude of `want`.
fn relative_diff(got: &[f32], want: &[f32]) -> f32 {
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    let diff = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    diff / scale
}

/// The GGUF type names of the file's weight matrices.
fn matrix_types(path: &Path) -> BTreeSet<String> {
    let header = read_header(&mut std::fs::File::open(path).unwrap()).unwrap();
    header
        .tensors
        .values()
        .filter(|t| t.dims.len() == 2)
        .map(|t| t.tensor_type.name())
        .collect()
}

#[test]
fn every_downloaded_quant_type_loads_and_generates() {
    let shape = Shape::tiny_kquant(Arch::Qwen3);
    let template = ModelTemplate::simple(Arch::Qwen3.family());
    let dir = tempfile::tempdir().unwrap();
    let f32_path = dir.path().join("f32.gguf");
    write_gguf_model(&f32_path, &shape, GgufQuant::F32, 4, &template).unwrap();
    let ids = [3u32, 17, 5, 99, 42, 8, 77, 1];
    let reference = logits(load(&model_files(&f32_path), Backend::Saar).as_mut(), &ids);

    // The matrix types each file must hold (llama-quantize's mixes at this shape:
    // 2 layers, 2 query heads per kv head, untied head in Q6_K).
    let cases: [(GgufQuant, &[&str], f32); 7] = [
        (GgufQuant::Q2K, &["Q2_K", "Q3_K", "Q6_K"], 0.5),
        (GgufQuant::Q3KS, &["Q3_K", "Q6_K"], 0.3),
        (GgufQuant::Q3KM, &["Q3_K", "Q4_K", "Q5_K", "Q6_K"], 0.3),
        (GgufQuant::Q3KL, &["Q3_K", "Q5_K", "Q6_K"], 0.3),
        (GgufQuant::IQ4NL, &["IQ4_NL", "Q6_K"], 0.2),
        (GgufQuant::IQ4XS, &["IQ4_XS", "Q6_K"], 0.2),
        (GgufQuant::BF16, &["BF16"], 0.02),
    ];
    for (quant, types, tolerance) in cases {
        let path = dir.path().join(format!("{}.gguf", quant.name()));
        write_gguf_model(&path, &shape, quant, 4, &template).unwrap();
        let want: BTreeSet<String> = types.iter().map(|t| t.to_string()).collect();
        assert_eq!(matrix_types(&path), want, "{quant:?}");
        let files = model_files(&path);

        let mut saar = load(&files, Backend::Saar);
        assert_eq!(saar.info().dtype, quant.name());
        let ours = logits(saar.as_mut(), &ids);
        let candle = logits(load(&files, Backend::Candle).as_mut(), &ids);
        // The same quantized weights on two paths: they differ by how the activations
        // are rounded (8 bits on saar's kernels; candle's quantizes them for its
        // K-quant products, and runs IQ4 and BF16 as f32 weights).
        let paths = relative_diff(&ours, &candle);
        assert!(paths < 0.03, "{quant:?}: saar and candle differ by {paths}");
        // And the quantized model is the f32 model, within its type's error.
        let to_f32 = relative_diff(&ours, &reference);
        assert!(
            to_f32 > 0.0 && to_f32 < tolerance,
            "{quant:?}: {to_f32} from the f32 model"
        );

        let settings = GenerationSettings::greedy(6);
        let run = generate(saar.as_mut(), &ids, &settings, &mut |_| true).unwrap();
        assert_eq!(run.tokens.len(), 6, "{quant:?}");
        assert!(run.tokens.iter().all(|&t| (t as usize) < shape.vocab));
    }
    set_backend(Backend::Saar);
}

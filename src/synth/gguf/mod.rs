//! GGUF output: an HF-layout model (config, tokenizer files, named tensors) turned
//! into one GGUF file the way llama.cpp's `convert_hf_to_gguf.py` does it, plus
//! `llama-quantize`'s type mixes (Q4_K_M, Q2_K, Q3_K_S/M/L, IQ4_NL, IQ4_XS). Synthetic models and converted HF
//! folders both go through [`write_gguf`].

mod metadata;
mod names;
mod quant;
mod vocab;
pub(crate) mod writer;

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde_json::Value;

pub(crate) use quant::quantize_owned;
pub use quant::GgufQuant;

use super::safetensors_io::SafetensorsDir;
use super::weights::TensorSource;
use super::{Arch, SynthError};
use metadata::{full_attention_rope, model_metadata, rope_parameters, ArchParams};
use names::{plan_tensors, PlannedTensor};
use quant::{quantize, tensor_type, TensorContext};
use vocab::tokenizer_metadata;
use writer::RawTensor;

/// An HF model as the converter reads it.
pub struct HfModel<'a> {
    /// `general.name`.
    pub name: String,
    /// Where the model came from, for error messages.
    pub origin: PathBuf,
    pub config: Value,
    pub tokenizer: Value,
    pub tokenizer_config: Value,
    /// A separate `chat_template.jinja`, which wins over `tokenizer_config.json`'s.
    pub chat_template: Option<String>,
    pub tensors: &'a dyn TensorSource,
}

impl HfModel<'_> {
    fn invalid(&self, message: impl Into<String>) -> SynthError {
        SynthError::invalid(&self.origin, message)
    }
}

/// Reorders the rows of a llama q/k projection (or bias) from the HF "rotate half"
/// layout to the interleaved pairs llama.cpp's rope expects: within each head, row
/// `h * head_dim / 2 + j` moves to `2 * j + h`. This is llama.cpp's
/// `LlamaModel.permute`; pass the head count of the projection (kv heads for k).
pub fn permute_for_interleaved_rope(weights: &Tensor, heads: usize) -> Result<Tensor, SynthError> {
    let dims = weights.dims().to_vec();
    let rows = dims.first().copied().unwrap_or(0);
    if heads == 0 || !rows.is_multiple_of(2 * heads) {
        return Err(SynthError::Shape(format!(
            "cannot split {rows} rows into {heads} heads of rotary pairs"
        )));
    }
    let mut split = vec![heads, 2, rows / heads / 2];
    split.extend_from_slice(&dims[1..]);
    Ok(weights
        .reshape(split)?
        .transpose(1, 2)?
        .contiguous()?
        .reshape(dims)?)
}

/// Writes `model` to `path` as GGUF with weights in `quant`.
pub fn write_gguf(model: &HfModel, quant: GgufQuant, path: &Path) -> Result<(), SynthError> {
    let params = ArchParams::read(model)?;
    let mut metadata = model_metadata(model, &params, quant)?;
    metadata.extend(tokenizer_metadata(model)?);

    let plan = plan_tensors(&model.tensors.names(), params.arch)?;
    let has_output = plan.iter().any(|t| t.gguf_name == "output.weight");
    let mut tensors: Vec<RawTensor> = Vec::with_capacity(plan.len() + 1);
    for planned in &plan {
        let tensor = transform(
            model,
            &params,
            planned,
            model.tensors.load(&planned.hf_name)?,
        )?;
        let tensor_type = tensor_type(
            quant,
            &TensorContext {
                gguf_name: &planned.gguf_name,
                dims: tensor.dims(),
                block: planned.block,
                layers: params.layers,
                has_output,
                gqa: params.heads / params.kv_heads.max(1),
            },
        );
        tensors.push(RawTensor {
            name: planned.gguf_name.clone(),
            tensor_type,
            dims: tensor.dims().to_vec(),
            data: quantize(&tensor, tensor_type)?,
        });
    }
    if let Some(factors) = llama3_rope_factors(&model.config, &params)? {
        let len = factors.len();
        let tensor = Tensor::from_vec(factors, len, &Device::Cpu)?;
        tensors.push(RawTensor {
            name: "rope_freqs.weight".into(),
            tensor_type: crate::engine::llm::gguf_header::F32,
            dims: vec![len],
            data: quantize(&tensor, crate::engine::llm::gguf_header::F32)?,
        });
    }

    write_file(path, &metadata, &tensors)
}

/// A vocabulary-only GGUF (no tensors), as llama.cpp's `ggml-vocab-*.gguf` test files:
/// the tokenizer metadata of `tokenizer` / `tokenizer_config`, with `tokenizer.ggml.pre`
/// set to `pre` when given (synthetic tokenizers match none of llama.cpp's hashes).
pub fn write_vocab_gguf(
    tokenizer: &Value,
    tokenizer_config: &Value,
    pre: Option<&str>,
    path: &Path,
) -> Result<(), SynthError> {
    struct NoTensors;
    impl TensorSource for NoTensors {
        fn names(&self) -> Vec<String> {
            Vec::new()
        }
        fn dims(&self, name: &str) -> Result<Vec<usize>, SynthError> {
            Err(SynthError::Shape(format!("no tensor {name}")))
        }
        fn load(&self, name: &str) -> Result<Tensor, SynthError> {
            Err(SynthError::Shape(format!("no tensor {name}")))
        }
    }
    let model = HfModel {
        name: "vocab".into(),
        origin: path.to_path_buf(),
        config: serde_json::json!({}),
        tokenizer: tokenizer.clone(),
        tokenizer_config: tokenizer_config.clone(),
        chat_template: None,
        tensors: &NoTensors,
    };
    let mut metadata = tokenizer_metadata(&model)?;
    if let Some(pre) = pre {
        for (key, value) in &mut metadata {
            if key == "tokenizer.ggml.pre" {
                *value = candle_core::quantized::gguf_file::Value::String(pre.to_string());
            }
        }
    }
    write_file(path, &metadata, &[])
}

fn write_file(
    path: &Path,
    metadata: &[(String, candle_core::quantized::gguf_file::Value)],
    tensors: &[RawTensor],
) -> Result<(), SynthError> {
    let file = std::fs::File::create(path).map_err(|e| SynthError::io(path, e))?;
    let mut out = BufWriter::new(file);
    writer::write(&mut out, metadata, tensors).map_err(|e| SynthError::io(path, e))?;
    out.flush().map_err(|e| SynthError::io(path, e))
}

/// What llama.cpp's converter changes in a tensor besides its name and type.
fn transform(
    model: &HfModel,
    params: &ArchParams,
    planned: &PlannedTensor,
    tensor: Tensor,
) -> Result<Tensor, SynthError> {
    let name = planned.hf_name.as_str();
    match params.arch {
        // llama.cpp's llama graph uses interleaved rope; HF stores rotate-half.
        Arch::Llama if name.ends_with("q_proj.weight") || name.ends_with("q_proj.bias") => {
            permute_for_interleaved_rope(&tensor, params.heads)
        }
        Arch::Llama if name.ends_with("k_proj.weight") || name.ends_with("k_proj.bias") => {
            permute_for_interleaved_rope(&tensor, params.kv_heads)
        }
        Arch::Gemma3 if name == "model.embed_tokens.weight" => {
            // llama.cpp drops embedding rows beyond the tokenizer's real vocabulary.
            let real = real_vocab_size(model);
            let rows = tensor.dims().first().copied().unwrap_or(0);
            Ok(if real > 0 && real < rows {
                tensor.narrow(0, 0, real)?
            } else {
                tensor
            })
        }
        // Gemma3's RMSNorm scales by (1 + weight); llama.cpp stores 1 + weight.
        Arch::Gemma3 if name.ends_with("norm.weight") => Ok((tensor + 1.0)?),
        _ => Ok(tensor),
    }
}

/// `len(model.vocab) + len(added_tokens)` of tokenizer.json, as llama.cpp counts it.
fn real_vocab_size(model: &HfModel) -> usize {
    let count = |pointer: &str| {
        model.tokenizer.pointer(pointer).map_or(0, |v| {
            v.as_object()
                .map(|o| o.len())
                .or(v.as_array().map(|a| a.len()))
                .unwrap_or(0)
        })
    };
    count("/model/vocab") + count("/added_tokens")
}

/// The `rope_freqs` tensor llama.cpp adds for Llama-3.1-style rope scaling.
fn llama3_rope_factors(
    config: &Value,
    params: &ArchParams,
) -> Result<Option<Vec<f32>>, SynthError> {
    if params.arch != Arch::Llama {
        return Ok(None);
    }
    let all_rope = rope_parameters(config);
    let rope = full_attention_rope(&all_rope);
    let is_llama3 = rope
        .get("rope_type")
        .and_then(Value::as_str)
        .is_some_and(|kind| kind.eq_ignore_ascii_case("llama3"));
    if !is_llama3 {
        return Ok(None);
    }
    let number = |map: &serde_json::Map<String, Value>, key: &str, default: f64| {
        map.get(key).and_then(Value::as_f64).unwrap_or(default)
    };
    let base = number(rope, "rope_theta", 10_000.0) as f32;
    let hidden = config
        .get("hidden_size")
        .and_then(Value::as_u64)
        .unwrap_or(0) as usize;
    let dim = config
        .get("head_dim")
        .and_then(Value::as_u64)
        .map_or(hidden / params.heads.max(1), |d| d as usize);
    let factor = number(rope, "factor", 8.0) as f32;
    let low_freq_factor = number(rope, "low_freq_factor", 1.0) as f32;
    let high_freq_factor = number(rope, "high_freq_factor", 4.0) as f32;
    // The rope block's value first, as transformers uses it; llama.cpp reads only the
    // top level, which agrees for every released Llama 3 (both are 8192).
    let top_level = config.as_object().map_or(8192.0, |top| {
        number(top, "original_max_position_embeddings", 8192.0)
    });
    let old_context = number(rope, "original_max_position_embeddings", top_level) as f32;
    let low_freq_wavelen = old_context / low_freq_factor;
    let high_freq_wavelen = old_context / high_freq_factor;
    let factors = (0..dim)
        .step_by(2)
        .map(|i| {
            let freq = 1.0 / base.powf(i as f32 / dim as f32);
            let wavelen = 2.0 * std::f32::consts::PI / freq;
            if wavelen < high_freq_wavelen {
                1.0
            } else if wavelen > low_freq_wavelen {
                factor
            } else {
                let smooth = (old_context / wavelen - low_freq_factor)
                    / (high_freq_factor - low_freq_factor);
                1.0 / ((1.0 - smooth) / factor + smooth)
            }
        })
        .collect();
    Ok(Some(factors))
}

/// Converts the HF folder `dir` to a GGUF file at `out`.
pub fn convert_dir(dir: &Path, out: &Path, quant: GgufQuant) -> Result<(), SynthError> {
    let tensors = SafetensorsDir::open(dir)?;
    let mut config = read_json(&dir.join("config.json"))?;
    // Multimodal configs nest the language model's settings; llama.cpp lifts them.
    if let Some(Value::Object(text)) = config.get("text_config").cloned() {
        if let Value::Object(root) = &mut config {
            root.extend(text);
        }
    }
    let tokenizer_config_path = dir.join("tokenizer_config.json");
    let tokenizer_config = if tokenizer_config_path.is_file() {
        read_json(&tokenizer_config_path)?
    } else {
        Value::Object(Default::default())
    };
    let template_path = dir.join("chat_template.jinja");
    let chat_template = if template_path.is_file() {
        Some(
            std::fs::read_to_string(&template_path)
                .map_err(|e| SynthError::io(&template_path, e))?,
        )
    } else {
        None
    };
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|path| path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "model".into());
    let model = HfModel {
        name,
        origin: dir.to_path_buf(),
        config,
        tokenizer: read_json(&dir.join("tokenizer.json"))?,
        tokenizer_config,
        chat_template,
        tensors: &tensors,
    };
    write_gguf(&model, quant, out)
}

fn read_json(path: &Path) -> Result<Value, SynthError> {
    let text = std::fs::read_to_string(path).map_err(|e| SynthError::io(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| SynthError::invalid(path, format!("not valid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(tensor: &Tensor) -> Vec<f32> {
        tensor.flatten_all().unwrap().to_vec1().unwrap()
    }

    /// The inverse of the permutation: interleaved pairs back to rotate-half.
    fn unpermute(weights: &Tensor, heads: usize) -> Tensor {
        let dims = weights.dims().to_vec();
        let mut split = vec![heads, dims[0] / heads / 2, 2];
        split.extend_from_slice(&dims[1..]);
        weights
            .reshape(split)
            .unwrap()
            .transpose(1, 2)
            .unwrap()
            .contiguous()
            .unwrap()
            .reshape(dims)
            .unwrap()
    }

    #[test]
    fn permutation_interleaves_the_halves_of_each_head() {
        // Two heads of head_dim 4, one column: row r holds r.
        let weights = Tensor::arange(0f32, 8.0, &Device::Cpu)
            .unwrap()
            .reshape((8, 1))
            .unwrap();
        let permuted = permute_for_interleaved_rope(&weights, 2).unwrap();
        assert_eq!(rows(&permuted), [0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0]);
        // One head of head_dim 6: [a0 a1 a2 | b0 b1 b2] becomes [a0 b0 a1 b1 a2 b2].
        let weights = Tensor::arange(0f32, 6.0, &Device::Cpu).unwrap();
        assert_eq!(
            rows(&permute_for_interleaved_rope(&weights, 1).unwrap()),
            [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
        );
    }

    #[test]
    fn permutation_is_undone_by_its_inverse() {
        let weights = Tensor::arange(0f32, 48.0, &Device::Cpu)
            .unwrap()
            .reshape((12, 4))
            .unwrap();
        let permuted = permute_for_interleaved_rope(&weights, 3).unwrap();
        assert_ne!(rows(&permuted), rows(&weights));
        assert_eq!(rows(&unpermute(&permuted, 3)), rows(&weights));
        assert_eq!(
            rows(&permute_for_interleaved_rope(&unpermute(&weights, 3), 3).unwrap()),
            rows(&weights)
        );
    }

    #[test]
    fn permutation_refuses_rows_that_do_not_split() {
        let weights = Tensor::zeros((6, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
        assert!(permute_for_interleaved_rope(&weights, 2).is_err());
    }

    #[test]
    fn llama3_rope_factors_follow_the_three_bands() {
        let config = serde_json::json!({
            "model_type": "llama", "hidden_size": 64, "num_attention_heads": 2, "rope_theta": 500000.0,
            "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                             "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}
        });
        let params = ArchParams {
            arch: Arch::Llama,
            layers: 1,
            heads: 2,
            kv_heads: 2,
        };
        let factors = llama3_rope_factors(&config, &params).unwrap().unwrap();
        assert_eq!(factors.len(), 16);
        // Fast-turning dimensions are untouched, the slowest are divided by the full factor.
        assert_eq!(factors[0], 1.0);
        assert_eq!(factors[15], 32.0);
        assert!(factors.windows(2).all(|pair| pair[0] <= pair[1]));
    }
}

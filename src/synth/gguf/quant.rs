//! Which GGML type each tensor gets, following `convert_hf_to_gguf.py --outtype`
//! for F32/F16/Q8_0 and `llama-quantize` (no imatrix) for Q4_K_M, and the
//! quantization itself, spread over the cores row by row.

use std::borrow::Cow;
use std::str::FromStr;

use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::{Device, Tensor};

use crate::synth::SynthError;

/// Rows above this many elements are split across threads when quantizing.
const PARALLEL_MIN_ELEMENTS: usize = 1 << 20;

/// Weight format of a GGUF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgufQuant {
    F32,
    F16,
    Q8_0,
    /// llama.cpp's Q4_K_M mix: Q4_K, with Q6_K for the output head and for
    /// `attn_v`/`ffn_down` in about half the layers.
    Q4KM,
}

impl GgufQuant {
    pub const ALL: [GgufQuant; 4] = [
        GgufQuant::F32,
        GgufQuant::F16,
        GgufQuant::Q8_0,
        GgufQuant::Q4KM,
    ];

    /// llama.cpp's `general.file_type` (`LLAMA_FTYPE_*`).
    pub fn file_type(self) -> u32 {
        match self {
            GgufQuant::F32 => 0,
            GgufQuant::F16 => 1,
            GgufQuant::Q8_0 => 7,
            GgufQuant::Q4KM => 15,
        }
    }

    /// The name llama.cpp tools and file names use.
    pub fn name(self) -> &'static str {
        match self {
            GgufQuant::F32 => "f32",
            GgufQuant::F16 => "f16",
            GgufQuant::Q8_0 => "q8_0",
            GgufQuant::Q4KM => "q4_k_m",
        }
    }
}

impl FromStr for GgufQuant {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        GgufQuant::ALL
            .into_iter()
            .find(|quant| quant.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| format!("unknown GGUF type `{text}`: use f32, f16, q8_0 or q4_k_m"))
    }
}

/// Where a tensor sits, as the type rules need to know.
pub struct TensorContext<'a> {
    pub gguf_name: &'a str,
    pub dims: &'a [usize],
    pub block: Option<usize>,
    pub layers: usize,
    /// Whether the file has a separate `output.weight` (else the embedding is the head).
    pub has_output: bool,
}

/// The GGML type of one tensor.
pub fn tensor_type(quant: GgufQuant, tensor: &TensorContext) -> GgmlDType {
    let name = tensor.gguf_name;
    // Norms, biases and 1-D tensors stay f32 in every llama.cpp file.
    if tensor.dims.len() <= 1 || name.ends_with("_norm.weight") || !name.ends_with(".weight") {
        return GgmlDType::F32;
    }
    let row = tensor.dims.last().copied().unwrap_or(0);
    match quant {
        GgufQuant::F32 => GgmlDType::F32,
        GgufQuant::F16 => GgmlDType::F16,
        GgufQuant::Q8_0 => fit(GgmlDType::Q8_0, row),
        GgufQuant::Q4KM => q4_k_m_type(tensor, row),
    }
}

/// `llama_tensor_get_type` for `LLAMA_FTYPE_MOSTLY_Q4_K_M`.
fn q4_k_m_type(tensor: &TensorContext, row: usize) -> GgmlDType {
    let name = tensor.gguf_name;
    let is_head = name == "output.weight" || (!tensor.has_output && name == "token_embd.weight");
    if is_head {
        return if !row.is_multiple_of(GgmlDType::Q4K.block_size()) {
            GgmlDType::Q8_0
        } else {
            GgmlDType::Q6K
        };
    }
    let layer = tensor.block.unwrap_or(0);
    let more_bits = use_more_bits(layer, tensor.layers);
    let chosen =
        if (name.ends_with("attn_v.weight") || name.ends_with("ffn_down.weight")) && more_bits {
            GgmlDType::Q6K
        } else {
            GgmlDType::Q4K
        };
    fit(chosen, row)
}

/// llama.cpp's `use_more_bits`: the first and last eighth of the layers, and
/// every third layer in between.
pub fn use_more_bits(layer: usize, layers: usize) -> bool {
    let eighth = layers / 8;
    // Short-circuiting keeps `layer - eighth` from underflowing.
    layer < eighth || layer >= 7 * layers / 8 || (layer - eighth) % 3 == 2
}

/// llama.cpp's fallback when a row is not a whole number of blocks.
fn fit(chosen: GgmlDType, row: usize) -> GgmlDType {
    if row.is_multiple_of(chosen.block_size()) {
        return chosen;
    }
    let fallback = match chosen {
        GgmlDType::Q4K => GgmlDType::Q5_0,
        GgmlDType::Q6K => GgmlDType::Q8_0,
        other => other,
    };
    if row.is_multiple_of(fallback.block_size()) {
        fallback
    } else {
        GgmlDType::F16
    }
}

/// Quantizes a 2-D (or 1-D) f32 tensor, large ones in row bands on every core.
/// Blocks never span rows, so the bands' bytes concatenate into the whole.
pub fn quantize(tensor: &Tensor, dtype: GgmlDType) -> Result<QTensor, SynthError> {
    let dims = tensor.dims();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if dims.len() != 2 || tensor.elem_count() < PARALLEL_MIN_ELEMENTS || threads == 1 {
        return quantize_owned(tensor, dtype);
    }
    let rows = dims[0];
    let band = rows.div_ceil(threads);
    let bands: Vec<Result<Vec<u8>, SynthError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..rows)
            .step_by(band)
            .map(|start| {
                let len = band.min(rows - start);
                scope.spawn(move || -> Result<Vec<u8>, SynthError> {
                    let part = tensor.narrow(0, start, len)?;
                    Ok(quantize_owned(&part, dtype)?.data()?.into_owned())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle.join().unwrap_or_else(|_| {
                    Err(SynthError::Shape("a quantization thread failed".into()))
                })
            })
            .collect()
    });
    let mut bytes = Vec::new();
    for band in bands {
        bytes.extend_from_slice(&band?);
    }
    let storage = QStorage::from_data(Cow::Owned(bytes), &Device::Cpu, dtype)?;
    Ok(QTensor::new(storage, dims)?)
}

/// `QTensor::quantize` reads the tensor's whole backing storage, ignoring a view's
/// offset and length, so views (narrowed rows) are copied into their own first.
pub fn quantize_owned(tensor: &Tensor, dtype: GgmlDType) -> Result<QTensor, SynthError> {
    Ok(QTensor::quantize(&tensor.force_contiguous()?, dtype)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context<'a>(name: &'a str, dims: &'a [usize], block: Option<usize>) -> TensorContext<'a> {
        TensorContext {
            gguf_name: name,
            dims,
            block,
            layers: 24,
            has_output: false,
        }
    }

    #[test]
    fn more_bits_matches_llama_cpp_for_24_layers() {
        let layers: Vec<usize> = (0..24).filter(|&l| use_more_bits(l, 24)).collect();
        // n/8 = 3: layers 0..3, 21..24, and 3 + 2, 3 + 5, ... in between.
        assert_eq!(layers, [0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23]);
    }

    #[test]
    fn q4_k_m_falls_back_like_llama_cpp_for_qwen2_5_0_5b() {
        let quant = GgufQuant::Q4KM;
        // 896 wide rows are not whole K-quant blocks.
        assert_eq!(
            tensor_type(quant, &context("blk.4.attn_q.weight", &[896, 896], Some(4))),
            GgmlDType::Q5_0
        );
        assert_eq!(
            tensor_type(quant, &context("blk.5.attn_v.weight", &[128, 896], Some(5))),
            GgmlDType::Q8_0
        );
        assert_eq!(
            tensor_type(quant, &context("token_embd.weight", &[151_936, 896], None)),
            GgmlDType::Q8_0
        );
        // 4864 = 19 * 256.
        assert_eq!(
            tensor_type(
                quant,
                &context("blk.4.ffn_down.weight", &[896, 4864], Some(4))
            ),
            GgmlDType::Q4K
        );
        assert_eq!(
            tensor_type(
                quant,
                &context("blk.5.ffn_down.weight", &[896, 4864], Some(5))
            ),
            GgmlDType::Q6K
        );
        assert_eq!(
            tensor_type(quant, &context("blk.5.attn_norm.weight", &[896], Some(5))),
            GgmlDType::F32
        );
        assert_eq!(
            tensor_type(quant, &context("blk.5.attn_q.bias", &[896], Some(5))),
            GgmlDType::F32
        );
        // Rows of 40 are not whole Q5_0 blocks either.
        assert_eq!(
            tensor_type(quant, &context("blk.5.attn_q.weight", &[40, 40], Some(5))),
            GgmlDType::F16
        );
    }

    #[test]
    fn parallel_quantization_matches_serial() {
        let values: Vec<f32> = (0..4096 * 512)
            .map(|i| ((i % 977) as f32 - 488.0) / 977.0)
            .collect();
        let tensor = Tensor::from_vec(values, (4096, 512), &Device::Cpu).unwrap();
        let parallel = quantize(&tensor, GgmlDType::Q4K).unwrap();
        let serial = QTensor::quantize(&tensor, GgmlDType::Q4K).unwrap();
        assert_eq!(parallel.shape().dims(), serial.shape().dims());
        assert_eq!(parallel.data().unwrap(), serial.data().unwrap());
    }

    #[test]
    fn names_parse_back() {
        for quant in GgufQuant::ALL {
            assert_eq!(quant.name().parse::<GgufQuant>().unwrap(), quant);
        }
        assert!("q4_0".parse::<GgufQuant>().is_err());
    }
}

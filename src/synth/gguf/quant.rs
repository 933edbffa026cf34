//! Which GGML type each tensor gets, following `convert_hf_to_gguf.py --outtype`
//! for F32/F16/BF16/Q8_0 and `llama-quantize` (no imatrix) for the K-quant and IQ4
//! mixes, and the quantization itself, spread over the cores row by row: candle's
//! quantizers for the types it has, saar's own for IQ4_NL and IQ4_XS.

use std::str::FromStr;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::Tensor;

use crate::engine::kernels::quant::blocks_iq4::{block_bytes, quantize_iq4_nl, quantize_iq4_xs};
use crate::engine::kernels::quant::QuantKind;
use crate::engine::llm::gguf_header::{self, TensorType};
use crate::synth::SynthError;

/// Rows above this many elements are split across threads when quantizing.
const PARALLEL_MIN_ELEMENTS: usize = 1 << 20;

/// Weight format of a GGUF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgufQuant {
    F32,
    F16,
    BF16,
    Q8_0,
    /// llama.cpp's Q4_K_M mix: Q4_K, with Q6_K for the output head and for
    /// `attn_v`/`ffn_down` in about half the layers.
    Q4KM,
    /// Q2_K, with Q3_K for `ffn_down` and `attn_output` (Q4_K or Q3_K for `attn_v`).
    Q2K,
    /// Q3_K throughout (Q6_K head).
    Q3KS,
    /// Q3_K, with Q4_K/Q5_K for `attn_v`, `ffn_down` and `attn_output`.
    Q3KM,
    /// Q3_K, with Q5_K for `attn_v`, `ffn_down` and `attn_output`.
    Q3KL,
    IQ4NL,
    IQ4XS,
}

const fn kind(kind: QuantKind) -> TensorType {
    TensorType(kind.gguf_type())
}

const Q2_K: TensorType = kind(QuantKind::Q2K);
const Q3_K: TensorType = kind(QuantKind::Q3K);
const Q4_K: TensorType = kind(QuantKind::Q4K);
const Q5_K: TensorType = kind(QuantKind::Q5K);
const Q6_K: TensorType = kind(QuantKind::Q6K);
const Q8_0: TensorType = kind(QuantKind::Q8_0);
const IQ4_NL: TensorType = kind(QuantKind::IQ4NL);

impl GgufQuant {
    pub const ALL: [GgufQuant; 11] = [
        GgufQuant::F32,
        GgufQuant::F16,
        GgufQuant::BF16,
        GgufQuant::Q8_0,
        GgufQuant::Q4KM,
        GgufQuant::Q2K,
        GgufQuant::Q3KS,
        GgufQuant::Q3KM,
        GgufQuant::Q3KL,
        GgufQuant::IQ4NL,
        GgufQuant::IQ4XS,
    ];

    /// llama.cpp's `general.file_type` (`LLAMA_FTYPE_*`).
    pub fn file_type(self) -> u32 {
        match self {
            GgufQuant::F32 => 0,
            GgufQuant::F16 => 1,
            GgufQuant::BF16 => 32,
            GgufQuant::Q8_0 => 7,
            GgufQuant::Q4KM => 15,
            GgufQuant::Q2K => 10,
            GgufQuant::Q3KS => 11,
            GgufQuant::Q3KM => 12,
            GgufQuant::Q3KL => 13,
            GgufQuant::IQ4NL => 25,
            GgufQuant::IQ4XS => 30,
        }
    }

    /// The name llama.cpp tools and file names use.
    pub fn name(self) -> &'static str {
        match self {
            GgufQuant::F32 => "f32",
            GgufQuant::F16 => "f16",
            GgufQuant::BF16 => "bf16",
            GgufQuant::Q8_0 => "q8_0",
            GgufQuant::Q4KM => "q4_k_m",
            GgufQuant::Q2K => "q2_k",
            GgufQuant::Q3KS => "q3_k_s",
            GgufQuant::Q3KM => "q3_k_m",
            GgufQuant::Q3KL => "q3_k_l",
            GgufQuant::IQ4NL => "iq4_nl",
            GgufQuant::IQ4XS => "iq4_xs",
        }
    }

    /// The type of the file's weight matrices before the mix's exceptions
    /// (`llama_ftype_get_default_type`).
    fn default_type(self) -> TensorType {
        match self {
            GgufQuant::F32 => gguf_header::F32,
            GgufQuant::F16 => gguf_header::F16,
            GgufQuant::BF16 => gguf_header::BF16,
            GgufQuant::Q8_0 => Q8_0,
            GgufQuant::Q4KM => Q4_K,
            GgufQuant::Q2K => Q2_K,
            GgufQuant::Q3KS | GgufQuant::Q3KM | GgufQuant::Q3KL => Q3_K,
            GgufQuant::IQ4NL => IQ4_NL,
            GgufQuant::IQ4XS => kind(QuantKind::IQ4XS),
        }
    }
}

impl FromStr for GgufQuant {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        GgufQuant::ALL
            .into_iter()
            .find(|quant| quant.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                let names: Vec<&str> = GgufQuant::ALL.iter().map(|q| q.name()).collect();
                format!("unknown GGUF type `{text}`: use {}", names.join(", "))
            })
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
    /// Query heads per key/value head (llama.cpp's `n_gqa`).
    pub gqa: usize,
}

/// The GGML type of one tensor (`llama_tensor_get_type` without an imatrix).
pub fn tensor_type(quant: GgufQuant, tensor: &TensorContext) -> TensorType {
    let name = tensor.gguf_name;
    // Norms, biases and 1-D tensors stay f32 in every llama.cpp file.
    if tensor.dims.len() <= 1 || name.ends_with("_norm.weight") || !name.ends_with(".weight") {
        return gguf_header::F32;
    }
    let row = tensor.dims.last().copied().unwrap_or(0);
    let default = quant.default_type();
    if default.quant_kind().is_none() {
        return default;
    }
    let is_head = name == "output.weight" || (!tensor.has_output && name == "token_embd.weight");
    let chosen = if is_head {
        if !row.is_multiple_of(block_size(default)) {
            Q8_0
        } else if default != Q8_0 {
            Q6_K
        } else {
            default
        }
    } else {
        mix_exception(quant, tensor).unwrap_or(default)
    };
    fit(chosen, row)
}

/// The mixes' exceptions for `attn_v`, `ffn_down` and `attn_output` (non-Falcon models
/// without experts).
fn mix_exception(quant: GgufQuant, tensor: &TensorContext) -> Option<TensorType> {
    let name = tensor.gguf_name;
    let layer = tensor.block.unwrap_or(0);
    let layers = tensor.layers;
    use GgufQuant::*;
    if name.ends_with("attn_v.weight") {
        match quant {
            Q2K if tensor.gqa >= 4 => Some(Q4_K),
            Q2K => Some(Q3_K),
            Q3KM if layer < 2 => Some(Q5_K),
            Q3KM => Some(Q4_K),
            Q3KL => Some(Q5_K),
            IQ4NL | IQ4XS if tensor.gqa >= 4 => Some(Q5_K),
            Q4KM if use_more_bits(layer, layers) => Some(Q6_K),
            _ => None,
        }
    } else if name.ends_with("ffn_down.weight") {
        match quant {
            Q2K => Some(Q3_K),
            Q3KM if layer < layers / 16 => Some(Q5_K),
            Q3KM => Some(Q4_K),
            Q3KL => Some(Q5_K),
            Q4KM if use_more_bits(layer, layers) => Some(Q6_K),
            IQ4NL | IQ4XS if layer < layers / 8 => Some(Q5_K),
            _ => None,
        }
    } else if name.ends_with("attn_output.weight") {
        match quant {
            Q2K => Some(Q3_K),
            Q3KM => Some(Q4_K),
            Q3KL => Some(Q5_K),
            _ => None,
        }
    } else {
        None
    }
}

/// llama.cpp's `use_more_bits`: the first and last eighth of the layers, and
/// every third layer in between.
pub fn use_more_bits(layer: usize, layers: usize) -> bool {
    let eighth = layers / 8;
    // Short-circuiting keeps `layer - eighth` from underflowing.
    layer < eighth || layer >= 7 * layers / 8 || (layer - eighth) % 3 == 2
}

fn block_size(t: TensorType) -> usize {
    t.layout().map_or(1, |(block, _)| block)
}

/// llama.cpp's fallback when a row is not a whole number of blocks
/// (`tensor_type_fallback`).
fn fit(chosen: TensorType, row: usize) -> TensorType {
    if row.is_multiple_of(block_size(chosen)) {
        return chosen;
    }
    let fallback = match chosen.quant_kind() {
        Some(QuantKind::Q2K | QuantKind::Q3K) => kind(QuantKind::Q4_0),
        Some(QuantKind::IQ4XS) => IQ4_NL,
        Some(QuantKind::Q4K) => kind(QuantKind::Q5_0),
        Some(QuantKind::Q5K) => kind(QuantKind::Q5_1),
        Some(QuantKind::Q6K) => Q8_0,
        _ => chosen,
    };
    if row.is_multiple_of(block_size(fallback)) {
        fallback
    } else {
        gguf_header::F16
    }
}

/// Quantizes a 2-D (or 1-D) f32 tensor to the raw bytes of type `t`, large ones in
/// row bands on every core. Blocks never span rows, so the bands' bytes concatenate
/// into the whole.
pub fn quantize(tensor: &Tensor, t: TensorType) -> Result<Vec<u8>, SynthError> {
    let dims = tensor.dims();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if dims.len() != 2 || tensor.elem_count() < PARALLEL_MIN_ELEMENTS || threads == 1 {
        return quantize_band(tensor, t);
    }
    let rows = dims[0];
    let band = rows.div_ceil(threads);
    let bands: Vec<Result<Vec<u8>, SynthError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..rows)
            .step_by(band)
            .map(|start| {
                let len = band.min(rows - start);
                scope.spawn(move || quantize_band(&tensor.narrow(0, start, len)?, t))
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
    Ok(bytes)
}

/// One band's bytes: candle's quantizer where candle has the type, saar's otherwise.
fn quantize_band(tensor: &Tensor, t: TensorType) -> Result<Vec<u8>, SynthError> {
    if let Some(dtype) = t.candle() {
        return Ok(quantize_owned(tensor, dtype)?.data()?.into_owned());
    }
    let values = tensor.flatten_all()?.to_vec1::<f32>()?;
    let row = tensor.dims().last().copied().unwrap_or(0);
    let (block, _) = t
        .layout()
        .ok_or_else(|| SynthError::Shape(format!("cannot write {} tensors", t.name())))?;
    if row == 0 || !row.is_multiple_of(block) {
        return Err(SynthError::Shape(format!(
            "rows of {row} values are not whole {} blocks",
            t.name()
        )));
    }
    match t.quant_kind() {
        Some(QuantKind::IQ4NL) => Ok(block_bytes(&quantize_iq4_nl(&values))),
        Some(QuantKind::IQ4XS) => Ok(block_bytes(&quantize_iq4_xs(&values))),
        _ => Err(SynthError::Shape(format!(
            "cannot write {} tensors",
            t.name()
        ))),
    }
}

/// `QTensor::quantize` reads the tensor's whole backing storage, ignoring a view's
/// offset and length, so views (narrowed rows) are copied into their own first.
pub fn quantize_owned(tensor: &Tensor, dtype: GgmlDType) -> Result<QTensor, SynthError> {
    Ok(QTensor::quantize(&tensor.force_contiguous()?, dtype)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn context<'a>(name: &'a str, dims: &'a [usize], block: Option<usize>) -> TensorContext<'a> {
        TensorContext {
            gguf_name: name,
            dims,
            block,
            layers: 24,
            has_output: false,
            gqa: 7,
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
            kind(QuantKind::Q5_0)
        );
        assert_eq!(
            tensor_type(quant, &context("blk.5.attn_v.weight", &[128, 896], Some(5))),
            Q8_0
        );
        assert_eq!(
            tensor_type(quant, &context("token_embd.weight", &[151_936, 896], None)),
            Q8_0
        );
        // 4864 = 19 * 256.
        assert_eq!(
            tensor_type(
                quant,
                &context("blk.4.ffn_down.weight", &[896, 4864], Some(4))
            ),
            Q4_K
        );
        assert_eq!(
            tensor_type(
                quant,
                &context("blk.5.ffn_down.weight", &[896, 4864], Some(5))
            ),
            Q6_K
        );
        assert_eq!(
            tensor_type(quant, &context("blk.5.attn_norm.weight", &[896], Some(5))),
            gguf_header::F32
        );
        assert_eq!(
            tensor_type(quant, &context("blk.5.attn_q.bias", &[896], Some(5))),
            gguf_header::F32
        );
        // Rows of 40 are not whole Q5_0 blocks either.
        assert_eq!(
            tensor_type(quant, &context("blk.5.attn_q.weight", &[40, 40], Some(5))),
            gguf_header::F16
        );
    }

    #[test]
    fn low_bit_mixes_follow_llama_cpp_for_qwen2_5_0_5b() {
        let t = |quant, name: &str, dims: &[usize], block| {
            tensor_type(quant, &context(name, dims, block))
        };
        let iq4_xs = kind(QuantKind::IQ4XS);
        let (q4_0, q5_0, q5_1) = (
            kind(QuantKind::Q4_0),
            kind(QuantKind::Q5_0),
            kind(QuantKind::Q5_1),
        );
        let square = [896, 896];
        let down = [896, 4864];
        // Rows of 896 are not whole 256-element blocks: Q2_K/Q3_K fall back to Q4_0,
        // IQ4_XS to IQ4_NL, Q4_K to Q5_0, Q5_K to Q5_1.
        assert_eq!(
            t(GgufQuant::Q3KS, "blk.7.attn_q.weight", &square, Some(7)),
            q4_0
        );
        assert_eq!(
            t(GgufQuant::IQ4XS, "blk.7.attn_q.weight", &square, Some(7)),
            IQ4_NL
        );
        assert_eq!(
            t(GgufQuant::IQ4NL, "blk.7.attn_q.weight", &square, Some(7)),
            IQ4_NL
        );
        // 7 query heads per kv head: attn_v gets Q4_K (Q2_K) or Q5_K (IQ4).
        assert_eq!(
            t(GgufQuant::Q2K, "blk.7.attn_v.weight", &[128, 896], Some(7)),
            q5_0
        );
        assert_eq!(
            t(
                GgufQuant::IQ4XS,
                "blk.7.attn_v.weight",
                &[128, 896],
                Some(7)
            ),
            q5_1
        );
        assert_eq!(
            t(GgufQuant::Q3KM, "blk.1.attn_v.weight", &[128, 896], Some(1)),
            q5_1
        );
        assert_eq!(
            t(GgufQuant::Q3KM, "blk.2.attn_v.weight", &[128, 896], Some(2)),
            q5_0
        );
        assert_eq!(
            t(
                GgufQuant::Q3KL,
                "blk.9.attn_output.weight",
                &square,
                Some(9)
            ),
            q5_1
        );
        // ffn_down rows (4864 = 19 · 256) take the 256-element types.
        assert_eq!(
            t(GgufQuant::Q2K, "blk.9.ffn_down.weight", &down, Some(9)),
            Q3_K
        );
        assert_eq!(
            t(GgufQuant::Q3KS, "blk.9.ffn_down.weight", &down, Some(9)),
            Q3_K
        );
        assert_eq!(
            t(GgufQuant::Q3KM, "blk.0.ffn_down.weight", &down, Some(0)),
            Q5_K
        );
        assert_eq!(
            t(GgufQuant::Q3KM, "blk.9.ffn_down.weight", &down, Some(9)),
            Q4_K
        );
        assert_eq!(
            t(GgufQuant::Q3KL, "blk.9.ffn_down.weight", &down, Some(9)),
            Q5_K
        );
        assert_eq!(
            t(GgufQuant::IQ4XS, "blk.2.ffn_down.weight", &down, Some(2)),
            Q5_K
        );
        assert_eq!(
            t(GgufQuant::IQ4XS, "blk.3.ffn_down.weight", &down, Some(3)),
            iq4_xs
        );
        assert_eq!(
            t(GgufQuant::Q2K, "blk.3.ffn_up.weight", &[4864, 256], Some(3)),
            Q2_K
        );
        // The tied head: Q6_K where its rows fit, else Q8_0.
        let embd = [151_936, 896];
        assert_eq!(t(GgufQuant::IQ4NL, "token_embd.weight", &embd, None), Q8_0);
        assert_eq!(
            t(GgufQuant::Q2K, "token_embd.weight", &[1000, 512], None),
            Q6_K
        );
        assert_eq!(
            t(GgufQuant::BF16, "blk.0.ffn_up.weight", &down, Some(0)),
            gguf_header::BF16
        );
    }

    #[test]
    fn parallel_quantization_matches_serial() {
        let values: Vec<f32> = (0..4096 * 512)
            .map(|i| ((i % 977) as f32 - 488.0) / 977.0)
            .collect();
        let tensor = Tensor::from_vec(values, (4096, 512), &Device::Cpu).unwrap();
        let parallel = quantize(&tensor, Q4_K).unwrap();
        let serial = QTensor::quantize(&tensor, GgmlDType::Q4K).unwrap();
        assert_eq!(parallel, serial.data().unwrap().into_owned());
        // saar's own quantizer (IQ4_XS) splits the same way.
        let xs = kind(QuantKind::IQ4XS);
        assert_eq!(
            quantize(&tensor, xs).unwrap(),
            quantize_band(&tensor, xs).unwrap()
        );
    }

    #[test]
    fn names_parse_back() {
        for quant in GgufQuant::ALL {
            assert_eq!(quant.name().parse::<GgufQuant>().unwrap(), quant);
        }
        let err = "q4_0".parse::<GgufQuant>().unwrap_err();
        assert!(err.contains("iq4_xs"), "{err}");
    }
}

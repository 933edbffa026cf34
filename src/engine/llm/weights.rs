//! The one place that opens weights: safetensors shards (memory-mapped), PyTorch `.bin`
//! checkpoints and GGUF files. It maps the decoder's logical tensor names to each format's
//! names, checks shapes, converts dtypes, and turns every failure into an
//! [`EngineError::Weights`] naming the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::pickle::PthTensors;
use candle_core::quantized::QMatMul;
use candle_core::{DType, Device, Tensor};

use super::config::{DecoderConfig, Family};
use super::gguf::GgufFile;
use super::gguf_header::{self, TensorType};
use super::modules::{dense_linear, Embedding, Linear, RmsNorm};
use super::safetensors::SafetensorsFile;
use crate::engine::kernels::quant::QuantMatrix;
use crate::engine::kernels::{self, Backend};
use crate::engine::EngineError;
use crate::model::Weights as WeightFiles;

/// A tensor's role in the decoder, independent of any file format's naming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Embed,
    FinalNorm,
    LmHead,
    AttnNorm,
    Q,
    K,
    V,
    O,
    QNorm,
    KNorm,
    AttnPostNorm,
    FfnNorm,
    FfnPostNorm,
    Gate,
    Up,
    Down,
}

enum Source {
    Safetensors {
        shards: Vec<(PathBuf, SafetensorsFile)>,
        /// Which shard holds each tensor.
        index: HashMap<String, usize>,
    },
    Pytorch(PathBuf, PthTensors),
    Gguf(GgufFile),
}

pub struct WeightLoader {
    source: Source,
    /// HF tensor-name prefix of the language model (`model.`, `model.language_model.`...).
    prefix: String,
    family: Family,
    device: Device,
    dtype: DType,
    /// What dense weight matrices are stored as.
    matrices: MatrixDtype,
}

/// The dtype dense weight matrices are kept in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatrixDtype {
    /// The activation dtype (candle's matmuls need both sides alike).
    Activations,
    /// As stored in the file when that is f16 or bf16 (exact: saar's kernels widen
    /// them on the fly), else f32.
    File,
    /// Converted to this 16-bit type, as asked for.
    Convert(DType),
}

/// Activation dtype and weight storage for a dense model: with saar's kernels on a
/// CPU, activations are f32 and matrices stay 16-bit (the file's, or the asked-for
/// type); otherwise everything runs in the requested dtype as candle needs.
fn dense_dtypes(device: &Device, requested: DType) -> (DType, MatrixDtype) {
    if kernels::backend() != Backend::Saar || !device.is_cpu() {
        return (requested, MatrixDtype::Activations);
    }
    match requested {
        DType::F16 | DType::BF16 => (DType::F32, MatrixDtype::Convert(requested)),
        _ => (DType::F32, MatrixDtype::File),
    }
}

fn weights_error(path: &Path, message: impl std::fmt::Display) -> EngineError {
    EngineError::Weights {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Prefixes under which checkpoints keep the language model, newest layout first.
const HF_PREFIXES: [&str; 3] = ["model.", "model.language_model.", "language_model.model."];

impl WeightLoader {
    /// Opens dense weights (safetensors or .bin) for a model described by `config.json`.
    pub fn open_dense(
        files: &WeightFiles,
        family: Family,
        device: &Device,
        dtype: DType,
    ) -> Result<Self, EngineError> {
        let source = match files {
            WeightFiles::Safetensors(paths) => {
                let mut shards = Vec::with_capacity(paths.len());
                let mut index = HashMap::new();
                for (shard, path) in paths.iter().enumerate() {
                    let file = SafetensorsFile::open(path).map_err(|e| weights_error(path, e))?;
                    index.extend(file.names().map(|name| (name.clone(), shard)));
                    shards.push((path.clone(), file));
                }
                if shards.is_empty() {
                    return Err(weights_error(
                        Path::new("."),
                        "no safetensors files were given",
                    ));
                }
                Source::Safetensors { shards, index }
            }
            WeightFiles::PytorchBin(path) => {
                let pth = PthTensors::new(path, None).map_err(|e| weights_error(path, e))?;
                Source::Pytorch(path.clone(), pth)
            }
            WeightFiles::Gguf(path) => {
                return Err(weights_error(path, "expected dense weights, got GGUF"))
            }
        };
        let (dtype, matrices) = dense_dtypes(device, dtype);
        let mut loader = Self {
            source,
            prefix: String::new(),
            family,
            device: device.clone(),
            dtype,
            matrices,
        };
        let found = HF_PREFIXES
            .iter()
            .find(|p| loader.contains(&format!("{p}embed_tokens.weight")));
        loader.prefix = match found {
            Some(prefix) => prefix.to_string(),
            None => {
                return Err(weights_error(
                    loader.path(),
                    "tensor `model.embed_tokens.weight` is missing",
                ))
            }
        };
        Ok(loader)
    }

    pub fn from_gguf(file: GgufFile, family: Family, device: &Device) -> Self {
        Self {
            source: Source::Gguf(file),
            prefix: String::new(),
            family,
            device: device.clone(),
            dtype: DType::F32,
            matrices: MatrixDtype::Activations,
        }
    }

    /// The dtype activations run in: the dense dtype, or f32 for GGUF.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    fn path(&self) -> &Path {
        match &self.source {
            Source::Safetensors { shards, .. } => &shards[0].0,
            Source::Pytorch(path, _) => path,
            Source::Gguf(file) => file.path(),
        }
    }

    fn contains(&self, name: &str) -> bool {
        match &self.source {
            Source::Safetensors { index, .. } => index.contains_key(name),
            Source::Pytorch(_, pth) => pth.tensor_infos().contains_key(name),
            Source::Gguf(file) => file.contains(name),
        }
    }

    /// The file-format name of `part` (of `layer` where per-layer), `.weight` or `.bias`.
    fn name(&self, part: Part, layer: usize, bias: bool) -> String {
        let suffix = if bias { "bias" } else { "weight" };
        if let Source::Gguf(_) = self.source {
            let base = match part {
                Part::Embed => return format!("token_embd.{suffix}"),
                Part::FinalNorm => return format!("output_norm.{suffix}"),
                Part::LmHead => return format!("output.{suffix}"),
                Part::AttnNorm => "attn_norm",
                Part::Q => "attn_q",
                Part::K => "attn_k",
                Part::V => "attn_v",
                Part::O => "attn_output",
                Part::QNorm => "attn_q_norm",
                Part::KNorm => "attn_k_norm",
                Part::AttnPostNorm => "post_attention_norm",
                Part::FfnNorm => "ffn_norm",
                Part::FfnPostNorm => "post_ffw_norm",
                Part::Gate => "ffn_gate",
                Part::Up => "ffn_up",
                Part::Down => "ffn_down",
            };
            return format!("blk.{layer}.{base}.{suffix}");
        }
        let gemma = self.family == Family::Gemma3;
        let base = match part {
            Part::Embed => return format!("{}embed_tokens.{suffix}", self.prefix),
            Part::FinalNorm => return format!("{}norm.{suffix}", self.prefix),
            Part::LmHead => {
                let head = format!("lm_head.{suffix}");
                return if self.prefix == "language_model.model." && !self.contains(&head) {
                    format!("language_model.{head}")
                } else {
                    head
                };
            }
            Part::AttnNorm => "input_layernorm",
            Part::Q => "self_attn.q_proj",
            Part::K => "self_attn.k_proj",
            Part::V => "self_attn.v_proj",
            Part::O => "self_attn.o_proj",
            Part::QNorm => "self_attn.q_norm",
            Part::KNorm => "self_attn.k_norm",
            Part::AttnPostNorm => "post_attention_layernorm",
            // In llama-style checkpoints `post_attention_layernorm` is the pre-MLP norm.
            Part::FfnNorm if gemma => "pre_feedforward_layernorm",
            Part::FfnNorm => "post_attention_layernorm",
            Part::FfnPostNorm => "post_feedforward_layernorm",
            Part::Gate => "mlp.gate_proj",
            Part::Up => "mlp.up_proj",
            Part::Down => "mlp.down_proj",
        };
        format!("{}layers.{layer}.{base}.{suffix}", self.prefix)
    }

    /// A dense tensor checked against `shape`, converted to `dtype`, on the device.
    fn dense(&mut self, name: &str, shape: &[usize], dtype: DType) -> Result<Tensor, EngineError> {
        let device = self.device.clone();
        let (path, tensor) = match &mut self.source {
            Source::Safetensors { shards, index } => {
                let Some((path, st)) = index.get(name).map(|&shard| &shards[shard]) else {
                    return Err(weights_error(
                        &shards[0].0,
                        format!("tensor `{name}` is missing"),
                    ));
                };
                (path.clone(), st.load(name).map_err(candle_core::Error::Msg))
            }
            Source::Pytorch(path, pth) => match pth.get(name) {
                Ok(Some(t)) => (path.clone(), Ok(t)),
                Ok(None) => return Err(weights_error(path, format!("tensor `{name}` is missing"))),
                Err(e) => (path.clone(), Err(e)),
            },
            Source::Gguf(file) => {
                let path = file.path().to_path_buf();
                (path, Ok(file.dequantized(name, shape, &device)?))
            }
        };
        let tensor = tensor.map_err(|e| weights_error(&path, format!("tensor `{name}`: {e}")))?;
        let dtype = self.stored_dtype(dtype, &tensor);
        if tensor.dims() != shape {
            return Err(weights_error(
                &path,
                format!(
                    "tensor `{name}` has shape {:?}, expected {shape:?}",
                    tensor.dims()
                ),
            ));
        }
        tensor
            .to_dtype(dtype)
            .and_then(|t| t.to_device(&device))
            .map_err(|e| weights_error(&path, format!("tensor `{name}`: {e}")))
    }

    pub fn linear(
        &mut self,
        part: Part,
        layer: usize,
        out: usize,
        inp: usize,
        bias: bool,
    ) -> Result<Linear, EngineError> {
        let name = self.name(part, layer, false);
        let bias = match bias {
            true => {
                let bias_name = self.name(part, layer, true);
                Some(self.dense(&bias_name, &[out], self.dtype)?)
            }
            false => None,
        };
        let device = self.device.clone();
        if let Source::Gguf(file) = &mut self.source {
            return gguf_linear(file, &name, [out, inp], bias, &device);
        }
        let weight = self.dense(&name, &[out, inp], self.matrix_dtype())?;
        Ok(dense_linear(weight, bias))
    }

    /// An RMSNorm weight in f32 with the family's offset added.
    pub fn norm(
        &mut self,
        part: Part,
        layer: usize,
        size: usize,
        cfg: &DecoderConfig,
    ) -> Result<RmsNorm, EngineError> {
        let name = self.name(part, layer, false);
        let mut weight = self.dense(&name, &[size], DType::F32)?;
        if cfg.norm_weight_offset != 0.0 {
            weight = (weight + cfg.norm_weight_offset as f64)
                .map_err(|e| weights_error(self.path(), e))?;
        }
        Ok(RmsNorm::new(weight, cfg.rms_norm_eps))
    }

    /// The dtype asked of [`Self::dense`] for weight matrices; [`MatrixDtype::File`]
    /// is resolved per tensor by [`Self::stored_dtype`].
    fn matrix_dtype(&self) -> DType {
        match self.matrices {
            MatrixDtype::Convert(dtype) => dtype,
            MatrixDtype::Activations | MatrixDtype::File => self.dtype,
        }
    }

    /// The dtype `read` is kept in when `asked` was asked for: under
    /// [`MatrixDtype::File`] a matrix stored in f16/bf16 stays so (norms and biases,
    /// vectors, get the f32 they ask for).
    fn stored_dtype(&self, asked: DType, read: &Tensor) -> DType {
        let matrix = self.matrices == MatrixDtype::File && asked == self.dtype && read.rank() == 2;
        match read.dtype() {
            DType::F16 | DType::BF16 if matrix => read.dtype(),
            _ => asked,
        }
    }

    pub fn embedding(&mut self, vocab: usize, hidden: usize) -> Result<Embedding, EngineError> {
        let name = self.name(Part::Embed, 0, false);
        let device = self.device.clone();
        if let Source::Gguf(file) = &mut self.source {
            return gguf_embedding(file, &name, [vocab, hidden], &device);
        }
        Ok(Embedding::Dense(self.dense(
            &name,
            &[vocab, hidden],
            self.matrix_dtype(),
        )?))
    }

    /// The output projection, or the embeddings when tied or when the file has none.
    pub fn lm_head(
        &mut self,
        embed: &Embedding,
        cfg: &DecoderConfig,
    ) -> Result<Linear, EngineError> {
        let name = self.name(Part::LmHead, 0, false);
        if cfg.tie_word_embeddings || !self.contains(&name) {
            return embed.as_linear().map_err(|e| weights_error(self.path(), e));
        }
        self.linear(Part::LmHead, 0, cfg.vocab_size, cfg.hidden_size, false)
    }
}

/// A GGUF matrix for saar's kernels when they run it (saar backend, CPU, a block type
/// they know), read from the file straight into the buffer they keep; else `None`.
fn saar_matrix(
    file: &mut GgufFile,
    name: &str,
    [rows, cols]: [usize; 2],
    device: &Device,
) -> Result<Option<Arc<QuantMatrix>>, EngineError> {
    if !saar_kernels_on(device) {
        return Ok(None);
    }
    let Some(kind) = file.tensor_type(name).and_then(TensorType::quant_kind) else {
        return Ok(None);
    };
    let blocks = file.raw_blocks(name, &[rows, cols])?;
    let matrix = QuantMatrix::from_raw(kind, rows, cols, blocks)
        .map_err(|e| weights_error(file.path(), format!("tensor `{name}`: {e}")))?;
    Ok(Some(Arc::new(matrix)))
}

/// saar's kernels run (GGUF weights, decode attention) only with that backend, on a CPU.
pub(super) fn saar_kernels_on(device: &Device) -> bool {
    kernels::backend() == Backend::Saar && device.is_cpu()
}

/// An F16/BF16/F32 GGUF matrix kept in its own type for saar's dense kernels (candle's
/// `QMatMul` would widen F16 to f32: twice the memory and half the decode speed), when
/// the saar backend runs on a CPU; else `None`.
fn saar_float_matrix(
    file: &mut GgufFile,
    name: &str,
    shape: [usize; 2],
    device: &Device,
) -> Result<Option<Tensor>, EngineError> {
    if !saar_kernels_on(device) {
        return Ok(None);
    }
    let dtype = match file.tensor_type(name) {
        Some(gguf_header::F16) => DType::F16,
        Some(gguf_header::BF16) => DType::BF16,
        Some(gguf_header::F32) => DType::F32,
        _ => return Ok(None),
    };
    let bytes = file.raw_blocks(name, &shape)?;
    Tensor::from_raw_buffer(&bytes, dtype, &shape, device)
        .map(Some)
        .map_err(|e| weights_error(file.path(), format!("tensor `{name}`: {e}")))
}

/// Whether candle reads tensor `name` itself: every type saar reads but IQ4_NL and
/// IQ4_XS, which candle's path gets dequantized to f32 (there is no candle kernel to
/// run them).
fn candle_reads(file: &GgufFile, name: &str) -> bool {
    file.tensor_type(name)
        .and_then(TensorType::candle)
        .is_some()
}

/// A GGUF projection: saar's dense or quantized kernels where they apply, candle's
/// `QMatMul` otherwise.
fn gguf_linear(
    file: &mut GgufFile,
    name: &str,
    shape: [usize; 2],
    bias: Option<Tensor>,
    device: &Device,
) -> Result<Linear, EngineError> {
    if let Some(weight) = saar_float_matrix(file, name, shape, device)? {
        return Ok(dense_linear(weight, bias));
    }
    if let Some(weight) = saar_matrix(file, name, shape, device)? {
        return Ok(Linear::SaarQuantized { weight, bias });
    }
    if !candle_reads(file, name) {
        let weight = file.dequantized(name, &shape, device)?;
        return Ok(dense_linear(weight, bias));
    }
    let q = file.tensor(name, &shape, device)?;
    let weight = QMatMul::from_qtensor(q).map_err(|e| weights_error(file.path(), e))?;
    Ok(Linear::Quantized { weight, bias })
}

/// A GGUF embedding table: saar's dense or quantized kernels where they apply, candle's
/// `QTensor` otherwise.
fn gguf_embedding(
    file: &mut GgufFile,
    name: &str,
    shape: [usize; 2],
    device: &Device,
) -> Result<Embedding, EngineError> {
    if let Some(table) = saar_float_matrix(file, name, shape, device)? {
        return Ok(Embedding::Dense(table));
    }
    if let Some(table) = saar_matrix(file, name, shape, device)? {
        return Ok(Embedding::SaarQuantized(table));
    }
    if !candle_reads(file, name) {
        return Ok(Embedding::Dense(file.dequantized(name, &shape, device)?));
    }
    Ok(Embedding::Quantized(Arc::new(
        file.tensor(name, &shape, device)?,
    )))
}

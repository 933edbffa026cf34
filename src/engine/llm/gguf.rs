//! GGUF files: opening one (its header read by [`super::gguf_header`]), turning
//! llama.cpp's metadata keys into a [`DecoderConfig`], naming the file's quantization,
//! and fetching tensors by name: as candle tensors for the types candle knows, as raw
//! blocks for saar's kernels, or dequantized to f32 for any type saar reads.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::Value;
use candle_core::quantized::{ggml_file, QTensor};
use candle_core::{Device, Tensor};

use super::config::{Activation, DecoderConfig, Family, SUPPORTED_ARCHITECTURES};
use super::gguf_header::{read_header, Header, TensorType};
use super::rope::{RopeScaling, RopeSpec};
use crate::engine::kernels::quant::QuantMatrix;
use crate::engine::EngineError;

pub struct GgufFile {
    path: PathBuf,
    content: Header,
    reader: BufReader<File>,
}

fn weights_error(path: &Path, message: impl std::fmt::Display) -> EngineError {
    EngineError::Weights {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

impl GgufFile {
    pub fn open(path: &Path) -> Result<Self, EngineError> {
        let file = File::open(path).map_err(|e| weights_error(path, e))?;
        let file_size = file.metadata().map_err(|e| weights_error(path, e))?.len();
        let mut reader = BufReader::new(file);
        let content = read_header(&mut reader)
            .map_err(|e| weights_error(path, format!("not a readable GGUF file: {e}")))?;
        let mut names: Vec<&String> = content.tensors.keys().collect();
        names.sort();
        for name in names {
            let info = &content.tensors[name];
            let Some((block, bytes)) = info.tensor_type.layout() else {
                return Err(EngineError::UnsupportedQuantization {
                    path: path.display().to_string(),
                    message: format!("tensor `{name}` is {}", info.tensor_type.name()),
                });
            };
            let end = (info.elements() / block * bytes) as u64;
            let end = content
                .data_offset
                .saturating_add(info.offset)
                .saturating_add(end);
            if end > file_size {
                return Err(weights_error(
                    path,
                    format!("tensor `{name}` ends past the end of the file; the file is truncated"),
                ));
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            content,
            reader,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn contains(&self, name: &str) -> bool {
        self.content.tensors.contains_key(name)
    }

    /// The type of tensor `name`, if the file has it.
    pub fn tensor_type(&self, name: &str) -> Option<TensorType> {
        self.content.tensors.get(name).map(|t| t.tensor_type)
    }

    /// The tensor `name`, checked to be `shape` (outermost first), as a candle tensor on
    /// `device`: for the types candle knows (every type but IQ4_NL and IQ4_XS; see
    /// [`Self::dequantized`] for those).
    pub fn tensor(
        &mut self,
        name: &str,
        shape: &[usize],
        device: &Device,
    ) -> Result<QTensor, EngineError> {
        let tensor_type = self.tensor_type(name);
        let Some(dtype) = tensor_type.and_then(TensorType::candle) else {
            let kind = tensor_type.map_or_else(|| "missing".into(), |t| t.name());
            return Err(weights_error(
                &self.path,
                format!("tensor `{name}` ({kind}) cannot be read as a candle tensor"),
            ));
        };
        let bytes = self.raw_blocks(name, shape)?;
        ggml_file::qtensor_from_ggml(dtype, &bytes, shape.to_vec(), device)
            .map_err(|e| weights_error(&self.path, format!("tensor `{name}`: {e}")))
    }

    /// The tensor `name` of any type saar reads, dequantized to f32 on `device`.
    pub fn dequantized(
        &mut self,
        name: &str,
        shape: &[usize],
        device: &Device,
    ) -> Result<Tensor, EngineError> {
        let kind = self.tensor_type(name).and_then(TensorType::quant_kind);
        let result = match kind {
            Some(kind) => {
                // saar's own decoding (bit for bit candle's where candle has the type).
                let cols = shape.last().copied().unwrap_or(1);
                let rows = shape.iter().product::<usize>() / cols.max(1);
                let bytes = self.raw_blocks(name, shape)?;
                let matrix = QuantMatrix::from_raw(kind, rows, cols, bytes)
                    .map_err(|e| weights_error(&self.path, format!("tensor `{name}`: {e}")))?;
                let mut values = vec![0f32; rows * cols];
                for (row, out) in values.chunks_exact_mut(cols).enumerate() {
                    matrix
                        .dequantize_row(row, out)
                        .map_err(|e| weights_error(&self.path, format!("tensor `{name}`: {e}")))?;
                }
                Tensor::from_vec(values, shape, device)
            }
            _ => self.tensor(name, shape, device)?.dequantize(device),
        };
        result.map_err(|e| weights_error(&self.path, format!("tensor `{name}`: {e}")))
    }

    /// Tensor `name`'s blocks as they lie in the file, read straight into one buffer:
    /// saar's kernels own them as they are, so no QTensor (and no second copy of the
    /// largest tensor) is ever made on the way.
    pub fn raw_blocks(&mut self, name: &str, shape: &[usize]) -> Result<Vec<u8>, EngineError> {
        use std::io::{Read, Seek, SeekFrom};
        let error =
            |message: String| weights_error(&self.path, format!("tensor `{name}`: {message}"));
        let Some(info) = self.content.tensors.get(name) else {
            return Err(error("missing".into()));
        };
        if info.dims != shape {
            return Err(error(format!(
                "has shape {:?}, expected {shape:?}",
                info.dims
            )));
        }
        let t = info.tensor_type;
        let Some((block, block_bytes)) = t.layout() else {
            return Err(error(format!("saar cannot read {} tensors", t.name())));
        };
        let elements = info.elements();
        let row = shape.last().copied().unwrap_or(1);
        if row % block != 0 {
            return Err(error(format!(
                "rows of {row} values are not whole {} blocks",
                t.name()
            )));
        }
        let len = elements / block * block_bytes;
        let start = self.content.data_offset.saturating_add(info.offset);
        let mut bytes = vec![0u8; len];
        self.reader
            .seek(SeekFrom::Start(start))
            .and_then(|_| self.reader.read_exact(&mut bytes))
            .map_err(|e| error(format!("{len} bytes at offset {start}: {e}")))?;
        Ok(bytes)
    }

    fn shape_of(&self, name: &str) -> Option<&[usize]> {
        self.content.tensors.get(name).map(|t| t.dims.as_slice())
    }

    fn value(&self, key: &str) -> Option<&Value> {
        self.content.metadata.get(key)
    }

    fn number(&self, key: &str) -> Option<f64> {
        self.value(key).and_then(value_as_f64)
    }

    fn count(&self, key: &str) -> Option<usize> {
        self.number(key).filter(|n| *n >= 0.0).map(|n| n as usize)
    }

    fn required(&self, key: &str) -> Result<usize, EngineError> {
        self.count(key).ok_or_else(|| EngineError::Config {
            path: self.path.display().to_string(),
            message: format!("GGUF metadata `{key}` is missing; the file is incomplete"),
        })
    }

    pub fn family(&self) -> Result<Family, EngineError> {
        let arch = match self.value("general.architecture") {
            Some(Value::String(arch)) => arch.clone(),
            _ => {
                return Err(EngineError::Config {
                    path: self.path.display().to_string(),
                    message: "GGUF metadata `general.architecture` is missing".into(),
                })
            }
        };
        Family::from_name(&arch).ok_or(EngineError::UnsupportedArchitecture {
            found: arch,
            supported: SUPPORTED_ARCHITECTURES,
        })
    }

    /// The model's shape and numerics from `{arch}.*` metadata, following what llama.cpp
    /// does at load time where the file is silent (gemma3's window pattern and local base).
    pub fn decoder_config(&mut self) -> Result<DecoderConfig, EngineError> {
        let family = self.family()?;
        let arch = family.name();
        let key = |suffix: &str| format!("{arch}.{suffix}");
        let hidden_size = self.required(&key("embedding_length"))?;
        let num_layers = self.required(&key("block_count"))?;
        let num_heads = self.required(&key("attention.head_count"))?;
        let intermediate_size = self.required(&key("feed_forward_length"))?;
        let num_kv_heads = self
            .count(&key("attention.head_count_kv"))
            .unwrap_or(num_heads);
        let head_dim = self
            .count(&key("attention.key_length"))
            .unwrap_or(hidden_size / num_heads.max(1));
        let vocab_size = match self.shape_of("token_embd.weight") {
            Some([vocab, _]) => *vocab,
            _ => {
                return Err(weights_error(
                    &self.path,
                    "tensor `token_embd.weight` is missing",
                ))
            }
        };
        let context_length = self.count(&key("context_length")).unwrap_or(4096);
        let theta = self.number(&key("rope.freq_base")).unwrap_or(match family {
            Family::Gemma3 => 1_000_000.0,
            _ => 10_000.0,
        });
        let scaling = self.rope_scaling(&key, head_dim)?;
        let gemma = family == Family::Gemma3;
        let sliding_window = if gemma {
            Some(self.count(&key("attention.sliding_window")).unwrap_or(4096))
        } else {
            None
        };
        let sliding_layers = match (gemma, self.value(&key("attention.sliding_window_pattern"))) {
            (false, _) => vec![false; num_layers],
            (true, Some(Value::Array(flags))) => flags
                .iter()
                .map(|f| matches!(f, Value::Bool(true)))
                .collect(),
            (true, pattern) => {
                let pattern = pattern
                    .and_then(value_as_f64)
                    .map_or(6, |p| (p as usize).max(1));
                (0..num_layers).map(|i| (i + 1) % pattern != 0).collect()
            }
        };
        // llama.cpp scales gemma3 27B (62 layers) queries by hidden/heads, others by head_dim.
        let query_scalar = if gemma && num_layers == 62 {
            hidden_size / num_heads
        } else {
            head_dim
        };
        // Optional keys beyond what llama.cpp hard-codes for gemma3 (pattern 6, local
        // base 10000, the scale above), for converted models that differ from Google's.
        let attention_scale = self
            .number(&key("attention.scale"))
            .unwrap_or((query_scalar as f64).powf(-0.5));
        let local_theta = self.number(&key("rope.freq_base_swa")).unwrap_or(10_000.0);
        let cfg = DecoderConfig {
            family,
            vocab_size,
            hidden_size,
            intermediate_size,
            num_layers,
            num_heads,
            num_kv_heads,
            head_dim,
            rms_norm_eps: self
                .number(&key("attention.layer_norm_rms_epsilon"))
                .unwrap_or(1e-6),
            norm_weight_offset: 0.0,
            context_length,
            tie_word_embeddings: !self.contains("output.weight"),
            qkv_bias: self.contains("blk.0.attn_q.bias"),
            o_bias: self.contains("blk.0.attn_output.bias"),
            mlp_bias: self.contains("blk.0.ffn_up.bias"),
            activation: if gemma {
                Activation::GeluTanh
            } else {
                Activation::Silu
            },
            qk_norm: self.contains("blk.0.attn_q_norm.weight"),
            sandwich_norms: gemma,
            embedding_scale: gemma.then(|| (hidden_size as f64).sqrt()),
            attention_scale,
            final_logit_softcap: self.number(&key("final_logit_softcapping")),
            rope: RopeSpec { theta, scaling },
            local_rope: gemma.then_some(RopeSpec {
                theta: local_theta,
                scaling: RopeScaling::None,
            }),
            sliding_window,
            sliding_layers,
            interleaved_rope: family == Family::Llama,
        };
        cfg.validate().map_err(|message| EngineError::Config {
            path: self.path.display().to_string(),
            message,
        })?;
        Ok(cfg)
    }

    fn rope_scaling(
        &mut self,
        key: &dyn Fn(&str) -> String,
        head_dim: usize,
    ) -> Result<RopeScaling, EngineError> {
        if self.contains("rope_freqs.weight") {
            let name = "rope_freqs.weight";
            let factors = self.dequantized(name, &[head_dim / 2], &Device::Cpu)?;
            let factors = factors
                .to_vec1::<f32>()
                .map_err(|e| weights_error(&self.path, format!("tensor `{name}`: {e}")))?;
            return Ok(RopeScaling::FreqFactors(factors));
        }
        let kind = match self.value(&key("rope.scaling.type")) {
            Some(Value::String(kind)) => kind.clone(),
            _ => return Ok(RopeScaling::None),
        };
        let factor = self.number(&key("rope.scaling.factor")).unwrap_or(1.0);
        Ok(match kind.as_str() {
            "linear" if factor != 1.0 => RopeScaling::Linear { factor },
            "yarn" => {
                let original = self.number(&key("rope.scaling.original_context_length"));
                RopeScaling::yarn(factor, original.unwrap_or(4096.0))
            }
            _ => RopeScaling::None,
        })
    }

    /// `q4_k_m`, `q8_0`, `f16`...: from `general.file_type`, else the dominant tensor type.
    pub fn file_type_name(&self) -> String {
        if let Some(name) = self.count("general.file_type").and_then(llama_ftype_name) {
            return name.to_string();
        }
        self.tensor_type("blk.0.attn_q.weight")
            .map_or_else(|| "gguf".to_string(), |t| t.name().to_lowercase())
    }
}

fn value_as_f64(value: &Value) -> Option<f64> {
    Some(match value {
        Value::U8(v) => *v as f64,
        Value::I8(v) => *v as f64,
        Value::U16(v) => *v as f64,
        Value::I16(v) => *v as f64,
        Value::U32(v) => *v as f64,
        Value::I32(v) => *v as f64,
        Value::U64(v) => *v as f64,
        Value::I64(v) => *v as f64,
        Value::F32(v) => *v as f64,
        Value::F64(v) => *v,
        _ => return None,
    })
}

/// llama.cpp's `llama_ftype` numbering.
fn llama_ftype_name(ftype: usize) -> Option<&'static str> {
    Some(match ftype {
        0 => "f32",
        1 => "f16",
        2 => "q4_0",
        3 => "q4_1",
        7 => "q8_0",
        8 => "q5_0",
        9 => "q5_1",
        10 => "q2_k",
        11 => "q3_k_s",
        12 => "q3_k_m",
        13 => "q3_k_l",
        14 => "q4_k_s",
        15 => "q4_k_m",
        16 => "q5_k_s",
        17 => "q5_k_m",
        18 => "q6_k",
        21 => "q2_k_s",
        25 => "iq4_nl",
        30 => "iq4_xs",
        32 => "bf16",
        _ => return None,
    })
}

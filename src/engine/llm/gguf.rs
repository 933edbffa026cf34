//! GGUF files: reading the header, turning llama.cpp's metadata keys into a
//! [`DecoderConfig`], naming the file's quantization, and fetching tensors by name.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::Device;

use super::config::{Activation, DecoderConfig, Family, SUPPORTED_ARCHITECTURES};
use super::rope::{RopeScaling, RopeSpec};
use crate::engine::EngineError;

pub struct GgufFile {
    path: PathBuf,
    content: Content,
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
        let mut reader = BufReader::new(file);
        let content = Content::read(&mut reader).map_err(|e| {
            let message = e.to_string();
            if message.contains("unknown dtype") {
                EngineError::UnsupportedQuantization {
                    path: path.display().to_string(),
                    message,
                }
            } else {
                weights_error(path, format!("not a readable GGUF file: {message}"))
            }
        })?;
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
        self.content.tensor_infos.contains_key(name)
    }

    /// The tensor `name`, checked to be `shape` (outermost first), on `device`.
    pub fn tensor(
        &mut self,
        name: &str,
        shape: &[usize],
        device: &Device,
    ) -> Result<QTensor, EngineError> {
        let Some(info) = self.content.tensor_infos.get(name) else {
            return Err(weights_error(
                &self.path,
                format!("tensor `{name}` is missing"),
            ));
        };
        if info.shape.dims() != shape {
            return Err(weights_error(
                &self.path,
                format!(
                    "tensor `{name}` has shape {:?}, expected {shape:?}",
                    info.shape.dims()
                ),
            ));
        }
        info.read(&mut self.reader, self.content.tensor_data_offset, device)
            .map_err(|e| weights_error(&self.path, format!("tensor `{name}`: {e}")))
    }

    /// The block type of tensor `name`, if the file has it.
    pub fn dtype_of(&self, name: &str) -> Option<GgmlDType> {
        self.content.tensor_infos.get(name).map(|t| t.ggml_dtype)
    }

    /// Tensor `name`'s blocks as they lie in the file, read straight into one buffer:
    /// saar's kernels own them as they are, so no QTensor (and no second copy of the
    /// largest tensor) is ever made on the way.
    pub fn raw_blocks(&mut self, name: &str, shape: &[usize]) -> Result<Vec<u8>, EngineError> {
        use std::io::{Read, Seek, SeekFrom};
        let error =
            |message: String| weights_error(&self.path, format!("tensor `{name}`: {message}"));
        let Some(info) = self.content.tensor_infos.get(name) else {
            return Err(error("missing".into()));
        };
        if info.shape.dims() != shape {
            return Err(error(format!(
                "has shape {:?}, expected {shape:?}",
                info.shape.dims()
            )));
        }
        let dtype = info.ggml_dtype;
        let elements = info.shape.elem_count();
        if elements % dtype.block_size() != 0 {
            return Err(error(format!(
                "{elements} values are not whole {dtype:?} blocks"
            )));
        }
        let len = elements / dtype.block_size() * dtype.type_size();
        let start = self.content.tensor_data_offset.saturating_add(info.offset);
        let mut bytes = vec![0u8; len];
        self.reader
            .seek(SeekFrom::Start(start))
            .and_then(|_| self.reader.read_exact(&mut bytes))
            .map_err(|e| error(format!("{len} bytes at offset {start}: {e}")))?;
        Ok(bytes)
    }

    fn shape_of(&self, name: &str) -> Option<&[usize]> {
        self.content.tensor_infos.get(name).map(|t| t.shape.dims())
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
    pub fn decoder_config(&mut self, device: &Device) -> Result<DecoderConfig, EngineError> {
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
        let scaling = self.rope_scaling(&key, head_dim, device)?;
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
        device: &Device,
    ) -> Result<RopeScaling, EngineError> {
        if self.contains("rope_freqs.weight") {
            let factors = self.tensor("rope_freqs.weight", &[head_dim / 2], device)?;
            let factors = factors
                .dequantize(&Device::Cpu)
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(|e| {
                    weights_error(&self.path, format!("tensor `rope_freqs.weight`: {e}"))
                })?;
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
        let dtype = self
            .content
            .tensor_infos
            .get("blk.0.attn_q.weight")
            .map(|t| t.ggml_dtype);
        dtype.map_or_else(|| "gguf".to_string(), ggml_dtype_name)
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
        32 => "bf16",
        _ => return None,
    })
}

/// `Q4K` → `q4_k`, `Q8_0` → `q8_0`.
fn ggml_dtype_name(dtype: GgmlDType) -> String {
    let name = format!("{dtype:?}").to_lowercase();
    match name.strip_suffix('k') {
        Some(stem) if !stem.contains('_') => format!("{stem}_k"),
        _ => name,
    }
}

//! Decoder-only LLMs (qwen2, qwen3, llama, gemma3) from safetensors, PyTorch `.bin` or
//! GGUF. This file only picks the weight format and dtype and describes the model; every
//! family runs through the one decoder in `decoder.rs`.

mod attention;
pub mod config;
mod decoder;
mod gguf;
pub mod gguf_header;
mod hf_config;
mod modules;
pub mod rope;
mod safetensors;
mod weights;

#[cfg(test)]
mod tests;

pub use config::{DecoderConfig, Family, SUPPORTED_ARCHITECTURES};
pub(crate) use decoder::PREFILL_CHUNK;

use candle_core::{DType, Device, DeviceLocation};

use super::{CausalLm, EngineError, ModelInfo, Placement};
use crate::model::{ModelFiles, Weights};
use decoder::Decoder;
use gguf::GgufFile;
use weights::WeightLoader;

/// Loads the model that `files` describes, choosing the architecture from
/// `config.json` `model_type` or GGUF `general.architecture`.
pub fn load(files: &ModelFiles, placement: &Placement) -> Result<Box<dyn CausalLm>, EngineError> {
    let device = &placement.device;
    let (cfg, mut weights, dtype) = match &files.weights {
        Weights::Gguf(path) => {
            let mut file = GgufFile::open(path)?;
            let cfg = file.decoder_config()?;
            let dtype = file.file_type_name();
            let family = cfg.family;
            (cfg, WeightLoader::from_gguf(file, family, device), dtype)
        }
        dense => {
            let cfg = hf_config::from_hf_config(config_path(files)?)?;
            let dtype = dense_dtype(placement)?;
            let weights = WeightLoader::open_dense(dense, cfg.family, device, dtype)?;
            (cfg, weights, dtype_name(dtype).to_string())
        }
    };
    let info = model_info(&cfg, dtype, files, device);
    Ok(Box::new(Decoder::load(cfg, &mut weights, device, info)?))
}

/// What [`load`] would report for `files`, read from the config (or the GGUF header)
/// alone: no weight is read. Enough to render and count prompts without the model.
pub fn describe(files: &ModelFiles, placement: &Placement) -> Result<ModelInfo, EngineError> {
    let (cfg, dtype) = match &files.weights {
        Weights::Gguf(path) => {
            let mut file = GgufFile::open(path)?;
            (file.decoder_config()?, file.file_type_name())
        }
        _ => (
            hf_config::from_hf_config(config_path(files)?)?,
            dtype_name(dense_dtype(placement)?).to_string(),
        ),
    };
    Ok(model_info(&cfg, dtype, files, &placement.device))
}

/// `config.json` of a dense model, or the error that says to fetch it.
fn config_path(files: &ModelFiles) -> Result<&std::path::Path, EngineError> {
    files.config.as_deref().ok_or_else(|| EngineError::Config {
        path: files.name.clone(),
        message: "config.json is missing next to the weights; download the whole model folder"
            .into(),
    })
}

/// The model's description; the context is capped where `files` asks for less.
fn model_info(
    cfg: &DecoderConfig,
    dtype: String,
    files: &ModelFiles,
    device: &Device,
) -> ModelInfo {
    let context_length = match files.context_length {
        Some(cap) => cap.min(cfg.context_length),
        None => cfg.context_length,
    };
    ModelInfo {
        architecture: cfg.family.name().to_string(),
        dtype,
        device: device_name(device),
        context_length,
        vocab_size: cfg.vocab_size,
    }
}

/// The requested dtype, or bf16 on an accelerator and f32 on a CPU.
fn dense_dtype(placement: &Placement) -> Result<DType, EngineError> {
    match placement.dtype {
        None if placement.device.is_cpu() => Ok(DType::F32),
        None => Ok(DType::BF16),
        Some(dtype @ (DType::F32 | DType::BF16 | DType::F16)) => Ok(dtype),
        Some(other) => Err(EngineError::Config {
            path: "--dtype".into(),
            message: format!("{other:?} cannot run a model; use f32, bf16 or f16"),
        }),
    }
}

fn dtype_name(dtype: DType) -> &'static str {
    match dtype {
        DType::BF16 => "bf16",
        DType::F16 => "f16",
        _ => "f32",
    }
}

fn device_name(device: &Device) -> String {
    match device.location() {
        DeviceLocation::Cpu => "cpu".to_string(),
        DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

//! Safetensors in and out: a streaming writer (one tensor in memory at a time, so
//! real-shaped models fit) and a reader of an HF folder's weights, single file or
//! sharded, for the GGUF converter.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use candle_core::quantized::GgmlDType;
use candle_core::safetensors::BufferedSafetensors;
use candle_core::{DType, Device, Tensor};
use serde_json::{json, Map, Value};

use super::gguf::quantize_owned;
use super::weights::TensorSource;
use super::SynthError;

/// Writes every tensor of `source` to `path` in `dtype`, names sorted, with the
/// `{"format": "pt"}` metadata that `transformers` expects.
pub fn write_safetensors(
    path: &Path,
    source: &dyn TensorSource,
    dtype: DType,
) -> Result<(), SynthError> {
    let (tag, width) = match dtype {
        DType::F32 => ("F32", 4),
        DType::F16 => ("F16", 2),
        DType::BF16 => ("BF16", 2),
        other => return Err(SynthError::Shape(format!("cannot write {other:?} weights"))),
    };
    let names = source.names();
    let mut header = Map::new();
    header.insert("__metadata__".into(), json!({ "format": "pt" }));
    let mut offset = 0usize;
    for name in &names {
        let dims = source.dims(name)?;
        let end = offset + dims.iter().product::<usize>() * width;
        header.insert(
            name.clone(),
            json!({ "dtype": tag, "shape": dims, "data_offsets": [offset, end] }),
        );
        offset = end;
    }
    let mut header = serde_json::to_vec(&Value::Object(header))
        .map_err(|e| SynthError::invalid(path, e.to_string()))?;
    // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
    header.resize(header.len().div_ceil(8) * 8, b' ');

    let file = std::fs::File::create(path).map_err(|e| SynthError::io(path, e))?;
    let mut out = BufWriter::new(file);
    let io = |e| SynthError::io(path, e);
    out.write_all(&(header.len() as u64).to_le_bytes())
        .map_err(io)?;
    out.write_all(&header).map_err(io)?;
    for name in &names {
        let tensor = source.load(name)?;
        out.write_all(&tensor_bytes(&tensor, dtype)?).map_err(io)?;
    }
    out.flush().map_err(io)
}

/// Little-endian bytes of `tensor` converted to `dtype` (F32, F16 or BF16).
fn tensor_bytes(tensor: &Tensor, dtype: DType) -> Result<Vec<u8>, SynthError> {
    let ggml = match dtype {
        DType::F16 => GgmlDType::F16,
        DType::BF16 => GgmlDType::BF16,
        _ => GgmlDType::F32,
    };
    // GGML's plain float types are the same little-endian layout safetensors uses.
    Ok(quantize_owned(tensor, ggml)?.data()?.into_owned())
}

/// The weights of an HF folder: `model.safetensors`, or the shards that
/// `model.safetensors.index.json` lists (or every `model*.safetensors`).
pub struct SafetensorsDir {
    files: Vec<BufferedSafetensors>,
    /// Tensor name to (file index, dims).
    routing: BTreeMap<String, (usize, Vec<usize>)>,
}

impl SafetensorsDir {
    pub fn open(dir: &Path) -> Result<Self, SynthError> {
        let paths = shard_paths(dir)?;
        let mut files = Vec::with_capacity(paths.len());
        let mut routing = BTreeMap::new();
        for (index, path) in paths.iter().enumerate() {
            let bytes = std::fs::read(path).map_err(|e| SynthError::io(path, e))?;
            let file = BufferedSafetensors::new(bytes).map_err(|e| {
                SynthError::invalid(
                    path,
                    format!("not a safetensors file ({e}); download it again"),
                )
            })?;
            for (name, view) in file.tensors() {
                routing.insert(name, (index, view.shape().to_vec()));
            }
            files.push(file);
        }
        Ok(Self { files, routing })
    }
}

impl TensorSource for SafetensorsDir {
    fn names(&self) -> Vec<String> {
        self.routing.keys().cloned().collect()
    }

    fn dims(&self, name: &str) -> Result<Vec<usize>, SynthError> {
        self.routing
            .get(name)
            .map(|(_, dims)| dims.clone())
            .ok_or_else(|| SynthError::MissingTensor(name.to_string()))
    }

    fn load(&self, name: &str) -> Result<Tensor, SynthError> {
        let (index, _) = self
            .routing
            .get(name)
            .ok_or_else(|| SynthError::MissingTensor(name.to_string()))?;
        Ok(self.files[*index]
            .load(name, &Device::Cpu)?
            .to_dtype(DType::F32)?)
    }
}

fn shard_paths(dir: &Path) -> Result<Vec<PathBuf>, SynthError> {
    let index_path = dir.join("model.safetensors.index.json");
    if index_path.is_file() {
        let text =
            std::fs::read_to_string(&index_path).map_err(|e| SynthError::io(&index_path, e))?;
        let index: Value = serde_json::from_str(&text)
            .map_err(|e| SynthError::invalid(&index_path, format!("not valid JSON: {e}")))?;
        let Some(map) = index.get("weight_map").and_then(Value::as_object) else {
            return Err(SynthError::invalid(&index_path, "has no `weight_map`"));
        };
        let mut files: Vec<&str> = map.values().filter_map(Value::as_str).collect();
        files.sort_unstable();
        files.dedup();
        return Ok(files.into_iter().map(|file| dir.join(file)).collect());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| SynthError::io(dir, e))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("model") && name.ends_with(".safetensors"))
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(SynthError::invalid(
            dir,
            "holds no model*.safetensors; point at an HF model folder with safetensors weights",
        ));
    }
    Ok(paths)
}

//! The files `saar bench` builds: random-weight models of one shape in each format,
//! in a folder that is kept (`--work-dir`) or removed at the end.

use std::path::{Path, PathBuf};

use anyhow::Context;
use saar::synth::{write_gguf_model, write_safetensors_model, ModelTemplate, Shape};

use super::rows::LlmFormat;

/// Writes `shape` in `format` under `dir`, named `{label}-{type}[.gguf]`, and returns
/// the path `--model` would take.
pub fn build_model(
    dir: &Path,
    label: &str,
    shape: &Shape,
    format: LlmFormat,
    seed: u64,
) -> anyhow::Result<PathBuf> {
    let template = ModelTemplate::simple(shape.arch.family());
    let format_name = format.label();
    match format {
        LlmFormat::Safetensors(dtype) => {
            let type_name = super::rows::dtype_name(dtype);
            let path = dir.join(format!("{label}-{type_name}"));
            eprintln!(
                "saar bench: writing {label} as {format_name} in {}",
                path.display()
            );
            write_safetensors_model(&path, shape, dtype, seed, &template)
                .with_context(|| format!("writing the {label} {format_name} model"))?;
            Ok(path)
        }
        LlmFormat::Gguf(quant) => {
            let path = dir.join(format!("{label}-{}.gguf", quant.name()));
            eprintln!(
                "saar bench: writing {label} as {format_name} at {}",
                path.display()
            );
            write_gguf_model(&path, shape, quant, seed, &template)
                .with_context(|| format!("writing the {label} {format_name} model"))?;
            Ok(path)
        }
    }
}

/// Bytes on disk of a file, or of the files directly inside a folder.
pub fn disk_size(path: &Path) -> u64 {
    if path.is_file() {
        return path.metadata().map_or(0, |m| m.len());
    }
    std::fs::read_dir(path).map_or(0, |entries| {
        entries
            .filter_map(|entry| entry.ok()?.metadata().ok())
            .filter(|meta| meta.is_file())
            .map(|meta| meta.len())
            .sum()
    })
}

pub fn remove(path: &Path) {
    // Best effort: the scratch folder is removed as a whole at the end anyway.
    let _ = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
}

/// The folder models are built in; a temporary one is removed on drop.
pub struct Scratch {
    pub path: PathBuf,
    pub temporary: bool,
}

impl Scratch {
    pub fn new(work_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let (path, temporary) = match work_dir {
            Some(dir) => (dir, false),
            None => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                let name = format!("saar-bench-{}-{nanos}", std::process::id());
                (std::env::temp_dir().join(name), true)
            }
        };
        std::fs::create_dir_all(&path)
            .with_context(|| format!("creating the bench folder {}", path.display()))?;
        Ok(Self { path, temporary })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::DType;
    use saar::synth::{Arch, GgufQuant};

    #[test]
    fn built_models_are_named_after_shape_and_type() {
        let dir = tempfile::tempdir().unwrap();
        let shape = Shape::tiny(Arch::Qwen2);
        let folder = LlmFormat::Safetensors(DType::BF16);
        let path = build_model(dir.path(), "tiny-qwen2", &shape, folder, 1).unwrap();
        assert_eq!(path, dir.path().join("tiny-qwen2-bf16"));
        assert!(path.join("model.safetensors").is_file());
        let file = LlmFormat::Gguf(GgufQuant::Q8_0);
        let path = build_model(dir.path(), "tiny-qwen2", &shape, file, 1).unwrap();
        assert_eq!(path, dir.path().join("tiny-qwen2-q8_0.gguf"));
        assert_eq!(disk_size(&path), path.metadata().unwrap().len());
        assert!(disk_size(dir.path().join("tiny-qwen2-bf16").as_path()) > 0);
        remove(&path);
        assert!(!path.exists());
    }
}

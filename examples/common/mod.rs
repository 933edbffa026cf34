//! What the examples share: turning model names into files through the library, and,
//! when none are given, tiny random-weight models so that an example runs anywhere
//! (their outputs are noise; give real models for real summaries).

use std::path::{Path, PathBuf};

use saar::model::{HubSettings, ModelFiles, ModelSpec};
use saar::synth::{self, Arch, ModelTemplate, Shape};

pub type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Splits the arguments into a folder (the first one, when it is a directory; else
/// `examples/articles`) and model names (the rest).
pub fn folder_and_models(args: Vec<String>) -> (PathBuf, Vec<String>) {
    match args.split_first() {
        Some((first, rest)) if Path::new(first).is_dir() => (first.into(), rest.to_vec()),
        _ => ("examples/articles".into(), args),
    }
}

/// Resolves each name (preset, hub id, folder or .gguf) to files, downloading on first
/// use; with no names, writes tiny random models of `arches` under the temp folder.
pub fn model_files(names: &[String], arches: &[Arch]) -> AnyResult<Vec<ModelFiles>> {
    if names.is_empty() {
        eprintln!("no model given: using tiny random-weight models, whose outputs are noise");
        return arches.iter().map(|arch| tiny_model(*arch)).collect();
    }
    let settings = HubSettings::from_env();
    names
        .iter()
        .map(|name| Ok(saar::model::resolve(&ModelSpec::parse(name)?, &settings)?))
        .collect()
}

fn tiny_model(arch: Arch) -> AnyResult<ModelFiles> {
    let shape = Shape::tiny(arch);
    let dir = std::env::temp_dir().join(format!("saar-example-{arch:?}").to_lowercase());
    let template = ModelTemplate::simple(shape.arch.family());
    synth::write_safetensors_model(&dir, &shape, candle_core::DType::F32, 7, &template)?;
    Ok(saar::model::resolve(
        &ModelSpec::parse(&dir.to_string_lossy())?,
        &HubSettings::from_env(),
    )?)
}

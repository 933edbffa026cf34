//! Resolving `--model` to files on disk: presets from `models/`, hub ids through
//! hf-hub and the standard HF cache (offline mode too), local directories and
//! `.gguf` files; plus reading the tokenizer and its special tokens.
//!
//! Entry points: [`ModelSpec::parse`] turns the user's string into a spec,
//! [`HubSettings::from_env`] reads the HF environment, and [`resolve`] returns
//! [`ModelFiles`] with every path local.

mod cache;
mod error;
mod files;
mod hub;
mod preset;
mod resolve;
mod settings;
mod spec;
pub mod spm;
mod status;
pub mod tokenizer;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use error::ModelError;
pub(crate) use files::is_indictrans_config;
/// Download progress callbacks; the CLI implements it over an indicatif bar.
pub use hf_hub::api::Progress;
pub use preset::{default_preset, find_preset, presets, Preset};
pub use resolve::{pull, resolve, resolve_tokenizer, resolve_with_progress};
pub use settings::HubSettings;
pub use spec::ModelSpec;
pub use status::{cache_status, list_presets, CacheState, PresetStatus};

/// The weights of a model, in the form found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Weights {
    /// One or more safetensors files (shards in index order).
    Safetensors(Vec<PathBuf>),
    /// A legacy PyTorch checkpoint.
    PytorchBin(PathBuf),
    /// A single GGUF file.
    Gguf(PathBuf),
}

impl Weights {
    /// Every weight file, in load order.
    pub fn paths(&self) -> Vec<&PathBuf> {
        match self {
            Weights::Safetensors(shards) => shards.iter().collect(),
            Weights::PytorchBin(path) | Weights::Gguf(path) => vec![path],
        }
    }
}

/// Everything needed to load a model, all paths local.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFiles {
    /// What the user asked for, as shown in output (`qwen3-1.7b`, `org/name`, a path).
    pub name: String,
    /// Hub repo id and the resolved revision (commit sha when known), if from the hub.
    pub repo: Option<String>,
    pub revision: Option<String>,
    pub weights: Weights,
    /// `config.json`; absent for a bare GGUF file.
    pub config: Option<PathBuf>,
    pub generation_config: Option<PathBuf>,
    pub tokenizer: Option<PathBuf>,
    pub tokenizer_config: Option<PathBuf>,
    /// `chat_template.jinja`, when the repo ships it separately.
    pub chat_template: Option<PathBuf>,
    /// Context length from the preset, when it caps the model's own.
    pub context_length: Option<usize>,
    /// Family-specific files by repo file name, e.g. Marian's `source.spm`,
    /// `target.spm` and `vocab.json`.
    pub other: BTreeMap<String, PathBuf>,
}

impl ModelFiles {
    /// Just a name and weights; every other file absent. Fill the rest with struct
    /// update syntax, so code and tests keep compiling when fields are added.
    pub fn new(name: impl Into<String>, weights: Weights) -> Self {
        ModelFiles {
            name: name.into(),
            repo: None,
            revision: None,
            weights,
            config: None,
            generation_config: None,
            tokenizer: None,
            tokenizer_config: None,
            chat_template: None,
            context_length: None,
            other: BTreeMap::new(),
        }
    }

    /// Every local file this model uses: weights, config, tokenizer files, extras.
    pub fn paths(&self) -> Vec<&PathBuf> {
        let optional = [
            &self.config,
            &self.generation_config,
            &self.tokenizer,
            &self.tokenizer_config,
            &self.chat_template,
        ];
        self.weights
            .paths()
            .into_iter()
            .chain(optional.into_iter().flatten())
            .chain(self.other.values())
            .collect()
    }
}

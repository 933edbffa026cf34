//! Resolving `--model` to files on disk: presets from `models/`, hub ids through
//! the hub and the standard HF cache (offline mode too), local directories and
//! `.gguf` files; plus reading the tokenizer and its special tokens.
//!
//! Entry points: [`ModelSpec::parse`] turns the user's string into a spec,
//! [`HubSettings::from_env`] reads the HF environment, and [`resolve`] returns
//! [`ModelFiles`] with every path local.

mod cache;
mod download;
mod error;
mod files;
mod fingerprint;
mod generation_defaults;
mod hub;
mod net;
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
pub use generation_defaults::GenerationDefaults;
/// Download progress callbacks; the CLI implements it over an indicatif bar.
pub use hf_hub::api::Progress;
pub use net::NetPolicy;
pub use preset::{default_preset, default_translation_preset, find_preset, presets, Preset};
pub use resolve::{pull, resolve, resolve_tokenizer, resolve_with_progress};
pub use settings::HubSettings;
pub use spec::ModelSpec;
pub use status::{cache_status, list_presets, remove_cached, CacheState, PresetStatus, Removed};

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

/// Which engine family a model belongs to, decided once when its files are resolved
/// (from `config.json`'s `model_type`; a GGUF file is always a decoder LLM). Every
/// caller asks this instead of reading the config again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// A decoder-only chat or base LLM (qwen2, qwen3, llama, gemma3).
    #[default]
    Llm,
    /// A Marian (opus-mt) sentence translation model.
    Marian,
    /// An IndicTrans2 (AI4Bharat) sentence translation model.
    IndicTrans,
}

impl ModelKind {
    /// The kind `config.json`'s `model_type` names.
    pub(crate) fn from_model_type(model_type: Option<&str>) -> Self {
        match model_type {
            Some("marian") => ModelKind::Marian,
            _ => ModelKind::Llm,
        }
    }

    /// What the kind is, as a user reads it in an error ("a translation model").
    pub fn description(self) -> &'static str {
        match self {
            ModelKind::Llm => "a language model",
            ModelKind::Marian | ModelKind::IndicTrans => "a translation model",
        }
    }

    /// True for the sentence-level translation families (no chat, no summaries).
    pub fn is_translation_only(self) -> bool {
        self != ModelKind::Llm
    }
}

/// Everything needed to load a model, all paths local.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFiles {
    /// What the user asked for, as shown in output (`qwen3-1.7b`, `org/name`, a path).
    pub name: String,
    /// Hub repo id, if from the hub.
    pub repo: Option<String>,
    /// The resolved revision: a commit sha for a hub model; for a local model,
    /// `local-<hex>`, a fingerprint of its files (sizes, modification times, content
    /// hashes), so work done with other weights is never taken for this model's.
    pub revision: Option<String>,
    pub weights: Weights,
    /// The engine family, decided from the files when they were resolved.
    pub kind: ModelKind,
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
            kind: ModelKind::Llm,
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

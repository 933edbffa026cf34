//! Which files make up a model, decided once for every place files come from
//! (a local directory, a cached snapshot, the hub): the weight-file fallback
//! (sharded safetensors index, single safetensors, PyTorch bin), the optional
//! config and tokenizer files, and Marian's extra vocabulary files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{ModelError, Weights};

pub(crate) const SAFETENSORS_INDEX: &str = "model.safetensors.index.json";
pub(crate) const SAFETENSORS: &str = "model.safetensors";
pub(crate) const PYTORCH_BIN: &str = "pytorch_model.bin";
pub(crate) const CONFIG: &str = "config.json";
pub(crate) const GENERATION_CONFIG: &str = "generation_config.json";
pub(crate) const TOKENIZER: &str = "tokenizer.json";
pub(crate) const TOKENIZER_CONFIG: &str = "tokenizer_config.json";
pub(crate) const CHAT_TEMPLATE: &str = "chat_template.jinja";
/// Marian keeps its vocabulary in SentencePiece models plus a joint vocab.
const MARIAN_FILES: [&str; 3] = ["source.spm", "target.spm", "vocab.json"];
const MARIAN_TARGET_VOCAB: &str = "target_vocab.json";
/// IndicTrans2's tokenizer: two spm models and two fairseq dictionaries.
pub(crate) const INDICTRANS_FILES: [&str; 4] =
    ["model.SRC", "model.TGT", "dict.SRC.json", "dict.TGT.json"];

/// Whether a `config.json` describes IndicTrans2: its remote code's `model_type`
/// (`IndicTrans`) or its model class among the `architectures`.
pub(crate) fn is_indictrans_config(config: &serde_json::Value) -> bool {
    let model_type = config.get("model_type").and_then(|t| t.as_str());
    let architectures = config.get("architectures").and_then(|a| a.as_array());
    model_type == Some("IndicTrans")
        || architectures.is_some_and(|list| {
            list.iter()
                .any(|a| a.as_str() == Some("IndicTransForConditionalGeneration"))
        })
}

/// A place that holds a model's files under their repo names.
pub(crate) trait FileSource {
    /// Whether the file exists there (without fetching it).
    fn has(&self, file: &str) -> bool;
    /// A local path for a file that `has` reported, downloading it if need be.
    fn fetch(&mut self, file: &str) -> Result<PathBuf, ModelError>;
    /// The error for a file the model needs but the source lacks.
    fn missing(&self, file: &str) -> ModelError;
    /// The error when none of the weight layouts is there.
    fn no_weights(&self, looked_for: &str) -> ModelError {
        ModelError::NoWeights {
            location: self.location(),
            looked_for: looked_for.to_string(),
        }
    }
    /// Where the files come from, for messages.
    fn location(&self) -> String;
}

/// Tokenizer-side files, each present only if the source has it.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct TokenizerFiles {
    pub json: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub generation_config: Option<PathBuf>,
    pub chat_template: Option<PathBuf>,
}

/// `config.json`, the tokenizer files, and family-specific extras.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct SupportFiles {
    pub kind: super::ModelKind,
    pub config: Option<PathBuf>,
    pub tokenizer: TokenizerFiles,
    pub other: BTreeMap<String, PathBuf>,
}

fn fetch_optional(source: &mut dyn FileSource, file: &str) -> Result<Option<PathBuf>, ModelError> {
    if source.has(file) {
        source.fetch(file).map(Some)
    } else {
        Ok(None)
    }
}

/// tokenizer.json, tokenizer_config.json, generation_config.json and
/// chat_template.jinja, whichever the source has.
pub(crate) fn fetch_tokenizer_files(
    source: &mut dyn FileSource,
) -> Result<TokenizerFiles, ModelError> {
    Ok(TokenizerFiles {
        json: fetch_optional(source, TOKENIZER)?,
        config: fetch_optional(source, TOKENIZER_CONFIG)?,
        generation_config: fetch_optional(source, GENERATION_CONFIG)?,
        chat_template: fetch_optional(source, CHAT_TEMPLATE)?,
    })
}

/// The small files around the weights; fetched before the weights so that an
/// interrupted download leaves the weights, not the metadata, missing.
pub(crate) fn fetch_support_files(source: &mut dyn FileSource) -> Result<SupportFiles, ModelError> {
    let config = fetch_optional(source, CONFIG)?;
    let tokenizer = fetch_tokenizer_files(source)?;
    let mut other = BTreeMap::new();
    let kind = match &config {
        Some(config) => {
            let json = read_config(config)?;
            if is_indictrans_config(&json) {
                for file in INDICTRANS_FILES {
                    other.insert(file.to_string(), fetch_required(source, file)?);
                }
                super::ModelKind::IndicTrans
            } else {
                super::ModelKind::from_model_type(json.get("model_type").and_then(|t| t.as_str()))
            }
        }
        None => super::ModelKind::Llm,
    };
    if kind == super::ModelKind::Marian {
        for file in MARIAN_FILES {
            other.insert(file.to_string(), fetch_required(source, file)?);
        }
        // Pairs with separate source and target vocabularies ship a second one.
        if source.has(MARIAN_TARGET_VOCAB) {
            other.insert(
                MARIAN_TARGET_VOCAB.to_string(),
                source.fetch(MARIAN_TARGET_VOCAB)?,
            );
        }
    }
    Ok(SupportFiles {
        kind,
        config,
        tokenizer,
        other,
    })
}

/// The weight-file fallback: a sharded safetensors index and its shards, else one
/// `model.safetensors`, else `pytorch_model.bin`.
pub(crate) fn fetch_weights(source: &mut dyn FileSource) -> Result<Weights, ModelError> {
    if source.has(SAFETENSORS_INDEX) {
        let index = source.fetch(SAFETENSORS_INDEX)?;
        let shard_names = shards_in_index(&index)?;
        if let Some(absent) = shard_names.iter().find(|name| !source.has(name)) {
            return Err(source.missing(absent));
        }
        let shards = shard_names
            .iter()
            .map(|name| source.fetch(name))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Weights::Safetensors(shards));
    }
    if source.has(SAFETENSORS) {
        return Ok(Weights::Safetensors(vec![source.fetch(SAFETENSORS)?]));
    }
    if source.has(PYTORCH_BIN) {
        return Ok(Weights::PytorchBin(source.fetch(PYTORCH_BIN)?));
    }
    Err(source.no_weights(&format!(
        "{SAFETENSORS_INDEX}, {SAFETENSORS}, {PYTORCH_BIN}"
    )))
}

/// One named file the model cannot do without (a preset's `.gguf`).
pub(crate) fn fetch_required(
    source: &mut dyn FileSource,
    file: &str,
) -> Result<PathBuf, ModelError> {
    if source.has(file) {
        source.fetch(file)
    } else {
        Err(source.missing(file))
    }
}

/// Shard file names from an index's `weight_map`, sorted (shard names number
/// themselves, `model-00001-of-00003.safetensors`, so this is load order).
fn shards_in_index(index: &Path) -> Result<Vec<String>, ModelError> {
    let bad = |reason: String| ModelError::BadFile {
        path: index.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(index).map_err(|e| ModelError::io(index, e))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let map = json
        .get("weight_map")
        .and_then(|map| map.as_object())
        .ok_or_else(|| bad("no `weight_map` object".to_string()))?;
    let mut shards = BTreeSet::new();
    for (tensor, file) in map {
        let file = file
            .as_str()
            .ok_or_else(|| bad(format!("tensor {tensor} maps to a non-string")))?;
        if file.contains("..") || file.starts_with('/') {
            return Err(bad(format!("shard name {file} leaves the repo")));
        }
        shards.insert(file.to_string());
    }
    if shards.is_empty() {
        return Err(bad("`weight_map` is empty".to_string()));
    }
    Ok(shards.into_iter().collect())
}

/// `model_type` from a config.json, if it has one.
fn read_config(config: &Path) -> Result<serde_json::Value, ModelError> {
    let text = std::fs::read_to_string(config).map_err(|e| ModelError::io(config, e))?;
    serde_json::from_str(&text).map_err(|e| ModelError::BadFile {
        path: config.to_path_buf(),
        reason: e.to_string(),
    })
}

pub(crate) struct DirSource {
    dir: PathBuf,
    /// Set for a snapshot in the HF cache: what is missing there was never downloaded.
    cached: Option<CachedRepo>,
}

/// Enough about a cached repo to tell the user how to fill the gap.
pub(crate) struct CachedRepo {
    pub name: String,
    pub repo: String,
    pub revision: String,
    pub cache_dir: PathBuf,
}

impl DirSource {
    /// A user's own directory.
    pub fn local(dir: &Path) -> Self {
        DirSource {
            dir: dir.to_path_buf(),
            cached: None,
        }
    }

    /// A snapshot directory in the HF cache.
    pub fn snapshot(dir: PathBuf, repo: CachedRepo) -> Self {
        DirSource {
            dir,
            cached: Some(repo),
        }
    }

    fn not_cached(repo: &CachedRepo, detail: String) -> ModelError {
        ModelError::NotCached {
            name: repo.name.clone(),
            repo: repo.repo.clone(),
            revision: repo.revision.clone(),
            cache_dir: repo.cache_dir.clone(),
            detail,
        }
    }
}

impl FileSource for DirSource {
    fn has(&self, file: &str) -> bool {
        self.dir.join(file).is_file()
    }

    fn fetch(&mut self, file: &str) -> Result<PathBuf, ModelError> {
        Ok(self.dir.join(file))
    }

    fn missing(&self, file: &str) -> ModelError {
        match &self.cached {
            Some(repo) => Self::not_cached(repo, format!(" (missing {file})")),
            None => ModelError::MissingFile {
                location: self.location(),
                file: file.to_string(),
            },
        }
    }

    fn no_weights(&self, looked_for: &str) -> ModelError {
        match &self.cached {
            Some(repo) => Self::not_cached(repo, format!(" (no weights: looked for {looked_for})")),
            None => ModelError::NoWeights {
                location: self.location(),
                looked_for: looked_for.to_string(),
            },
        }
    }

    fn location(&self) -> String {
        self.dir.display().to_string()
    }
}

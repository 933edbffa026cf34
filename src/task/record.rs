//! The one record every door prints: `saar summarize/translate --format json`, the
//! server's `/v1/summarize` and `/v1/translate` replies, and (field for field, around
//! its own batch keys) each line of `saar batch`. Building it in one place keeps the
//! three from drifting apart.

use serde::Serialize;

use super::{TranslationPiece, Usage};
use crate::engine::ModelInfo;
use crate::model::ModelFiles;
use crate::score::Finding;

/// Which model produced an output and where it ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelStamp {
    /// What the user asked for: a preset, a hub id or a path.
    pub model: String,
    pub repo: Option<String>,
    pub revision: Option<String>,
    pub architecture: String,
    pub device: String,
    pub dtype: String,
    /// The prompt templates' hash; `None` for models that take no prompt (Marian).
    pub prompt_hash: Option<String>,
}

impl ModelStamp {
    pub fn new(files: &ModelFiles, info: &ModelInfo, prompt_hash: Option<String>) -> Self {
        Self {
            model: files.name.clone(),
            repo: files.repo.clone(),
            revision: files.revision.clone(),
            architecture: info.architecture.clone(),
            device: info.device.clone(),
            dtype: info.dtype.clone(),
            prompt_hash,
        }
    }
}

/// A finished task on one article, as JSON shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// `summarize` or `translate`.
    pub task: &'static str,
    pub output: String,
    #[serde(flatten)]
    pub model: ModelStamp,
    #[serde(flatten)]
    pub usage: Usage,
    /// Summaries: chunks the article was cut into (1 when it fit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunks: Option<usize>,
    /// Summaries: combine rounds after the map step (0 when it fit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub combine_rounds: Option<usize>,
    /// Translations: each source piece with its output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pieces: Option<Vec<TranslationPiece>>,
    /// Boilerplate lines the cleaner removed before the model saw the article.
    pub removed_boilerplate: usize,
    /// The number check's findings, when it was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<Vec<Finding>>,
}

/// The fields of a serializable value as a JSON object's map (empty for a non-object).
pub fn json_fields(value: &impl Serialize) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

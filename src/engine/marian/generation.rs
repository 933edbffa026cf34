//! Generation settings as HF resolves them for encoder-decoder models: the fields
//! of `generation_config.json` (or, for older repositories, of `config.json`), the
//! special ids, and HF's defaults for whatever both files leave out. Marian and
//! IndicTrans2 resolve theirs here, from their own configs' ids.

use std::path::Path;

use serde::Deserialize;

use crate::engine::EngineError;

/// A token id or a list of them, as HF configs write `eos_token_id`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum TokenIds {
    One(u32),
    Many(Vec<u32>),
}

impl TokenIds {
    pub fn to_vec(&self) -> Vec<u32> {
        match self {
            TokenIds::One(id) => vec![*id],
            TokenIds::Many(ids) => ids.clone(),
        }
    }
}

/// `early_stopping`: `true`, `false` or `"never"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EarlyStopping {
    /// Stop a sentence once `num_beams` hypotheses are finished.
    True,
    /// Stop when the best running beam cannot beat the worst finished one at the
    /// current length (HF's default heuristic).
    #[default]
    False,
    /// Keep searching until no running beam can improve, at any length.
    Never,
}

impl<'de> Deserialize<'de> for EarlyStopping {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Bool(true) => Ok(EarlyStopping::True),
            serde_json::Value::Bool(false) | serde_json::Value::Null => Ok(EarlyStopping::False),
            serde_json::Value::String(s) if s == "never" => Ok(EarlyStopping::Never),
            other => Err(serde::de::Error::custom(format!(
                "early_stopping must be true, false or \"never\", not {other}"
            ))),
        }
    }
}

/// The generation fields saar honours, as written in either file (all optional).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GenerationFile {
    pub max_length: Option<usize>,
    pub max_new_tokens: Option<usize>,
    pub min_length: Option<usize>,
    pub min_new_tokens: Option<usize>,
    pub num_beams: Option<usize>,
    pub length_penalty: Option<f64>,
    pub early_stopping: Option<EarlyStopping>,
    pub no_repeat_ngram_size: Option<usize>,
    pub repetition_penalty: Option<f32>,
    pub bad_words_ids: Option<Vec<Vec<u32>>>,
    pub renormalize_logits: Option<bool>,
}

/// The special ids and search defaults generation uses, resolved from both files.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GenerationDefaults {
    pub decoder_start_token_id: u32,
    pub pad_token_id: u32,
    pub eos_token_ids: Vec<u32>,
    pub forced_eos_token_ids: Vec<u32>,
    pub bad_words_ids: Vec<Vec<u32>>,
    /// Longest decoder sequence, counting the start token, as HF's `max_length`.
    pub max_length: usize,
    pub max_new_tokens: Option<usize>,
    pub min_length: usize,
    pub min_new_tokens: usize,
    pub num_beams: usize,
    pub length_penalty: f64,
    pub early_stopping: EarlyStopping,
    pub no_repeat_ngram_size: usize,
    pub repetition_penalty: f32,
    pub renormalize_logits: bool,
}

/// `generation_config.json` as a whole: the search fields plus the special ids.
#[derive(Debug, Clone, Default, Deserialize)]
struct GenerationConfigFile {
    #[serde(flatten)]
    fields: GenerationFile,
    decoder_start_token_id: Option<u32>,
    bos_token_id: Option<u32>,
    pad_token_id: Option<u32>,
    eos_token_id: Option<TokenIds>,
    forced_eos_token_id: Option<TokenIds>,
}

/// The special ids a model's `config.json` gives, for [`resolve_generation`].
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfigIds {
    pub pad_token_id: Option<u32>,
    pub decoder_start_token_id: Option<u32>,
    pub bos_token_id: Option<u32>,
    pub eos_token_id: Option<TokenIds>,
    pub forced_eos_token_id: Option<TokenIds>,
}

/// Generation defaults from `generation_config.json` when present (as HF loads it),
/// else from the generation fields of `config.json` (`legacy`) and its ids; HF's
/// defaults for the rest. Every id must fall inside the target vocabulary `vocab`.
pub(crate) fn resolve_generation(
    ids: &ConfigIds,
    legacy: &GenerationFile,
    vocab: usize,
    generation_path: Option<&Path>,
) -> Result<GenerationDefaults, EngineError> {
    let file: GenerationConfigFile = match generation_path {
        Some(path) => read_json(path)?,
        None => GenerationConfigFile {
            fields: legacy.clone(),
            ..Default::default()
        },
    };
    let fields = &file.fields;
    let missing = |what: &str| EngineError::Config {
        path: "config.json".into(),
        message: format!("no {what} in config.json or generation_config.json"),
    };
    let pad_token_id = file
        .pad_token_id
        .or(ids.pad_token_id)
        .ok_or_else(|| missing("pad_token_id"))?;
    let decoder_start_token_id = file
        .decoder_start_token_id
        .or(ids.decoder_start_token_id)
        .or(file.bos_token_id)
        .or(ids.bos_token_id)
        .ok_or_else(|| missing("decoder_start_token_id"))?;
    let eos_token_ids = file
        .eos_token_id
        .as_ref()
        .or(ids.eos_token_id.as_ref())
        .map(TokenIds::to_vec)
        .ok_or_else(|| missing("eos_token_id"))?;
    let forced_eos_token_ids = match (&file.forced_eos_token_id, generation_path) {
        (Some(ids), _) => ids.to_vec(),
        // A generation file that omits it turns it off, as in HF.
        (None, Some(_)) => Vec::new(),
        (None, None) => ids
            .forced_eos_token_id
            .as_ref()
            .map(TokenIds::to_vec)
            .unwrap_or_default(),
    };
    let defaults = GenerationDefaults {
        decoder_start_token_id,
        pad_token_id,
        eos_token_ids,
        forced_eos_token_ids,
        bad_words_ids: fields.bad_words_ids.clone().unwrap_or_default(),
        max_length: fields.max_length.unwrap_or(20),
        max_new_tokens: fields.max_new_tokens,
        min_length: fields.min_length.unwrap_or(0),
        min_new_tokens: fields.min_new_tokens.unwrap_or(0),
        num_beams: fields.num_beams.unwrap_or(1).max(1),
        length_penalty: fields.length_penalty.unwrap_or(1.0),
        early_stopping: fields.early_stopping.unwrap_or_default(),
        no_repeat_ngram_size: fields.no_repeat_ngram_size.unwrap_or(0),
        repetition_penalty: fields.repetition_penalty.unwrap_or(1.0),
        renormalize_logits: fields.renormalize_logits.unwrap_or(false),
    };
    let vocab = vocab as u32;
    let all_ids = defaults
        .bad_words_ids
        .iter()
        .flatten()
        .chain(&defaults.eos_token_ids)
        .chain(&defaults.forced_eos_token_ids)
        .chain([&defaults.pad_token_id, &defaults.decoder_start_token_id]);
    if let Some(bad) = all_ids.into_iter().find(|&&id| id >= vocab) {
        return Err(EngineError::Config {
            path: generation_path.map_or("config.json".into(), |p| p.display().to_string()),
            message: format!("token id {bad} is outside the vocabulary of {vocab}"),
        });
    }
    Ok(defaults)
}

pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, EngineError> {
    let error = |message: String| EngineError::Config {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| error(e.to_string()))
}

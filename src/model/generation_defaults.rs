//! Sampling defaults a model ships: `generation_config.json` as HF `generate` reads
//! it, or a GGUF file's `general.sampling.*` keys. saar stays greedy unless asked
//! (reproducible summaries), so only what shapes greedy and sampled output alike,
//! and the sampling filters, are taken; every flag overrides them. A model that
//! sets no repetition penalty gets none (1.0), as in HF, so `--temperature 0` is
//! exactly HF's greedy search.

use std::path::Path;

use candle_core::quantized::gguf_file::{Content, Value as Gguf};
use serde_json::Value;

use super::tokenizer::TokenizerError;
use super::{ModelFiles, Weights};

/// What the model's files say about sampling; `None` where they say nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenerationDefaults {
    pub repetition_penalty: Option<f32>,
    pub top_k: Option<usize>,
    pub top_p: Option<f64>,
}

impl GenerationDefaults {
    /// From `generation_config.json`, else from the GGUF metadata, else nothing.
    pub fn load(files: &ModelFiles) -> Result<Self, TokenizerError> {
        if let Some(path) = &files.generation_config {
            return read_generation_config(path);
        }
        match &files.weights {
            Weights::Gguf(path) => read_gguf(path),
            _ => Ok(Self::default()),
        }
    }

    /// The repetition penalty to use when no flag sets one.
    pub fn repetition_penalty_or_off(&self) -> f32 {
        self.repetition_penalty.unwrap_or(1.0)
    }
}

fn read_generation_config(path: &Path) -> Result<GenerationDefaults, TokenizerError> {
    let text = std::fs::read_to_string(path).map_err(|e| TokenizerError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let json: Value = serde_json::from_str(&text).map_err(|e| TokenizerError::Invalid {
        path: path.display().to_string(),
        what: "generation_config.json",
        message: e.to_string(),
    })?;
    Ok(from_generation_config(&json))
}

pub(crate) fn from_generation_config(json: &Value) -> GenerationDefaults {
    let number = |key: &str| json.get(key).and_then(Value::as_f64);
    GenerationDefaults {
        repetition_penalty: number("repetition_penalty")
            .filter(|p| *p > 0.0)
            .map(|p| p as f32),
        // HF's `top_k = 0` and `top_p = 1.0` mean no filter.
        top_k: json
            .get("top_k")
            .and_then(Value::as_u64)
            .filter(|k| *k > 0)
            .map(|k| k as usize),
        top_p: number("top_p").filter(|p| *p > 0.0 && *p < 1.0),
    }
}

fn read_gguf(path: &Path) -> Result<GenerationDefaults, TokenizerError> {
    let mut file = std::fs::File::open(path).map_err(|e| TokenizerError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let content = Content::read(&mut file).map_err(|e| TokenizerError::Invalid {
        path: path.display().to_string(),
        what: "GGUF file",
        message: e.to_string().lines().next().unwrap_or("").to_string(),
    })?;
    let md = &content.metadata;
    let float = |key: &str| md.get(key).and_then(|v| v.to_f32().ok());
    let int = |key: &str| match md.get(key) {
        Some(Gguf::I32(v)) => usize::try_from(*v).ok(),
        Some(Gguf::U32(v)) => usize::try_from(*v).ok(),
        _ => None,
    };
    Ok(GenerationDefaults {
        repetition_penalty: float("general.sampling.penalty_repeat").filter(|p| *p > 0.0),
        top_k: int("general.sampling.top_k").filter(|k| *k > 0),
        top_p: float("general.sampling.top_p")
            .map(f64::from)
            .filter(|p| *p > 0.0 && *p < 1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generation_config_sets_what_it_names_and_nothing_else() {
        let set = from_generation_config(
            &json!({"repetition_penalty": 1.3, "top_k": 64, "top_p": 0.95, "eos_token_id": [1, 106]}),
        );
        assert_eq!(set.repetition_penalty, Some(1.3));
        assert_eq!(set.top_k, Some(64));
        assert_eq!(set.top_p, Some(0.95));
        let unset = from_generation_config(&json!({"eos_token_id": 2, "top_k": 0, "top_p": 1.0}));
        assert_eq!(unset, GenerationDefaults::default());
        assert_eq!(unset.repetition_penalty_or_off(), 1.0);
    }
}

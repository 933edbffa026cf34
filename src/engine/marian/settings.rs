//! What a caller may ask of a translation run ([`MarianSettings`]) and the search
//! plan it resolves to, with the model's generation defaults filling every gap in
//! the order HF's `generate` uses.

use super::config::{EarlyStopping, GenerationDefaults};
use super::logits::LogitsProcessors;
use crate::engine::EngineError;

/// Per-run settings; `None` means "as the model's generation config says".
#[derive(Debug, Clone, PartialEq)]
pub struct MarianSettings {
    /// Beam width; 1 is greedy search.
    pub beams: Option<usize>,
    /// Sentences encoded and decoded together.
    pub batch_size: usize,
    /// Longest decoder sequence, counting the start token (HF's `max_length`).
    pub max_length: Option<usize>,
    /// New tokens allowed; wins over `max_length` (HF's `max_new_tokens`).
    pub max_new_tokens: Option<usize>,
    pub min_length: Option<usize>,
    pub length_penalty: Option<f64>,
    pub early_stopping: Option<EarlyStopping>,
    pub no_repeat_ngram_size: Option<usize>,
    pub repetition_penalty: Option<f32>,
    pub renormalize_logits: Option<bool>,
}

impl Default for MarianSettings {
    fn default() -> Self {
        MarianSettings {
            beams: None,
            batch_size: 8,
            max_length: None,
            max_new_tokens: None,
            min_length: None,
            length_penalty: None,
            early_stopping: None,
            no_repeat_ngram_size: None,
            repetition_penalty: None,
            renormalize_logits: None,
        }
    }
}

/// A fully resolved search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPlan {
    pub num_beams: usize,
    pub decoder_start: u32,
    pub eos_token_ids: Vec<u32>,
    pub max_length: usize,
    pub length_penalty: f64,
    pub early_stopping: EarlyStopping,
    pub processors: LogitsProcessors,
}

/// Decoder tokens present before the first generated one: the start token.
pub const PROMPT_LENGTH: usize = 1;

fn invalid(message: String) -> EngineError {
    EngineError::Config {
        path: "translation settings".into(),
        message,
    }
}

impl MarianSettings {
    /// Resolves these settings against the model's defaults. `max_positions` caps the
    /// decoder: a sequence of `max_positions + 1` tokens is the longest it can produce.
    pub fn plan(
        &self,
        defaults: &GenerationDefaults,
        max_positions: usize,
    ) -> Result<SearchPlan, EngineError> {
        let num_beams = self.beams.unwrap_or(defaults.num_beams);
        if num_beams == 0 {
            return Err(invalid("beams must be at least 1".into()));
        }
        if self.batch_size == 0 {
            return Err(invalid("batch size must be at least 1".into()));
        }
        let max_length = match (
            self.max_new_tokens,
            self.max_length,
            defaults.max_new_tokens,
        ) {
            (Some(new), _, _) => new + PROMPT_LENGTH,
            (None, Some(total), _) => total,
            (None, None, Some(new)) => new + PROMPT_LENGTH,
            (None, None, None) => defaults.max_length,
        };
        if max_length <= PROMPT_LENGTH {
            return Err(invalid(format!(
                "max length {max_length} leaves no room for a translation; use 2 or more"
            )));
        }
        let max_length = max_length.min(max_positions + PROMPT_LENGTH);
        let length_penalty = self.length_penalty.unwrap_or(defaults.length_penalty);
        let repetition_penalty = self
            .repetition_penalty
            .unwrap_or(defaults.repetition_penalty);
        if !length_penalty.is_finite()
            || !(repetition_penalty.is_finite() && repetition_penalty > 0.0)
        {
            return Err(invalid(
                "length and repetition penalties must be finite, the latter above 0".into(),
            ));
        }
        let (banned_tokens, banned_sequences) =
            LogitsProcessors::split_bad_words(&defaults.bad_words_ids, &defaults.eos_token_ids);
        let processors = LogitsProcessors {
            repetition_penalty,
            no_repeat_ngram_size: self
                .no_repeat_ngram_size
                .unwrap_or(defaults.no_repeat_ngram_size),
            banned_tokens,
            banned_sequences,
            min_length: self.min_length.unwrap_or(defaults.min_length),
            min_new_tokens: defaults.min_new_tokens,
            prompt_length: PROMPT_LENGTH,
            max_length,
            eos_token_ids: defaults.eos_token_ids.clone(),
            forced_eos_token_ids: defaults.forced_eos_token_ids.clone(),
            renormalize: self
                .renormalize_logits
                .unwrap_or(defaults.renormalize_logits),
        };
        Ok(SearchPlan {
            num_beams,
            decoder_start: defaults.decoder_start_token_id,
            eos_token_ids: defaults.eos_token_ids.clone(),
            max_length,
            length_penalty,
            early_stopping: self.early_stopping.unwrap_or(defaults.early_stopping),
            processors,
        })
    }
}

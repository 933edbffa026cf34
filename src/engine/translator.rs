//! What the translate task and the batch pipeline need from a sentence translation
//! model, so Marian (opus-mt) and IndicTrans2 run through the same planning, batching
//! and reassembly code.

use super::marian::{MarianSettings, Translation};
use super::{EngineError, ModelInfo};

/// A sentence-level encoder-decoder translator.
pub trait SentenceTranslator {
    /// The source ids of `text` as the model will see them (for token budgets).
    fn encode(&self, text: &str) -> Result<Vec<u32>, EngineError>;
    /// The longest source, in tokens, the model takes.
    fn max_source_tokens(&self) -> usize;
    /// Translates `sentences` in order; each result is what the sentence gives alone.
    fn translate(
        &self,
        sentences: &[&str],
        settings: &MarianSettings,
    ) -> Result<Vec<Translation>, EngineError>;
    fn info(&self) -> &ModelInfo;
    /// The search the model runs where the caller sets nothing.
    fn base_settings(&self) -> MarianSettings {
        MarianSettings::default()
    }
    /// Whether the model translates English into an Indic language: an article's
    /// English sentences are then what it translates, and its Devanagari ones are
    /// kept as they are.
    fn from_english(&self) -> bool {
        false
    }
    /// `source` as the model reads it, before its tokenizer (what `--show-prompt`
    /// prints): the sentence itself unless the model pre-processes it.
    fn model_input(&self, source: &str) -> String {
        source.to_string()
    }
}

/// The trait's methods as each translator's own inherent methods of the same names.
macro_rules! delegate {
    () => {
        fn encode(&self, text: &str) -> Result<Vec<u32>, EngineError> {
            Self::encode(self, text)
        }
        fn max_source_tokens(&self) -> usize {
            Self::max_source_tokens(self)
        }
        fn translate(
            &self,
            sentences: &[&str],
            settings: &MarianSettings,
        ) -> Result<Vec<Translation>, EngineError> {
            Self::translate(self, sentences, settings)
        }
        fn info(&self) -> &ModelInfo {
            Self::info(self)
        }
    };
}

impl SentenceTranslator for super::marian::MarianTranslator {
    delegate!();
}

impl SentenceTranslator for super::indictrans::IndicTransTranslator {
    delegate!();
    /// The hub's generation config sets no beams or length (1 beam, 20 tokens): the
    /// reference's examples run 5 beams up to 256 tokens.
    fn base_settings(&self) -> MarianSettings {
        Self::reference_settings()
    }
    fn from_english(&self) -> bool {
        self.languages().0 == "eng_Latn"
    }
    fn model_input(&self, source: &str) -> String {
        Self::model_input(self, source)
    }
}

//! The IndicTrans2 translation engine (AI4Bharat's `IndicTransForConditionalGeneration`):
//! the network, batching, greedy and beam search are Marian's (see
//! [`crate::engine::marian::layout`] for what differs), the tokenizer and the
//! config are IndicTrans2's own. Batches give what sentences one by one give.
//!
//! ```no_run
//! # use saar::engine::{Placement, indictrans::IndicTransTranslator};
//! # fn run(files: &saar::model::ModelFiles) -> Result<(), saar::engine::EngineError> {
//! let placement = Placement { device: candle_core::Device::Cpu, dtype: None };
//! let translator = IndicTransTranslator::load(files, &placement)?;
//! let settings = IndicTransTranslator::reference_settings();
//! let out = translator.translate(&["आज बारिश हुई।"], &settings)?;
//! println!("{}", out[0].text);
//! # Ok(()) }
//! ```

pub mod config;
pub mod processor;
pub mod tokenizer;

use std::path::{Path, PathBuf};

use candle_core::{DType, Tensor};

pub use config::IndicTransConfig;
pub use tokenizer::{IndicTransTokenizer, IndicTransTokenizerFiles, LANGUAGE_TAGS};

use crate::engine::marian::model::MarianModel;
use crate::engine::marian::search::forced_logits;
use crate::engine::marian::{
    default_cache_dir, device_name, GenerationDefaults, Hypothesis, MarianSettings, Run,
    Translation,
};
use crate::engine::{EngineError, ModelInfo, Placement};
use crate::model::ModelFiles;

/// True when `files` hold an IndicTrans2 model (`config.json` says `model_type:
/// IndicTrans` or lists `IndicTransForConditionalGeneration`).
pub fn is_indictrans(files: &ModelFiles) -> bool {
    let Some(path) = &files.config else {
        return false;
    };
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|config| crate::model::is_indictrans_config(&config))
}

/// The beam width the reference's examples translate with.
pub const REFERENCE_BEAMS: usize = 5;
/// The longest output the reference's examples allow, start token included.
pub const REFERENCE_MAX_LENGTH: usize = 256;

/// A loaded IndicTrans2 model with its tokenizer, generation defaults and the
/// direction its sources are tagged with.
pub struct IndicTransTranslator {
    model: MarianModel,
    tokenizer: IndicTransTokenizer,
    defaults: GenerationDefaults,
    info: ModelInfo,
    source_lang: String,
    target_lang: String,
}

fn required<'f>(files: &'f ModelFiles, name: &str) -> Result<&'f Path, EngineError> {
    files
        .other
        .get(name)
        .map(PathBuf::as_path)
        .ok_or_else(|| EngineError::Config {
            path: files.name.clone(),
            message: format!(
                "{name} is missing; an IndicTrans2 model needs model.SRC, dict.SRC.json and dict.TGT.json"
            ),
        })
}

impl IndicTransTranslator {
    /// Loads weights, config, generation defaults and tokenizer files; sources are
    /// tagged Hindi to English until [`Self::with_languages`] says otherwise.
    pub fn load(files: &ModelFiles, placement: &Placement) -> Result<Self, EngineError> {
        Self::load_with_cache(files, placement, default_cache_dir().as_deref())
    }

    /// As [`IndicTransTranslator::load`], with the tokenizer cache directory given.
    pub fn load_with_cache(
        files: &ModelFiles,
        placement: &Placement,
        cache_dir: Option<&Path>,
    ) -> Result<Self, EngineError> {
        let config_path = files.config.as_deref().ok_or_else(|| EngineError::Config {
            path: files.name.clone(),
            message: "config.json is missing; download the model again".into(),
        })?;
        let config = IndicTransConfig::from_file(config_path)?;
        let defaults = config.generation_defaults(files.generation_config.as_deref())?;
        let tokenizer_files = IndicTransTokenizerFiles {
            source_spm: required(files, "model.SRC")?.to_path_buf(),
            source_dict: required(files, "dict.SRC.json")?.to_path_buf(),
            target_dict: required(files, "dict.TGT.json")?.to_path_buf(),
            tokenizer_config: files.tokenizer_config.clone(),
        };
        let tokenizer = IndicTransTokenizer::load(&tokenizer_files, cache_dir)?;
        let dtype = placement.dtype.unwrap_or(if placement.device.is_cpu() {
            DType::F32
        } else {
            DType::BF16
        });
        let layout = config.layout()?;
        let model = MarianModel::load(&layout, &files.weights, dtype, &placement.device)?;
        let info = ModelInfo {
            architecture: "indictrans2".into(),
            dtype: format!("{dtype:?}").to_lowercase(),
            device: device_name(&placement.device),
            context_length: layout.max_positions,
            vocab_size: layout.target_vocab,
        };
        Ok(IndicTransTranslator {
            model,
            tokenizer,
            defaults,
            info,
            source_lang: "hin_Deva".into(),
            target_lang: "eng_Latn".into(),
        })
    }

    /// Tags sources as `source_lang` to `target_lang` (FLORES-200 tags such as
    /// `eng_Latn`, `hin_Deva`): the en→indic models want `eng_Latn hin_Deva`.
    pub fn with_languages(
        mut self,
        source_lang: &str,
        target_lang: &str,
    ) -> Result<Self, EngineError> {
        // Checking through the tokenizer keeps one list of accepted tags.
        self.tokenizer.encode(source_lang, target_lang, "")?;
        self.source_lang = source_lang.to_string();
        self.target_lang = target_lang.to_string();
        Ok(self)
    }

    /// The search the reference's examples run: beam width 5, up to 256 tokens.
    pub fn reference_settings() -> MarianSettings {
        MarianSettings {
            beams: Some(REFERENCE_BEAMS),
            max_length: Some(REFERENCE_MAX_LENGTH),
            ..MarianSettings::default()
        }
    }

    /// Translates `sentences`, in order, batched by source length; each result is
    /// what the sentence gives alone. Each sentence goes through the reference's
    /// pre-processing ([`processor::preprocess`]) and its output through the
    /// post-processing, so numbers, URLs and handles come back as written.
    pub fn translate(
        &self,
        sentences: &[&str],
        settings: &MarianSettings,
    ) -> Result<Vec<Translation>, EngineError> {
        let prepared: Vec<processor::Preprocessed> = sentences
            .iter()
            .map(|s| processor::preprocess(s, &self.source_lang))
            .collect();
        let texts: Vec<&str> = prepared.iter().map(|p| p.text.as_str()).collect();
        let mut translations = self.translate_preprocessed(&texts, settings)?;
        for (translation, source) in translations.iter_mut().zip(&prepared) {
            translation.text =
                processor::postprocess(&translation.text, &self.target_lang, &source.entities);
        }
        Ok(translations)
    }

    /// As [`Self::translate`], for sentences already pre-processed, with the model's
    /// output as it decodes (placeholders left in).
    pub fn translate_preprocessed(
        &self,
        sentences: &[&str],
        settings: &MarianSettings,
    ) -> Result<Vec<Translation>, EngineError> {
        let decode = |ids: &[u32]| self.tokenizer.decode(ids);
        let run = Run::new(&self.model, &self.defaults, settings);
        run.translate(sentences, |s| self.encode_preprocessed(s), decode)
    }

    /// Generates for already tokenized sources (tags first, `</s>` last); results
    /// come back in the order given.
    pub fn generate(
        &self,
        sources: &[Vec<u32>],
        settings: &MarianSettings,
    ) -> Result<Vec<Hypothesis>, EngineError> {
        Run::new(&self.model, &self.defaults, settings).generate(sources)
    }

    /// Decoder logits `(sources, positions, vocab)` for given decoder inputs (start
    /// token first), all positions at once; for checking the network against HF.
    pub fn teacher_forced_logits(
        &self,
        sources: &[Vec<u32>],
        decoder_ids: &[Vec<u32>],
    ) -> Result<Tensor, EngineError> {
        forced_logits(&self.model, sources, decoder_ids, false)
    }

    /// As [`Self::teacher_forced_logits`], one position at a time as generation runs.
    pub fn stepwise_logits(
        &self,
        sources: &[Vec<u32>],
        decoder_ids: &[Vec<u32>],
    ) -> Result<Tensor, EngineError> {
        forced_logits(&self.model, sources, decoder_ids, true)
    }

    /// Source ids for `text` in this translator's direction, tags first, `</s>` last,
    /// after the reference's pre-processing.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, EngineError> {
        let prepared = processor::preprocess(text, &self.source_lang);
        self.encode_preprocessed(&prepared.text)
    }

    /// `text` as the model reads it: its two language tags, then the reference's
    /// pre-processing of it (the input format of the reference's `batch_translate`).
    pub fn model_input(&self, text: &str) -> String {
        let prepared = processor::preprocess(text, &self.source_lang);
        format!(
            "{} {} {}",
            self.source_lang, self.target_lang, prepared.text
        )
    }

    /// As [`Self::encode`], for text already pre-processed.
    pub fn encode_preprocessed(&self, text: &str) -> Result<Vec<u32>, EngineError> {
        self.tokenizer
            .encode(&self.source_lang, &self.target_lang, text)
    }

    /// Target text for generated ids, special tokens skipped.
    pub fn decode(&self, ids: &[u32]) -> String {
        self.tokenizer.decode(ids)
    }

    /// The longest source, in tokens with its tags and `</s>`, the model accepts.
    pub fn max_source_tokens(&self) -> usize {
        self.model.max_positions()
    }

    pub fn languages(&self) -> (&str, &str) {
        (&self.source_lang, &self.target_lang)
    }

    pub fn generation_defaults(&self) -> &GenerationDefaults {
        &self.defaults
    }

    pub fn tokenizer(&self) -> &IndicTransTokenizer {
        &self.tokenizer
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }
}

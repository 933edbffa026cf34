//! The Marian (opus-mt) translation engine: an encoder-decoder with padding masks,
//! a decoder cache and cross-attention computed once per batch, greedy and beam
//! search with HF `generate` semantics, and the tokenizer rebuilt from the repo's
//! SentencePiece files. Batches give what sentences one by one give.
//!
//! ```no_run
//! # use saar::engine::{Placement, marian::{MarianTranslator, MarianSettings}};
//! # fn run(files: &saar::model::ModelFiles) -> Result<(), saar::engine::EngineError> {
//! let placement = Placement { device: candle_core::Device::Cpu, dtype: None };
//! let translator = MarianTranslator::load(files, &placement)?;
//! let out = translator.translate(&["आज बारिश हुई।"], &MarianSettings::default())?;
//! println!("{}", out[0].text);
//! # Ok(()) }
//! ```

mod beam;
pub mod bench;
pub mod config;
mod generation;
mod greedy;
pub(crate) mod layers;
pub mod layout;
mod logits;
pub mod model;
mod positions;
pub(crate) mod search;
pub mod settings;
pub mod tokenizer;

use std::path::{Path, PathBuf};

use candle_core::{DType, Tensor};

pub use config::{EarlyStopping, GenerationDefaults, MarianConfig};
pub use search::Hypothesis;
pub use settings::MarianSettings;
pub use tokenizer::{MarianTokenizer, MarianTokenizerFiles};

use crate::engine::{EngineError, ModelInfo, Placement, StopReason};
use crate::model::ModelFiles;
use model::MarianModel;

/// One translated sentence.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Translation {
    pub text: String,
    /// Generated target ids, without the decoder start token and the final EOS.
    pub tokens: Vec<u32>,
    /// Source ids the sentence became, `</s>` included.
    pub source_tokens: usize,
    /// `Eos`, or `MaxNewTokens` when `max_length` cut it off.
    pub stop: StopReason,
    /// Beam search's length-normalised log-probability; `None` for greedy search.
    pub score: Option<f32>,
}

/// One translation request against a loaded network: what both translators (Marian's
/// and IndicTrans2's) do once their tokenizers have turned text into ids.
pub(crate) struct Run<'a> {
    model: &'a MarianModel,
    defaults: &'a GenerationDefaults,
    settings: &'a MarianSettings,
}

impl<'a> Run<'a> {
    pub(crate) fn new(
        model: &'a MarianModel,
        defaults: &'a GenerationDefaults,
        settings: &'a MarianSettings,
    ) -> Self {
        Run {
            model,
            defaults,
            settings,
        }
    }

    /// Sources batched by length; results in the order given.
    pub(crate) fn generate(&self, sources: &[Vec<u32>]) -> Result<Vec<Hypothesis>, EngineError> {
        let plan = self
            .settings
            .plan(self.defaults, self.model.max_positions())?;
        search::generate_batched(self.model, sources, &plan, self.settings.batch_size)
    }

    /// Encodes every sentence, generates, and decodes each result.
    pub(crate) fn translate(
        &self,
        sentences: &[&str],
        encode: impl Fn(&str) -> Result<Vec<u32>, EngineError>,
        decode: impl Fn(&[u32]) -> String,
    ) -> Result<Vec<Translation>, EngineError> {
        let sources = sentences
            .iter()
            .map(|s| encode(s))
            .collect::<Result<Vec<_>, _>>()?;
        let hypotheses = self.generate(&sources)?;
        Ok(hypotheses
            .into_iter()
            .zip(&sources)
            .map(|(h, source)| Translation {
                text: decode(&h.tokens),
                tokens: h.tokens,
                source_tokens: source.len(),
                stop: h.stop,
                score: h.score,
            })
            .collect())
    }
}

/// A loaded opus-mt style model with its tokenizer and generation defaults.
pub struct MarianTranslator {
    model: MarianModel,
    tokenizer: MarianTokenizer,
    defaults: GenerationDefaults,
    info: ModelInfo,
}

/// Where converted tokenizers are cached when a model's own directory cannot hold
/// them: `$SAAR_CACHE_DIR`, else `$XDG_CACHE_HOME/saar`, else `~/.cache/saar`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("SAAR_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|dir| dir.join("saar")))
        .or_else(|| var("HOME").map(|home| home.join(".cache").join("saar")))
}

fn required<'f>(files: &'f ModelFiles, name: &str) -> Result<&'f Path, EngineError> {
    files
        .other
        .get(name)
        .map(PathBuf::as_path)
        .ok_or_else(|| EngineError::Config {
            path: files.name.clone(),
            message: format!(
                "{name} is missing; a Marian model needs source.spm, target.spm and vocab.json"
            ),
        })
}

impl MarianTranslator {
    /// Loads weights, config, generation defaults and tokenizer files.
    pub fn load(files: &ModelFiles, placement: &Placement) -> Result<Self, EngineError> {
        Self::load_with_cache(files, placement, default_cache_dir().as_deref())
    }

    /// As [`MarianTranslator::load`], with the tokenizer cache directory given.
    pub fn load_with_cache(
        files: &ModelFiles,
        placement: &Placement,
        cache_dir: Option<&Path>,
    ) -> Result<Self, EngineError> {
        let config_path = files.config.as_deref().ok_or_else(|| EngineError::Config {
            path: files.name.clone(),
            message: "config.json is missing; download the model again".into(),
        })?;
        let config = MarianConfig::from_file(config_path)?;
        let defaults = config.generation_defaults(files.generation_config.as_deref())?;
        let tokenizer_files = MarianTokenizerFiles {
            source_spm: required(files, "source.spm")?.to_path_buf(),
            target_spm: required(files, "target.spm")?.to_path_buf(),
            vocab: required(files, "vocab.json")?.to_path_buf(),
            target_vocab: files.other.get("target_vocab.json").cloned(),
            tokenizer_config: files.tokenizer_config.clone(),
        };
        let tokenizer = MarianTokenizer::load(&tokenizer_files, cache_dir)?;
        let dtype = placement.dtype.unwrap_or(if placement.device.is_cpu() {
            DType::F32
        } else {
            DType::BF16
        });
        let model = MarianModel::load(&config.layout()?, &files.weights, dtype, &placement.device)?;
        let info = ModelInfo {
            architecture: "marian".into(),
            dtype: format!("{dtype:?}").to_lowercase(),
            device: device_name(&placement.device),
            context_length: config.max_position_embeddings,
            vocab_size: config.target_vocab_size(),
        };
        Ok(MarianTranslator {
            model,
            tokenizer,
            defaults,
            info,
        })
    }

    /// Translates `sentences`, in order. Sentences are grouped by source length into
    /// batches of `settings.batch_size`; each result is what the sentence gives alone.
    pub fn translate(
        &self,
        sentences: &[&str],
        settings: &MarianSettings,
    ) -> Result<Vec<Translation>, EngineError> {
        let decode = |ids: &[u32]| self.tokenizer.decode(ids);
        let run = Run::new(&self.model, &self.defaults, settings);
        run.translate(sentences, |s| self.encode(s), decode)
    }

    /// Generates for already tokenized sources (each ending in `</s>`), batching
    /// them by length; results come back in the order given.
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
        search::forced_logits(&self.model, sources, decoder_ids, false)
    }

    /// As [`Self::teacher_forced_logits`], one position at a time as generation runs
    /// them (the decode-step path: KV cache, saar's attention kernel on a CPU).
    pub fn stepwise_logits(
        &self,
        sources: &[Vec<u32>],
        decoder_ids: &[Vec<u32>],
    ) -> Result<Tensor, EngineError> {
        search::forced_logits(&self.model, sources, decoder_ids, true)
    }

    /// Source ids for `text`, `</s>` included, as HF's `MarianTokenizer` gives them.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, EngineError> {
        self.tokenizer.encode(text)
    }

    /// Target text for generated ids, special tokens skipped.
    pub fn decode(&self, ids: &[u32]) -> String {
        self.tokenizer.decode(ids)
    }

    /// The longest source, in tokens with `</s>`, the model accepts; longer input
    /// must be split before it gets here.
    pub fn max_source_tokens(&self) -> usize {
        self.model.max_positions()
    }

    pub fn generation_defaults(&self) -> &GenerationDefaults {
        &self.defaults
    }

    pub fn tokenizer(&self) -> &MarianTokenizer {
        &self.tokenizer
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }
}

pub(crate) fn device_name(device: &candle_core::Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".into(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

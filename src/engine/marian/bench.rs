//! Speed of the Marian engine on random weights of a chosen shape (by default the
//! opus-mt base shape: d_model 512, 6+6 layers, 8 heads, ffn 2048, vocab 61127), for
//! `saar bench --shape opus-mt-hi-en`; the same network in IndicTrans2's layout for
//! the IndicTrans2 shapes ([`MarianShape::indictrans2_dist_200m`], `_1b`).
//!
//! Every sentence decodes exactly `tokens` new tokens (EOS is not honoured), so the
//! figures measure the network and the search, not what random weights happen to say.

use std::time::Instant;

use candle_core::{DType, Device};
use candle_nn::{Init, VarBuilder, VarMap};

use super::config::{EarlyStopping, GenerationFile, MarianConfig};
use super::layers::Activation;
use super::layout::{Layout, Norms, Positions};
use super::logits::LogitsProcessors;
use super::model::MarianModel;
use super::search::search;
use super::settings::{SearchPlan, PROMPT_LENGTH};
use crate::engine::kernels::on_pool;
use crate::engine::{EngineError, Placement};

/// The size of a Marian or IndicTrans2 model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MarianShape {
    pub d_model: usize,
    pub encoder_layers: usize,
    pub decoder_layers: usize,
    pub heads: usize,
    pub ffn_dim: usize,
    /// The source vocabulary (and the target one, unless `target_vocab_size` says).
    pub vocab_size: usize,
    pub max_positions: usize,
    #[serde(default)]
    pub family: ShapeFamily,
    #[serde(default)]
    pub target_vocab_size: Option<usize>,
}

/// Which network the shape describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShapeFamily {
    /// opus-mt: post-norm, one vocabulary, swish.
    #[default]
    Marian,
    /// IndicTrans2: pre-norm with embedding and final norms, two vocabularies, gelu.
    IndicTrans2,
}

impl MarianShape {
    /// Helsinki-NLP/opus-mt-hi-en and most opus-mt pairs.
    pub fn opus_mt_base() -> Self {
        MarianShape {
            d_model: 512,
            encoder_layers: 6,
            decoder_layers: 6,
            heads: 8,
            ffn_dim: 2048,
            vocab_size: 61127,
            max_positions: 512,
            family: ShapeFamily::Marian,
            target_vocab_size: None,
        }
    }

    /// ai4bharat/indictrans2-indic-en-dist-200M: 18+18 layers of width 512.
    pub fn indictrans2_dist_200m() -> Self {
        MarianShape {
            d_model: 512,
            encoder_layers: 18,
            decoder_layers: 18,
            heads: 8,
            ffn_dim: 2048,
            vocab_size: 122_672,
            max_positions: 256,
            family: ShapeFamily::IndicTrans2,
            target_vocab_size: Some(32_296),
        }
    }

    /// ai4bharat/indictrans2-indic-en-1B: 18+18 layers of width 1024.
    pub fn indictrans2_1b() -> Self {
        MarianShape {
            d_model: 1024,
            heads: 16,
            ffn_dim: 8192,
            ..Self::indictrans2_dist_200m()
        }
    }

    /// A model of a few hundred KB, for checking that the whole path runs.
    pub fn tiny() -> Self {
        MarianShape {
            d_model: 16,
            encoder_layers: 1,
            decoder_layers: 1,
            heads: 2,
            ffn_dim: 32,
            vocab_size: 50,
            max_positions: 128,
            family: ShapeFamily::Marian,
            target_vocab_size: None,
        }
    }

    /// The network of this shape.
    pub fn layout(&self) -> Result<Layout, EngineError> {
        let marian = self.config().layout()?;
        Ok(match self.family {
            ShapeFamily::Marian => marian,
            ShapeFamily::IndicTrans2 => {
                let norms = Norms {
                    pre_norm: true,
                    embedding: true,
                };
                Layout {
                    target_vocab: self.target_vocab_size.unwrap_or(self.vocab_size),
                    activation: Activation::Gelu,
                    shared_embeddings: false,
                    tied_output: false,
                    encoder_norms: norms,
                    decoder_norms: norms,
                    positions: Positions::Fairseq { padding_idx: 1 },
                    pad_id: 1,
                    ..marian
                }
            }
        })
    }

    fn config(&self) -> MarianConfig {
        let pad = self.vocab_size.saturating_sub(1) as u32;
        MarianConfig {
            model_type: "marian".into(),
            vocab_size: self.vocab_size,
            decoder_vocab_size: None,
            max_position_embeddings: self.max_positions,
            d_model: self.d_model,
            encoder_layers: self.encoder_layers,
            decoder_layers: self.decoder_layers,
            encoder_attention_heads: self.heads,
            decoder_attention_heads: self.heads,
            encoder_ffn_dim: self.ffn_dim,
            decoder_ffn_dim: self.ffn_dim,
            activation_function: "swish".into(),
            scale_embedding: true,
            pad_token_id: Some(pad),
            decoder_start_token_id: Some(pad),
            eos_token_id: None,
            bos_token_id: None,
            forced_eos_token_id: None,
            share_encoder_decoder_embeddings: true,
            tie_word_embeddings: true,
            normalize_before: false,
            normalize_embedding: false,
            add_final_layer_norm: false,
            generation: GenerationFile::default(),
        }
    }
}

/// How a benchmark runs.
#[derive(Debug, Clone)]
pub struct MarianBenchOptions {
    /// 1 for greedy search.
    pub beams: usize,
    pub placement: Placement,
}

impl Default for MarianBenchOptions {
    fn default() -> Self {
        MarianBenchOptions {
            beams: 1,
            placement: Placement {
                device: Device::Cpu,
                dtype: None,
            },
        }
    }
}

/// What one benchmark run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MarianBenchFigures {
    pub batch: usize,
    pub beams: usize,
    pub source_tokens: usize,
    pub generated_tokens: usize,
    /// Building the random model.
    pub load_secs: f64,
    pub encode_secs: f64,
    pub decode_secs: f64,
    /// Generated tokens per second of the whole translation (encoder included).
    pub tokens_per_sec: f64,
    pub device: String,
    pub dtype: String,
}

/// Translates `batch` random sentences of `tokens` source tokens into `tokens` target
/// tokens each, greedily, on the CPU.
pub fn bench_marian(
    shape: &MarianShape,
    batch: usize,
    tokens: usize,
) -> Result<MarianBenchFigures, EngineError> {
    let lengths = MarianBenchLengths {
        source: tokens,
        generated: tokens,
    };
    bench_marian_with(shape, batch, lengths, &MarianBenchOptions::default())
}

/// Tokens per sentence: read by the encoder, and generated by the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarianBenchLengths {
    pub source: usize,
    pub generated: usize,
}

/// As [`bench_marian`], with the lengths, the beam width and the device chosen.
/// The model is built (with the kernels [`crate::engine::kernels::backend`] names)
/// before the clock starts; `load_secs` says how long that took.
pub fn bench_marian_with(
    shape: &MarianShape,
    batch: usize,
    lengths: MarianBenchLengths,
    options: &MarianBenchOptions,
) -> Result<MarianBenchFigures, EngineError> {
    let MarianBenchLengths {
        source: tokens,
        generated,
    } = lengths;
    let invalid = |message: &str| EngineError::Config {
        path: "marian bench".into(),
        message: message.into(),
    };
    if batch == 0 || tokens == 0 || generated == 0 || options.beams == 0 || shape.vocab_size < 5 {
        return Err(invalid(
            "batch, tokens and beams must be positive and the vocabulary at least 5",
        ));
    }
    if tokens > shape.max_positions || generated + PROMPT_LENGTH > shape.max_positions {
        return Err(invalid("tokens must fit the model's positions"));
    }
    let device = &options.placement.device;
    let dtype = options.placement.dtype.unwrap_or(if device.is_cpu() {
        DType::F32
    } else {
        DType::BF16
    });
    let layout = shape.layout()?;
    let loading = Instant::now();
    let model = random_model(&layout, dtype, device)?;
    let load_secs = loading.elapsed().as_secs_f64();
    let pad = layout.pad_id;
    // Each family's own start token: Marian's pad, IndicTrans2's `</s>`.
    let start = match shape.family {
        ShapeFamily::Marian => pad,
        ShapeFamily::IndicTrans2 => 2,
    };
    // Ids from 3 to vocab - 2 are ordinary tokens in both families' vocabularies.
    let sources: Vec<Vec<u32>> = (0..batch)
        .map(|b| {
            (0..tokens)
                .map(|t| 3 + ((b * 7919 + t * 104_729) % (shape.vocab_size - 4)) as u32)
                .collect()
        })
        .collect();
    let plan = SearchPlan {
        num_beams: options.beams,
        decoder_start: start,
        eos_token_ids: Vec::new(),
        max_length: generated + PROMPT_LENGTH,
        length_penalty: 1.0,
        early_stopping: EarlyStopping::False,
        processors: LogitsProcessors {
            repetition_penalty: 1.0,
            no_repeat_ngram_size: 0,
            banned_tokens: vec![pad],
            banned_sequences: Vec::new(),
            min_length: 0,
            min_new_tokens: 0,
            prompt_length: PROMPT_LENGTH,
            max_length: generated + PROMPT_LENGTH,
            eos_token_ids: Vec::new(),
            forced_eos_token_ids: Vec::new(),
            renormalize: false,
        },
    };
    // On a pool worker, as `MarianTranslator::generate` runs them (see `on_pool`).
    let started = Instant::now();
    let state = on_pool(|| model.encode(&sources))?;
    device.synchronize()?;
    let encode_secs = started.elapsed().as_secs_f64();
    let decoding = Instant::now();
    let hypotheses = on_pool(|| search(&model, state, &plan))?;
    let decode_secs = decoding.elapsed().as_secs_f64();
    let generated_tokens: usize = hypotheses.iter().map(|h| h.tokens.len()).sum();
    Ok(MarianBenchFigures {
        batch,
        beams: options.beams,
        source_tokens: batch * tokens,
        generated_tokens,
        load_secs,
        encode_secs,
        decode_secs,
        tokens_per_sec: generated_tokens as f64 / (encode_secs + decode_secs),
        device: format!("{:?}", device.location()).to_lowercase(),
        dtype: format!("{dtype:?}").to_lowercase(),
    })
}

/// Random weights: normal embeddings, output layer and bias, default-initialised layers.
fn random_model(
    layout: &Layout,
    dtype: DType,
    device: &Device,
) -> Result<MarianModel, EngineError> {
    let vars = VarMap::new();
    let normal = Init::Randn {
        mean: 0.0,
        stdev: 0.05,
    };
    let dim = layout.d_model;
    let mut tables = vec![("model.shared.weight", layout.source_vocab, dim)];
    if !layout.shared_embeddings {
        tables = vec![
            (
                "model.encoder.embed_tokens.weight",
                layout.source_vocab,
                dim,
            ),
            (
                "model.decoder.embed_tokens.weight",
                layout.target_vocab,
                dim,
            ),
        ];
    }
    if !layout.tied_output {
        tables.push(("lm_head.weight", layout.target_vocab, dim));
    }
    tables.push(("final_logits_bias", 1, layout.target_vocab));
    for (name, rows, columns) in tables {
        vars.get((rows, columns), name, normal, dtype, device)?;
    }
    let vb = VarBuilder::from_varmap(&vars, dtype, device);
    MarianModel::from_var_builder(layout, vb).map_err(EngineError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tiny_shape_generates_exactly_the_tokens_asked_for() {
        let shape = MarianShape::tiny();
        for beams in [1, 3] {
            let options = MarianBenchOptions {
                beams,
                ..Default::default()
            };
            let lengths = MarianBenchLengths {
                source: 7,
                generated: 5,
            };
            let figures = bench_marian_with(&shape, 2, lengths, &options).unwrap();
            assert_eq!(figures.generated_tokens, 10);
            assert_eq!(figures.source_tokens, 14);
            assert!(figures.tokens_per_sec > 0.0);
        }
    }

    #[test]
    fn a_tiny_indictrans2_shape_runs_with_its_own_norms_and_vocabularies() {
        let shape = MarianShape {
            family: ShapeFamily::IndicTrans2,
            target_vocab_size: Some(40),
            ..MarianShape::tiny()
        };
        let layout = shape.layout().unwrap();
        assert!(layout.decoder_norms.pre_norm && !layout.shared_embeddings);
        let lengths = MarianBenchLengths {
            source: 6,
            generated: 4,
        };
        let figures =
            bench_marian_with(&shape, 3, lengths, &MarianBenchOptions::default()).unwrap();
        assert_eq!(figures.generated_tokens, 12);
    }

    #[test]
    fn lengths_beyond_the_positions_are_refused() {
        let shape = MarianShape::tiny();
        let lengths = MarianBenchLengths {
            source: 4,
            generated: shape.max_positions,
        };
        let options = MarianBenchOptions::default();
        assert!(bench_marian_with(&shape, 1, lengths, &options).is_err());
    }
}

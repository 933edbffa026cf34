//! Speed of the Marian engine on random weights of a chosen shape (by default the
//! opus-mt base shape: d_model 512, 6+6 layers, 8 heads, ffn 2048, vocab 61127), for
//! `saar bench` and `cargo run --release --example marian_bench`.
//!
//! Every sentence decodes exactly `tokens` new tokens (EOS is not honoured), so the
//! figures measure the network and the search, not what random weights happen to say.

use std::time::Instant;

use candle_core::{DType, Device};
use candle_nn::{Init, VarBuilder, VarMap};

use super::config::{EarlyStopping, GenerationFile, MarianConfig};
use super::logits::LogitsProcessors;
use super::model::MarianModel;
use super::search::search;
use super::settings::{SearchPlan, PROMPT_LENGTH};
use crate::engine::{EngineError, Placement};

/// The size of a Marian model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MarianShape {
    pub d_model: usize,
    pub encoder_layers: usize,
    pub decoder_layers: usize,
    pub heads: usize,
    pub ffn_dim: usize,
    pub vocab_size: usize,
    pub max_positions: usize,
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
        }
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
    bench_marian_with(shape, batch, tokens, &MarianBenchOptions::default())
}

/// As [`bench_marian`], with the beam width and the device chosen.
pub fn bench_marian_with(
    shape: &MarianShape,
    batch: usize,
    tokens: usize,
    options: &MarianBenchOptions,
) -> Result<MarianBenchFigures, EngineError> {
    let invalid = |message: &str| EngineError::Config {
        path: "marian bench".into(),
        message: message.into(),
    };
    if batch == 0 || tokens == 0 || options.beams == 0 || shape.vocab_size < 2 {
        return Err(invalid(
            "batch, tokens, beams and vocabulary must be positive",
        ));
    }
    if tokens > shape.max_positions {
        return Err(invalid("tokens must fit the model's positions"));
    }
    let device = &options.placement.device;
    let dtype = options.placement.dtype.unwrap_or(if device.is_cpu() {
        DType::F32
    } else {
        DType::BF16
    });
    let config = shape.config();
    let model = random_model(&config, dtype, device)?;
    let pad = (shape.vocab_size - 1) as u32;
    let sources: Vec<Vec<u32>> = (0..batch)
        .map(|b| {
            (0..tokens)
                .map(|t| 1 + ((b * 7919 + t * 104_729) % (shape.vocab_size - 2)) as u32)
                .collect()
        })
        .collect();
    let plan = SearchPlan {
        num_beams: options.beams,
        decoder_start: pad,
        eos_token_ids: Vec::new(),
        max_length: tokens + PROMPT_LENGTH,
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
            max_length: tokens + PROMPT_LENGTH,
            eos_token_ids: Vec::new(),
            forced_eos_token_ids: Vec::new(),
            renormalize: false,
        },
    };
    let started = Instant::now();
    let state = model.encode(&sources)?;
    device.synchronize()?;
    let encode_secs = started.elapsed().as_secs_f64();
    let decoding = Instant::now();
    let hypotheses = search(&model, state, &plan)?;
    let decode_secs = decoding.elapsed().as_secs_f64();
    let generated_tokens: usize = hypotheses.iter().map(|h| h.tokens.len()).sum();
    Ok(MarianBenchFigures {
        batch,
        beams: options.beams,
        source_tokens: batch * tokens,
        generated_tokens,
        encode_secs,
        decode_secs,
        tokens_per_sec: generated_tokens as f64 / (encode_secs + decode_secs),
        device: format!("{:?}", device.location()).to_lowercase(),
        dtype: format!("{dtype:?}").to_lowercase(),
    })
}

/// Random weights: normal embeddings and output bias, default-initialised layers.
fn random_model(
    config: &MarianConfig,
    dtype: DType,
    device: &Device,
) -> Result<MarianModel, EngineError> {
    let vars = VarMap::new();
    let normal = Init::Randn {
        mean: 0.0,
        stdev: 0.05,
    };
    vars.get(
        (config.vocab_size, config.d_model),
        "model.shared.weight",
        normal,
        dtype,
        device,
    )?;
    vars.get(
        (1, config.vocab_size),
        "final_logits_bias",
        normal,
        dtype,
        device,
    )?;
    let vb = VarBuilder::from_varmap(&vars, dtype, device);
    MarianModel::from_var_builder(config, vb).map_err(EngineError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tiny_shape_generates_exactly_the_tokens_asked_for() {
        let shape = MarianShape {
            d_model: 16,
            encoder_layers: 1,
            decoder_layers: 1,
            heads: 2,
            ffn_dim: 32,
            vocab_size: 50,
            max_positions: 32,
        };
        for beams in [1, 3] {
            let options = MarianBenchOptions {
                beams,
                ..Default::default()
            };
            let figures = bench_marian_with(&shape, 2, 5, &options).unwrap();
            assert_eq!(figures.generated_tokens, 10);
            assert!(figures.tokens_per_sec > 0.0);
        }
    }
}

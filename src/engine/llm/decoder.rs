//! The decoder-only transformer shared by every supported family: embeddings, a stack of
//! pre-norm attention + gated-MLP blocks (with gemma3's extra norms when configured) and
//! the output head. Family differences are data in [`DecoderConfig`], not code paths.

mod step;

use candle_core::{DType, Device, Tensor};

use super::attention::{Attention, SegmentRows};
use super::config::{Activation, DecoderConfig};
use super::modules::{Embedding, Linear, RmsNorm};
use super::rope::RotaryEmbedding;
use super::weights::{saar_kernels_on, Part, WeightLoader};
use crate::engine::batch::SequenceCache;
use crate::engine::kv_cache::KvCache;
use crate::engine::{EngineError, ModelInfo};

/// Longest span of positions run through the layers at once. It bounds a prefill's
/// working memory (attention scores, MLP intermediates, quantized activations), and
/// smaller chunks also ran faster on the CPU: a chunk's activations stay in cache while
/// the weights stream by. Measured at 2 threads, 512-token prompt, chunks of 512 / 256 /
/// 128: Qwen3-1.7B Q4_K_M 42.2 / 49.6 / 48.0 tok/s; Qwen2.5-0.5B Q4_K_M 97.0 / 94.5 /
/// 107.8 tok/s and peak RSS 461 / 428 / 424 MiB (a 377 MiB file).
pub(crate) const PREFILL_CHUNK: usize = 128;

#[derive(Debug, Clone)]
struct Mlp {
    gate: Linear,
    up: Linear,
    down: Linear,
    activation: Activation,
}

impl Mlp {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let gate = self.gate.forward(x)?;
        let gate = match self.activation {
            Activation::Silu => gate.silu()?,
            Activation::GeluTanh => gate.gelu()?,
            Activation::Gelu => gate.gelu_erf()?,
        };
        self.down.forward(&(gate * self.up.forward(x)?)?)
    }
}

#[derive(Debug, Clone)]
struct Layer {
    attn_norm: RmsNorm,
    attn: Attention,
    attn_post_norm: Option<RmsNorm>,
    ffn_norm: RmsNorm,
    mlp: Mlp,
    ffn_post_norm: Option<RmsNorm>,
    sliding: bool,
}

impl Layer {
    fn forward(
        &self,
        h: &Tensor,
        rope: &RotaryEmbedding,
        cos_sin: (&Tensor, &Tensor),
        segments: &mut [SegmentRows<'_>],
    ) -> candle_core::Result<Tensor> {
        let mut x = self
            .attn
            .forward(&self.attn_norm.forward(h)?, rope, cos_sin, segments)?;
        if let Some(norm) = &self.attn_post_norm {
            x = norm.forward(&x)?;
        }
        let h = (h + x)?;
        let mut x = self.mlp.forward(&self.ffn_norm.forward(&h)?)?;
        if let Some(norm) = &self.ffn_post_norm {
            x = norm.forward(&x)?;
        }
        h + x
    }
}

pub struct Decoder {
    cfg: DecoderConfig,
    embed: Embedding,
    layers: Vec<Layer>,
    norm: RmsNorm,
    lm_head: Linear,
    rope: RotaryEmbedding,
    local_rope: Option<RotaryEmbedding>,
    device: Device,
    dtype: DType,
    /// An empty KV cache per layer (its window and stored type), copied for each sequence.
    empty_caches: Vec<KvCache>,
    /// The one sequence [`CausalLm::forward`] continues.
    own: SequenceCache,
    info: ModelInfo,
}

impl Decoder {
    /// Builds the model from `weights`; `info` is filled by the caller except for
    /// `vocab_size`, which comes from the config.
    pub fn load(
        cfg: DecoderConfig,
        weights: &mut WeightLoader,
        device: &Device,
        mut info: ModelInfo,
    ) -> Result<Self, EngineError> {
        let (hidden, dim) = (cfg.hidden_size, cfg.head_dim);
        let embed = weights.embedding(cfg.vocab_size, hidden)?;
        let mut layers = Vec::with_capacity(cfg.num_layers);
        let mut empty_caches = Vec::with_capacity(cfg.num_layers);
        for i in 0..cfg.num_layers {
            let sliding = cfg.sliding_layers.get(i).copied().unwrap_or(false);
            let qk_norm = |w: &mut WeightLoader, part| match cfg.qk_norm {
                true => w.norm(part, i, dim, &cfg).map(Some),
                false => Ok(None),
            };
            let sandwich = |w: &mut WeightLoader, part| match cfg.sandwich_norms {
                true => w.norm(part, i, hidden, &cfg).map(Some),
                false => Ok(None),
            };
            let (q_out, kv_out) = (cfg.num_heads * dim, cfg.num_kv_heads * dim);
            let k = weights.linear(Part::K, i, kv_out, hidden, cfg.qkv_bias)?;
            let cpu_kernels = saar_kernels_on(device);
            let window = if sliding { cfg.sliding_window } else { None };
            // Quantized models keep an f16 cache on saar's kernels, as llama.cpp does: half
            // the memory (Qwen3-1.7B Q4_K_M after 640 positions: peak RSS 1.20× the file
            // in f32, ×1.12 in f16) and half the bytes each decode step reads. Their keys
            // already carry the weights' quantization error; f32 and 16-bit float models
            // keep f32, so their parity with HF stays exact.
            let cache_type = match cpu_kernels && k.is_quantized() {
                true => DType::F16,
                false => DType::F32,
            };
            let attn = Attention {
                q: weights.linear(Part::Q, i, q_out, hidden, cfg.qkv_bias)?,
                k,
                v: weights.linear(Part::V, i, kv_out, hidden, cfg.qkv_bias)?,
                o: weights.linear(Part::O, i, hidden, q_out, cfg.o_bias)?,
                q_norm: qk_norm(weights, Part::QNorm)?,
                k_norm: qk_norm(weights, Part::KNorm)?,
                num_heads: cfg.num_heads,
                num_kv_heads: cfg.num_kv_heads,
                head_dim: dim,
                scale: cfg.attention_scale,
                cpu_kernels,
            };
            empty_caches.push(KvCache::stored_as(window, cache_type));
            let inter = cfg.intermediate_size;
            layers.push(Layer {
                attn_norm: weights.norm(Part::AttnNorm, i, hidden, &cfg)?,
                attn,
                attn_post_norm: sandwich(weights, Part::AttnPostNorm)?,
                ffn_norm: weights.norm(Part::FfnNorm, i, hidden, &cfg)?,
                mlp: Mlp {
                    gate: weights.linear(Part::Gate, i, inter, hidden, cfg.mlp_bias)?,
                    up: weights.linear(Part::Up, i, inter, hidden, cfg.mlp_bias)?,
                    down: weights.linear(Part::Down, i, hidden, inter, cfg.mlp_bias)?,
                    activation: cfg.activation,
                },
                ffn_post_norm: sandwich(weights, Part::FfnPostNorm)?,
                sliding,
            });
        }
        let norm = weights.norm(Part::FinalNorm, 0, hidden, &cfg)?;
        let lm_head = weights.lm_head(&embed, &cfg)?;
        let rope = RotaryEmbedding::new(&cfg.rope, dim, cfg.interleaved_rope, device)?;
        let local_rope = match &cfg.local_rope {
            Some(spec) => Some(RotaryEmbedding::new(
                spec,
                dim,
                cfg.interleaved_rope,
                device,
            )?),
            None => None,
        };
        info.vocab_size = cfg.vocab_size;
        Ok(Self {
            dtype: weights.dtype(),
            cfg,
            embed,
            layers,
            norm,
            lm_head,
            rope,
            local_rope,
            device: device.clone(),
            own: SequenceCache::new(empty_caches.clone()),
            empty_caches,
            info,
        })
    }
}

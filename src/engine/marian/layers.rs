//! The layers of HF's `MarianMTModel` and of IndicTrans2: multi-head attention with
//! additive masks, encoder and decoder layers with their norms after each block
//! (Marian) or before it (IndicTrans2), and the masks. Weight names follow the HF
//! checkpoints (`self_attn.q_proj`, `fc1`, ...), which both models share.

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{LayerNorm, VarBuilder};

use crate::engine::kernels::{self, dense, Backend};
use crate::engine::kv_cache::{attend_in_place, KvCache};
use crate::engine::EngineError;

/// Keys and values of one attention block, `(rows, heads, positions, head_dim)`.
#[derive(Debug, Clone)]
pub struct KeyValue {
    pub keys: Tensor,
    pub values: Tensor,
}

impl KeyValue {
    /// Keeps the given rows (a beam reorder, or finished sentences dropped).
    pub fn select_rows(&self, rows: &Tensor) -> candle_core::Result<KeyValue> {
        Ok(KeyValue {
            keys: self.keys.index_select(rows, 0)?,
            values: self.values.index_select(rows, 0)?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Swish,
    Gelu,
    GeluTanh,
    Relu,
}

impl Activation {
    pub fn parse(name: &str) -> Result<Self, EngineError> {
        match name {
            "swish" | "silu" => Ok(Activation::Swish),
            "gelu" => Ok(Activation::Gelu),
            "gelu_new" | "gelu_fast" | "gelu_pytorch_tanh" => Ok(Activation::GeluTanh),
            "relu" => Ok(Activation::Relu),
            other => Err(EngineError::Config {
                path: "config.json".into(),
                message: format!(
                    "activation_function `{other}` is not supported (swish, gelu, relu are)"
                ),
            }),
        }
    }

    fn apply(self, xs: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Activation::Swish => candle_nn::ops::silu(xs),
            Activation::Gelu => xs.gelu_erf(),
            Activation::GeluTanh => xs.gelu(),
            Activation::Relu => xs.relu(),
        }
    }
}

/// A projection with bias: saar's dense kernels on a CPU with f32 weights (chosen
/// at load time), candle's `Linear` otherwise.
#[derive(Debug, Clone)]
pub struct Linear {
    inner: candle_nn::Linear,
    saar: bool,
}

impl Linear {
    pub fn new(inner: candle_nn::Linear) -> Self {
        let saar = uses_saar_kernels(inner.weight());
        Linear { inner, saar }
    }

    pub fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        match self.saar {
            true => dense::linear(xs, self.inner.weight(), self.inner.bias()),
            false => self.inner.forward(xs),
        }
    }
}

/// Whether products with `weight` run on saar's kernels: the saar backend, a CPU,
/// and f32 weights (so the activations are f32 too).
pub fn uses_saar_kernels(weight: &Tensor) -> bool {
    kernels::backend() == Backend::Saar && weight.dtype() == DType::F32 && dense::runs_on(weight)
}

fn linear(vb: VarBuilder, dim_in: usize, dim_out: usize) -> candle_core::Result<Linear> {
    candle_nn::linear(dim_in, dim_out, vb).map(Linear::new)
}

pub(super) fn layer_norm(vb: VarBuilder, dim: usize) -> candle_core::Result<LayerNorm> {
    candle_nn::layer_norm(dim, 1e-5, vb)
}

/// Multi-head attention; queries are scaled by `head_dim^-0.5` as in HF.
#[derive(Debug, Clone)]
pub struct Attention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    out_proj: Linear,
    heads: usize,
    head_dim: usize,
    /// Whether one query position per row runs saar's decode attention kernel (saar's
    /// kernels on a CPU with f32 weights) rather than candle's matmuls.
    decode_kernel: bool,
}

impl Attention {
    pub fn load(vb: VarBuilder, dim: usize, heads: usize) -> candle_core::Result<Self> {
        let q_proj = linear(vb.pp("q_proj"), dim, dim)?;
        Ok(Attention {
            decode_kernel: q_proj.saar,
            q_proj,
            k_proj: linear(vb.pp("k_proj"), dim, dim)?,
            v_proj: linear(vb.pp("v_proj"), dim, dim)?,
            out_proj: linear(vb.pp("out_proj"), dim, dim)?,
            heads,
            head_dim: dim / heads,
        })
    }

    /// `(rows, positions, dim)` to `(rows, heads, positions, head_dim)`.
    fn split_heads(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        let (rows, positions, _) = xs.dims3()?;
        xs.reshape((rows, positions, self.heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()
    }

    /// Keys and values for `xs`, to attend to now or to keep.
    pub fn key_value(&self, xs: &Tensor) -> candle_core::Result<KeyValue> {
        Ok(KeyValue {
            keys: self.split_heads(&self.k_proj.forward(xs)?)?,
            values: self.split_heads(&self.v_proj.forward(xs)?)?,
        })
    }

    /// Scaled queries for `xs`, `(rows, heads, queries, head_dim)`.
    fn queries(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        let scale = (self.head_dim as f64).powf(-0.5);
        self.split_heads(&(self.q_proj.forward(xs)? * scale)?)
    }

    /// Whether saar's kernel answers these queries: one position per row.
    fn kernel_for(&self, q: &Tensor) -> candle_core::Result<bool> {
        Ok(self.decode_kernel && q.dim(2)? == 1)
    }

    /// Attends from `xs` to `kv`; `mask` is added to the scores and broadcasts to
    /// `(rows, heads, queries, keys)`.
    pub fn attend(
        &self,
        xs: &Tensor,
        kv: &KeyValue,
        mask: Option<&Tensor>,
    ) -> candle_core::Result<Tensor> {
        let q = self.queries(xs)?;
        self.out_proj
            .forward(&self.mix(&q, &kv.keys, &kv.values, mask)?)
    }

    /// Attends from `xs` to everything `cache` holds (after `xs`'s own keys were
    /// appended, which `keys` and `values` view); `mask` as in [`Self::attend`].
    pub fn attend_cached(
        &self,
        xs: &Tensor,
        cache: &KvCache,
        (keys, values): (&Tensor, &Tensor),
        mask: Option<&Tensor>,
    ) -> candle_core::Result<Tensor> {
        let q = self.queries(xs)?;
        if mask.is_none() && self.kernel_for(&q)? {
            if let Some(out) = cache.attend_one(&q, self.heads, 1.0)? {
                return self.out_proj.forward(&out);
            }
        }
        self.out_proj.forward(&self.mix(&q, keys, values, mask)?)
    }

    /// Attends from `xs` to the encoder output's keys and values, of which row `r`
    /// has `source_lens[r]` real positions; `mask` hides the padding after them.
    pub fn attend_source(
        &self,
        xs: &Tensor,
        source: &KeyValue,
        mask: &Tensor,
        source_lens: &[usize],
    ) -> candle_core::Result<Tensor> {
        let q = self.queries(xs)?;
        if self.kernel_for(&q)? {
            let (keys, values) = (&source.keys, &source.values);
            if let Some(out) = attend_in_place(&q, keys, values, self.heads, 0, source_lens, 1.0)? {
                return self.out_proj.forward(&out);
            }
        }
        self.out_proj
            .forward(&self.mix(&q, &source.keys, &source.values, Some(mask))?)
    }

    /// Candle's path: `softmax(q · keysᵀ + mask) · values`, as `(rows, queries, dim)`.
    fn mix(
        &self,
        q: &Tensor,
        keys: &Tensor,
        values: &Tensor,
        mask: Option<&Tensor>,
    ) -> candle_core::Result<Tensor> {
        let (rows, _, queries, _) = q.dims4()?;
        let scores = q.matmul(&keys.transpose(2, 3)?)?;
        let scores = match mask {
            Some(mask) => scores.broadcast_add(mask)?,
            None => scores,
        };
        let weights = candle_nn::ops::softmax_last_dim(&scores)?;
        weights.matmul(values)?.transpose(1, 2)?.reshape((
            rows,
            queries,
            self.heads * self.head_dim,
        ))
    }
}

/// Position-wise feed-forward block with its activation.
#[derive(Debug, Clone)]
struct FeedForward {
    fc1: Linear,
    fc2: Linear,
    activation: Activation,
}

impl FeedForward {
    fn load(
        vb: &VarBuilder,
        dim: usize,
        hidden: usize,
        activation: Activation,
    ) -> candle_core::Result<Self> {
        Ok(FeedForward {
            fc1: linear(vb.pp("fc1"), dim, hidden)?,
            fc2: linear(vb.pp("fc2"), hidden, dim)?,
            activation,
        })
    }

    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        self.fc2
            .forward(&self.activation.apply(&self.fc1.forward(xs)?)?)
    }
}

/// Encoder layer: self-attention then feed-forward, each with a residual add and a
/// layer norm: after the add (post-norm, Marian) or on the block's input (pre-norm).
#[derive(Debug, Clone)]
pub struct EncoderLayer {
    self_attn: Attention,
    self_attn_layer_norm: LayerNorm,
    ffn: FeedForward,
    final_layer_norm: LayerNorm,
    pre_norm: bool,
}

/// `xs + block(norm(xs))` when `pre_norm`, else `norm(xs + block(xs))`.
fn residual(
    xs: &Tensor,
    norm: &LayerNorm,
    pre_norm: bool,
    block: impl FnOnce(&Tensor) -> candle_core::Result<Tensor>,
) -> candle_core::Result<Tensor> {
    if pre_norm {
        xs + block(&norm.forward(xs)?)?
    } else {
        norm.forward(&(xs + block(xs)?)?)
    }
}

impl EncoderLayer {
    pub fn load(
        vb: VarBuilder,
        dim: usize,
        heads: usize,
        ffn: usize,
        act: Activation,
        pre_norm: bool,
    ) -> candle_core::Result<Self> {
        Ok(EncoderLayer {
            self_attn: Attention::load(vb.pp("self_attn"), dim, heads)?,
            self_attn_layer_norm: layer_norm(vb.pp("self_attn_layer_norm"), dim)?,
            ffn: FeedForward::load(&vb, dim, ffn, act)?,
            final_layer_norm: layer_norm(vb.pp("final_layer_norm"), dim)?,
            pre_norm,
        })
    }

    pub fn forward(&self, xs: &Tensor, padding_mask: &Tensor) -> candle_core::Result<Tensor> {
        let xs = residual(xs, &self.self_attn_layer_norm, self.pre_norm, |h| {
            let kv = self.self_attn.key_value(h)?;
            self.self_attn.attend(h, &kv, Some(padding_mask))
        })?;
        residual(&xs, &self.final_layer_norm, self.pre_norm, |h| {
            self.ffn.forward(h)
        })
    }
}

/// Decoder layer: causal self-attention over its cache, cross-attention over the
/// encoder output, feed-forward; norms placed as in the encoder.
#[derive(Debug, Clone)]
pub struct DecoderLayer {
    self_attn: Attention,
    self_attn_layer_norm: LayerNorm,
    pub(super) encoder_attn: Attention,
    encoder_attn_layer_norm: LayerNorm,
    ffn: FeedForward,
    final_layer_norm: LayerNorm,
    pre_norm: bool,
}

impl DecoderLayer {
    pub fn load(
        vb: VarBuilder,
        dim: usize,
        heads: usize,
        ffn: usize,
        act: Activation,
        pre_norm: bool,
    ) -> candle_core::Result<Self> {
        Ok(DecoderLayer {
            self_attn: Attention::load(vb.pp("self_attn"), dim, heads)?,
            self_attn_layer_norm: layer_norm(vb.pp("self_attn_layer_norm"), dim)?,
            encoder_attn: Attention::load(vb.pp("encoder_attn"), dim, heads)?,
            encoder_attn_layer_norm: layer_norm(vb.pp("encoder_attn_layer_norm"), dim)?,
            ffn: FeedForward::load(&vb, dim, ffn, act)?,
            final_layer_norm: layer_norm(vb.pp("final_layer_norm"), dim)?,
            pre_norm,
        })
    }

    /// Runs new positions `xs`, appending their keys and values to `cache`.
    /// `causal_mask` is needed only when `xs` holds more than one position; `source`
    /// holds the encoder output's keys and values (see [`Attention::attend_source`]).
    pub fn forward(
        &self,
        xs: &Tensor,
        cache: &mut KvCache,
        causal_mask: Option<&Tensor>,
        source: (&KeyValue, &Tensor, &[usize]),
    ) -> candle_core::Result<Tensor> {
        let xs = residual(xs, &self.self_attn_layer_norm, self.pre_norm, |h| {
            let new = self.self_attn.key_value(h)?;
            let held = cache.append(&new.keys, &new.values)?;
            self.self_attn
                .attend_cached(h, cache, (&held.0, &held.1), causal_mask)
        })?;
        let (kv, mask, lens) = source;
        let xs = residual(&xs, &self.encoder_attn_layer_norm, self.pre_norm, |h| {
            self.encoder_attn.attend_source(h, kv, mask, lens)
        })?;
        residual(&xs, &self.final_layer_norm, self.pre_norm, |h| {
            self.ffn.forward(h)
        })
    }
}

/// Additive mask that hides keys at padded positions: `(rows, 1, 1, keys)`.
pub fn padding_mask(
    lengths: &[usize],
    keys: usize,
    dtype: DType,
    device: &Device,
) -> candle_core::Result<Tensor> {
    let values: Vec<f32> = lengths
        .iter()
        .flat_map(|&len| (0..keys).map(move |k| if k < len { 0.0 } else { f32::NEG_INFINITY }))
        .collect();
    Tensor::from_vec(values, (lengths.len(), 1, 1, keys), device)?.to_dtype(dtype)
}

/// Additive causal mask for `queries` new positions after `past` cached ones:
/// `(1, 1, queries, past + queries)`.
pub fn causal_mask(
    queries: usize,
    past: usize,
    dtype: DType,
    device: &Device,
) -> candle_core::Result<Tensor> {
    let keys = past + queries;
    let values: Vec<f32> = (0..queries)
        .flat_map(|q| {
            (0..keys).map(move |k| {
                if k <= past + q {
                    0.0
                } else {
                    f32::NEG_INFINITY
                }
            })
        })
        .collect();
    Tensor::from_vec(values, (1, 1, queries, keys), device)?.to_dtype(dtype)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causal_mask_hides_only_the_future() {
        let mask = causal_mask(2, 1, DType::F32, &Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap();
        let mask = mask.to_vec1::<f32>().unwrap();
        assert_eq!(mask[..3], [0.0, 0.0, f32::NEG_INFINITY]);
        assert_eq!(mask[3..], [0.0, 0.0, 0.0]);
    }
}

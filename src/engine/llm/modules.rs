//! The building blocks every layer is made of, each able to hold either dense weights
//! (safetensors, .bin) or GGUF quantized ones, so the decoder has one code path for both.

use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{DType, Module, Result, Tensor};

use crate::engine::kernels::quant::{candle_op, QuantMatrix};
use crate::engine::kernels::{self, dense, Backend};

/// A projection `x @ W^T (+ b)` with `W` of shape `(out, in)`.
#[derive(Debug, Clone)]
pub enum Linear {
    Dense {
        weight: Tensor,
        bias: Option<Tensor>,
    },
    Quantized {
        weight: QMatMul,
        bias: Option<Tensor>,
    },
    /// Dense weights (f32, f16 or bf16) on saar's CPU kernels; f32 activations.
    SaarDense {
        weight: Tensor,
        bias: Option<Tensor>,
    },
    /// GGUF blocks run by saar's own CPU kernels (`kernels::quant`).
    SaarQuantized {
        weight: Arc<QuantMatrix>,
        bias: Option<Tensor>,
    },
}

/// A dense projection on saar's kernels when that backend is chosen and the weight
/// is on the CPU, else on candle's matmul; decided once, when the model loads.
pub fn dense_linear(weight: Tensor, bias: Option<Tensor>) -> Linear {
    if kernels::backend() == Backend::Saar && dense::runs_on(&weight) {
        Linear::SaarDense { weight, bias }
    } else {
        Linear::Dense { weight, bias }
    }
}

impl Linear {
    /// `x` is `(batch, seq, in)`; the result keeps `x`'s dtype.
    /// Whether the weights are block-quantized (GGUF Q8_0, Q4_K…), on either path.
    pub fn is_quantized(&self) -> bool {
        matches!(
            self,
            Linear::Quantized { .. } | Linear::SaarQuantized { .. }
        )
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (y, bias) = match self {
            Self::Dense { weight, bias } => {
                let (b, s, n_in) = x.dims3()?;
                let y = x.reshape((b * s, n_in))?.matmul(&weight.t()?)?;
                (y.reshape((b, s, ()))?, bias)
            }
            Self::Quantized { weight, bias } => (weight.forward(&x.contiguous()?)?, bias),
            Self::SaarDense { weight, bias } => return dense::linear(x, weight, bias.as_ref()),
            Self::SaarQuantized { weight, bias } => (candle_op::linear_forward(weight, x)?, bias),
        };
        match bias {
            Some(bias) => y.broadcast_add(bias),
            None => Ok(y),
        }
    }
}

/// Token embeddings, dense or quantized (kept quantized: a dequantized vocabulary can
/// take gigabytes).
#[derive(Debug, Clone)]
pub enum Embedding {
    Dense(Tensor),
    Quantized(Arc<QTensor>),
    /// Run by saar's kernels: a lookup dequantizes only the rows asked for.
    SaarQuantized(Arc<QuantMatrix>),
}

impl Embedding {
    /// `ids` is `(batch, seq)` u32; the result is `(batch, seq, hidden)` in `dtype`.
    pub fn forward(&self, ids: &Tensor, dtype: DType) -> Result<Tensor> {
        let (b, s) = ids.dims2()?;
        let rows = match self {
            Self::Dense(table) => table.index_select(&ids.flatten_all()?, 0)?,
            Self::Quantized(table) => table.embedding(&ids.flatten_all()?)?,
            Self::SaarQuantized(table) => candle_op::embedding_rows(table, ids)?,
        };
        rows.reshape((b, s, ()))?.to_dtype(dtype)
    }

    /// The same table as an output projection, for tied embeddings.
    pub fn as_linear(&self) -> Result<Linear> {
        Ok(match self {
            Self::Dense(table) => dense_linear(table.clone(), None),
            Self::Quantized(table) => Linear::Quantized {
                weight: QMatMul::from_arc(table.clone())?,
                bias: None,
            },
            Self::SaarQuantized(table) => Linear::SaarQuantized {
                weight: table.clone(),
                bias: None,
            },
        })
    }
}

/// RMSNorm computed in f32 whatever the activation dtype (as transformers does), with
/// the weight kept in f32 and any family offset (gemma3's `1 + w`) already added.
#[derive(Debug, Clone)]
pub struct RmsNorm {
    weight: Tensor,
    eps: f32,
}

impl RmsNorm {
    pub fn new(weight: Tensor, eps: f64) -> Self {
        Self {
            weight,
            eps: eps as f32,
        }
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dtype = x.dtype();
        let x32 = x.to_dtype(DType::F32)?.contiguous()?;
        candle_nn::ops::rms_norm(&x32, &self.weight, self.eps)?.to_dtype(dtype)
    }
}

/// `tanh(x / cap) * cap`, as gemma soft-caps logits.
pub fn softcap(x: &Tensor, cap: f64) -> Result<Tensor> {
    (x / cap)?.tanh()? * cap
}

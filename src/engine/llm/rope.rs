//! Rotary position embeddings: the inverse frequencies of every scaling scheme the
//! supported families use (plain, linear, llama3, yarn, and llama.cpp's stored frequency
//! factors), computed in f32 the way transformers does so logits match it closely.

use candle_core::{DType, Device, Result, Tensor};

#[derive(Debug, Clone, PartialEq)]
pub enum RopeScaling {
    None,
    /// Positions divided by `factor`.
    Linear {
        factor: f64,
    },
    /// Llama 3.1: low frequencies scaled, high kept, a smooth ramp between.
    Llama3 {
        factor: f64,
        low_freq_factor: f64,
        high_freq_factor: f64,
        original_context: f64,
    },
    /// YaRN as in transformers' `_compute_yarn_parameters`.
    Yarn {
        factor: f64,
        original_context: f64,
        beta_fast: f64,
        beta_slow: f64,
        attention_factor: Option<f64>,
        mscale: Option<f64>,
        mscale_all_dim: Option<f64>,
        truncate: bool,
    },
    /// Per-frequency divisors, as llama.cpp stores llama3 scaling in `rope_freqs.weight`.
    FreqFactors(Vec<f32>),
}

impl RopeScaling {
    /// YaRN with the paper's defaults (beta 32/1, attention factor from `factor`).
    pub fn yarn(factor: f64, original_context: f64) -> Self {
        Self::Yarn {
            factor,
            original_context,
            beta_fast: 32.0,
            beta_slow: 1.0,
            attention_factor: None,
            mscale: None,
            mscale_all_dim: None,
            truncate: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RopeSpec {
    pub theta: f64,
    pub scaling: RopeScaling,
}

/// Inverse frequencies (`head_dim / 2` of them) and the factor applied to cos and sin.
pub fn inverse_frequencies(spec: &RopeSpec, head_dim: usize) -> (Vec<f32>, f32) {
    let base = spec.theta as f32;
    let plain: Vec<f32> = (0..head_dim / 2)
        .map(|i| 1.0 / base.powf((2 * i) as f32 / head_dim as f32))
        .collect();
    match &spec.scaling {
        RopeScaling::None => (plain, 1.0),
        RopeScaling::Linear { factor } => (plain.iter().map(|f| f / *factor as f32).collect(), 1.0),
        RopeScaling::FreqFactors(factors) => {
            (plain.iter().zip(factors).map(|(f, d)| f / d).collect(), 1.0)
        }
        RopeScaling::Llama3 {
            factor,
            low_freq_factor,
            high_freq_factor,
            original_context,
        } => {
            let (factor, low, high, old) = (
                *factor as f32,
                *low_freq_factor as f32,
                *high_freq_factor as f32,
                *original_context as f32,
            );
            let (low_wavelen, high_wavelen) = (old / low, old / high);
            let scaled = plain.iter().map(|&f| {
                let wavelen = 2.0 * std::f32::consts::PI / f;
                if wavelen < high_wavelen {
                    f
                } else if wavelen > low_wavelen {
                    f / factor
                } else {
                    let smooth = (old / wavelen - low) / (high - low);
                    (1.0 - smooth) * f / factor + smooth * f
                }
            });
            (scaled.collect(), 1.0)
        }
        RopeScaling::Yarn { .. } => yarn(spec, head_dim, &plain),
    }
}

fn yarn(spec: &RopeSpec, dim: usize, plain: &[f32]) -> (Vec<f32>, f32) {
    let RopeScaling::Yarn {
        factor,
        original_context,
        beta_fast,
        beta_slow,
        attention_factor,
        mscale,
        mscale_all_dim,
        truncate,
    } = &spec.scaling
    else {
        return (plain.to_vec(), 1.0);
    };
    let get_mscale = |scale: f64, m: f64| {
        if scale <= 1.0 {
            1.0
        } else {
            0.1 * m * scale.ln() + 1.0
        }
    };
    let attention_factor = attention_factor.unwrap_or(match (mscale, mscale_all_dim) {
        (Some(m), Some(all)) if *m != 0.0 && *all != 0.0 => {
            get_mscale(*factor, *m) / get_mscale(*factor, *all)
        }
        _ => get_mscale(*factor, 1.0),
    });
    let correction_dim = |rotations: f64| {
        dim as f64 * (original_context / (rotations * 2.0 * std::f64::consts::PI)).ln()
            / (2.0 * spec.theta.ln())
    };
    let (mut low, mut high) = (correction_dim(*beta_fast), correction_dim(*beta_slow));
    if *truncate {
        low = low.floor();
        high = high.ceil();
    }
    let (low, mut high) = (low.max(0.0) as f32, high.min(dim as f64 - 1.0) as f32);
    if low == high {
        high += 0.001;
    }
    let factor = *factor as f32;
    let inv = plain.iter().enumerate().map(|(i, &extrapolation)| {
        let ramp = ((i as f32 - low) / (high - low)).clamp(0.0, 1.0);
        let extrapolation_weight = 1.0 - ramp;
        let interpolation = extrapolation / factor;
        interpolation * (1.0 - extrapolation_weight) + extrapolation * extrapolation_weight
    });
    (inv.collect(), attention_factor as f32)
}

/// Cos/sin tables for a span of positions, computed on demand (no context-sized table).
#[derive(Debug, Clone)]
pub struct RotaryEmbedding {
    inv_freq: Tensor,
    attention_factor: f64,
    interleaved: bool,
}

impl RotaryEmbedding {
    pub fn new(
        spec: &RopeSpec,
        head_dim: usize,
        interleaved: bool,
        device: &Device,
    ) -> Result<Self> {
        let (inv_freq, attention_factor) = inverse_frequencies(spec, head_dim);
        let half = inv_freq.len();
        Ok(Self {
            inv_freq: Tensor::from_vec(inv_freq, (1, half), device)?,
            attention_factor: attention_factor as f64,
            interleaved,
        })
    }

    /// `(cos, sin)`, each `(len, head_dim / 2)` in `dtype`, for positions `pos..pos + len`.
    pub fn cos_sin(&self, pos: usize, len: usize, dtype: DType) -> Result<(Tensor, Tensor)> {
        let positions: Vec<u32> = (pos as u32..(pos + len) as u32).collect();
        self.cos_sin_at(&positions, dtype)
    }

    /// `(cos, sin)`, each `(positions.len(), head_dim / 2)` in `dtype`, one row per
    /// position: rows of a batched step sit at their own sequences' positions.
    pub fn cos_sin_at(&self, positions: &[u32], dtype: DType) -> Result<(Tensor, Tensor)> {
        let device = self.inv_freq.device();
        let positions = Tensor::new(positions, device)?
            .to_dtype(DType::F32)?
            .reshape((positions.len(), 1))?;
        let freqs = positions.broadcast_mul(&self.inv_freq)?;
        let scale = |t: Tensor| -> Result<Tensor> {
            let t = if self.attention_factor == 1.0 {
                t
            } else {
                t.affine(self.attention_factor, 0.0)?
            };
            t.to_dtype(dtype)?.contiguous()
        };
        Ok((scale(freqs.cos()?)?, scale(freqs.sin()?)?))
    }

    /// Rotates `x` of shape `(batch, heads, seq, head_dim)`, contiguous.
    pub fn apply(&self, x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
        if self.interleaved {
            candle_nn::rotary_emb::rope_i(x, cos, sin)
        } else {
            candle_nn::rotary_emb::rope(x, cos, sin)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(scaling: RopeScaling) -> RopeSpec {
        RopeSpec {
            theta: 500_000.0,
            scaling,
        }
    }

    #[test]
    fn linear_scaling_divides_every_frequency() {
        let (plain, _) = inverse_frequencies(&spec(RopeScaling::None), 64);
        let (linear, af) = inverse_frequencies(&spec(RopeScaling::Linear { factor: 8.0 }), 64);
        assert_eq!(af, 1.0);
        for (p, l) in plain.iter().zip(&linear) {
            assert!((p / 8.0 - l).abs() <= p * 1e-6);
        }
    }

    #[test]
    fn llama3_keeps_high_and_scales_low_frequencies() {
        let llama3 = RopeScaling::Llama3 {
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_context: 8192.0,
        };
        let (plain, _) = inverse_frequencies(&spec(RopeScaling::None), 128);
        let (scaled, _) = inverse_frequencies(&spec(llama3), 128);
        assert_eq!(plain[0], scaled[0], "the highest frequency is untouched");
        let last = plain.len() - 1;
        assert!((plain[last] / 8.0 - scaled[last]).abs() <= plain[last] * 1e-6);
        assert!(scaled.iter().zip(&plain).all(|(s, p)| s <= p));
    }

    #[test]
    fn yarn_blends_and_scales_attention() {
        let yarn = RopeScaling::yarn(4.0, 32_768.0);
        let (plain, _) = inverse_frequencies(&spec(RopeScaling::None), 128);
        let (scaled, af) = inverse_frequencies(&spec(yarn), 128);
        assert!((af - (0.1 * 4f32.ln() + 1.0)).abs() < 1e-6);
        assert_eq!(plain[0], scaled[0]);
        let last = plain.len() - 1;
        assert!((plain[last] / 4.0 - scaled[last]).abs() <= plain[last] * 1e-6);
    }
}

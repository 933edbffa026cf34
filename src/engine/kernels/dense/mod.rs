//! f32, f16 and bf16 weights times f32 activations: `y = x @ W^T` with `x` of shape
//! `(m, k)` and `W` of shape `(n, k)`, the product every projection of an LLM or a
//! Marian model computes.
//!
//! Decoding multiplies few activation rows (m = 1 for an LLM, batch × beams for
//! Marian) by every weight of the model, so it is bound by how fast the weights stream
//! from memory. The skinny path ([`skinny`]) reads each weight once per product, keeps
//! several activation rows per weight load, converts f16/bf16 panels to f32 on the fly
//! (never a whole f32 copy), and splits output rows across threads. Prefill (large m)
//! is bound by arithmetic instead ([`prefill`]): a register-tiled GEMM on AVX2
//! ([`gemm`]), candle's gemm elsewhere.
//!
//! - [`scalar`]: the portable kernels, also the reference the tests hold the SIMD ones to.
//! - [`avx2`]: AVX2 + FMA (+ F16C) kernels, chosen at run time; [`avx512`]: the f32
//!   panels on AVX-512 F where the CPU has it.
//! - [`tensor`]: the candle glue the engines call ([`linear`]).

mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod gemm;
mod prefill;
mod scalar;
mod skinny;
mod tensor;
#[cfg(test)]
mod tests;

use half::{bf16, f16};

use super::cpu::Features;
use super::workers;

pub use tensor::{contiguous_f16, contiguous_f32, linear, runs_on};

/// Up to this many activation rows take the skinny (GEMV-like) path; more go to a gemm.
pub const SKINNY_MAX_ROWS: usize = 32;

/// The weights of one product in their stored type, row-major `(n, k)`.
#[derive(Debug, Clone, Copy)]
pub enum WeightData<'a> {
    F32(&'a [f32]),
    F16(&'a [f16]),
    Bf16(&'a [bf16]),
}

impl WeightData<'_> {
    fn len(&self) -> usize {
        match self {
            WeightData::F32(w) => w.len(),
            WeightData::F16(w) => w.len(),
            WeightData::Bf16(w) => w.len(),
        }
    }
}

/// A weight matrix `W` of `rows` (n, outputs) by `cols` (k, inputs).
#[derive(Debug, Clone, Copy)]
pub struct WeightMatrix<'a> {
    pub data: WeightData<'a>,
    pub rows: usize,
    pub cols: usize,
}

/// Which instruction set the kernels use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    Scalar,
    /// AVX2 with FMA; `f16c` says whether f16 converts in hardware.
    Avx2 {
        f16c: bool,
    },
    /// AVX-512 F besides AVX2 and FMA: f32 panels on 16 lanes, the rest as `Avx2`.
    Avx512 {
        f16c: bool,
    },
}

impl Isa {
    /// The best this CPU runs, checked at run time.
    pub fn detect() -> Self {
        let features = Features::detect();
        let f16c = features.f16c;
        if features.avx2_fma() && features.avx512f {
            Isa::Avx512 { f16c }
        } else if features.avx2_fma() {
            Isa::Avx2 { f16c }
        } else {
            Isa::Scalar
        }
    }
}

/// Why a product cannot run: the buffers disagree with the stated shapes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dense product shapes disagree: {0}")]
pub struct ShapeError(String);

/// `y = x @ W^T (+ bias)` for `x` of `m` rows by `w.cols`; `y` is `m` by `w.rows`.
/// Uses the skinny kernels whatever `m` (the tensor glue sends large `m` to a gemm).
pub fn matmul_t(
    x: &[f32],
    m: usize,
    w: WeightMatrix,
    bias: Option<&[f32]>,
    y: &mut [f32],
) -> Result<(), ShapeError> {
    matmul_t_with(Isa::detect(), workers::threads(), x, m, w, bias, y)
}

/// [`matmul_t`] on a chosen instruction set and thread count (tests compare them).
pub fn matmul_t_with(
    isa: Isa,
    threads: usize,
    x: &[f32],
    m: usize,
    w: WeightMatrix,
    bias: Option<&[f32]>,
    y: &mut [f32],
) -> Result<(), ShapeError> {
    let (n, k) = (w.rows, w.cols);
    if w.data.len() != n * k {
        return Err(ShapeError(format!(
            "{} weights for ({n}, {k})",
            w.data.len()
        )));
    }
    if x.len() != m * k || y.len() != m * n {
        return Err(ShapeError(format!(
            "x holds {}, y {}, expected {m}x{k} and {m}x{n}",
            x.len(),
            y.len()
        )));
    }
    if bias.is_some_and(|b| b.len() != n) {
        return Err(ShapeError(format!("bias is not of length {n}")));
    }
    skinny::product(isa, threads, x, m, w, bias, y);
    Ok(())
}

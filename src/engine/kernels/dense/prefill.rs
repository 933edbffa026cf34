//! Many activation rows (prefill): the product is bound by arithmetic. On AVX2 + FMA
//! saar's register-tiled GEMM ([`super::gemm`]) runs it for every weight type.
//! Elsewhere f32 weights go straight to candle's gemm and f16/bf16 weights through it
//! one panel converted to f32 at a time (about 1 MB), never the whole matrix.

use candle_core::{Result, Tensor};

use super::skinny::{available, convert};
use super::{Isa, WeightData, WeightMatrix};

/// f32 values per converted panel.
const PANEL_VALUES: usize = 1 << 18;
/// Panel heights are multiples of this (the gemm's own tile).
const ROW_MULTIPLE: usize = 16;

/// `x @ W^T` for `x` (`m` rows of `w.cols` f32 values, as the tensor `x_tensor` of
/// shape `(m, k)` on the CPU holds them); returns `(m, n)`.
pub(super) fn product(x_tensor: &Tensor, x: &[f32], w: WeightMatrix) -> Result<Tensor> {
    let isa = available(Isa::detect());
    let (m, _) = x_tensor.dims2()?;
    let (n, k) = (w.rows, w.cols);
    let device = x_tensor.device();
    #[cfg(target_arch = "x86_64")]
    if let Isa::Avx2 { f16c } | Isa::Avx512 { f16c } = isa {
        let mut y = vec![0f32; m * n];
        // SAFETY: `available` reports only features this CPU has.
        unsafe { super::gemm::product(x, m, w, f16c, &mut y) };
        return Tensor::from_vec(y, (m, n), device);
    }
    if let WeightData::F32(weights) = w.data {
        let weights = Tensor::from_slice(weights, (n, k), device)?;
        return x_tensor.matmul(&weights.t()?);
    }
    let rows = (PANEL_VALUES / k.max(1) / ROW_MULTIPLE * ROW_MULTIPLE).max(ROW_MULTIPLE);
    let mut y = vec![0f32; m * n];
    let mut panel = Vec::new();
    let mut row0 = 0;
    while row0 < n {
        let nr = rows.min(n - row0);
        panel.resize(nr * k, 0.0);
        convert(isa, w.data, row0 * k, &mut panel);
        let weights = Tensor::from_slice(&panel, (nr, k), device)?;
        let part = x_tensor
            .matmul(&weights.t()?)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        for (dst, src) in y.chunks_exact_mut(n).zip(part.chunks_exact(nr)) {
            dst[row0..row0 + nr].copy_from_slice(src);
        }
        row0 += nr;
    }
    Tensor::from_vec(y, (m, n), device)
}

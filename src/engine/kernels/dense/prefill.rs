//! Many activation rows (prefill) with f16/bf16 weights: the product is bound by
//! arithmetic, so it goes through candle's f32 gemm, one panel of weights converted
//! to f32 at a time (about 1 MB), never the whole matrix.

use candle_core::{Result, Tensor};

use super::skinny::{available, convert};
use super::{Isa, WeightMatrix};

/// f32 values per converted panel.
const PANEL_VALUES: usize = 1 << 18;
/// Panel heights are multiples of this (the gemm's own tile).
const ROW_MULTIPLE: usize = 16;

/// `x @ W^T` for `x` of shape `(m, k)` (f32, contiguous, CPU); returns `(m, n)`.
pub(super) fn product(x: &Tensor, w: WeightMatrix) -> Result<Tensor> {
    let isa = available(Isa::detect());
    let (m, _) = x.dims2()?;
    let (n, k) = (w.rows, w.cols);
    let rows = (PANEL_VALUES / k.max(1) / ROW_MULTIPLE * ROW_MULTIPLE).max(ROW_MULTIPLE);
    let mut y = vec![0f32; m * n];
    let mut panel = Vec::new();
    let mut row0 = 0;
    while row0 < n {
        let nr = rows.min(n - row0);
        panel.resize(nr * k, 0.0);
        convert(isa, w.data, row0 * k, &mut panel);
        let weights = Tensor::from_slice(&panel, (nr, k), x.device())?;
        let part = x.matmul(&weights.t()?)?.flatten_all()?.to_vec1::<f32>()?;
        for (dst, src) in y.chunks_exact_mut(n).zip(part.chunks_exact(nr)) {
            dst[row0..row0 + nr].copy_from_slice(src);
        }
        row0 += nr;
    }
    Tensor::from_vec(y, (m, n), x.device())
}

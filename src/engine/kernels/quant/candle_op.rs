//! The bridge between [`QuantMatrix`] and candle tensors: a custom op that reads the
//! activations' contiguous f32 buffer in place (no copy) for linear layers, and an
//! embedding lookup that dequantizes only the rows it is asked for.

use candle_core::{CpuStorage, CustomOp1, DType, Device, Error, Layout, Result, Shape, Tensor};

use super::QuantMatrix;

impl CustomOp1 for QuantMatrix {
    fn name(&self) -> &'static str {
        "saar-quant-matmul"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let Some((start, end)) = layout.contiguous_offsets() else {
            return Err(Error::Msg(
                "saar-quant-matmul: the input must be contiguous".into(),
            ));
        };
        let x = &storage.as_slice::<f32>()?[start..end];
        let dims = layout.shape().dims();
        let (&k, batch) = dims
            .split_last()
            .ok_or_else(|| Error::Msg("saar-quant-matmul: the input is a scalar".into()))?;
        if k != self.cols() {
            return Err(Error::Msg(format!(
                "saar-quant-matmul: input has {k} features, the weights take {}",
                self.cols()
            )));
        }
        let m = batch.iter().product::<usize>();
        let mut y = vec![0f32; m * self.rows()];
        self.matmul(x, m, &mut y).map_err(Error::wrap)?;
        let mut out_dims = batch.to_vec();
        out_dims.push(self.rows());
        Ok((CpuStorage::F32(y), Shape::from(out_dims)))
    }
}

/// `x @ W^T` for `x` of shape `(…, cols)` on the CPU; the result is f32 `(…, rows)`.
pub fn linear_forward(weights: &QuantMatrix, x: &Tensor) -> Result<Tensor> {
    let x = x.to_dtype(DType::F32)?.contiguous()?;
    x.apply_op1_no_bwd(weights)
}

/// The rows `ids` (any shape, integer ids) of an embedding table, dequantized:
/// shape `(ids.elem_count(), cols)`, f32, on the CPU.
pub fn embedding_rows(table: &QuantMatrix, ids: &Tensor) -> Result<Tensor> {
    let ids = ids.flatten_all()?.to_dtype(DType::U32)?.to_vec1::<u32>()?;
    let cols = table.cols();
    let mut out = vec![0f32; ids.len() * cols];
    for (&id, row) in ids.iter().zip(out.chunks_exact_mut(cols)) {
        table.dequantize_row(id as usize, row).map_err(|_| {
            Error::Msg(format!(
                "token id {id} is outside the vocabulary of {} tokens",
                table.rows()
            ))
        })?;
    }
    Tensor::from_vec(out, (ids.len(), cols), &Device::Cpu)
}

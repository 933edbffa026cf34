//! The candle side of the dense kernels: reads the weights in place from a CPU tensor
//! (no copy, no upcast), runs the skinny kernels for few rows and a gemm for many, and
//! returns a new f32 tensor.

use candle_core::{CpuStorage, DType, Layout, Result, Storage, Tensor};

use super::{matmul_t, prefill, WeightData, WeightMatrix, SKINNY_MAX_ROWS};

/// Whether [`linear`] can multiply by `weight`: a 2-D f32, f16 or bf16 tensor on the CPU.
pub fn runs_on(weight: &Tensor) -> bool {
    weight.device().is_cpu()
        && weight.rank() == 2
        && matches!(weight.dtype(), DType::F32 | DType::F16 | DType::BF16)
}

/// `x @ weight^T (+ bias)` for f32 `x` of shape `(..., k)` and `weight` of shape
/// `(n, k)` (see [`runs_on`]); the result is f32 of shape `(..., n)`.
pub fn linear(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    let (n, k) = weight.dims2()?;
    let dims = x.dims();
    if x.dtype() != DType::F32 || dims.last() != Some(&k) || !runs_on(weight) {
        return Err(candle_core::Error::Msg(format!(
            "dense kernel: x {:?} {:?} cannot multiply weight {:?} {:?}",
            dims,
            x.dtype(),
            weight.dims(),
            weight.dtype()
        )));
    }
    let m = if k == 0 { 0 } else { x.elem_count() / k };
    let mut out_dims = dims.to_vec();
    if let Some(last) = out_dims.last_mut() {
        *last = n;
    }
    let weight = weight.contiguous()?;
    if m > SKINNY_MAX_ROWS {
        let x = x.reshape((m, k))?.contiguous()?;
        let y = with_f32(&x, |xs| {
            with_weights(&weight, |w| prefill::product(&x, xs, w))
        })?;
        let y = match bias {
            Some(bias) => y.broadcast_add(&bias.to_dtype(DType::F32)?)?,
            None => y,
        };
        return y.reshape(out_dims);
    }
    let x = x.contiguous()?;
    let bias = bias
        .map(|b| b.to_dtype(DType::F32)?.contiguous())
        .transpose()?;
    let mut y = vec![0f32; m * n];
    with_f32(&x, |xs| {
        with_weights(&weight, |w| match &bias {
            Some(bias) => with_f32(bias, |b| product(xs, m, w, Some(b), &mut y)),
            None => product(xs, m, w, None, &mut y),
        })
    })?;
    Tensor::from_vec(y, out_dims, x.device())
}

fn product(
    x: &[f32],
    m: usize,
    w: WeightMatrix,
    bias: Option<&[f32]>,
    y: &mut [f32],
) -> Result<()> {
    matmul_t(x, m, w, bias, y).map_err(|e| candle_core::Error::Msg(e.to_string()))
}

fn not_on_cpu() -> candle_core::Error {
    candle_core::Error::Msg("dense kernel: tensor is not a contiguous CPU tensor".into())
}

fn contiguous<'a, T>(values: &'a [T], layout: &Layout) -> Result<&'a [T]> {
    let (start, end) = layout.contiguous_offsets().ok_or_else(not_on_cpu)?;
    values.get(start..end).ok_or_else(not_on_cpu)
}

/// The values behind a contiguous f32 CPU tensor's storage and layout (from
/// `Tensor::storage_and_layout`), or `None` for any other tensor.
pub fn contiguous_f32<'a>(storage: &'a Storage, layout: &Layout) -> Option<&'a [f32]> {
    match storage {
        Storage::Cpu(CpuStorage::F32(values)) => contiguous(values, layout).ok(),
        _ => None,
    }
}

/// [`contiguous_f32`] for f16 tensors.
pub fn contiguous_f16<'a>(storage: &'a Storage, layout: &Layout) -> Option<&'a [half::f16]> {
    match storage {
        Storage::Cpu(CpuStorage::F16(values)) => contiguous(values, layout).ok(),
        _ => None,
    }
}

/// Runs `f` on the values of a contiguous f32 CPU tensor.
fn with_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> Result<R>) -> Result<R> {
    let (storage, layout) = t.storage_and_layout();
    f(contiguous_f32(&storage, layout).ok_or_else(not_on_cpu)?)
}

/// Runs `f` on the weights of a contiguous 2-D CPU tensor, in their stored type.
fn with_weights<R>(t: &Tensor, f: impl FnOnce(WeightMatrix) -> Result<R>) -> Result<R> {
    let (rows, cols) = t.dims2()?;
    let (storage, layout) = t.storage_and_layout();
    let data = match &*storage {
        Storage::Cpu(CpuStorage::F32(v)) => WeightData::F32(contiguous(v, layout)?),
        Storage::Cpu(CpuStorage::F16(v)) => WeightData::F16(contiguous(v, layout)?),
        Storage::Cpu(CpuStorage::BF16(v)) => WeightData::Bf16(contiguous(v, layout)?),
        _ => return Err(not_on_cpu()),
    };
    f(WeightMatrix { data, rows, cols })
}

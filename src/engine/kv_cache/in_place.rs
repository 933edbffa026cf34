//! The glue between CPU tensors and saar's attention kernels: the KV cache's buffers
//! and the queries read in place as slices (f32, or f16 for the cache), the answer
//! made a tensor again. Each function answers `None` where the kernels cannot read
//! its inputs (another device or dtype), and the caller takes candle's path.

use candle_core::{DType, Result, Tensor};

use super::KvCache;
use crate::engine::kernels::attention::{
    self, AttentionError, CacheShape, CacheValue, HeadShape, RowCache,
};
use crate::engine::kernels::dense::{contiguous_f16, contiguous_f32};
use crate::engine::kernels::tiled_attention::{self, DecodeRow, Queries, Visibility};

/// One query position per row, `q` of `(rows, heads, 1, head_dim)`, attending to
/// positions `start..start + lens[row]` of `keys` and `values` (`(rows, kv_heads,
/// capacity, head_dim)`, contiguous), by saar's kernel: `(rows, 1, heads × head_dim)`.
/// `None` when `q` is not f32, or the keys and values not both f32 or both f16, on the
/// CPU (the caller takes candle's path).
pub fn attend_in_place(
    q: &Tensor,
    keys: &Tensor,
    values: &Tensor,
    kv_heads: usize,
    start: usize,
    lens: &[usize],
    scale: f32,
) -> Result<Option<Tensor>> {
    let (rows, heads, seq, dim) = q.dims4()?;
    if seq != 1 || q.dtype() != DType::F32 {
        return Ok(None);
    }
    let q = q.contiguous()?;
    let (q_store, q_layout) = q.storage_and_layout();
    let Some(qs) = contiguous_f32(&q_store, q_layout) else {
        return Ok(None);
    };
    let shape = CacheShape {
        rows,
        heads,
        kv_heads,
        head_dim: dim,
        capacity: keys.dim(2)?,
        start,
    };
    let (k_store, k_layout) = keys.storage_and_layout();
    let (v_store, v_layout) = values.storage_and_layout();
    let (k, v) = ((&*k_store, k_layout), (&*v_store, v_layout));
    let out = match (keys.dtype(), values.dtype()) {
        (DType::F32, DType::F32) => attend_values(qs, k, v, contiguous_f32, &shape, lens, scale)?,
        (DType::F16, DType::F16) => attend_values(qs, k, v, contiguous_f16, &shape, lens, scale)?,
        _ => None,
    };
    out.map(|out| Tensor::from_vec(out, (rows, 1, heads * dim), q.device()))
        .transpose()
}

/// The decode step of one or more sequences: row `r` of `q` (`(rows, heads, 1,
/// head_dim)`, f32) is the query of `caches[r]`'s last held position, and attends over
/// the keys that position sees, by the tiled kernel for all rows at once: `(rows, 1,
/// heads × head_dim)`. `None` where the kernel cannot run (a cache empty, the caches
/// not all f32 or all f16, `q` not f32 on the CPU).
pub fn attend_many(
    caches: &[&KvCache],
    q: &Tensor,
    kv_heads: usize,
    scale: f32,
) -> Result<Option<Tensor>> {
    let (rows, heads, seq, dim) = q.dims4()?;
    let Some(dtype) = caches.first().map(|cache| cache.stored_as) else {
        return Ok(None);
    };
    if seq != 1 || q.dtype() != DType::F32 || rows != caches.len() {
        return Ok(None);
    }
    let mut buffers = Vec::with_capacity(rows);
    for cache in caches {
        match (&cache.k, &cache.v) {
            (Some(k), Some(v)) if k.dtype() == dtype && v.dtype() == dtype && k.dim(0)? == 1 => {
                buffers.push((k, v, *cache))
            }
            _ => return Ok(None),
        }
    }
    let q = q.contiguous()?;
    let (q_store, q_layout) = q.storage_and_layout();
    let Some(qs) = contiguous_f32(&q_store, q_layout) else {
        return Ok(None);
    };
    let guards: Vec<_> = buffers
        .iter()
        .map(|(k, v, _)| (k.storage_and_layout(), v.storage_and_layout()))
        .collect();
    let mut views = Vec::with_capacity(rows);
    for (((ks, kl), (vs, vl)), (k, _, cache)) in guards.iter().zip(&buffers) {
        views.push(((&**ks, *kl), (&**vs, *vl), k.dim(2)?, *cache));
    }
    let shape = HeadShape {
        heads,
        kv_heads,
        head_dim: dim,
    };
    let out = match dtype {
        DType::F32 => decode_values(qs, &views, contiguous_f32, shape, scale)?,
        DType::F16 => decode_values(qs, &views, contiguous_f16, shape, scale)?,
        _ => None,
    };
    out.map(|out| Tensor::from_vec(out, (rows, 1, heads * dim), q.device()))
        .transpose()
}

/// A cache's key and value buffers, their capacity in positions, and the cache.
type CacheView<'a> = (StorageView<'a>, StorageView<'a>, usize, &'a KvCache);

/// [`tiled_attention::attend_decode`] over buffers that `slice` reads as `T`.
fn decode_values<'a, T: CacheValue + 'a>(
    q: &[f32],
    views: &[CacheView<'a>],
    slice: impl Fn(&'a candle_core::Storage, &'a candle_core::Layout) -> Option<&'a [T]>,
    shape: HeadShape,
    scale: f32,
) -> Result<Option<Vec<f32>>> {
    let per_row = shape.heads * shape.head_dim;
    let mut rows = Vec::with_capacity(views.len());
    for (r, &((ks, kl), (vs, vl), capacity, cache)) in views.iter().enumerate() {
        let (Some(keys), Some(values)) = (slice(ks, kl), slice(vs, vl)) else {
            return Ok(None);
        };
        rows.push(DecodeRow {
            q: &q[r * per_row..(r + 1) * per_row],
            cache: RowCache {
                keys,
                values,
                capacity,
                start: cache.start,
                len: cache.len(),
            },
            visibility: visibility(cache),
        });
    }
    let mut out = vec![0f32; q.len()];
    tiled_attention::attend_decode(&rows, shape, scale, &mut out).map_err(kernel_error)?;
    Ok(Some(out))
}

/// Which keys of `cache` its queries see.
fn visibility(cache: &KvCache) -> Visibility {
    Visibility {
        window: cache.window,
        first_position: cache.dropped,
    }
}

type StorageView<'a> = (&'a candle_core::Storage, &'a candle_core::Layout);

/// The kernel over keys and values that `slice` reads as `T`, or `None` where it cannot.
fn attend_values<'a, T: CacheValue + 'a>(
    q: &[f32],
    (k_store, k_layout): StorageView<'a>,
    (v_store, v_layout): StorageView<'a>,
    slice: impl Fn(&'a candle_core::Storage, &'a candle_core::Layout) -> Option<&'a [T]>,
    shape: &CacheShape,
    lens: &[usize],
    scale: f32,
) -> Result<Option<Vec<f32>>> {
    let (Some(ks), Some(vs)) = (slice(k_store, k_layout), slice(v_store, v_layout)) else {
        return Ok(None);
    };
    let mut out = vec![0f32; q.len()];
    attention::attend_one(q, ks, vs, shape, lens, scale, &mut out).map_err(kernel_error)?;
    Ok(Some(out))
}

/// A sequence's queries `q` (`(1, heads, seq, head_dim)`, f32) over `cache`, whose last
/// `seq` live positions are their own, by the prefill kernel (causal, and the cache's
/// sliding window): `(1, seq, heads × head_dim)`.
pub(super) fn attend_prefill(
    cache: &KvCache,
    q: &Tensor,
    kv_heads: usize,
    scale: f32,
) -> Result<Option<Tensor>> {
    let (Some(keys), Some(values)) = (&cache.k, &cache.v) else {
        return Ok(None);
    };
    let (rows, heads, seq, dim) = q.dims4()?;
    if rows != 1 || keys.dim(0)? != 1 || q.dtype() != DType::F32 {
        return Ok(None);
    }
    let q = q.contiguous()?;
    let (q_store, q_layout) = q.storage_and_layout();
    let Some(qs) = contiguous_f32(&q_store, q_layout) else {
        return Ok(None);
    };
    let queries = Queries {
        q: qs,
        seq,
        shape: HeadShape {
            heads,
            kv_heads,
            head_dim: dim,
        },
        scale,
    };
    let visibility = visibility(cache);
    let span = (keys.dim(2)?, cache.start, cache.len());
    let (k_store, k_layout) = keys.storage_and_layout();
    let (v_store, v_layout) = values.storage_and_layout();
    let (k, v) = ((&*k_store, k_layout), (&*v_store, v_layout));
    let out = match cache.stored_as {
        DType::F32 => prefill_values(&queries, k, v, contiguous_f32, span, visibility)?,
        DType::F16 => prefill_values(&queries, k, v, contiguous_f16, span, visibility)?,
        _ => None,
    };
    out.map(|out| Tensor::from_vec(out, (1, seq, heads * dim), q.device()))
        .transpose()
}

/// [`tiled_attention::attend_prefill`] over buffers that `slice` reads as `T`, whose
/// (capacity, start, len) is `span`.
fn prefill_values<'a, T: CacheValue + 'a>(
    queries: &Queries<'_>,
    (k_store, k_layout): StorageView<'a>,
    (v_store, v_layout): StorageView<'a>,
    slice: impl Fn(&'a candle_core::Storage, &'a candle_core::Layout) -> Option<&'a [T]>,
    (capacity, start, len): (usize, usize, usize),
    visibility: Visibility,
) -> Result<Option<Vec<f32>>> {
    let (Some(keys), Some(values)) = (slice(k_store, k_layout), slice(v_store, v_layout)) else {
        return Ok(None);
    };
    let cache = RowCache {
        keys,
        values,
        capacity,
        start,
        len,
    };
    let mut out = vec![0f32; queries.q.len()];
    tiled_attention::attend_prefill(queries, &cache, visibility, &mut out).map_err(kernel_error)?;
    Ok(Some(out))
}

fn kernel_error(error: AttentionError) -> candle_core::Error {
    candle_core::Error::Msg(error.to_string())
}

//! The types a KV cache keeps keys and values in (f32, or f16 at half the memory) and
//! how the attention kernels read them: dot products and weighted sums straight from
//! the cache for the decode step, widening to f32 for the prefill kernel's tiles. f16
//! values are widened with F16C as they are read.

use half::f16;

/// A type a KV cache stores keys and values in: f32, or f16 at half the memory (what
/// llama.cpp keeps by default), read by the kernel with F16C widening.
pub trait CacheValue: Copy + Send + Sync {
    /// `q · k`; `simd` only where the CPU has AVX2, FMA and F16C.
    fn dot(q: &[f32], k: &[Self], simd: bool) -> f32;
    /// `out += w · x`; `simd` as for [`dot`](Self::dot).
    fn add_scaled(out: &mut [f32], w: f32, x: &[Self], simd: bool);
    /// `out[i] = x[i]` as f32 (`out` as long as `x`); `simd` as for [`dot`](Self::dot).
    fn widen_into(x: &[Self], out: &mut [f32], simd: bool);
}

impl CacheValue for f32 {
    fn dot(q: &[f32], k: &[f32], simd: bool) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if simd {
            // SAFETY: `simd` is only true when the CPU has AVX2, FMA and F16C.
            return unsafe { avx2::dot(q, k, |p| _mm256_loadu_ps(p)) };
        }
        let _ = simd;
        q.iter().zip(k).map(|(x, y)| x * y).sum()
    }

    fn add_scaled(out: &mut [f32], w: f32, x: &[f32], simd: bool) {
        #[cfg(target_arch = "x86_64")]
        if simd {
            // SAFETY: `simd` is only true when the CPU has AVX2, FMA and F16C.
            return unsafe { avx2::add_scaled(out, w, x, |p| _mm256_loadu_ps(p)) };
        }
        let _ = simd;
        for (o, x) in out.iter_mut().zip(x) {
            *o += w * x;
        }
    }

    fn widen_into(x: &[f32], out: &mut [f32], _simd: bool) {
        out.copy_from_slice(x);
    }
}

impl CacheValue for f16 {
    fn dot(q: &[f32], k: &[f16], simd: bool) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if simd {
            // SAFETY: `simd` is only true when the CPU has AVX2, FMA and F16C.
            return unsafe { avx2::dot(q, k, |p| avx2::widen(p)) };
        }
        let _ = simd;
        q.iter().zip(k).map(|(x, y)| x * y.to_f32()).sum()
    }

    fn add_scaled(out: &mut [f32], w: f32, x: &[f16], simd: bool) {
        #[cfg(target_arch = "x86_64")]
        if simd {
            // SAFETY: `simd` is only true when the CPU has AVX2, FMA and F16C.
            return unsafe { avx2::add_scaled(out, w, x, |p| avx2::widen(p)) };
        }
        let _ = simd;
        for (o, x) in out.iter_mut().zip(x) {
            *o += w * x.to_f32();
        }
    }

    fn widen_into(x: &[f16], out: &mut [f32], simd: bool) {
        #[cfg(target_arch = "x86_64")]
        if simd {
            // SAFETY: `simd` is only true when the CPU has AVX2, FMA and F16C.
            return unsafe { avx2::widen_into(x, out) };
        }
        let _ = simd;
        for (o, x) in out.iter_mut().zip(x) {
            *o = x.to_f32();
        }
    }
}

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::_mm256_loadu_ps;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use half::f16;

    use super::super::simd::hsum;

    /// 8 f16 values from `p` as f32 lanes.
    ///
    /// # Safety
    /// 8 values must be readable at `p`, and the CPU must have F16C.
    #[inline(always)]
    pub unsafe fn widen(p: *const f16) -> __m256 {
        // SAFETY: as the caller promised.
        unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p.cast())) }
    }

    /// `a · b`, with `load` reading 8 lanes of `b`'s type as f32.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot<T: Copy + Into<f32>>(
        a: &[f32],
        b: &[T],
        load: impl Fn(*const T) -> __m256,
    ) -> f32 {
        let n = a.len().min(b.len());
        let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut i = 0;
        while i + 16 <= n {
            // SAFETY: i + 16 <= n keeps both 8-lane reads inside `a` and `b`.
            unsafe {
                let (pa, pb) = (a.as_ptr().add(i), b.as_ptr().add(i));
                acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa), load(pb), acc0);
                acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(8)), load(pb.add(8)), acc1);
            }
            i += 16;
        }
        let mut sum = hsum(_mm256_add_ps(acc0, acc1));
        for j in i..n {
            sum += a[j] * b[j].into();
        }
        sum
    }

    /// `out[i] = x[i]` as f32, for `i < min(len)`.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn widen_into(x: &[f16], out: &mut [f32]) {
        let n = out.len().min(x.len());
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n keeps the 8-lane read and write inside `x` and `out`.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(i), widen(x.as_ptr().add(i))) };
            i += 8;
        }
        for j in i..n {
            out[j] = x[j].to_f32();
        }
    }

    /// `out += w · x`, with `load` as for [`dot`].
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn add_scaled<T: Copy + Into<f32>>(
        out: &mut [f32],
        w: f32,
        x: &[T],
        load: impl Fn(*const T) -> __m256,
    ) {
        let n = out.len().min(x.len());
        let wv = _mm256_set1_ps(w);
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n keeps the 8-lane read and write inside `x` and `out`.
            unsafe {
                let po = out.as_mut_ptr().add(i);
                let sum = _mm256_fmadd_ps(wv, load(x.as_ptr().add(i)), _mm256_loadu_ps(po));
                _mm256_storeu_ps(po, sum);
            }
            i += 8;
        }
        for j in i..n {
            out[j] += w * x[j].into();
        }
    }
}

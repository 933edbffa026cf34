//! The project's own CPU kernels for the hot path: the matrix products that take
//! almost all of an LLM's or a Marian model's time on a CPU. Candle's generic CPU
//! paths stay as the reference ("stock candle") and as the path on GPUs; these
//! kernels replace them on CPUs where they are faster, chosen at load time.
//!
//! - [`cpu`]: which SIMD features this CPU has, checked at run time.
//! - [`quant`]: GGUF block types (Q4_K, Q5_0, Q6_K, Q8_0…) times f32 activations,
//!   with the activations quantized once per product.
//! - [`dense`]: f32, f16 and bf16 weights times f32 activations, with f16/bf16
//!   converted on the fly instead of upcast copies.
//! - [`attention`]: one query position per row over a cache read in place (Marian's
//!   and IndicTrans2's decoders, cross-attention included).
//! - [`tiled_attention`]: the LLM's attention over its KV cache, a prompt's chunk or a
//!   decode step of many sequences, in tiles of keys with an online softmax (no score
//!   matrix).

pub mod attention;
mod cache_value;
pub mod cpu;
pub mod dense;
pub mod quant;
#[cfg(target_arch = "x86_64")]
mod simd;
pub mod tiled_attention;
pub mod workers;

use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering};

/// Which implementation runs the matrix products on a CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// saar's own kernels (the default).
    Saar,
    /// candle's own CPU paths, kept as the reference that `saar bench` compares with.
    Candle,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Saar => "saar",
            Backend::Candle => "candle",
        }
    }
}

const UNSET: u8 = 0;
const SAAR: u8 = 1;
const CANDLE: u8 = 2;

static BACKEND: AtomicU8 = AtomicU8::new(UNSET);

thread_local! {
    /// [`with_backend`]'s choice for this thread, over the process-wide one.
    static THREAD_BACKEND: Cell<u8> = const { Cell::new(UNSET) };
}

/// Runs `load` with models loading on `backend` on this thread only, whatever the
/// process-wide choice: tests that compare both paths run beside tests that use the
/// default.
pub fn with_backend<R>(backend: Backend, load: impl FnOnce() -> R) -> R {
    let before = THREAD_BACKEND.with(|cell| cell.replace(code(backend)));
    let result = load();
    THREAD_BACKEND.with(|cell| cell.set(before));
    result
}

fn code(backend: Backend) -> u8 {
    match backend {
        Backend::Saar => SAAR,
        Backend::Candle => CANDLE,
    }
}

/// The backend models load with: set by [`with_backend`] on this thread, else by
/// [`set_backend`], else `SAAR_KERNELS=candle` in the environment picks candle's, else
/// saar's.
pub fn backend() -> Backend {
    let chosen = match THREAD_BACKEND.with(Cell::get) {
        UNSET => BACKEND.load(Ordering::Relaxed),
        code => code,
    };
    match chosen {
        SAAR => Backend::Saar,
        CANDLE => Backend::Candle,
        _ => match std::env::var("SAAR_KERNELS").as_deref() {
            Ok("candle") => Backend::Candle,
            _ => Backend::Saar,
        },
    }
}

/// Chooses the backend for models loaded from now on (models already loaded keep theirs).
pub fn set_backend(backend: Backend) {
    BACKEND.store(code(backend), Ordering::Relaxed);
}

/// Runs `work` on one of rayon's pool threads while the calling thread waits, so that
/// the parallel products inside fork from a pool worker.
///
/// Started from a thread outside the pool (the CLI's main thread), every parallel
/// product is injected into the pool's queue and the caller sleeps until it is done: a
/// context switch out and back per product, about 170 per Qwen2.5-0.5B token. perf put
/// 18% of one-thread decode time in the scheduler from that. From a worker, a product's
/// first half runs on the same thread and only the other threads' share is handed off.
pub fn on_pool<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        work()
    } else {
        rayon::scope(|_| work())
    }
}

/// Deterministic values in [-1, 1) (xorshift) for the kernels' tests, so failures reproduce.
#[cfg(test)]
pub(crate) fn test_values(count: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// One query's attention over `(key, value)` pairs by the textbook formula in f64:
/// what the attention kernels' tests hold them to.
#[cfg(test)]
pub(crate) fn textbook_attention<'a>(
    query: &[f32],
    keys_values: impl Iterator<Item = (&'a [f32], &'a [f32])> + Clone,
    scale: f32,
) -> Vec<f32> {
    let dot = |key: &[f32]| -> f64 {
        query
            .iter()
            .zip(key)
            .map(|(a, b)| *a as f64 * *b as f64)
            .sum()
    };
    let scores: Vec<f64> = keys_values
        .clone()
        .map(|(key, _)| scale as f64 * dot(key))
        .collect();
    let top = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = scores.iter().map(|s| (s - top).exp()).collect();
    let total: f64 = weights.iter().sum();
    let mut out = vec![0f64; query.len()];
    for ((_, value), weight) in keys_values.zip(&weights) {
        for (o, x) in out.iter_mut().zip(value) {
            *o += weight / total * *x as f64;
        }
    }
    out.into_iter().map(|x| x as f32).collect()
}

/// The largest difference of any `dim`-long row of `out` from `expected`, relative to
/// that row's largest value in `expected`.
#[cfg(test)]
pub(crate) fn row_relative_error(out: &[f32], expected: &[f32], dim: usize) -> f32 {
    out.chunks(dim)
        .zip(expected.chunks(dim))
        .map(|(a, b)| {
            let worst = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max);
            let size = b.iter().map(|y| y.abs()).fold(0f32, f32::max);
            worst / size
        })
        .fold(0f32, f32::max)
}

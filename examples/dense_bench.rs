//! Speed of saar's dense kernels against candle's matmul on one projection:
//! `cargo run --release --example dense_bench [n] [k] [rows,...] [copies]`, e.g. the
//! Marian output head `dense_bench 61127 512 1,8`. Prints one JSON object per dtype and
//! row count with the best of several runs (the machine may be shared) in GB/s of weights.
//!
//! `copies` (default 1) cycles each run through that many copies of the weights: with
//! more bytes than the last-level cache (e.g. `dense_bench 512 512 1 96`), every product
//! reads its weights from memory, as a decode step does, instead of from cache.

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use saar::engine::kernels::dense;

#[repr(C)]
struct Timespec {
    secs: i64,
    nanos: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, time: *mut Timespec) -> i32;
}

/// Nanoseconds this thread has run on a CPU (Linux, x86-64/aarch64 `timespec`), so that
/// time spent waiting for a core on a loaded machine does not count.
fn cpu_nanos() -> Option<u64> {
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut time = Timespec { secs: 0, nanos: 0 };
    // SAFETY: `time` is a valid timespec for the call to fill.
    let ok = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut time) } == 0;
    ok.then(|| time.secs as u64 * 1_000_000_000 + time.nanos as u64)
}

/// The best of `repeats` runs: on-CPU time with one thread (`RAYON_NUM_THREADS=1`),
/// else wall time.
fn best_secs(repeats: usize, mut f: impl FnMut()) -> f64 {
    let single = std::env::var("RAYON_NUM_THREADS").as_deref() == Ok("1");
    (0..repeats)
        .map(|_| {
            let (started, cpu) = (Instant::now(), cpu_nanos());
            f();
            match (single, cpu, cpu_nanos()) {
                (true, Some(a), Some(b)) => (b - a) as f64 * 1e-9,
                _ => started.elapsed().as_secs_f64(),
            }
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(61127);
    let k: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(512);
    let rows: Vec<usize> = args
        .next()
        .map(|a| a.split(',').filter_map(|r| r.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 8]);
    let copies: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1).max(1);
    let device = Device::Cpu;
    let weights32 = (0..copies)
        .map(|_| Tensor::randn(0f32, 0.05, (n, k), &device))
        .collect::<Result<Vec<_>, _>>()?;
    for dtype in [DType::F32, DType::BF16, DType::F16] {
        let weights = weights32
            .iter()
            .map(|w| w.to_dtype(dtype))
            .collect::<Result<Vec<_>, _>>()?;
        let next = std::cell::Cell::new(0usize);
        let weight = || {
            next.set(next.get() + 1);
            &weights[next.get() % copies]
        };
        let bytes = (n * k * dtype.size_in_bytes()) as f64;
        for &m in &rows {
            let x = Tensor::randn(0f32, 1.0, (m, k), &device)?;
            let saar = best_secs(20.max(2 * copies), || {
                dense::linear(&x, weight(), None).map(|_| ()).unwrap_or(());
            });
            let candle = best_secs(20.max(2 * copies), || {
                let x = x.to_dtype(dtype).unwrap();
                x.matmul(&weight().t().unwrap()).map(|_| ()).unwrap_or(());
            });
            println!(
                "{{\"dtype\":\"{dtype:?}\",\"n\":{n},\"k\":{k},\"rows\":{m},\"copies\":{copies},\"saar_ms\":{:.3},\"candle_ms\":{:.3},\"saar_gbps\":{:.1},\"candle_gbps\":{:.1}}}",
                saar * 1e3,
                candle * 1e3,
                bytes / saar / 1e9,
                bytes / candle / 1e9
            );
        }
    }
    Ok(())
}

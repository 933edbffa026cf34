//! The dense kernels against a plain f64 matmul, and the SIMD kernels against the
//! scalar ones, over shapes that hit every tail (rows not a multiple of the panel,
//! odd `k`, activation rows not a multiple of the tile).

use candle_core::{DType, Device, Tensor};
use half::{bf16, f16};

use super::*;

fn values(count: usize, seed: u64) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..count)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// `x @ w^T (+ bias)` in f64, with the scale each output's error is measured against.
fn reference(x: &[f32], m: usize, w: &[f32], n: usize, bias: Option<&[f32]>) -> Vec<(f64, f64)> {
    let k = w.len() / n;
    let mut out = Vec::with_capacity(m * n);
    for i in 0..m {
        for r in 0..n {
            let pairs = x[i * k..(i + 1) * k].iter().zip(&w[r * k..(r + 1) * k]);
            let (mut sum, mut scale) = (0f64, 0f64);
            for (&a, &b) in pairs {
                sum += f64::from(a) * f64::from(b);
                scale += (f64::from(a) * f64::from(b)).abs();
            }
            let b = bias.map_or(0.0, |b| f64::from(b[r]));
            out.push((sum + b, scale + b.abs() + 1e-6));
        }
    }
    out
}

#[derive(Clone, Copy, Debug)]
enum Stored {
    F32,
    F16,
    Bf16,
}

/// Runs the kernel with weights stored as `stored`; returns the output and the
/// weights as the kernel saw them (after rounding to 16 bits).
fn run(
    isa: Isa,
    threads: usize,
    stored: Stored,
    x: &[f32],
    m: usize,
    w: &[f32],
    n: usize,
    bias: Option<&[f32]>,
) -> (Vec<f32>, Vec<f32>) {
    let mut y = vec![f32::NAN; m * n];
    let held = Held::new(w);
    let (matrix, seen) = held.matrix(stored, w, n);
    matmul_t_with(isa, threads, x, m, matrix, bias, &mut y).unwrap();
    (y, seen)
}

/// Weights rounded to both 16-bit types.
struct Held {
    halves: Vec<f16>,
    brains: Vec<bf16>,
}

impl Held {
    fn new(w: &[f32]) -> Self {
        Self {
            halves: w.iter().map(|&v| f16::from_f32(v)).collect(),
            brains: w.iter().map(|&v| bf16::from_f32(v)).collect(),
        }
    }

    /// `w` (`n` rows) stored as `stored`, and the values the kernel will see.
    fn matrix<'a>(
        &'a self,
        stored: Stored,
        w: &'a [f32],
        n: usize,
    ) -> (WeightMatrix<'a>, Vec<f32>) {
        let (data, seen): (WeightData, Vec<f32>) = match stored {
            Stored::F32 => (WeightData::F32(w), w.to_vec()),
            Stored::F16 => (
                WeightData::F16(&self.halves),
                self.halves.iter().map(|v| v.to_f32()).collect(),
            ),
            Stored::Bf16 => (
                WeightData::Bf16(&self.brains),
                self.brains.iter().map(|v| v.to_f32()).collect(),
            ),
        };
        let matrix = WeightMatrix {
            data,
            rows: n,
            cols: w.len() / n,
        };
        (matrix, seen)
    }
}

/// The instruction sets the kernels have, by name.
const ISAS: [(Isa, &str); 3] = [
    (Isa::Scalar, "scalar"),
    (Isa::Avx2 { f16c: true }, "AVX2+FMA+F16C"),
    (Isa::Avx512 { f16c: true }, "AVX-512F"),
];

/// The instruction sets this CPU really runs. One it lacks would quietly run a lesser
/// one (`available`), and a test comparing the two would compare a path with itself:
/// it is left out, and said to be skipped by name.
fn runnable() -> Vec<Isa> {
    ISAS.iter()
        .filter_map(|&(isa, name)| {
            let runs = super::skinny::available(isa) == isa;
            if !runs {
                eprintln!("skipped: {name} not available");
            }
            runs.then_some(isa)
        })
        .collect()
}

fn assert_close(got: &[f32], want: &[(f64, f64)], tolerance: f64, what: &str) {
    assert_eq!(got.len(), want.len());
    for (j, (&g, &(w, scale))) in got.iter().zip(want).enumerate() {
        let error = (f64::from(g) - w).abs() / scale;
        assert!(
            error <= tolerance,
            "{what}: output {j} is {g}, expected {w} (relative error {error:e})"
        );
    }
}

#[test]
fn every_kernel_matches_a_plain_matmul_on_awkward_shapes() {
    for isa in runnable() {
        for stored in [Stored::F32, Stored::F16, Stored::Bf16] {
            for k in [64, 512, 896, 2048, 77] {
                for (m, n) in [(1, 13), (2, 29), (3, 37), (17, 21)] {
                    let x = values(m * k, (m * 31 + k) as u64);
                    let w = values(n * k, (n * 17 + k) as u64);
                    let bias = values(n, 5);
                    let bias = (m == 3).then_some(bias.as_slice());
                    let (y, seen) = run(isa, 2, stored, &x, m, &w, n, bias);
                    let what = format!("{isa:?} {stored:?} m={m} n={n} k={k}");
                    // Exact to f32 rounding against the weights the kernel saw...
                    assert_close(&y, &reference(&x, m, &seen, n, bias), 1e-4, &what);
                    // ...and within 16-bit rounding of the original f32 weights.
                    let rounding = match stored {
                        Stored::F32 => 1e-4,
                        Stored::F16 => 1e-3,
                        Stored::Bf16 => 8e-3,
                    };
                    assert_close(&y, &reference(&x, m, &w, n, bias), rounding, &what);
                }
            }
        }
    }
}

#[test]
fn simd_and_scalar_kernels_agree_across_threads() {
    let (m, n, k) = (5, 301, 512);
    let x = values(m * k, 1);
    let w = values(n * k, 2);
    let simd: Vec<Isa> = runnable()
        .into_iter()
        .filter(|&isa| isa != Isa::Scalar)
        .collect();
    for stored in [Stored::F32, Stored::F16, Stored::Bf16] {
        let (scalar, seen) = run(Isa::Scalar, 1, stored, &x, m, &w, n, None);
        let want = reference(&x, m, &seen, n, None);
        assert_close(&scalar, &want, 1e-5, "scalar");
        for &isa in &simd {
            let (simd, _) = run(isa, 2, stored, &x, m, &w, n, None);
            assert_close(&simd, &want, 1e-5, &format!("{isa:?}"));
            for (a, b) in scalar.iter().zip(&simd) {
                assert!(
                    (a - b).abs() <= 1e-4 * (1.0 + a.abs()),
                    "{isa:?}: {a} vs {b}"
                );
            }
        }
    }
}

#[test]
fn wrong_shapes_are_errors_not_panics() {
    let w = [0f32; 12];
    let matrix = WeightMatrix {
        data: WeightData::F32(&w),
        rows: 3,
        cols: 4,
    };
    let mut y = [0f32; 3];
    assert!(matmul_t(&[0.0; 5], 1, matrix, None, &mut y).is_err());
    assert!(matmul_t(&[0.0; 4], 1, matrix, Some(&[0.0; 2]), &mut y).is_err());
    let short = WeightMatrix {
        data: WeightData::F32(&w[..11]),
        ..matrix
    };
    assert!(matmul_t(&[0.0; 4], 1, short, None, &mut y).is_err());
    assert!(matmul_t(&[1.0; 4], 1, matrix, None, &mut y).is_ok());
}

/// The tensor entry point on both sides of the skinny/gemm split, against candle.
#[test]
fn linear_matches_candle_for_few_and_many_rows() {
    let (n, k) = (37, 77);
    let weight = Tensor::from_vec(values(n * k, 3), (n, k), &Device::Cpu).unwrap();
    let bias = Tensor::from_vec(values(n, 4), n, &Device::Cpu).unwrap();
    for rows in [2, SKINNY_MAX_ROWS + 9] {
        let x = Tensor::from_vec(values(rows * k, 6), (1, rows, k), &Device::Cpu).unwrap();
        for dtype in [DType::F32, DType::F16, DType::BF16] {
            let stored = weight.to_dtype(dtype).unwrap();
            let got = linear(&x, &stored, Some(&bias)).unwrap();
            assert_eq!(got.dims(), &[1, rows, n]);
            let upcast = stored.to_dtype(DType::F32).unwrap();
            let want = x
                .broadcast_matmul(&upcast.t().unwrap())
                .unwrap()
                .broadcast_add(&bias)
                .unwrap();
            let diff = (got - want).unwrap().abs().unwrap().max_all().unwrap();
            let diff = diff.to_scalar::<f32>().unwrap();
            assert!(diff < 1e-4, "{dtype:?} rows={rows}: max difference {diff}");
        }
    }
}

#[test]
fn linear_refuses_mismatched_inputs() {
    let weight = Tensor::zeros((3, 4), DType::F32, &Device::Cpu).unwrap();
    let x = Tensor::zeros((2, 5), DType::F32, &Device::Cpu).unwrap();
    assert!(linear(&x, &weight, None).is_err());
    let x16 = Tensor::zeros((2, 4), DType::F16, &Device::Cpu).unwrap();
    assert!(linear(&x16, &weight, None).is_err());
    assert!(runs_on(&weight) && !runs_on(&weight.flatten_all().unwrap()));
}

/// The prefill GEMM against the f64 matmul at shapes that cut every tile: rows not a
/// multiple of 6, outputs not a multiple of 16 or of a task's 64, inputs across the
/// 256-input blocks, for every weight type. Skipped by name without AVX2+FMA+F16C.
#[test]
#[cfg(target_arch = "x86_64")]
fn the_prefill_gemm_matches_a_plain_matmul_on_awkward_shapes() {
    let avx2 = Isa::Avx2 { f16c: true };
    if super::skinny::available(avx2) != avx2 {
        eprintln!("skipped: the prefill GEMM needs AVX2+FMA+F16C");
        return;
    }
    for (m, n, k) in [
        (1, 1, 1),
        (7, 17, 9),
        (33, 70, 257),
        (129, 15, 600),
        (40, 130, 512),
    ] {
        let x = values(m * k, 10 + m as u64);
        let w = values(n * k, 20 + n as u64);
        let held = Held::new(&w);
        for stored in [Stored::F32, Stored::F16, Stored::Bf16] {
            let (matrix, seen) = held.matrix(stored, &w, n);
            let mut y = vec![f32::NAN; m * n];
            // SAFETY: checked above that the CPU has AVX2, FMA and F16C.
            unsafe { super::gemm::product(&x, m, matrix, true, &mut y) };
            let want = reference(&x, m, &seen, n, None);
            assert_close(
                &y,
                &want,
                1e-5,
                &format!("gemm {stored:?} m={m} n={n} k={k}"),
            );
        }
    }
}

//! Parity of the quantized kernels: block decoding against candle's dequantization,
//! the AVX2 and scalar dot products against an f64 product of the same quantized
//! values, and the whole product against candle's own `QMatMul` within the error
//! that quantizing the activations allows.

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};

use super::activations::{dequantize_q8, dequantize_q8k, quantize_rows, ActBlock, Q8Block, Q8K};
use super::blocks_iq4::{block_bytes, quantize_iq4_nl, quantize_iq4_xs};
use super::candle_op::{embedding_rows, linear_forward};
use super::matmul::{Isa, OCTETS_MIN_ROWS};
use super::{QuantKind, QuantMatrix, Simd};
use crate::engine::kernels::test_values as values;

fn weights(n: usize, k: usize, seed: u64) -> Vec<f32> {
    // Rows with different magnitudes, as real layers have.
    let mut w = values(n * k, seed);
    for (i, v) in w.iter_mut().enumerate() {
        *v *= 0.5 + (i / k % 5) as f32 * 0.3;
    }
    w
}

fn quantized(dtype: GgmlDType, n: usize, k: usize, seed: u64) -> QTensor {
    let w = Tensor::from_vec(weights(n, k, seed), (n, k), &Device::Cpu).unwrap();
    QTensor::quantize(&w, dtype).unwrap()
}

/// [`weights`] as ggml blocks of `kind`, row by row: candle's quantizer where candle has
/// the type, saar's otherwise.
fn ggml_bytes(kind: QuantKind, n: usize, k: usize, seed: u64) -> Vec<u8> {
    if let Some(dtype) = kind.candle() {
        return quantized(dtype, n, k, seed).data().unwrap().into_owned();
    }
    let w = weights(n, k, seed);
    match kind {
        QuantKind::IQ4NL => block_bytes(&quantize_iq4_nl(&w)),
        QuantKind::IQ4XS => block_bytes(&quantize_iq4_xs(&w)),
        other => panic!("{other:?} has no quantizer here"),
    }
}

/// A matrix of `kind` with the same weights as [`quantized`], from saar's quantizer
/// (the types candle does not have).
fn own_quantized(kind: QuantKind, n: usize, k: usize, seed: u64) -> QuantMatrix {
    assert!(kind.candle().is_none(), "{kind:?} is quantized by candle");
    QuantMatrix::from_raw(kind, n, k, ggml_bytes(kind, n, k, seed)).unwrap()
}

/// A matrix of any kind: candle's quantizer where candle has the type, saar's otherwise.
pub(super) fn matrix_of(kind: QuantKind, n: usize, k: usize, seed: u64) -> QuantMatrix {
    match kind.candle() {
        Some(dtype) => QuantMatrix::from_qtensor(&quantized(dtype, n, k, seed))
            .unwrap()
            .unwrap(),
        None => own_quantized(kind, n, k, seed),
    }
}

const SMALL_TYPES: [GgmlDType; 5] = [
    GgmlDType::Q4_0,
    GgmlDType::Q4_1,
    GgmlDType::Q5_0,
    GgmlDType::Q5_1,
    GgmlDType::Q8_0,
];
const K_TYPES: [GgmlDType; 5] = [
    GgmlDType::Q2K,
    GgmlDType::Q3K,
    GgmlDType::Q4K,
    GgmlDType::Q5K,
    GgmlDType::Q6K,
];

/// The dot-product paths, each by the instruction set it must run and its name.
const PATHS: [(Simd, Isa, &str); 3] = [
    (Simd::Scalar, Isa::Scalar, "scalar"),
    (Simd::Avx2, Isa::Avx2, "AVX2+FMA+F16C"),
    (Simd::Auto, Isa::Avx512, "AVX-512 BW+VNNI"),
];

/// The paths of `wanted` this CPU really runs. One it lacks would quietly run another
/// path, and a test comparing the two would compare a path with itself: it is left
/// out, and said to be skipped by name.
pub(super) fn paths(wanted: &[Isa]) -> Vec<Simd> {
    PATHS
        .iter()
        .filter(|(_, isa, _)| wanted.contains(isa))
        .filter_map(|&(simd, isa, name)| {
            let runs = simd.isa() == isa;
            if !runs {
                eprintln!("skipped: {name} not available");
            }
            runs.then_some(simd)
        })
        .collect()
}

/// The activations exactly as the kernels see them, back in f32.
fn quantized_activations(kind: QuantKind, x: &[f32], k: usize) -> Vec<f32> {
    if kind.block_size() == 256 {
        let mut acts = Vec::<Q8K>::new();
        quantize_rows(x, k, &mut acts);
        acts.iter().flat_map(dequantize_q8k).collect()
    } else {
        let mut acts = Vec::<Q8Block>::new();
        quantize_rows(x, k, &mut acts);
        acts.iter().flat_map(dequantize_q8).collect()
    }
}

/// `x @ w^T` in f64, and `Σ |x||w|` per output (the scale for a relative tolerance).
fn reference(w: &[f32], x: &[f32], m: usize, n: usize, k: usize) -> (Vec<f64>, Vec<f64>) {
    let mut y = vec![0f64; m * n];
    let mut magnitude = vec![0f64; m * n];
    for r in 0..m {
        for j in 0..n {
            for i in 0..k {
                let p = x[r * k + i] as f64 * w[j * k + i] as f64;
                y[r * n + j] += p;
                magnitude[r * n + j] += p.abs();
            }
        }
    }
    (y, magnitude)
}

/// Every instruction set's product against an f64 product of the dequantized weights
/// `w` and the activations as the kernels quantize them.
fn check_against_reference(matrix: &QuantMatrix, w: &[f32], x: &[f32], m: usize) {
    let (n, k, kind) = (matrix.rows(), matrix.cols(), matrix.kind());
    let xq = quantized_activations(kind, x, k);
    let (exact, magnitude) = reference(w, &xq, m, n, k);
    for simd in paths(&[Isa::Scalar, Isa::Avx2, Isa::Avx512]) {
        let mut y = vec![f32::NAN; m * n];
        matrix.matmul_with(x, m, &mut y, simd).unwrap();
        for i in 0..m * n {
            let tolerance = 1e-5 * magnitude[i] + 1e-6;
            assert!(
                (y[i] as f64 - exact[i]).abs() <= tolerance,
                "{kind:?} {simd:?} m={m} n={n} k={k} at {i}: {} vs {}",
                y[i],
                exact[i]
            );
        }
    }
}

fn check_product(dtype: GgmlDType, m: usize, n: usize, k: usize) {
    let q = quantized(dtype, n, k, (k + n) as u64);
    let matrix = QuantMatrix::from_qtensor(&q).unwrap().unwrap();
    let w = q.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap();
    let w = w.to_vec1::<f32>().unwrap();

    // Decoding: every row matches candle's dequantization exactly.
    let mut row = vec![0f32; k];
    for j in [0, n / 2, n - 1] {
        matrix.dequantize_row(j, &mut row).unwrap();
        assert_eq!(row, w[j * k..(j + 1) * k], "{dtype:?} row {j}");
    }
    let x = values(m * k, 7 + m as u64);
    check_against_reference(&matrix, &w, &x, m);

    // Against candle's own product: both quantize the activations, so they agree within
    // a few times that rounding error (√k · |w| · amax/254), not exactly.
    let xt = Tensor::from_vec(x.clone(), (m, k), &Device::Cpu).unwrap();
    let candle = QMatMul::from_qtensor(q).unwrap().forward(&xt).unwrap();
    let candle = candle.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let ours = linear_forward(&matrix, &xt).unwrap();
    assert_eq!(ours.dims(), &[m, n]);
    let ours = ours.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_near(&format!("{dtype:?} m={m} k={k}"), &ours, &candle, &w, &x, k);
}

/// saar's product `ours` against candle's `theirs` of the same weights `w` (n × k)
/// and activations `x` (m × k): both quantize the activations, or only saar does, so
/// they agree within a few times that rounding error (√k · |w| · amax/254), not exactly.
fn assert_near(label: &str, ours: &[f32], theirs: &[f32], w: &[f32], x: &[f32], k: usize) {
    let (n, m) = (w.len() / k, x.len() / k);
    for r in 0..m {
        let amax = x[r * k..(r + 1) * k]
            .iter()
            .fold(0f32, |a, v| a.max(v.abs()));
        for j in 0..n {
            let norm = w[j * k..(j + 1) * k]
                .iter()
                .map(|v| v * v)
                .sum::<f32>()
                .sqrt();
            let tolerance = 6.0 * norm * amax / 254.0;
            let (a, b) = (ours[r * n + j], theirs[r * n + j]);
            assert!(
                (a - b).abs() <= tolerance,
                "{label} ({r},{j}): saar {a} vs candle {b} (tolerance {tolerance})"
            );
        }
    }
}

#[test]
fn small_block_types_match_the_reference() {
    for dtype in SMALL_TYPES {
        for k in [256, 896] {
            // Tiles of 8, 4, 2 and 1 activation rows: 17 = 8 + 8 + 1, 15 = 8 + 4 + 2 + 1;
            // from 32 rows AVX2 interleaves eight weight rows (37 = 4 groups and 5 rows
            // alone) in tiles of 3, 2 and 1 activation rows: 35 = 11 · 3 + 2, 34 = 11 · 3 + 1.
            for m in [1, 3, 15, 17, 34, 35] {
                check_product(dtype, m, 37, k);
            }
        }
    }
}

#[test]
fn k_quants_match_the_reference() {
    for dtype in K_TYPES {
        for k in [256, 2048] {
            // From 32 rows AVX2 interleaves Q4_K, Q5_K and Q6_K eight weight rows at a
            // time in tiles of 4, 2 and 1 activation rows: 33 = 8 · 4 + 1, 34 = 8 · 4 + 2.
            for m in [1, 3, 15, 17, 33, 34] {
                check_product(dtype, m, 37, k);
            }
        }
    }
}

#[test]
fn k_quant_prefill_gives_the_scalar_references_bits() {
    // The interleaved K-quant kernel and the row kernels end each super-block with the
    // scalar reference's float steps on exact integer totals: equal bits, at every
    // tile (129 = 32 · 4 + 1, 34 = 8 · 4 + 2), three super-blocks (the 16-bit runs
    // restart per sub-block), 37 rows (four groups and five rows left to the row kernel).
    let [scalar_path, avx2_path] = paths(&[Isa::Scalar, Isa::Avx2])[..] else {
        return;
    };
    let (n, k) = (37, 768);
    for kind in [QuantKind::Q4K, QuantKind::Q5K, QuantKind::Q6K] {
        let matrix = matrix_of(kind, n, k, 29);
        for m in [OCTETS_MIN_ROWS, 34, 129] {
            let x = values(m * k, 3 + m as u64);
            let (mut fast, mut scalar) = (vec![f32::NAN; m * n], vec![f32::NAN; m * n]);
            matrix.matmul_with(&x, m, &mut fast, avx2_path).unwrap();
            matrix.matmul_with(&x, m, &mut scalar, scalar_path).unwrap();
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast), bits(&scalar), "{kind:?} m={m}");
        }
    }
}

/// IQ4_NL and IQ4_XS, which candle has not: decoding is checked by hand-built blocks
/// (`blocks_iq4`), the products against the f64 reference and against candle's f32
/// product of the dequantized weights.
fn check_own_product(kind: QuantKind, m: usize, n: usize, k: usize) {
    let matrix = own_quantized(kind, n, k, (k + n) as u64);
    let mut w = vec![0f32; n * k];
    for (j, row) in w.chunks_exact_mut(k).enumerate() {
        matrix.dequantize_row(j, row).unwrap();
    }
    let x = values(m * k, 7 + m as u64);
    check_against_reference(&matrix, &w, &x, m);
    let xt = Tensor::from_vec(x.clone(), (m, k), &Device::Cpu).unwrap();
    let wt = Tensor::from_vec(w.clone(), (n, k), &Device::Cpu).unwrap();
    let candle = xt.matmul(&wt.t().unwrap()).unwrap();
    let candle = candle.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let ours = linear_forward(&matrix, &xt).unwrap();
    let ours = ours.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_near(&format!("{kind:?} m={m} k={k}"), &ours, &candle, &w, &x, k);
}

#[test]
fn iq4_types_match_the_reference() {
    for kind in [QuantKind::IQ4NL, QuantKind::IQ4XS] {
        for k in [256, 2048] {
            // 33 to 35 rows take IQ4_NL's interleaved prefill (tiles of 3, 2, 1).
            for m in [1, 3, 17, 33, 34, 35] {
                check_own_product(kind, m, 37, k);
            }
        }
        check_own_product(kind, 5, 11, 4864);
    }
    // Rows of 896 (28 blocks) exist only for the 32-element type.
    check_own_product(QuantKind::IQ4NL, 33, 9, 896);
}

#[test]
fn wide_inputs_match_the_reference() {
    // ffn_down's inner dimension: 19 super-blocks, 152 small blocks.
    for dtype in [
        GgmlDType::Q4K,
        GgmlDType::Q6K,
        GgmlDType::Q5_0,
        GgmlDType::Q8_0,
    ] {
        check_product(dtype, 5, 11, 4864);
    }
    // The same inner dimension through AVX2's interleaved prefill (one group of eight
    // weight rows and three rows alone).
    for dtype in [GgmlDType::Q5_0, GgmlDType::Q8_0] {
        check_product(dtype, 33, 11, 4864);
    }
    // Qwen3-1.7B's hidden size, for the types the tests above run only on narrower rows.
    for dtype in [
        GgmlDType::Q4_0,
        GgmlDType::Q4_1,
        GgmlDType::Q5_1,
        GgmlDType::Q5K,
    ] {
        check_product(dtype, 6, 9, 2048);
    }
}

#[test]
fn avx2_and_scalar_products_agree() {
    let [scalar_path, avx2_path] = paths(&[Isa::Scalar, Isa::Avx2])[..] else {
        return;
    };
    for &kind in QuantKind::ALL {
        let matrix = matrix_of(kind, 13, 512, 11);
        let x = values(7 * 512, 2);
        let (mut fast, mut scalar) = (vec![0f32; 7 * 13], vec![0f32; 7 * 13]);
        matrix.matmul_with(&x, 7, &mut fast, avx2_path).unwrap();
        matrix.matmul_with(&x, 7, &mut scalar, scalar_path).unwrap();
        // The K-quants' AVX2 kernels take the scalar reference's float steps after
        // exact integer sums (`avx2_kquants::Finish`): the same bits.
        let same_bits = matches!(kind, QuantKind::Q4K | QuantKind::Q5K | QuantKind::Q6K);
        for (a, b) in fast.iter().zip(&scalar) {
            if same_bits {
                assert_eq!(a.to_bits(), b.to_bits(), "{kind:?}: {a} vs {b}");
            }
            assert!(
                (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                "{kind:?}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn activation_quantizers_round_trip() {
    let x = values(512, 3);
    let mut small = Vec::<Q8Block>::new();
    quantize_rows(&x, 512, &mut small);
    assert_eq!(small.len(), 16);
    for (block, chunk) in small.iter().zip(x.chunks(32)) {
        let amax = chunk.iter().fold(0f32, |a, v| a.max(v.abs()));
        // Half a step, plus the f16 rounding of the scale (2^-11 relative, times 127 steps).
        for (got, want) in dequantize_q8(block).iter().zip(chunk) {
            assert!((got - want).abs() <= amax * (1.0 / 254.0 + 1.0 / 2048.0) * 1.001);
        }
        assert_eq!(block.d, half::f16::from_f32(block.d).to_f32());
        let sum = block.qs.iter().map(|&q| q as i32).sum::<i32>();
        assert_eq!(block.dsum, block.d * sum as f32);
    }
    let mut wide = Vec::<Q8K>::new();
    quantize_rows(&x, 512, &mut wide);
    assert_eq!(wide.len(), 2);
    for (block, chunk) in wide.iter().zip(x.chunks(256)) {
        let amax = chunk.iter().fold(0f32, |a, v| a.max(v.abs()));
        assert!(block.qs.iter().any(|&q| q.abs() == 127));
        for (got, want) in dequantize_q8k(block).iter().zip(chunk) {
            assert!((got - want).abs() <= amax / 254.0 * 1.001);
        }
        for g in 0..16 {
            let sum: i32 = block.qs[16 * g..16 * g + 16]
                .iter()
                .map(|&q| q as i32)
                .sum();
            assert_eq!(block.bsums[g] as i32, sum);
        }
        for s in 0..8 {
            let sum: i32 = block.qs[32 * s..32 * s + 32]
                .iter()
                .map(|&q| q as i32)
                .sum();
            assert_eq!(block.dsums[s], block.d * sum as f32);
        }
    }
    // A zero block stays exactly zero (no division by a zero scale).
    let zero = Q8K::quantize(&[0.0; 256]);
    assert_eq!(zero.d, 0.0);
    assert!(zero.qs.iter().all(|&q| q == 0));
}

#[test]
fn embedding_rows_dequantize_only_the_asked_rows() {
    let q = quantized(GgmlDType::Q4K, 10, 256, 5);
    let table = QuantMatrix::from_qtensor(&q).unwrap().unwrap();
    let ids = Tensor::new(&[[3u32, 9], [0, 3]], &Device::Cpu).unwrap();
    let rows = embedding_rows(&table, &ids).unwrap();
    assert_eq!(rows.dims(), &[4, 256]);
    let full = q.dequantize(&Device::Cpu).unwrap();
    let want = full.index_select(&ids.flatten_all().unwrap(), 0).unwrap();
    let diff = (rows - want).unwrap().abs().unwrap().max_all().unwrap();
    assert_eq!(diff.to_scalar::<f32>().unwrap(), 0.0);
    let bad = Tensor::new(&[10u32], &Device::Cpu).unwrap();
    let err = embedding_rows(&table, &bad).unwrap_err().to_string();
    assert!(err.contains("token id 10"), "{err}");
}

#[test]
fn unsupported_types_and_bad_shapes_are_refused() {
    let w = Tensor::from_vec(values(64 * 32, 1), (64, 32), &Device::Cpu).unwrap();
    let f16 = QTensor::quantize(&w, GgmlDType::F16).unwrap();
    assert!(QuantMatrix::from_qtensor(&f16).unwrap().is_none());
    assert!(QuantMatrix::from_raw(QuantKind::Q8_0, 2, 48, vec![0; 2 * 34]).is_err());
    assert!(QuantMatrix::from_raw(QuantKind::Q8_0, 2, 32, vec![0; 3 * 34]).is_err());
    let matrix = QuantMatrix::from_raw(QuantKind::Q8_0, 2, 32, vec![0; 2 * 34]).unwrap();
    let mut y = vec![0f32; 2];
    assert!(matrix.matmul(&[0.0; 31], 1, &mut y).is_err());
}

#[test]
fn avx512_and_avx2_products_agree() {
    // The AVX-512 kernels sum the same integers as the AVX2 ones. Types with neither an
    // AVX-512 kernel nor AVX2's grouped one (Q2_K, Q3_K, IQ4_XS) run the same AVX2 row
    // kernel under either choice (the same bits). The others agree to float rounding
    // only: the K-quants keep their float steps 512 bits wide, and on AVX2 the
    // 32-element types scale whole blocks (eight weight rows' outputs in lanes), where
    // on AVX-512 they scale each block's partial sums.
    let [avx2_path, avx512_path] = paths(&[Isa::Avx2, Isa::Avx512])[..] else {
        return;
    };
    for &kind in QuantKind::ALL {
        let (n, k) = (21, 768);
        let matrix = matrix_of(kind, n, k, 23);
        for m in [1, 2, 5, 8, 13, OCTETS_MIN_ROWS] {
            let same_bits = matches!(kind, QuantKind::Q2K | QuantKind::Q3K | QuantKind::IQ4XS);
            let x = values(m * k, 31 + m as u64);
            let (mut auto, mut avx2) = (vec![0f32; m * n], vec![0f32; m * n]);
            matrix.matmul_with(&x, m, &mut auto, avx512_path).unwrap();
            matrix.matmul_with(&x, m, &mut avx2, avx2_path).unwrap();
            if same_bits {
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&auto), bits(&avx2), "{kind:?} m={m}");
            } else {
                let scale = avx2.iter().fold(0f32, |a, v| a.max(v.abs()));
                for (i, (a, b)) in auto.iter().zip(&avx2).enumerate() {
                    assert!(
                        (a - b).abs() <= scale * 1e-5,
                        "{kind:?} m={m} [{i}]: {a} vs {b}"
                    );
                }
            }
        }
    }
}

#[test]
fn interleaved_matrices_keep_every_row_and_give_the_row_layouts_bits() {
    if Simd::Auto.isa() != Isa::Avx2 {
        eprintln!(
            "skipped: avx2_resident and avx2_k_resident (matrices held interleaved) run on AVX2 without AVX-512"
        );
        return;
    }
    // Four groups of eight interleaved and five rows left in ggml's layout.
    let (n, k) = (37, 512);
    let x = values(129 * k, 7);
    for kind in [
        QuantKind::Q4_0,
        QuantKind::Q4_1,
        QuantKind::Q5_0,
        QuantKind::Q5_1,
        QuantKind::Q8_0,
        QuantKind::IQ4NL,
        QuantKind::Q4K,
        QuantKind::Q5K,
        QuantKind::Q6K,
    ] {
        let ggml = ggml_bytes(kind, n, k, 23);
        let matrix = QuantMatrix::from_raw(kind, n, k, ggml.clone()).unwrap();
        assert!(matrix.interleaved, "{kind:?} kept ggml's layout");
        assert_ne!(matrix.data, ggml, "{kind:?}: interleaving moved no byte");
        assert_eq!(matrix.data.len(), ggml.len());
        let row_bytes = ggml.len() / n;
        for j in 0..n {
            let row = &ggml[j * row_bytes..(j + 1) * row_bytes];
            assert!(*matrix.row_bytes(j) == *row, "{kind:?} row {j} changed");
        }
        let plain = QuantMatrix {
            kind,
            rows: n,
            cols: k,
            data: ggml,
            interleaved: false,
        };
        for m in [1, 3, 4, 17, 129] {
            let (mut a, mut b) = (vec![f32::NAN; m * n], vec![f32::NAN; m * n]);
            matrix
                .matmul_with(&x[..m * k], m, &mut a, Simd::Avx2)
                .unwrap();
            plain
                .matmul_with(&x[..m * k], m, &mut b, Simd::Avx2)
                .unwrap();
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "{kind:?} at {m} rows");
        }
    }
}

//! Row invariance of the quantized products: a row of `x @ W^T` must not depend on how
//! many activation rows share the product, since that count (and with it the kernel
//! and tile it picks) is the number of sequences a batched step happens to hold. Decoded
//! alone or beside seven others, a sequence must get the same logits bit for bit, or
//! greedy outputs drift apart with `--parallel`.

use super::matmul::Isa;
use super::tests::{matrix_of, paths};
use super::{QuantKind, QuantMatrix};
use crate::engine::kernels::test_values as values;

/// Row counts that take every tile and kernel: the row tiles of 8/4/2/1 activation
/// rows and, from 32 rows, AVX2's interleaved prefill of the 32-element types in tiles
/// of 3/2/1 and of the K-quants in tiles of 4/2/1.
const COUNTS: [usize; 9] = [2, 3, 8, 17, 31, 32, 33, 64, 129];

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn a_row_does_not_depend_on_how_many_rows_share_the_product() {
    // 37 weight rows: four groups of eight and five rows alone (the interleaved
    // kernels take eights); 512 inputs: two super-blocks, sixteen small blocks.
    let (n, k) = (37, 512);
    let m_max = *COUNTS.iter().max().unwrap();
    let x = values(m_max * k, 41);
    let mut differing = Vec::new();
    for simd in paths(&[Isa::Scalar, Isa::Avx2, Isa::Avx512]) {
        for &kind in QuantKind::ALL {
            let matrix = matrix_of(kind, n, k, 19);
            let alone: Vec<Vec<f32>> = (0..m_max)
                .map(|t| {
                    let mut y = vec![f32::NAN; n];
                    matrix
                        .matmul_with(&x[t * k..(t + 1) * k], 1, &mut y, simd)
                        .unwrap();
                    y
                })
                .collect();
            for m in COUNTS {
                let mut y = vec![f32::NAN; m * n];
                matrix.matmul_with(&x[..m * k], m, &mut y, simd).unwrap();
                let rows = y.chunks_exact(n).enumerate();
                if let Some((t, _)) = rows.clone().find(|(t, row)| bits(row) != bits(&alone[*t])) {
                    differing.push(format!("{kind:?} {simd:?}: row {t} of {m}"));
                }
            }
        }
    }
    // Every difference at once, so a failure shows which types and counts it affects.
    assert!(
        differing.is_empty(),
        "rows differing from the row alone: {differing:#?}"
    );
}

#[test]
fn decode_rows_do_not_depend_on_how_they_are_paired() {
    // At m = 1, rows go through kernels that take several weight rows at once, and
    // which rows go together depends on the thread count. Each row must come out bit
    // for bit as a one-row matrix gives it.
    for &kind in QuantKind::ALL {
        let (n, k) = (37, 512);
        let matrix = matrix_of(kind, n, k, 17);
        let x = values(k, 4);
        let mut all = vec![f32::NAN; n];
        matrix.matmul(&x, 1, &mut all).unwrap();
        for j in 0..n {
            // In ggml's layout, wherever the matrix holds its rows interleaved.
            let bytes = matrix.row_bytes(j).into_owned();
            let one = QuantMatrix::from_raw(matrix.kind(), 1, k, bytes).unwrap();
            let mut y = [f32::NAN];
            one.matmul(&x, 1, &mut y).unwrap();
            assert_eq!(all[j].to_bits(), y[0].to_bits(), "{kind:?} row {j}");
        }
    }
}

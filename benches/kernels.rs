//! saar's quantized matmul (`kernels::quant`) against candle's `QMatMul` on the shapes
//! of the models the presets run (Qwen2.5-0.5B and Qwen3-1.7B), for decode (m = 1) and
//! a 512-token prefill chunk (m = 512), per GGUF block type. Names read
//! `shape/type/m/impl`, so `cargo bench --bench kernels -- q4k/m1` picks a subset.
//! The vocabulary projection only runs at m = 1: the decoder computes logits for the
//! last position only.

use std::hint::black_box;
use std::time::Duration;

use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};
use criterion::{criterion_group, Criterion};
use saar::engine::kernels::quant::{QuantKind, QuantMatrix};

/// Random weights, quantized once for 64 rows and repeated to `n` rows (quantizing a
/// 151936-row vocabulary in f32 would take gigabytes).
fn weights(dtype: GgmlDType, n: usize, k: usize) -> (QuantMatrix, QMatMul) {
    let rows = 64.min(n);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let values: Vec<f32> = (0..rows * k)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect();
    let small = Tensor::from_vec(values, (rows, k), &Device::Cpu).unwrap();
    let small = QTensor::quantize(&small, dtype).unwrap();
    let block = small.data().unwrap().into_owned();
    let row_bytes = block.len() / rows;
    let mut data = Vec::with_capacity(n * row_bytes);
    while data.len() < n * row_bytes {
        let take = (n * row_bytes - data.len()).min(block.len());
        data.extend_from_slice(&block[..take]);
    }
    let candle = qtensor_from_ggml(dtype, &data, vec![n, k], &Device::Cpu).unwrap();
    let kind = QuantKind::from_ggml(dtype).unwrap();
    let saar = QuantMatrix::from_raw(kind, n, k, data).unwrap();
    (saar, QMatMul::from_qtensor(candle).unwrap())
}

struct Shape {
    name: &'static str,
    k: usize,
    n: usize,
}

const SHAPES: [Shape; 8] = [
    Shape {
        name: "0.5b-attn-896x896",
        k: 896,
        n: 896,
    },
    Shape {
        name: "0.5b-up-896x4864",
        k: 896,
        n: 4864,
    },
    Shape {
        name: "0.5b-down-4864x896",
        k: 4864,
        n: 896,
    },
    Shape {
        name: "0.5b-vocab-896x151936",
        k: 896,
        n: 151_936,
    },
    Shape {
        name: "1.7b-attn-2048x2048",
        k: 2048,
        n: 2048,
    },
    Shape {
        name: "1.7b-up-2048x6144",
        k: 2048,
        n: 6144,
    },
    Shape {
        name: "1.7b-down-6144x2048",
        k: 6144,
        n: 2048,
    },
    Shape {
        name: "1.7b-vocab-2048x151936",
        k: 2048,
        n: 151_936,
    },
];

const TYPES: [(&str, GgmlDType); 4] = [
    ("q4k", GgmlDType::Q4K),
    ("q5_0", GgmlDType::Q5_0),
    ("q6k", GgmlDType::Q6K),
    ("q8_0", GgmlDType::Q8_0),
];

fn quantized_matmul(c: &mut Criterion) {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |id: &str| filter.is_empty() || filter.iter().any(|f| id.contains(f.as_str()));
    for shape in &SHAPES {
        for &(type_name, dtype) in &TYPES {
            if shape.k % dtype.block_size() != 0 {
                continue;
            }
            let prefix = format!("{}/{type_name}", shape.name);
            let runs: Vec<usize> = [1, 512]
                .into_iter()
                .filter(|&m| m == 1 || shape.n < 100_000)
                .filter(|m| {
                    wanted(&format!("{prefix}/m{m}/saar"))
                        || wanted(&format!("{prefix}/m{m}/candle"))
                })
                .collect();
            if runs.is_empty() {
                continue;
            }
            let (saar, candle) = weights(dtype, shape.n, shape.k);
            for m in runs {
                let x: Vec<f32> = (0..m * shape.k)
                    .map(|i| ((i % 97) as f32 - 48.0) / 50.0)
                    .collect();
                let xt = Tensor::from_vec(x.clone(), (m, shape.k), &Device::Cpu).unwrap();
                let mut y = vec![0f32; m * shape.n];
                let mut group = c.benchmark_group(format!("{prefix}/m{m}"));
                group.sample_size(10);
                group.warm_up_time(Duration::from_millis(300));
                group.measurement_time(Duration::from_secs(2));
                group.bench_function("saar", |b| {
                    b.iter(|| saar.matmul(black_box(&x), m, &mut y).unwrap())
                });
                group.bench_function("candle", |b| {
                    b.iter(|| candle.forward(black_box(&xt)).unwrap())
                });
                group.finish();
            }
        }
    }
}

/// `SAAR_KERNEL_PROBE=impl,type,k,n,m,reps` (e.g. `saar,q5_0,896,4864,512,3`) runs just
/// that product `reps` times and exits, without criterion: for `valgrind --tool=callgrind`,
/// whose instruction counts stay stable on a loaded machine.
fn probe(spec: &str) {
    let parts: Vec<&str> = spec.split(',').collect();
    let number = |i: usize| parts.get(i).and_then(|v| v.parse::<usize>().ok());
    let (Some(k), Some(n), Some(m), Some(reps)) = (number(2), number(3), number(4), number(5))
    else {
        panic!("SAAR_KERNEL_PROBE=impl,type,k,n,m,reps");
    };
    let dtype = TYPES
        .iter()
        .find(|(name, _)| Some(name) == parts.get(1))
        .map(|&(_, dtype)| dtype)
        .expect("type: q4k, q5_0, q6k or q8_0");
    let (saar, candle) = weights(dtype, n, k);
    let x: Vec<f32> = (0..m * k)
        .map(|i| ((i % 97) as f32 - 48.0) / 50.0)
        .collect();
    let xt = Tensor::from_vec(x.clone(), (m, k), &Device::Cpu).unwrap();
    let mut y = vec![0f32; m * n];
    for _ in 0..reps {
        match parts[0] {
            "candle" => drop(black_box(candle.forward(&xt).unwrap())),
            _ => saar.matmul(&x, m, &mut y).unwrap(),
        }
    }
    black_box(&y);
}

criterion_group!(benches, quantized_matmul);

fn main() {
    if let Ok(spec) = std::env::var("SAAR_KERNEL_PROBE") {
        return probe(&spec);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

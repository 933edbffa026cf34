//! Speed of the Marian engine on random opus-mt-base weights, without tests or a
//! model download: `cargo run --release --example marian_bench [tokens] [batches] [beams]`,
//! e.g. `cargo run --release --example marian_bench 64 1,8 1,4`.

use saar::engine::marian::bench::{bench_marian_with, MarianBenchOptions, MarianShape};

fn list(arg: Option<String>, default: &[usize]) -> Vec<usize> {
    arg.map(|a| a.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| default.to_vec())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let tokens = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let batches = list(args.next(), &[1, 8]);
    let beams = list(args.next(), &[1, 4]);
    let shape = MarianShape::opus_mt_base();
    println!(
        "opus-mt base shape {shape:?}; {tokens} source and {tokens} target tokens per sentence"
    );
    println!(
        "{:>5} {:>5} {:>10} {:>10} {:>10} {:>12}",
        "batch", "beams", "tokens", "encode s", "decode s", "tokens/s"
    );
    for &beam in &beams {
        for &batch in &batches {
            let options = MarianBenchOptions {
                beams: beam,
                ..Default::default()
            };
            let f = bench_marian_with(&shape, batch, tokens, &options)?;
            println!(
                "{:>5} {:>5} {:>10} {:>10.3} {:>10.3} {:>12.1}",
                f.batch,
                f.beams,
                f.generated_tokens,
                f.encode_secs,
                f.decode_secs,
                f.tokens_per_sec
            );
        }
    }
    Ok(())
}

//! Speed of the Marian engine on random opus-mt-base weights, without tests or a
//! model download: `cargo run --release --example marian_bench [tokens] [batches] [beams]`,
//! e.g. `cargo run --release --example marian_bench 64 1,8 1,4`. Prints one JSON object
//! per batch size and beam width.

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
    for &beam in &beams {
        for &batch in &batches {
            let options = MarianBenchOptions {
                beams: beam,
                ..Default::default()
            };
            let figures = bench_marian_with(&shape, batch, tokens, &options)?;
            println!("{}", serde_json::to_string(&figures)?);
        }
    }
    Ok(())
}

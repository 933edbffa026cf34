//! A load generator for `saar serve`: requests/s, time to first token and p50/p95
//! latency at concurrency 1, 4 and 16, and the server's overhead against the same
//! work through the library at concurrency 1.
//!
//! ```text
//! cargo build --release
//! cargo run --release --example serve_load -- [REQUESTS_PER_LEVEL] [NEW_TOKENS]
//! ```
//! It writes a small random-weight Qwen3-shaped model (512 wide, 8 layers: big enough
//! that a request costs model time like a real one, small enough to build in seconds),
//! starts `target/release/saar serve` on a free port (`SAAR_BIN` overrides the path),
//! and streams chat completions from as many client threads as the level says.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use saar::engine::Placement;
use saar::model::{HubSettings, ModelSpec};
use saar::prompt::{Message, TaskPrompts};
use saar::synth::{write_safetensors_model, Arch, ModelTemplate, Shape};
use saar::task::{defaults, Model, TaskSettings};
use serde_json::json;

type AnyResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const QUESTION: &str = "नागपुर मेट्रो के दूसरे चरण की लागत कितनी है और यह कब पूरा होगा?";

/// One request's times, in seconds.
struct Timing {
    first_token: f64,
    total: f64,
}

fn main() -> AnyResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let per_level: usize = args.first().map_or(Ok(32), |n| n.parse())?;
    let new_tokens: usize = args.get(1).map_or(Ok(32), |n| n.parse())?;
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("model");
    let shape = Shape {
        hidden: 512,
        layers: 8,
        heads: 8,
        kv_heads: 4,
        head_dim: 64,
        ffn: 1536,
        ..Shape::tiny(Arch::Qwen3)
    };
    write_safetensors_model(
        &dir,
        &shape,
        candle_core::DType::F32,
        7,
        &ModelTemplate::simple(shape.arch.family()),
    )?;
    let model_arg = dir.to_string_lossy().to_string();

    let library = library_times(&model_arg, per_level.min(16), new_tokens)?;
    let bin = std::env::var("SAAR_BIN").unwrap_or_else(|_| "target/release/saar".into());
    let mut child = Command::new(bin)
        .args([
            "serve",
            "--port",
            "0",
            "-m",
            &model_arg,
            "--max-queue",
            "256",
        ])
        .env("HF_HUB_OFFLINE", "1")
        .stderr(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(child.stderr.take().ok_or("no stderr")?).lines();
    let mut base = String::new();
    for line in lines.by_ref() {
        let line = line?;
        if let Some(addr) = line.split("listening on ").nth(1) {
            base = addr.trim().to_string();
        }
        if line.ends_with("is loaded") {
            break;
        }
    }
    // Keep draining stderr (one log line per request) so the server never blocks on it.
    std::thread::spawn(move || lines.for_each(drop));

    println!(
        "serve_load: {per_level} streamed chat requests per level, {new_tokens} new tokens each"
    );
    println!("level   req/s   ttft p50   ttft p95   latency p50   latency p95");
    let mut served_single = f64::NAN;
    for level in [1usize, 4, 16] {
        let started = Instant::now();
        let timings = run_level(&base, level, per_level, new_tokens)?;
        let wall = started.elapsed().as_secs_f64();
        let ttft: Vec<f64> = timings.iter().map(|t| t.first_token).collect();
        let total: Vec<f64> = timings.iter().map(|t| t.total).collect();
        if level == 1 {
            served_single = median(&total);
        }
        println!(
            "{level:5} {:7.2} {:8.1} ms {:8.1} ms {:10.1} ms {:10.1} ms",
            timings.len() as f64 / wall,
            1000.0 * percentile(&ttft, 50.0),
            1000.0 * percentile(&ttft, 95.0),
            1000.0 * percentile(&total, 50.0),
            1000.0 * percentile(&total, 95.0),
        );
    }
    let direct = median(&library);
    println!(
        "overhead at concurrency 1: served median {:.1} ms, library median {:.1} ms: {:+.2} % (target < 5 %)",
        1000.0 * served_single,
        1000.0 * direct,
        100.0 * (served_single / direct - 1.0)
    );
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}

/// The same request through the library, one after another.
fn library_times(model: &str, count: usize, new_tokens: usize) -> AnyResult<Vec<f64>> {
    let files = saar::model::resolve(&ModelSpec::parse(model)?, &HubSettings::from_env())?;
    let placement = Placement {
        device: candle_core::Device::Cpu,
        dtype: None,
    };
    let mut loaded = Model::load(files, &placement, TaskPrompts::embedded())?;
    let mut generation = defaults::generation();
    generation.max_new_tokens = new_tokens;
    let settings = TaskSettings::new(generation);
    let messages = [Message::user(QUESTION)];
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        loaded.chat(&messages, &settings, &mut |_| {})?;
        times.push(started.elapsed().as_secs_f64());
    }
    Ok(times)
}

/// `count` requests spread over `level` client threads.
fn run_level(base: &str, level: usize, count: usize, new_tokens: usize) -> AnyResult<Vec<Timing>> {
    let url = format!("{base}/v1/chat/completions");
    let body = json!({
        "messages": [{"role": "user", "content": QUESTION}],
        "max_tokens": new_tokens, "stream": true,
    })
    .to_string();
    let results: Vec<AnyResult<Vec<Timing>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..level)
            .map(|client| {
                let (url, body) = (&url, &body);
                scope.spawn(move || {
                    let mine = (client..count).step_by(level).count();
                    (0..mine).map(|_| one_request(url, body)).collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("client thread panicked".into()))
            })
            .collect()
    });
    let mut timings = Vec::new();
    for result in results {
        timings.extend(result?);
    }
    Ok(timings)
}

fn one_request(url: &str, body: &str) -> AnyResult<Timing> {
    let started = Instant::now();
    let response = ureq::post(url)
        .set("Content-Type", "application/json")
        .send_string(body)?;
    let mut first_token = None;
    for line in BufReader::new(response.into_reader()).lines() {
        let line = line?;
        if line.contains("\"content\"") && !line.contains("\"role\"") && first_token.is_none() {
            first_token = Some(started.elapsed().as_secs_f64());
        }
        if line == "data: [DONE]" {
            break;
        }
    }
    let total = started.elapsed().as_secs_f64();
    Ok(Timing {
        first_token: first_token.unwrap_or(total),
        total,
    })
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn median(values: &[f64]) -> f64 {
    percentile(values, 50.0)
}

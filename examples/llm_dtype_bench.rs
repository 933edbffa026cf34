//! Speed and peak memory of the LLM engine on safetensors weights stored as f32,
//! bf16 or f16 (random weights of a real shape), which `saar bench` does not build:
//! `cargo run --release --example llm_dtype_bench [qwen2.5-0.5b|tiny] [f32,bf16,f16]
//! [prompt] [new]`. Run one dtype per process for a clean peak-RSS figure; set
//! `SAAR_KERNELS=candle` for stock candle. Prints one JSON object per dtype.

use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device};
use saar::engine::{llm, Placement};
use saar::model::{ModelFiles, Weights};
use saar::synth::{
    random_token_ids, tiny_vocab_size, write_safetensors_model, Arch, ModelTemplate, Shape,
};

fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

/// Seconds of CPU all threads of this process have used (Linux), so that time spent
/// waiting for a core on a loaded machine does not count.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime, fields 14 and 15 of stat (11 and 12 after the command name).
    (ticks(11) + ticks(12)) / 100.0
}

/// Wall and CPU seconds of `f`.
fn timed<R>(f: impl FnOnce() -> R) -> (R, f64, f64) {
    let (wall, cpu) = (Instant::now(), cpu_secs());
    let out = f();
    (out, wall.elapsed().as_secs_f64(), cpu_secs() - cpu)
}

fn files(dir: &Path) -> ModelFiles {
    ModelFiles {
        config: Some(dir.join("config.json")),
        tokenizer: Some(dir.join("tokenizer.json")),
        tokenizer_config: Some(dir.join("tokenizer_config.json")),
        generation_config: Some(dir.join("generation_config.json")),
        ..ModelFiles::new(
            "bench",
            Weights::Safetensors(vec![dir.join("model.safetensors")]),
        )
    }
}

fn argmax(scores: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = i;
        }
    }
    best as u32
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let shape = match args.next().as_deref() {
        Some("tiny") => Shape::tiny(Arch::Qwen2),
        _ => Shape::qwen2_5_0_5b(),
    };
    let dtypes = args.next().unwrap_or_else(|| "f32,bf16,f16".into());
    let prompt_tokens: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(512);
    let new_tokens: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(128);
    let scratch = tempfile::tempdir()?;
    for name in dtypes.split(',') {
        let dtype = match name {
            "bf16" => DType::BF16,
            "f16" => DType::F16,
            _ => DType::F32,
        };
        let dir = scratch.path().join(name);
        let template = ModelTemplate::simple(shape.arch.family());
        write_safetensors_model(&dir, &shape, dtype, 7, &template)?;
        let file_bytes = std::fs::metadata(dir.join("model.safetensors"))?.len();
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let placement = Placement {
            device: Device::Cpu,
            dtype: None,
        };
        let loading = Instant::now();
        let mut model = llm::load(&files(&dir), &placement)?;
        let load_secs = loading.elapsed().as_secs_f64();
        let vocab = tiny_vocab_size(shape.arch.family()).min(shape.vocab) as u32;
        let prompt = random_token_ids(prompt_tokens, vocab, 7);
        let (logits, prefill_wall, prefill_cpu) = timed(|| model.forward(&prompt, 0));
        let mut next = argmax(&logits?.to_vec1::<f32>()?);
        let (decoded, decode_wall, decode_cpu) = timed(|| {
            for step in 0..new_tokens {
                let logits = model.forward(&[next], prompt_tokens + step)?;
                next = argmax(&logits.to_vec1::<f32>()?);
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        });
        decoded?;
        let peak = peak_rss_bytes().unwrap_or(0);
        println!(
            "{{\"weights\":\"{name}\",\"kernels\":\"{}\",\"threads\":{},\"prefill_tok_s\":{:.1},\"decode_tok_s\":{:.2},\"prefill_cpu_s\":{prefill_cpu:.2},\"decode_cpu_s_per_token\":{:.4},\"load_secs\":{load_secs:.2},\"file_bytes\":{file_bytes},\"peak_rss_bytes\":{peak},\"peak_over_file\":{:.3}}}",
            saar::engine::kernels::backend().name(),
            candle_core::utils::get_num_threads(),
            prompt_tokens as f64 / prefill_wall,
            new_tokens as f64 / decode_wall,
            decode_cpu / new_tokens as f64,
            peak as f64 / file_bytes as f64
        );
        drop(model);
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}

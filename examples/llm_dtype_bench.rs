//! Speed and peak memory of the LLM engine on safetensors weights stored as f32,
//! bf16 or f16 (random weights of a real shape), which `saar bench` does not build:
//! `cargo run --release --example llm_dtype_bench [qwen2.5-0.5b|tiny] [f32,bf16,f16]
//! [prompt] [new]`. Run one dtype per process for a clean peak-RSS figure; set
//! `SAAR_KERNELS=candle` for stock candle. Prints one JSON object per dtype.

use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device};
use saar::engine::{generate, llm, GenerationSettings, Placement};
use saar::model::{ModelFiles, Weights};
use saar::synth::{
    random_token_ids, tiny_vocab_size, write_safetensors_model, Arch, ModelTemplate, Shape,
};

fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
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
        let settings = GenerationSettings {
            max_new_tokens: new_tokens,
            temperature: 0.0,
            top_k: None,
            top_p: None,
            seed: 7,
            repeat_penalty: 1.0,
            repeat_last_n: 0,
            eos_token_ids: Vec::new(),
        };
        let run = generate(model.as_mut(), &prompt, &settings, &mut |_| true)?;
        let peak = peak_rss_bytes().unwrap_or(0);
        println!(
            "{{\"weights\":\"{name}\",\"kernels\":\"{}\",\"prefill_tok_s\":{:.1},\"decode_tok_s\":{:.2},\"load_secs\":{load_secs:.2},\"file_bytes\":{file_bytes},\"peak_rss_bytes\":{peak},\"peak_over_file\":{:.3}}}",
            saar::engine::kernels::backend().name(),
            run.prompt_tokens as f64 / run.prefill_secs,
            run.tokens.len() as f64 / run.decode_secs,
            peak as f64 / file_bytes as f64
        );
        drop(model);
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}

//! `saar bench`: speed of the engine on a real-shaped model with random weights.
//! Builds the model in each requested format in a scratch folder, loads it through
//! the same engine `summarize`/`translate` use, and prints one JSON line per format.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use candle_core::DType;
use clap::{Args, ValueEnum};
use serde_json::json;

use super::options::{resolve_model, RuntimeOptions};
use saar::engine::{generate, llm, GenerationSettings, Placement};
use saar::model::ModelFiles;
use saar::synth::{
    random_token_ids, tiny_vocab_size, write_gguf_model, write_safetensors_model, Arch, GgufQuant,
    ModelTemplate, Shape,
};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Model shape to build with random weights.
    #[arg(long, value_enum, default_value_t = BenchShape::Qwen2_5_0_5b)]
    pub shape: BenchShape,
    /// Formats to measure: f32 safetensors and/or a GGUF file (see --quant).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [BenchFormat::Safetensors, BenchFormat::Gguf])]
    pub formats: Vec<BenchFormat>,
    /// Weight type of the GGUF file: f32, f16, q8_0 or q4_k_m.
    #[arg(long, default_value = "q4_k_m")]
    pub quant: GgufQuant,
    /// Length of the random prompt.
    #[arg(long, default_value_t = 512)]
    pub prompt_tokens: usize,
    /// Tokens to generate after the prompt (greedy, no EOS stop).
    #[arg(long, default_value_t = 128)]
    pub new_tokens: usize,
    /// CPU threads for the engine (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub runtime: RuntimeOptions,
    /// Seed of the weights and the prompt.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Build the models here and keep them (default: a temporary folder, removed after).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchShape {
    #[value(name = "qwen2.5-0.5b")]
    Qwen2_5_0_5b,
    #[value(name = "qwen3-1.7b")]
    Qwen3_1_7b,
    /// The test-sized models, for a quick check that the whole path runs.
    #[value(name = "tiny-qwen2")]
    TinyQwen2,
    #[value(name = "tiny-qwen3")]
    TinyQwen3,
    #[value(name = "tiny-llama")]
    TinyLlama,
    #[value(name = "tiny-gemma3")]
    TinyGemma3,
}

impl BenchShape {
    fn shape(self) -> Shape {
        match self {
            BenchShape::Qwen2_5_0_5b => Shape::qwen2_5_0_5b(),
            BenchShape::Qwen3_1_7b => Shape::qwen3_1_7b(),
            BenchShape::TinyQwen2 => Shape::tiny(Arch::Qwen2),
            BenchShape::TinyQwen3 => Shape::tiny(Arch::Qwen3),
            BenchShape::TinyLlama => Shape::tiny(Arch::Llama),
            BenchShape::TinyGemma3 => Shape::tiny(Arch::Gemma3),
        }
    }

    /// The name given on the command line.
    fn label(self) -> String {
        self.to_possible_value()
            .map(|value| value.get_name().to_string())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchFormat {
    /// An HF folder with f32 model.safetensors.
    Safetensors,
    /// One GGUF file.
    Gguf,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if let Some(threads) = args.threads.filter(|&n| n > 0) {
        // candle (and rayon under it) read these when their thread pools start.
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
        std::env::set_var("CANDLE_NUM_THREADS", threads.to_string());
    }
    anyhow::ensure!(args.prompt_tokens > 0, "--prompt-tokens must be at least 1");
    let placement = args.runtime.placement()?;
    let scratch = Scratch::new(args.work_dir.clone())?;
    let shape = args.shape.shape();
    for &format in &args.formats {
        let report = bench_format(&args, &shape, format, &placement, &scratch.path)?;
        println!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}

fn bench_format(
    args: &BenchArgs,
    shape: &Shape,
    format: BenchFormat,
    placement: &Placement,
    scratch: &Path,
) -> anyhow::Result<serde_json::Value> {
    let template = ModelTemplate::simple(shape.arch.family());
    let label = args.shape.label();
    let built = Instant::now();
    let (files, format_name, location) = match format {
        BenchFormat::Safetensors => {
            let dir = scratch.join(format!("{label}-f32"));
            eprintln!(
                "saar bench: writing {label} as f32 safetensors in {}",
                dir.display()
            );
            write_safetensors_model(&dir, shape, DType::F32, args.seed, &template)
                .with_context(|| format!("writing the {label} safetensors model"))?;
            (resolve_local(&dir)?, "safetensors-f32".to_string(), dir)
        }
        BenchFormat::Gguf => {
            let path = scratch.join(format!("{label}-{}.gguf", args.quant.name()));
            eprintln!(
                "saar bench: writing {label} as {} GGUF at {}",
                args.quant.name(),
                path.display()
            );
            write_gguf_model(&path, shape, args.quant, args.seed, &template)
                .with_context(|| format!("writing the {label} GGUF model"))?;
            (
                resolve_local(&path)?,
                format!("gguf-{}", args.quant.name()),
                path,
            )
        }
    };
    let build_secs = built.elapsed().as_secs_f64();
    let file_bytes = disk_size(&location);
    reset_peak_rss();

    let loading = Instant::now();
    let mut model = llm::load(&files, placement).context("loading the synthetic model")?;
    let load_secs = loading.elapsed().as_secs_f64();

    let vocab = tiny_vocab_size(shape.arch.family()).min(shape.vocab) as u32;
    let prompt = random_token_ids(args.prompt_tokens, vocab, args.seed);
    let settings = GenerationSettings {
        max_new_tokens: args.new_tokens,
        temperature: 0.0,
        top_k: None,
        top_p: None,
        seed: args.seed,
        repeat_penalty: 1.0,
        repeat_last_n: 0,
        eos_token_ids: Vec::new(),
    };
    let generation = generate(model.as_mut(), &prompt, &settings, &mut |_| true)
        .context("running the synthetic model")?;
    let info = model.info().clone();
    drop(model);
    if args.work_dir.is_none() {
        remove(&location);
    }
    Ok(json!({
        "format": format_name,
        "shape": label,
        "dtype": info.dtype,
        "device": info.device,
        "threads": candle_core::utils::get_num_threads(),
        "prompt_tokens": generation.prompt_tokens,
        "new_tokens": generation.tokens.len(),
        "prefill_tok_s": rate(generation.prompt_tokens, generation.prefill_secs),
        "decode_tok_s": rate(generation.tokens.len(), generation.decode_secs),
        "load_secs": load_secs,
        "build_secs": build_secs,
        "file_bytes": file_bytes,
        "peak_rss_bytes": peak_rss_bytes(),
    }))
}

fn rate(tokens: usize, secs: f64) -> Option<f64> {
    (secs > 0.0).then(|| tokens as f64 / secs)
}

/// Resolves the built model the way `--model PATH` does, so bench loads what users load.
fn resolve_local(path: &Path) -> anyhow::Result<ModelFiles> {
    let text = path
        .to_str()
        .with_context(|| format!("{} is not valid UTF-8; pass --work-dir", path.display()))?;
    resolve_model(Some(text), true)
}

/// Bytes on disk of a file, or of the files directly inside a folder.
fn disk_size(path: &Path) -> u64 {
    if path.is_file() {
        return path.metadata().map_or(0, |m| m.len());
    }
    std::fs::read_dir(path).map_or(0, |entries| {
        entries
            .filter_map(|entry| entry.ok()?.metadata().ok())
            .filter(|meta| meta.is_file())
            .map(|meta| meta.len())
            .sum()
    })
}

fn remove(path: &Path) {
    // Best effort: the scratch folder is removed as a whole at the end anyway.
    let _ = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
}

/// Linux: writing 5 to clear_refs resets VmHWM, so each format's peak is its own.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory (VmHWM) where /proc is available.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The folder models are built in; a temporary one is removed on drop.
struct Scratch {
    path: PathBuf,
    temporary: bool,
}

impl Scratch {
    fn new(work_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let (path, temporary) = match work_dir {
            Some(dir) => (dir, false),
            None => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                let name = format!("saar-bench-{}-{nanos}", std::process::id());
                (std::env::temp_dir().join(name), true)
            }
        };
        std::fs::create_dir_all(&path)
            .with_context(|| format!("creating the bench folder {}", path.display()))?;
        Ok(Self { path, temporary })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_labelled_as_typed() {
        assert_eq!(BenchShape::Qwen2_5_0_5b.label(), "qwen2.5-0.5b");
        assert_eq!(BenchShape::TinyGemma3.label(), "tiny-gemma3");
        assert_eq!(BenchShape::Qwen3_1_7b.shape(), Shape::qwen3_1_7b());
    }

    #[test]
    fn rates_need_elapsed_time() {
        assert_eq!(rate(10, 2.0), Some(5.0));
        assert_eq!(rate(10, 0.0), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn peak_memory_is_read_on_linux() {
        reset_peak_rss();
        assert!(peak_rss_bytes().is_some_and(|bytes| bytes > 0));
    }
}

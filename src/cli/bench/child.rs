//! One row of `saar bench`, measured in a process of its own: the parent re-runs this
//! binary as `saar bench --child-job JSON`, so each row's peak memory (VmHWM) and
//! loaded kernels are its own and a row that runs out of memory ends only itself.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::Context;
use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::rows::parse_backend;
use crate::cli::options::{resolve_model, DtypeChoice, RuntimeOptions};
use saar::engine::kernels::set_backend;
use saar::engine::marian::bench::{
    bench_marian_with, MarianBenchLengths, MarianBenchOptions, MarianShape, ShapeFamily,
};
use saar::engine::{generate, llm, CausalLm, GenerationSettings};
use saar::model::Weights;
use saar::synth::random_token_ids;

/// Everything a child needs to measure one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowJob {
    /// The `shape` field of the report.
    pub shape: String,
    /// The `format` field; `None` names it after what the file turns out to hold.
    pub format: Option<String>,
    /// [`Backend::name`].
    pub kernels: String,
    /// `--device`.
    pub device: String,
    pub seed: u64,
    pub work: Work,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Work {
    /// Prefill `prompt_tokens` random ids, then decode `new_tokens` greedily; then decode
    /// `new_tokens` again from an empty cache.
    Llm {
        path: PathBuf,
        /// `--dtype` name (`auto`, `f32`, `bf16`, `f16`) for safetensors weights.
        dtype: String,
        prompt_tokens: usize,
        new_tokens: usize,
    },
    /// `sequences` sequences of `prompt_tokens` random ids, `new_tokens` each, decoded
    /// together ([`super::sequences`]).
    Sequences {
        path: PathBuf,
        dtype: String,
        prompt_tokens: usize,
        new_tokens: usize,
        sequences: usize,
    },
    /// Translate `batch` random sentences of `source_tokens` into `new_tokens` each.
    Marian {
        shape: MarianShape,
        batch: usize,
        beams: usize,
        source_tokens: usize,
        new_tokens: usize,
    },
}

/// Runs `job` in a fresh copy of this binary and returns its report line.
pub fn run_in_child(job: &RowJob) -> anyhow::Result<Value> {
    let exe = std::env::current_exe().context("finding the saar binary to re-run")?;
    let spec = serde_json::to_string(job)?;
    let output = Command::new(exe)
        .args(["bench", "--child-job", &spec])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("starting a bench child process")?;
    anyhow::ensure!(
        output.status.success(),
        "the {} row ({} kernels) failed: {}",
        job.format.as_deref().unwrap_or(&job.shape),
        job.kernels,
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|line| line.starts_with('{'))
        .context("the bench child printed no report")?;
    serde_json::from_str(line).context("reading the bench child's report")
}

/// The child's side: measures `spec` (a [`RowJob`] as JSON) and returns its report.
pub fn measure(spec: &str) -> anyhow::Result<Value> {
    let job: RowJob = serde_json::from_str(spec).context("reading --child-job")?;
    let backend = parse_backend(&job.kernels)
        .with_context(|| format!("unknown kernels `{}`", job.kernels))?;
    set_backend(backend);
    reset_peak_rss();
    let mut report = match &job.work {
        Work::Llm {
            path,
            dtype,
            prompt_tokens,
            new_tokens,
        } => measure_llm(&job, path, dtype, *prompt_tokens, *new_tokens)?,
        Work::Sequences {
            path,
            dtype,
            prompt_tokens,
            new_tokens,
            sequences,
        } => super::sequences::measure_sequences(
            &job,
            path,
            dtype,
            (*prompt_tokens, *new_tokens),
            *sequences,
        )?,
        Work::Marian {
            shape,
            batch,
            beams,
            source_tokens,
            new_tokens,
        } => measure_marian(&job, shape, *batch, *beams, *source_tokens, *new_tokens)?,
    };
    report["kernels"] = json!(backend.name());
    report["threads"] = json!(candle_core::utils::get_num_threads());
    report["peak_rss_bytes"] = json!(peak_rss_bytes());
    Ok(report)
}

fn measure_llm(
    job: &RowJob,
    path: &std::path::Path,
    dtype: &str,
    prompt_tokens: usize,
    new_tokens: usize,
) -> anyhow::Result<Value> {
    let (mut model, kind, load_secs) = load_for_bench(job, path, dtype)?;
    let info = model.info().clone();
    let vocab = u32::try_from(info.vocab_size).unwrap_or(u32::MAX);
    let prompt = random_token_ids(prompt_tokens, vocab, job.seed);
    let settings = GenerationSettings {
        seed: job.seed,
        repeat_last_n: 0,
        ..GenerationSettings::greedy(new_tokens)
    };
    let generation =
        generate(model.as_mut(), &prompt, &settings, &mut |_| true).context("running the model")?;
    // Decode again from an empty cache (a one-token prompt), as llama-bench's tg rows do
    // and as the table defines decode; the run above decodes after the prompt.
    model.reset();
    let from_empty = generate(
        model.as_mut(),
        &prompt[..1.min(prompt.len())],
        &settings,
        &mut |_| true,
    )
    .context("running the model")?;
    let format = job
        .format
        .clone()
        .unwrap_or_else(|| format!("{kind}-{}", info.dtype));
    Ok(json!({
        "format": format,
        "shape": job.shape,
        "dtype": info.dtype,
        "device": info.device,
        "prompt_tokens": generation.prompt_tokens,
        "new_tokens": generation.tokens.len(),
        "prefill_tok_s": rate(generation.prompt_tokens, generation.prefill_secs),
        "decode_tok_s": rate(from_empty.tokens.len(), from_empty.decode_secs),
        "decode_after_prompt_tok_s": rate(generation.tokens.len(), generation.decode_secs),
        "load_secs": load_secs,
    }))
}

/// Loads the LLM of a row: the model, `gguf` or `safetensors`, and the seconds it took.
pub fn load_for_bench(
    job: &RowJob,
    path: &std::path::Path,
    dtype: &str,
) -> anyhow::Result<(Box<dyn CausalLm>, &'static str, f64)> {
    let runtime = RuntimeOptions {
        device: job.device.clone(),
        dtype: DtypeChoice::from_str(dtype, true).map_err(anyhow::Error::msg)?,
        threads: None,
    };
    let placement = runtime.placement()?;
    let text = path
        .to_str()
        .with_context(|| format!("{} is not valid UTF-8", path.display()))?;
    let files = resolve_model(Some(text), true)?;
    let loading = Instant::now();
    let model = llm::load(&files, &placement).context("loading the model")?;
    let kind = match files.weights {
        Weights::Gguf(_) => "gguf",
        _ => "safetensors",
    };
    Ok((model, kind, loading.elapsed().as_secs_f64()))
}

fn measure_marian(
    job: &RowJob,
    shape: &MarianShape,
    batch: usize,
    beams: usize,
    source_tokens: usize,
    new_tokens: usize,
) -> anyhow::Result<Value> {
    let runtime = RuntimeOptions {
        device: job.device.clone(),
        dtype: DtypeChoice::Auto,
        threads: None,
    };
    let options = MarianBenchOptions {
        beams,
        placement: runtime.placement()?,
    };
    let lengths = MarianBenchLengths {
        source: source_tokens,
        generated: new_tokens,
    };
    let figures =
        bench_marian_with(shape, batch, lengths, &options).context("running the Marian model")?;
    Ok(json!({
        "format": job.format.clone().unwrap_or_else(|| {
            let family = match shape.family {
                ShapeFamily::Marian => "marian",
                ShapeFamily::IndicTrans2 => "indictrans2",
            };
            format!("{family}-{}", figures.dtype)
        }),
        "shape": job.shape,
        "dtype": figures.dtype,
        "device": figures.device,
        "batch": figures.batch,
        "beams": figures.beams,
        "prompt_tokens": source_tokens,
        "new_tokens": new_tokens,
        "generated_tokens": figures.generated_tokens,
        "prefill_tok_s": rate(figures.source_tokens, figures.encode_secs),
        "decode_tok_s": rate(figures.generated_tokens, figures.decode_secs),
        "translate_tok_s": figures.tokens_per_sec,
        "encode_secs": figures.encode_secs,
        "decode_secs": figures.decode_secs,
        "load_secs": figures.load_secs,
    }))
}

/// Tokens per second, or `None` when no time was measured.
pub fn rate(tokens: usize, secs: f64) -> Option<f64> {
    (secs > 0.0).then(|| tokens as f64 / secs)
}

/// Linux: writing 5 to clear_refs resets VmHWM, so the peak is this row's own even
/// when a caller measures rows in one process.
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

#[cfg(test)]
mod tests {
    use super::*;
    use saar::engine::kernels::Backend;

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

    #[test]
    fn jobs_survive_the_command_line() {
        let job = RowJob {
            shape: "tiny-marian".into(),
            format: None,
            kernels: "candle".into(),
            device: "cpu".into(),
            seed: 3,
            work: Work::Marian {
                shape: MarianShape::tiny(),
                batch: 8,
                beams: 1,
                source_tokens: 64,
                new_tokens: 64,
            },
        };
        let text = serde_json::to_string(&job).unwrap();
        let back: RowJob = serde_json::from_str(&text).unwrap();
        assert_eq!(back, job);
        assert_eq!(parse_backend(&back.kernels), Some(Backend::Candle));
    }

    #[test]
    fn a_tiny_marian_row_reports_its_kernels_and_speeds() {
        let job = RowJob {
            shape: "tiny-marian".into(),
            format: Some("marian-f32".into()),
            kernels: "saar".into(),
            device: "cpu".into(),
            seed: 0,
            work: Work::Marian {
                shape: MarianShape::tiny(),
                batch: 2,
                beams: 1,
                source_tokens: 6,
                new_tokens: 4,
            },
        };
        let report = measure(&serde_json::to_string(&job).unwrap()).unwrap();
        assert_eq!(report["kernels"], "saar");
        assert_eq!(report["format"], "marian-f32");
        assert_eq!(report["generated_tokens"], 8);
        assert!(report["translate_tok_s"].as_f64().unwrap() > 0.0);
        assert!(report["decode_tok_s"].as_f64().unwrap() > 0.0);
    }
}

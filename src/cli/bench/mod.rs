//! `saar bench`: speed of the engine on real-shaped models with random weights, or on
//! a local model file, for every row of the speed table: GGUF q4_k_m/q8_0/f16,
//! safetensors f32/bf16/f16, Marian at batch 1 and 8. Each row runs in a child process
//! (see [`child`]) with saar's kernels, stock candle's path, or both back to back.

mod child;
mod rows;
mod scratch;
mod sequences;
mod table;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, ensure};
use clap::{Args, ValueEnum};
use serde_json::{json, Value};

use super::options::RuntimeOptions;
use child::{RowJob, Work};
use rows::{expand_formats, FormatChoice, KernelChoice, LlmFormat, ShapeKind};
use saar::synth::{GgufQuant, Shape};

use rows::BenchShape;

const AFTER_HELP: &str = "\
Every row runs in a fresh process; stdout gets one JSON line per row (prefill_tok_s,
decode_tok_s, decode_after_prompt_tok_s, translate_tok_s for Marian, load_secs,
file_bytes, peak_rss_bytes, …) and stderr a table with saar's speed as a multiple of
stock candle's where both ran. LLM decode is measured twice: from an empty cache (as
llama-bench's tg rows) and after the --prompt-tokens prompt.

--sequences 1,2,4,8 measures many sequences decoded together instead, one row per
count (aggregate_decode_tok_s, per_sequence_decode_tok_s, kv_bytes_per_token): every
prompt first, then all sequences one token per step, as llama-batched-bench times
S_PP and S_TG (its -npp is --prompt-tokens, -ntg --new-tokens, -npl --sequences).

Examples:
  saar bench --threads 2 --formats all --kernels both        # every LLM row, both paths
  saar bench --threads 2 --shape opus-mt-hi-en --kernels both # Marian, batch 1 and 8
  saar bench --threads 2 --model qwen.gguf --kernels both     # a file llama-bench also runs
  saar bench --threads 2 --model qwen.gguf --prompt-tokens 512,2048,4096 --new-tokens 16
  saar bench --threads 2 --formats gguf-q4_k_m --sequences 1,2,4,8 --prompt-tokens 128";

/// Measure prefill and decode speed on random-weight models of real shapes (JSON lines).
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct BenchArgs {
    /// Model shape to build with random weights: an LLM, or Marian (opus-mt-hi-en,
    /// tiny-marian) whose rows are set by --batch.
    #[arg(long, value_enum, default_value_t = BenchShape::Qwen2_5_0_5b)]
    pub shape: BenchShape,
    /// Bench this local GGUF file or safetensors folder instead of building one
    /// (a folder loads in --dtype).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["formats", "shape"])]
    pub model: Option<PathBuf>,
    /// LLM formats to build and measure, comma-separated: safetensors[-f32],
    /// safetensors-bf16, safetensors-f16, gguf (of --quant), gguf-q4_k_m, gguf-q8_0,
    /// gguf-f16, gguf-f32, gguf-bf16, gguf-q2_k, gguf-q3_k_s, gguf-q3_k_m, gguf-q3_k_l,
    /// gguf-iq4_nl, gguf-iq4_xs, or all (the speed table's rows: gguf-q4_k_m, gguf-q8_0,
    /// gguf-f16, safetensors-f32, -bf16, -f16). Safetensors rows load in their own
    /// type. [default: safetensors,gguf]
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub formats: Vec<FormatChoice>,
    /// Weight type of `--formats gguf`: f32, f16, bf16, q8_0, q4_k_m, q2_k, q3_k_s,
    /// q3_k_m, q3_k_l, iq4_nl or iq4_xs.
    #[arg(long, default_value = "q4_k_m")]
    pub quant: GgufQuant,
    /// Whose CPU kernels run each row: saar's, stock candle's, or both back to back.
    #[arg(long, value_enum, default_value_t = KernelChoice::Saar)]
    pub kernels: KernelChoice,
    /// Marian: sentences per batch, comma-separated, one row each. [default: 1,8]
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub batch: Vec<usize>,
    /// Marian: beam width (1 is greedy).
    #[arg(long, default_value_t = 1)]
    pub beams: usize,
    /// Length of the random prompt, comma-separated for one row per length (Marian:
    /// source tokens per sentence). [default: 512; Marian 64]
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub prompt_tokens: Vec<usize>,
    /// Tokens to generate after the prompt, greedy, with no EOS stop (Marian: per
    /// sentence). [default: 128; Marian 64]
    #[arg(long)]
    pub new_tokens: Option<usize>,
    /// LLM: decode this many sequences together, comma-separated, one row each
    /// (aggregate and per-sequence decode tok/s) instead of the one-sequence rows; with
    /// a --prompt-tokens list, one row per length and count.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub sequences: Vec<usize>,
    /// Seed of the weights and the prompt.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Build the models here and keep them (default: a temporary folder, removed after).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// `json`: one JSON line per row on stdout and the table on stderr; `text`: only
    /// the table, on stdout.
    #[arg(long, value_enum, default_value_t = BenchOutput::Json)]
    pub format: BenchOutput,
    #[command(flatten)]
    pub runtime: RuntimeOptions,
    /// One row, measured in this process (how the rows run in child processes).
    #[arg(long, hide = true)]
    pub child_job: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchOutput {
    Json,
    Text,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if let Some(spec) = &args.child_job {
        println!("{}", child::measure(spec)?);
        return Ok(ExitCode::SUCCESS);
    }
    args.runtime.placement()?;
    let mut out = Output::new(args.format);
    match (&args.model, args.shape.kind()) {
        (Some(path), _) => bench_file(&args, path, &mut out)?,
        (None, ShapeKind::Llm(shape)) => bench_llm(&args, &shape, &mut out)?,
        (None, ShapeKind::Marian(shape)) => bench_marian(&args, shape, &mut out)?,
    }
    out.finish()
}

/// The prompt lengths (one row each) and new tokens of LLM rows, after the defaults
/// and checks.
fn llm_lengths(args: &BenchArgs) -> anyhow::Result<(Vec<usize>, usize)> {
    ensure!(
        args.batch.iter().all(|&b| b == 1),
        "--batch is for Marian shapes; LLM rows run one sequence"
    );
    let prompts = prompt_lengths(args, 512);
    ensure!(
        prompts.iter().all(|&p| p > 0),
        "--prompt-tokens must be at least 1"
    );
    Ok((prompts, args.new_tokens.unwrap_or(128)))
}

/// `--prompt-tokens`, or `default` alone.
fn prompt_lengths(args: &BenchArgs, default: usize) -> Vec<usize> {
    match args.prompt_tokens.is_empty() {
        true => vec![default],
        false => args.prompt_tokens.clone(),
    }
}

/// The rows of one LLM file, per prompt length: one-sequence, or one per
/// `--sequences` count.
fn llm_work(args: &BenchArgs, path: &Path, dtype: &str) -> anyhow::Result<Vec<Work>> {
    let (prompts, new_tokens) = llm_lengths(args)?;
    ensure!(
        args.sequences.iter().all(|&n| n > 0),
        "--sequences counts must be at least 1"
    );
    let mut rows = Vec::new();
    for prompt_tokens in prompts {
        if args.sequences.is_empty() {
            rows.push(Work::Llm {
                path: path.to_path_buf(),
                dtype: dtype.to_string(),
                prompt_tokens,
                new_tokens,
            });
        }
        rows.extend(args.sequences.iter().map(|&sequences| Work::Sequences {
            path: path.to_path_buf(),
            dtype: dtype.to_string(),
            prompt_tokens,
            new_tokens,
            sequences,
        }));
    }
    Ok(rows)
}

fn bench_file(args: &BenchArgs, path: &Path, out: &mut Output) -> anyhow::Result<()> {
    ensure!(
        path.exists(),
        "--model {}: no such file or folder",
        path.display()
    );
    let dtype = args
        .runtime
        .dtype
        .to_possible_value()
        .map(|value| value.get_name().to_string())
        .unwrap_or_else(|| "auto".into());
    let shape = path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into(),
    );
    let extra = json!({ "file_bytes": scratch::disk_size(path) });
    for work in llm_work(args, path, &dtype)? {
        out.run_rows(args, &shape, None, &work, &extra);
    }
    Ok(())
}

fn bench_llm(args: &BenchArgs, shape: &Shape, out: &mut Output) -> anyhow::Result<()> {
    let choices = if args.formats.is_empty() {
        vec![
            FormatChoice::One(LlmFormat::Safetensors(candle_core::DType::F32)),
            FormatChoice::GgufOfQuant,
        ]
    } else {
        args.formats.clone()
    };
    llm_lengths(args)?;
    let scratch = scratch::Scratch::new(args.work_dir.clone())?;
    let label = args.shape.label();
    for format in expand_formats(&choices, args.quant) {
        let building = Instant::now();
        let path = match scratch::build_model(&scratch.path, &label, shape, format, args.seed) {
            Ok(path) => path,
            Err(err) => {
                out.fail(err);
                continue;
            }
        };
        let dtype = match format {
            LlmFormat::Safetensors(dtype) => rows::dtype_name(dtype),
            LlmFormat::Gguf(_) => "auto",
        };
        let extra = json!({
            "build_secs": building.elapsed().as_secs_f64(),
            "file_bytes": scratch::disk_size(&path),
        });
        for work in llm_work(args, &path, dtype)? {
            out.run_rows(args, &label, Some(format.label()), &work, &extra);
        }
        if !scratch.temporary {
            continue;
        }
        scratch::remove(&path);
    }
    Ok(())
}

fn bench_marian(
    args: &BenchArgs,
    shape: saar::engine::marian::bench::MarianShape,
    out: &mut Output,
) -> anyhow::Result<()> {
    if !args.formats.is_empty() {
        bail!("--formats is for LLM shapes; Marian rows are f32, one per --batch size");
    }
    ensure!(
        args.sequences.is_empty(),
        "--sequences is for LLM shapes; Marian rows batch sentences with --batch"
    );
    let batches = if args.batch.is_empty() {
        vec![1, 8]
    } else {
        args.batch.clone()
    };
    let label = args.shape.label();
    for source_tokens in prompt_lengths(args, 64) {
        for &batch in &batches {
            let work = Work::Marian {
                shape: shape.clone(),
                batch,
                beams: args.beams,
                source_tokens,
                new_tokens: args.new_tokens.unwrap_or(64),
            };
            out.run_rows(args, &label, None, &work, &json!({}));
        }
    }
    Ok(())
}

/// Where the rows go, as they finish.
struct Output {
    format: BenchOutput,
    reports: Vec<Value>,
    failed: bool,
}

impl Output {
    fn new(format: BenchOutput) -> Self {
        Self {
            format,
            reports: Vec::new(),
            failed: false,
        }
    }

    /// Measures `work` once per kernel path asked for, each in its own process.
    fn run_rows(
        &mut self,
        args: &BenchArgs,
        shape: &str,
        format: Option<String>,
        work: &Work,
        extra: &Value,
    ) {
        for backend in args.kernels.backends() {
            let job = RowJob {
                shape: shape.to_string(),
                format: format.clone(),
                kernels: backend.name().to_string(),
                device: args.runtime.device.clone(),
                seed: args.seed,
                work: work.clone(),
            };
            let format_name = format.clone().unwrap_or_default();
            let what = match work {
                Work::Marian {
                    batch,
                    source_tokens,
                    ..
                } => format!("batch {batch}, {source_tokens} source tokens"),
                Work::Llm { prompt_tokens, .. } => {
                    format!("{format_name}, {prompt_tokens}-token prompt")
                }
                Work::Sequences {
                    sequences,
                    prompt_tokens,
                    ..
                } => {
                    format!("{format_name} at {sequences} sequences, {prompt_tokens}-token prompts")
                }
            };
            eprintln!("saar bench: {shape} {what} with {} kernels", backend.name());
            match child::run_in_child(&job) {
                Ok(mut report) => {
                    if let (Some(report), Some(extra)) = (report.as_object_mut(), extra.as_object())
                    {
                        report.extend(extra.clone());
                    }
                    self.emit(report);
                }
                Err(err) => self.fail(err),
            }
        }
    }

    fn emit(&mut self, report: Value) {
        if self.format == BenchOutput::Json {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe ends the run at the next row, as elsewhere in the CLI.
            let _ = writeln!(stdout, "{report}").and_then(|()| stdout.flush());
        }
        self.reports.push(report);
    }

    fn fail(&mut self, err: anyhow::Error) {
        eprintln!("saar bench: {err:#}");
        self.failed = true;
    }

    fn finish(self) -> anyhow::Result<ExitCode> {
        let (batched, single): (Vec<&Value>, Vec<&Value>) = self
            .reports
            .iter()
            .partition(|report| report.get("sequences").is_some());
        let rendered = match batched.is_empty() {
            true => table::render(&single.into_iter().cloned().collect::<Vec<_>>()),
            false => sequences::render(&batched),
        };
        match self.format {
            BenchOutput::Json => eprint!("\n{rendered}"),
            BenchOutput::Text => print!("{rendered}"),
        }
        if self.failed {
            bail!("some rows failed (see above)");
        }
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(test)]
mod tests;

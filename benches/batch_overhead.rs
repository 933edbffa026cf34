//! Run overhead of `saar batch`: a generated corpus through the batch driver (the
//! library's `BatchPlan::run`, what the CLI runs, with the real fsynced output file)
//! against the model time its records report. Target: under 3% of the wall time.
//!
//! ```text
//! cargo bench --bench batch_overhead              # 16 documents, task summarize
//! cargo bench --bench batch_overhead -- 8 translate
//! cargo bench --bench batch_overhead -- 16 marian     # a Marian model, --task translate
//! ```
//! The LLM is a random-weight Qwen3-style model from `saar::synth`, 512 wide and 8
//! layers deep: small enough to run in seconds on a CPU, big enough that a document
//! takes as long as with a small real model. The Marian model is the tiny test model
//! widened to opus-mt-base's layers (see [`wide_marian`]). The figures printed are:
//! - wall: the whole run after the model is loaded (reading, preparing, prompting,
//!   generating, writing);
//! - model: the sum of every record's `prefill_secs + decode_secs`;
//! - in documents: the sum of records' `elapsed_secs` minus model time (text
//!   preparation, prompt rendering, tokenization, detokenization);
//! - between documents: the rest (reading the next document, hashing, the JSON record,
//!   write + fsync), of which the output writes are timed separately.

use std::path::{Path, PathBuf};
use std::time::Instant;

use saar::engine::Placement;
use saar::model::{HubSettings, ModelFiles, ModelSpec};
use saar::prompt::{Length, TaskPrompts};
use saar::synth::sample_text::HINDI_SENTENCES;
use saar::synth::{write_safetensors_model, Arch, ModelTemplate, Shape};
use saar::task::batch::{
    self, BatchEvent, BatchJob, BatchOutput, BatchPlan, BatchTask, ModelIdentity, RecordSink,
};
use saar::task::compare::greedy_settings;
use saar::task::{Model, TaskSettings};
use serde_json::Value;

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The output file, with the time spent appending to it.
struct TimedOutput {
    output: BatchOutput,
    secs: f64,
}

impl RecordSink for TimedOutput {
    fn append(&mut self, record: &Value) -> Result<(), batch::BatchError> {
        let started = Instant::now();
        let result = self.output.append(record);
        self.secs += started.elapsed().as_secs_f64();
        result
    }
}

/// A random-weight Qwen3-style model, 512 wide and 8 layers deep.
fn llm_files(dir: &Path) -> AnyResult<ModelFiles> {
    let shape = Shape {
        hidden: 512,
        layers: 8,
        heads: 8,
        kv_heads: 4,
        head_dim: 64,
        ffn: 1536,
        ..Shape::tiny(Arch::Qwen3)
    };
    let template = ModelTemplate::simple(shape.arch.family());
    write_safetensors_model(dir, &shape, candle_core::DType::F32, 7, &template)?;
    Ok(saar::model::resolve(
        &ModelSpec::parse(&dir.to_string_lossy())?,
        &HubSettings::from_env(),
    )?)
}

/// The tiny Marian test model (its real SentencePiece files and 456-token vocabulary)
/// widened to opus-mt-base's layers: 512 wide, FFN 2048, 6 + 6 layers, 8 heads, with
/// random weights. Its generation config (4 beams, at most 24 tokens) is kept.
fn wide_marian(dir: &Path) -> AnyResult<ModelFiles> {
    const FIXTURE: &str = "tests/fixtures/marian/tiny";
    const D: usize = 512;
    const FFN: usize = 2048;
    const LAYERS: usize = 6;
    std::fs::create_dir_all(dir)?;
    for name in [
        "generation_config.json",
        "source.spm",
        "target.spm",
        "tokenizer_config.json",
        "vocab.json",
    ] {
        std::fs::copy(Path::new(FIXTURE).join(name), dir.join(name))?;
    }
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(
        Path::new(FIXTURE).join("config.json"),
    )?)?;
    let tiny = (
        config["d_model"].as_u64().unwrap_or(0) as usize,
        config["encoder_ffn_dim"].as_u64().unwrap_or(0) as usize,
    );
    for (key, value) in [
        ("d_model", D),
        ("encoder_ffn_dim", FFN),
        ("decoder_ffn_dim", FFN),
        ("encoder_layers", LAYERS),
        ("decoder_layers", LAYERS),
        ("encoder_attention_heads", 8),
        ("decoder_attention_heads", 8),
    ] {
        config[key] = value.into();
    }
    std::fs::write(dir.join("config.json"), config.to_string())?;
    let device = candle_core::Device::Cpu;
    let small =
        candle_core::safetensors::load(Path::new(FIXTURE).join("model.safetensors"), &device)?;
    let mut tensors = std::collections::HashMap::new();
    for (name, tensor) in &small {
        // Layer 0's tensors stand for every layer; the other tiny layers are dropped.
        if name.contains(".layers.") && !name.contains(".layers.0.") {
            continue;
        }
        let dims: Vec<usize> = tensor
            .dims()
            .iter()
            .map(|&d| {
                if d == tiny.0 {
                    D
                } else if d == tiny.1 {
                    FFN
                } else {
                    d
                }
            })
            .collect();
        let copies: Vec<String> = if name.contains(".layers.0.") {
            (0..LAYERS)
                .map(|l| name.replace(".layers.0.", &format!(".layers.{l}.")))
                .collect()
        } else {
            vec![name.clone()]
        };
        for copy in copies {
            let value = if name.ends_with("layer_norm.weight") {
                candle_core::Tensor::ones(dims.as_slice(), candle_core::DType::F32, &device)?
            } else if name.ends_with("bias") {
                candle_core::Tensor::zeros(dims.as_slice(), candle_core::DType::F32, &device)?
            } else {
                candle_core::Tensor::randn(0f32, 0.05, dims.as_slice(), &device)?
            };
            tensors.insert(copy, value);
        }
    }
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors"))?;
    Ok(saar::model::resolve(
        &ModelSpec::parse(&dir.to_string_lossy())?,
        &HubSettings::from_env(),
    )?)
}

/// An article of 6 to 11 sentences in two or three paragraphs, different for each `i`.
fn article(i: usize) -> String {
    let sentences = 6 + i % 6;
    let mut text = String::new();
    for s in 0..sentences {
        text.push_str(HINDI_SENTENCES[(i * 7 + s * 3) % HINDI_SENTENCES.len()]);
        text.push_str(if s % 4 == 3 { "\n\n" } else { " " });
    }
    text
}

fn main() -> AnyResult<()> {
    // `cargo bench` passes `--bench`; only plain words are ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let documents: usize = args.first().map_or(Ok(16), |n| n.parse())?;
    let (task, marian) = match args.get(1).map(String::as_str) {
        Some("both") => (BatchTask::Both, false),
        None | Some("summarize") => (BatchTask::Summarize, false),
        Some("translate") => (BatchTask::Translate, false),
        Some("marian") => (BatchTask::Translate, true),
        Some(other) => return Err(format!("unknown task {other}").into()),
    };
    let tmp = tempfile::tempdir()?;
    let placement = Placement {
        device: candle_core::Device::Cpu,
        dtype: None,
    };
    let files = if marian {
        wide_marian(&tmp.path().join("marian"))?
    } else {
        llm_files(&tmp.path().join("model"))?
    };
    let mut model = Model::load(files, &placement, TaskPrompts::embedded())?;
    let corpus = tmp.path().join("corpus.jsonl");
    let lines: String = (0..documents)
        .map(|i| {
            serde_json::json!({"id": format!("doc-{i}"), "text": article(i)}).to_string() + "\n"
        })
        .collect();
    std::fs::write(&corpus, lines)?;
    let docs = batch::discover(&[corpus], &mut std::io::empty())?;
    let out_path: PathBuf = tmp.path().join("out.jsonl");
    let (output, mut resumed) = BatchOutput::open(&out_path, true)?;
    let job = BatchJob {
        task,
        clean: true,
        settings: TaskSettings {
            length: Length::Short,
            ..TaskSettings::new(greedy_settings(32))
        },
        retry_failed: false,
    };
    let plan = BatchPlan::new(job, ModelIdentity::of_model(&model))?;

    let started = Instant::now();
    let pending = plan.pending(&docs, &mut resumed.done);
    let mut sink = TimedOutput { output, secs: 0.0 };
    let tally = plan.run(
        &mut model,
        &pending.todo,
        &mut resumed,
        &mut sink,
        &mut |event| {
            if let BatchEvent::Done { id, error, .. } = event {
                eprintln!(
                    "  {id} done{}",
                    error.map_or(String::new(), |e| format!(": {e}"))
                );
            }
        },
    )?;
    let wall = started.elapsed().as_secs_f64();

    let records = batch::read_records(&out_path)?;
    let sum = |field: &str| -> f64 { records.iter().filter_map(|r| r[field].as_f64()).sum() };
    let model_secs = sum("prefill_secs") + sum("decode_secs");
    let elapsed = sum("elapsed_secs");
    let percent = |secs: f64| 100.0 * secs / wall;
    println!(
        "batch_overhead: {} documents ({} ok, {} failed), {} task {}, {} generated tokens, {} model calls",
        records.len(),
        tally.done,
        tally.failed,
        if marian { "Marian" } else { "LLM" },
        task.name(),
        tally.generated_tokens,
        sum("calls")
    );
    println!("  wall              {wall:8.3} s");
    println!("  model             {model_secs:8.3} s  (sum of prefill_secs + decode_secs)");
    println!(
        "  overhead          {:8.3} s  {:5.2} %  (target < 3 %)",
        wall - model_secs,
        percent(wall - model_secs)
    );
    println!(
        "    in documents    {:8.3} s  {:5.2} %  (preparing, prompts, tokenizing)",
        elapsed - model_secs,
        percent(elapsed - model_secs)
    );
    println!(
        "    between         {:8.3} s  {:5.2} %  (reading, hashing, records)",
        wall - elapsed,
        percent(wall - elapsed)
    );
    println!(
        "      output writes {:8.3} s  {:5.2} %  (write + fsync, {:.2} ms each)",
        sink.secs,
        percent(sink.secs),
        1000.0 * sink.secs / records.len().max(1) as f64
    );
    Ok(())
}

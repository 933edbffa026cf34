//! Run overhead of `saar batch`: a generated corpus through the batch driver (the
//! library's `BatchPlan::run`, what the CLI runs, with the real fsynced output file)
//! against the model time its records report. Target: under 3% of the wall time.
//!
//! ```text
//! cargo bench --bench batch_overhead              # 16 documents, task summarize
//! cargo bench --bench batch_overhead -- 8 translate
//! ```
//! The model is a random-weight Qwen3-style model from `saar::synth`, 512 wide and 8
//! layers deep: small enough to run in seconds on a CPU, big enough that a document
//! takes as long as with a small real model. The figures printed are:
//! - wall: the whole run after the model is loaded (reading, preparing, prompting,
//!   generating, writing);
//! - model: the sum of every record's `prefill_secs + decode_secs`;
//! - in documents: the sum of records' `elapsed_secs` minus model time (text
//!   preparation, prompt rendering, tokenization, detokenization);
//! - between documents: the rest (reading the next document, hashing, the JSON record,
//!   write + fsync), of which the output writes are timed separately.

use std::path::PathBuf;
use std::time::Instant;

use saar::engine::marian::MarianSettings;
use saar::engine::Placement;
use saar::model::{HubSettings, ModelSpec};
use saar::prompt::{Lang, Length, TaskPrompts};
use saar::synth::sample_text::HINDI_SENTENCES;
use saar::synth::{write_safetensors_model, Arch, ModelTemplate, Shape};
use saar::task::batch::{
    self, BatchEvent, BatchJob, BatchModel, BatchOutput, BatchPlan, BatchTask, ModelIdentity,
    RecordSink,
};
use saar::task::compare::greedy_settings;
use saar::task::{LlmSession, SummarizeSettings};
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
    let task = match args.get(1).map(String::as_str) {
        Some("both") => BatchTask::Both,
        None | Some("summarize") => BatchTask::Summarize,
        Some("translate") => BatchTask::Translate,
        Some(other) => return Err(format!("unknown task {other}").into()),
    };
    let tmp = tempfile::tempdir()?;
    let shape = Shape {
        hidden: 512,
        layers: 8,
        heads: 8,
        kv_heads: 4,
        head_dim: 64,
        ffn: 1536,
        ..Shape::tiny(Arch::Qwen3)
    };
    let model_dir = tmp.path().join("model");
    let template = ModelTemplate::simple(shape.arch.family());
    write_safetensors_model(&model_dir, &shape, candle_core::DType::F32, 7, &template)?;
    let spec = ModelSpec::parse(&model_dir.to_string_lossy())?;
    let files = saar::model::resolve(&spec, &HubSettings::from_env())?;
    let placement = Placement {
        device: candle_core::Device::Cpu,
        dtype: None,
    };
    let mut session = LlmSession::load(files, &placement, TaskPrompts::embedded())?;

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
        summarize: SummarizeSettings {
            lang: Lang::En,
            length: Length::Short,
            generation: greedy_settings(32),
        },
        marian: MarianSettings::default(),
        retry_failed: false,
    };
    let plan = BatchPlan::new(job, ModelIdentity::of_session(&session))?;

    let started = Instant::now();
    let pending = plan.pending(&docs, &mut resumed.done);
    let mut sink = TimedOutput { output, secs: 0.0 };
    let tally = plan.run(
        BatchModel::Llm(&mut session),
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
    let model = sum("prefill_secs") + sum("decode_secs");
    let elapsed = sum("elapsed_secs");
    let percent = |secs: f64| 100.0 * secs / wall;
    println!(
        "batch_overhead: {} documents ({} ok, {} failed), task {}, {} generated tokens, {} model calls",
        records.len(),
        tally.done,
        tally.failed,
        task.name(),
        tally.generated_tokens,
        sum("calls")
    );
    println!("  wall              {wall:8.3} s");
    println!("  model             {model:8.3} s  (sum of prefill_secs + decode_secs)");
    println!(
        "  overhead          {:8.3} s  {:5.2} %  (target < 3 %)",
        wall - model,
        percent(wall - model)
    );
    println!(
        "    in documents    {:8.3} s  {:5.2} %  (preparing, prompts, tokenizing)",
        elapsed - model,
        percent(elapsed - model)
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

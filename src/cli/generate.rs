//! `saar generate`: raw continuation of a text, with no chat template and no task
//! prompt. What base models (Gemma 3 270M) need, and what a comparison with
//! llama.cpp's `llama-simple` needs: the prompt is encoded with the tokenizer's own
//! BOS rule and fed as it is.

use std::process::ExitCode;

use clap::Args;
use serde_json::Value;

use saar::task::{check_supports, json_fields, TaskKind};

use super::llm::{
    load_model, print_json, print_stats, resolve_verbose, with_model_defaults, StdoutSink,
};
use super::options::{
    checked, GenerationOptions, ModelOptions, OutputFormat, OutputOptions, RuntimeOptions,
};
use super::tokenize::read_text;

/// Continue a text with a model, as it is (no chat template).
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The text to continue, byte for byte: a UTF-8 file, or `-` for standard input.
    #[arg(value_name = "FILE")]
    pub input: std::path::PathBuf,
    #[command(flatten)]
    pub model: ModelOptions,
    #[command(flatten)]
    pub runtime: RuntimeOptions,
    #[command(flatten)]
    pub generation: GenerationOptions,
    #[command(flatten)]
    pub output: OutputOptions,
}

pub fn run(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let verbose = args.output.verbose;
    let settings = checked(args.generation.task_settings())?;
    let text = read_text(&args.input)?;
    if text.is_empty() {
        anyhow::bail!("the text to continue is empty; give generate some text");
    }
    let files = resolve_verbose(&args.model, verbose)?;
    check_supports(&files, TaskKind::Complete)?;
    let settings = with_model_defaults(&args.generation, &files, settings)?;
    let mut model = load_model(files, &args.model, &args.runtime.placement()?)?;
    let json = args.output.format == OutputFormat::Json;
    let mut sink = StdoutSink::new(!json, verbose);
    let done = model.complete(&text, &settings, &mut |piece| {
        sink.event(saar::task::Event::Output(piece))
    })?;
    sink.finish()?;
    if json {
        let mut record = serde_json::Map::new();
        record.insert("task".into(), "generate".into());
        record.insert("output".into(), done.text.clone().into());
        record.insert("prompt_ids".into(), done.prompt_ids.clone().into());
        record.insert("output_ids".into(), done.output_ids.clone().into());
        record.insert("finish".into(), serde_json::to_value(done.finish)?);
        record.extend(json_fields(&model.stamp()));
        record.extend(json_fields(&done.usage));
        print_json(&Value::Object(record))?;
    }
    if args.output.stats {
        print_stats(&done.usage);
    }
    Ok(ExitCode::SUCCESS)
}

//! `saar generate`: raw continuation of a text, with no chat template and no task
//! prompt. What base models (Gemma 3 270M) need, and what a comparison with
//! llama.cpp's `llama-simple` needs: the prompt is encoded with the tokenizer's own
//! BOS rule and fed as it is.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde_json::Value;

use saar::engine::{self, generate};
use saar::model::tokenizer::ModelTokenizer;
use saar::task::{write_model_json, Usage};

use super::llm::{print_json, print_stats, resolve_verbose, StdoutSink};
use super::options::{
    GenerationOptions, ModelOptions, OutputFormat, OutputOptions, RuntimeOptions,
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
    let mut settings = args.generation.settings()?;
    let text = read_text(&args.input)?;
    if text.is_empty() {
        anyhow::bail!("the text to continue is empty; give generate some text");
    }
    let placement = args.runtime.placement()?;
    let files = resolve_verbose(&args.model, verbose)?;
    let tokenizer = ModelTokenizer::load(&files)?;
    settings.eos_token_ids = tokenizer.eos_token_ids().to_vec();
    let defaults = saar::model::GenerationDefaults::load(&files)?;
    args.generation
        .apply_model_defaults(&mut settings, &defaults);
    let prompt_ids = tokenizer.encode(&text, true)?;
    let mut model = engine::llm::load(&files, &placement)
        .with_context(|| format!("loading model `{}`", files.name))?;

    let json = args.output.format == OutputFormat::Json;
    let mut sink = StdoutSink::new(!json, verbose);
    let mut stream = tokenizer.stream();
    let mut output = String::new();
    let generation = generate(model.as_mut(), &prompt_ids, &settings, &mut |token| {
        if let Some(piece) = stream.push(token) {
            sink.event(saar::task::Event::Output(&piece));
            output.push_str(&piece);
        }
        true
    })?;
    if let Some(rest) = stream.finish() {
        sink.event(saar::task::Event::Output(&rest));
        output.push_str(&rest);
    }
    sink.finish()?;
    let usage = Usage {
        calls: 1,
        prompt_tokens: generation.prompt_tokens,
        generated_tokens: generation.tokens.len(),
        prefill_secs: generation.prefill_secs,
        decode_secs: generation.decode_secs,
    };
    if json {
        let mut record = serde_json::Map::new();
        record.insert("task".into(), "generate".into());
        record.insert("output".into(), output.into());
        record.insert("prompt_ids".into(), prompt_ids.into());
        record.insert("output_ids".into(), generation.tokens.clone().into());
        record.insert("stop".into(), serde_json::to_value(generation.stop)?);
        write_model_json(&mut record, &files, model.info(), None);
        usage.write_json(&mut record);
        print_json(&Value::Object(record))?;
    }
    if args.output.stats {
        print_stats(&usage);
    }
    Ok(ExitCode::SUCCESS)
}

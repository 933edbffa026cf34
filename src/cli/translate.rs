//! `saar translate`: one article in, its full English translation out, lines and
//! paragraphs kept. An instruct LLM translates chunk by chunk; a Marian (opus-mt)
//! model translates sentence by sentence in padded batches.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde_json::json;

use saar::engine::marian::{MarianSettings, MarianTranslator};
use saar::task;

use super::llm::{self, ArticleOptions, StdoutSink};
use super::options::{
    GenerationOptions, ModelOptions, OutputFormat, OutputOptions, RuntimeOptions,
};

/// Translate a Hindi news article into English.
#[derive(Debug, Args)]
pub struct TranslateArgs {
    #[command(flatten)]
    pub article: ArticleOptions,
    #[command(flatten)]
    pub model: ModelOptions,
    #[command(flatten)]
    pub runtime: RuntimeOptions,
    #[command(flatten)]
    pub generation: GenerationOptions,
    #[command(flatten)]
    pub mt: MtOptions,
    #[command(flatten)]
    pub output: OutputOptions,
}

/// Options of dedicated translation models (Marian / opus-mt, e.g. `-m opus-mt-hi-en`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Translation models (Marian)")]
pub struct MtOptions {
    /// Beam width; 1 is greedy. Default: the model's generation_config.json.
    #[arg(long)]
    pub beams: Option<usize>,
    /// Sentences translated together in one padded batch.
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
}

pub fn run(args: &TranslateArgs) -> anyhow::Result<ExitCode> {
    let verbose = args.output.verbose;
    let mut generation = args.generation.settings()?;
    if args.mt.batch_size == 0 || args.mt.beams == Some(0) {
        anyhow::bail!("--batch-size and --beams must be at least 1");
    }
    let prepared = args.article.read(verbose)?;
    let placement = args.runtime.placement()?;
    let files = llm::resolve_verbose(&args.model, verbose)?;
    let stream = args.output.format == OutputFormat::Text;
    let mut sink = StdoutSink::new(stream, verbose);
    let (translation, mut record) = if task::is_marian(&files) {
        let name = files.name.clone();
        let translator = MarianTranslator::load(&files, &placement)
            .with_context(|| format!("loading model `{name}`"))?;
        let settings = MarianSettings {
            beams: args.mt.beams,
            batch_size: args.mt.batch_size,
            ..MarianSettings::default()
        };
        let translation = task::translate_mt(&translator, &prepared.text, &settings, &mut |e| {
            sink.event(e)
        })?;
        let info = translator.info();
        let record = json!({
            "task": "translate", "output": translation.text, "model": files.name, "repo": files.repo,
            "revision": files.revision, "architecture": info.architecture, "device": info.device,
            "dtype": info.dtype, "prompt_tokens": translation.usage.prompt_tokens,
            "generated_tokens": translation.usage.generated_tokens, "decode_secs": translation.usage.decode_secs,
            "decode_tokens_per_sec": translation.usage.decode_tokens_per_sec(),
        });
        (translation, record)
    } else {
        let mut session = llm::load_session(files, &args.model, &placement)?;
        generation.eos_token_ids = session.tokenizer().eos_token_ids().to_vec();
        let defaults = saar::model::GenerationDefaults::load(session.files())?;
        args.generation
            .apply_model_defaults(&mut generation, &defaults);
        let translation = task::translate(&mut session, &prepared.text, &generation, &mut |e| {
            sink.event(e)
        })?;
        let record = llm::json_record(&session, "translate", &translation.text, &translation.usage);
        (translation, record)
    };
    sink.finish()?;
    if args.output.format == OutputFormat::Json {
        record["pieces"] = serde_json::to_value(&translation.pieces)?;
        record["removed_boilerplate"] = prepared.removed.len().into();
        llm::print_json(&record)?;
    }
    if args.output.stats {
        llm::print_stats(&translation.usage);
    }
    Ok(ExitCode::SUCCESS)
}

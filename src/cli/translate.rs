//! `saar translate`: one article in, its full English translation out, paragraphs kept.

use std::process::ExitCode;

use clap::Args;

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
    pub output: OutputOptions,
}

pub fn run(args: &TranslateArgs) -> anyhow::Result<ExitCode> {
    let verbose = args.output.verbose;
    let mut generation = args.generation.settings()?;
    let prepared = args.article.read(verbose)?;
    let mut session = llm::open_session(&args.model, &args.runtime, verbose)?;
    generation.eos_token_ids = session.tokenizer().eos_token_ids().to_vec();
    let stream = args.output.format == OutputFormat::Text;
    let mut sink = StdoutSink::new(stream, verbose);
    let translation = task::translate(&mut session, &prepared.text, &generation, &mut |e| {
        sink.event(e)
    })?;
    sink.finish()?;
    if args.output.format == OutputFormat::Json {
        let mut record =
            llm::json_record(&session, "translate", &translation.text, &translation.usage);
        record["pieces"] = serde_json::to_value(&translation.pieces)?;
        record["removed_boilerplate"] = prepared.removed.len().into();
        llm::print_json(&record)?;
    }
    if args.output.stats {
        llm::print_stats(&translation.usage);
    }
    Ok(ExitCode::SUCCESS)
}

//! `saar summarize`: one article in, an English (or Hindi) summary out.

use std::process::ExitCode;

use clap::{Args, ValueEnum};

use saar::prompt::{Lang as PromptLang, Length};
use saar::task::{self, SummarizeSettings};

use super::llm::{self, ArticleOptions, StdoutSink};
use super::options::{GenerationOptions, ModelOptions, OutputFormat, OutputOptions, RuntimeOptions};

/// Summarize a Hindi news article.
#[derive(Debug, Args)]
pub struct SummarizeArgs {
    #[command(flatten)]
    pub article: ArticleOptions,
    /// Language of the summary.
    #[arg(long, value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
    /// How long the summary should be.
    #[arg(long, value_enum, default_value_t = LengthArg::Medium)]
    pub length: LengthArg,
    #[command(flatten)]
    pub model: ModelOptions,
    #[command(flatten)]
    pub runtime: RuntimeOptions,
    #[command(flatten)]
    pub generation: GenerationOptions,
    #[command(flatten)]
    pub output: OutputOptions,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Lang {
    En,
    Hi,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LengthArg {
    Short,
    Medium,
    Long,
}

pub fn run(args: &SummarizeArgs) -> anyhow::Result<ExitCode> {
    let verbose = args.output.verbose;
    let prepared = args.article.read(verbose)?;
    let mut session = llm::open_session(&args.model, &args.runtime, verbose)?;
    let settings = SummarizeSettings {
        lang: match args.lang {
            Lang::En => PromptLang::En,
            Lang::Hi => PromptLang::Hi,
        },
        length: match args.length {
            LengthArg::Short => Length::Short,
            LengthArg::Medium => Length::Medium,
            LengthArg::Long => Length::Long,
        },
        generation: args.generation.settings(session.tokenizer().eos_token_ids().to_vec())?,
    };
    let stream = args.output.format == OutputFormat::Text;
    let mut sink = StdoutSink::new(stream, verbose);
    let summary = task::summarize(&mut session, &prepared.text, &settings, &mut |e| sink.event(e))?;
    sink.finish()?;
    if args.output.format == OutputFormat::Json {
        let mut record = llm::json_record(&session, "summarize", &summary.text, &summary.usage);
        record["chunks"] = summary.chunks.into();
        record["combine_rounds"] = summary.combine_rounds.into();
        record["removed_boilerplate"] = prepared.removed.len().into();
        llm::print_json(&record)?;
    }
    if args.output.stats {
        llm::print_stats(&summary.usage);
    }
    Ok(ExitCode::SUCCESS)
}

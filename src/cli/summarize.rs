//! `saar summarize`: one article in, an English (or Hindi) summary out.

use std::process::ExitCode;

use clap::{Args, ValueEnum};

use saar::prompt::{Lang as PromptLang, Length};
use saar::task::{self, SummarizeSettings};

use super::llm::{self, ArticleOptions, StdoutSink};
use super::options::{
    GenerationOptions, ModelOptions, OutputFormat, OutputOptions, RuntimeOptions,
};

/// Summarize a Hindi news article.
#[derive(Debug, Args)]
pub struct SummarizeArgs {
    #[command(flatten)]
    pub article: ArticleOptions,
    /// Language of the summary.
    #[arg(long, help_heading = "Summary", value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
    /// How long the summary should be.
    #[arg(long, help_heading = "Summary", value_enum, default_value_t = LengthArg::Medium)]
    pub length: LengthArg,
    /// Warn about numbers, dates and amounts in the summary that cannot be traced to
    /// the article (on stderr, or as `check` in JSON). The summary is never changed.
    #[arg(long, help_heading = "Summary")]
    pub check: bool,
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
    let mut generation = args.generation.settings()?;
    let prepared = args.article.read(verbose)?;
    let mut session = llm::open_session(&args.model, &args.runtime, verbose)?;
    generation.eos_token_ids = session.tokenizer().eos_token_ids().to_vec();
    let defaults = saar::model::GenerationDefaults::load(session.files())?;
    args.generation
        .apply_model_defaults(&mut generation, &defaults);
    let settings = SummarizeSettings {
        lang: args.lang.into(),
        length: args.length.into(),
        generation,
    };
    let stream = args.output.format == OutputFormat::Text;
    let mut sink = StdoutSink::new(stream, verbose);
    let summary = task::summarize(&mut session, &prepared.text, &settings, &mut |e| {
        sink.event(e)
    })?;
    sink.finish()?;
    if args.output.format == OutputFormat::Json {
        let mut record = llm::json_record(&session, "summarize", &summary.text, &summary.usage);
        record["chunks"] = summary.chunks.into();
        record["combine_rounds"] = summary.combine_rounds.into();
        record["removed_boilerplate"] = prepared.removed.len().into();
        if args.check {
            record["check"] =
                serde_json::to_value(saar::score::check_numbers(&prepared.text, &summary.text))?;
        }
        llm::print_json(&record)?;
    } else if args.check {
        for finding in saar::score::check_numbers(&prepared.text, &summary.text) {
            eprintln!("saar: check: {finding}");
        }
    }
    if args.output.stats {
        llm::print_stats(&summary.usage);
    }
    Ok(ExitCode::SUCCESS)
}

impl From<Lang> for PromptLang {
    fn from(lang: Lang) -> Self {
        match lang {
            Lang::En => PromptLang::En,
            Lang::Hi => PromptLang::Hi,
        }
    }
}

impl From<LengthArg> for Length {
    fn from(length: LengthArg) -> Self {
        match length {
            LengthArg::Short => Length::Short,
            LengthArg::Medium => Length::Medium,
            LengthArg::Long => Length::Long,
        }
    }
}

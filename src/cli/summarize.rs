//! `saar summarize`: one article in, an English (or Hindi) summary out.

use std::process::ExitCode;

use clap::{Args, ValueEnum};

use saar::prompt::{Lang as PromptLang, Length};
use saar::task::TaskSettings;

use super::batching::{self, BatchingOptions};
use super::llm::{self, ArticleOptions, ShowPromptOption, StdoutSink};
use super::options::{
    checked, GenerationOptions, ModelOptions, OutputFormat, OutputOptions, RuntimeOptions,
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
    pub chunks: MaxChunks,
    #[command(flatten)]
    pub show: ShowPromptOption,
    #[command(flatten)]
    pub model: ModelOptions,
    #[command(flatten)]
    pub batching: BatchingOptions,
    #[command(flatten)]
    pub runtime: RuntimeOptions,
    #[command(flatten)]
    pub generation: GenerationOptions,
    #[command(flatten)]
    pub output: OutputOptions,
}

/// How long a text a summary may take on.
#[derive(Debug, Clone, Args)]
pub struct MaxChunks {
    /// Refuse a text that needs more chunks than this (one model call each) before any
    /// model call.
    #[arg(long, help_heading = "Summary", value_name = "N",
          default_value_t = saar::task::defaults::MAX_CHUNKS)]
    pub max_chunks: usize,
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
    let settings = checked(TaskSettings {
        lang: args.lang.into(),
        length: args.length.into(),
        check: args.check,
        max_chunks: args.chunks.max_chunks,
        ..args.generation.task_settings()
    })?;
    let scheduler = args.batching.scheduler()?;
    let prepared = args.article.read(verbose)?;
    let files = llm::resolve_verbose(&args.model, verbose)?;
    saar::task::check_supports(&files, saar::task::TaskKind::Summarize)?;
    let settings = llm::with_model_defaults(&args.generation, &files, settings)?;
    if args.show.show_prompt {
        let placement = args.runtime.placement()?;
        let (task, format) = (saar::task::TaskKind::Summarize, args.output.format);
        return llm::show_prompt(
            task,
            files,
            &args.model,
            &placement,
            &prepared,
            &settings,
            format,
        );
    }
    let mut model = llm::load_model(files, &args.model, &args.runtime.placement()?)?;
    let chunks = chunks(&model, &prepared, &settings)?;
    if chunks > 1 {
        // A long article's chunks are decoded together; one that fits needs no batch.
        model = batching::share(model, scheduler)?;
        if verbose && model.parallel() > 1 {
            let parallel = model.parallel();
            eprintln!("saar: {chunks} chunks, decoded up to {parallel} at a time (--parallel)");
        }
    }
    let stream = args.output.format == OutputFormat::Text;
    let mut sink = StdoutSink::new(stream, verbose);
    let record = model.summarize(&prepared, &settings, &mut |e| sink.event(e))?;
    sink.finish()?;
    if args.output.format == OutputFormat::Json {
        llm::print_json(&record)?;
    } else {
        for finding in record.check.iter().flatten() {
            eprintln!("saar: check: {finding}");
        }
    }
    if args.output.stats {
        llm::print_stats(&record.usage);
    }
    Ok(ExitCode::SUCCESS)
}

/// How many chunks summarizing `article` takes on `model`.
fn chunks(
    model: &saar::task::Model,
    article: &saar::text::Prepared,
    settings: &TaskSettings,
) -> anyhow::Result<usize> {
    let (budget, counter) = model.summary_budget(settings)?;
    if budget == 0 {
        return Ok(1); // the summary itself says the context is too small
    }
    Ok(saar::task::summary_chunks(&article.text, counter, budget)?.len())
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

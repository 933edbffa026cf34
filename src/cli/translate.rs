//! `saar translate`: one article in, its full English translation out, lines and
//! paragraphs kept. An instruct LLM translates chunk by chunk; a Marian (opus-mt)
//! model translates sentence by sentence in padded batches.

use std::process::ExitCode;

use clap::Args;

use saar::task::{TaskKind, TaskSettings};

use super::llm::{self, ArticleOptions, ShowPromptOption, StdoutSink};
use super::options::{
    checked, GenerationOptions, ModelOptions, OutputFormat, OutputOptions, RuntimeOptions,
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
    pub show: ShowPromptOption,
    #[command(flatten)]
    pub output: OutputOptions,
}

/// Options of dedicated translation models (Marian / opus-mt, e.g. `-m opus-mt-hi-en`);
/// `--max-new-tokens` bounds each sentence's translation.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Translation models (Marian)")]
pub struct MtOptions {
    /// Beam width; 1 is greedy. Default: the model's generation_config.json.
    #[arg(long)]
    pub beams: Option<usize>,
    /// Sentences translated together in one padded batch.
    #[arg(long, default_value_t = saar::task::defaults::BATCH_SIZE)]
    pub batch_size: usize,
}

impl MtOptions {
    /// The flags applied to `settings`.
    pub fn apply(&self, settings: TaskSettings) -> TaskSettings {
        TaskSettings {
            beams: self.beams,
            batch_size: self.batch_size,
            ..settings
        }
    }
}

pub fn run(args: &TranslateArgs) -> anyhow::Result<ExitCode> {
    let verbose = args.output.verbose;
    let settings = checked(args.mt.apply(args.generation.task_settings()))?;
    let prepared = args.article.read(verbose)?;
    let files = llm::resolve_verbose_for(&args.model, TaskKind::Translate, verbose)?;
    saar::task::check_supports(&files, TaskKind::Translate)?;
    let settings = llm::with_model_defaults(&args.generation, &files, settings)?;
    if args.show.show_prompt {
        let placement = args.runtime.placement()?;
        let (task, format) = (saar::task::TaskKind::Translate, args.output.format);
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
    let stream = args.output.format == OutputFormat::Text;
    let mut sink = StdoutSink::new(stream, verbose);
    let record = model.translate(&prepared, &settings, &mut |e| sink.event(e))?;
    sink.finish()?;
    if args.output.format == OutputFormat::Json {
        llm::print_json(&record)?;
    }
    if args.output.stats {
        llm::print_stats(&record.usage);
    }
    Ok(ExitCode::SUCCESS)
}

//! `saar compare`: several models over the same articles, one model loaded at a time;
//! prints a Markdown table of per-model figures and writes a self-contained HTML report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use saar::task::compare::{self, CompareTask, Comparison, Progress};
use saar::task::SummarizeSettings;

use super::llm;
use super::options::{GenerationOptions, ModelOptions, RuntimeOptions};
use super::summarize::LengthArg;

/// Run several models over the same articles and compare outputs, speeds and scores.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Articles: UTF-8 text files, or folders whose *.txt files are taken in name order.
    #[arg(value_name = "CORPUS", required = true)]
    pub corpus: Vec<PathBuf>,
    /// A model to compare (preset, hub id, local directory or .gguf); give two or more.
    #[arg(long = "model", short = 'm', value_name = "MODEL", required = true)]
    pub models: Vec<String>,
    /// References: JSONL `{"id", "text"}` (id = article file name without .txt), or
    /// plain text with one reference per article in order. Adds BLEU, chrF, chrF++, ROUGE-L.
    #[arg(long, value_name = "FILE")]
    pub refs: Option<PathBuf>,
    /// What every model does with each article.
    #[arg(long, value_enum, default_value_t = TaskArg::Summarize)]
    pub task: TaskArg,
    /// How long summaries should be (summarize only).
    #[arg(long, value_enum, default_value_t = LengthArg::Medium)]
    pub length: LengthArg,
    /// Where to write the HTML report.
    #[arg(long, value_name = "FILE")]
    pub report: PathBuf,
    /// Never use the network: load from the Hugging Face cache only.
    #[arg(long)]
    pub offline: bool,
    /// A directory of prompt templates that override the built-in ones.
    #[arg(long, env = "SAAR_PROMPTS", value_name = "DIR")]
    pub prompts: Option<PathBuf>,
    #[command(flatten)]
    pub runtime: RuntimeOptions,
    #[command(flatten)]
    pub generation: GenerationOptions,
    /// Say on stderr which model and article is running.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    Summarize,
    Translate,
}

pub fn run(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    let generation = args.generation.settings()?;
    let task = match args.task {
        TaskArg::Summarize => CompareTask::Summarize(SummarizeSettings {
            lang: saar::prompt::Lang::En,
            length: args.length.into(),
            generation,
        }),
        TaskArg::Translate => CompareTask::Translate(generation),
    };
    let mut documents = compare::read_documents(&args.corpus)?;
    if let Some(refs) = &args.refs {
        compare::attach_references(&mut documents, refs)?;
    }
    let mut runs = Vec::with_capacity(args.models.len());
    for (m, name) in args.models.iter().enumerate() {
        eprintln!("saar: model {}/{}: {name}", m + 1, args.models.len());
        let model = ModelOptions {
            model: Some(name.clone()),
            offline: args.offline,
            prompts: args.prompts.clone(),
        };
        // The session drops at the end of each turn, so one model is in memory at a time.
        let mut session = llm::open_session(&model, &args.runtime, args.verbose)?;
        let run = compare::run_model(&mut session, &documents, &task, &mut |event| {
            let Progress::Document { id, index, total } = event;
            if args.verbose {
                eprintln!("saar: {name}: article {}/{total}: {id}", index + 1);
            }
        })
        .with_context(|| format!("running model `{name}`"))?;
        runs.push(run);
    }
    let comparison = Comparison::new(&task, documents, runs);
    std::fs::write(&args.report, comparison.html_report())
        .with_context(|| format!("cannot write the report to {}", args.report.display()))?;
    print!("{}", comparison.markdown_table());
    eprintln!("saar: report written to {}", args.report.display());
    Ok(ExitCode::SUCCESS)
}

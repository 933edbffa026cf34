//! `saar compare`: several models over the same articles, one model loaded at a time;
//! prints a Markdown table of per-model figures and writes a self-contained HTML report.
//! Each model's run is kept as a batch output file, so a rerun only runs what is new.
//! An LLM has `--parallel` articles in flight, decoding together, as `saar batch` does.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use saar::task::compare::{self, CompareTask, Comparison, Progress, RunCache};
use saar::task::TaskSettings;

use super::batching::BatchingOptions;
use super::llm;
use super::options::{GenerationOptions, ModelOptions, RuntimeOptions};
use super::summarize::LengthArg;

/// Run several models over the same articles and compare outputs, speeds and scores.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Articles: UTF-8 text files, or folders whose *.txt files are taken in name order.
    #[arg(value_name = "CORPUS", required = true)]
    pub corpus: Vec<PathBuf>,
    /// A model to compare (preset, hub id, local directory or .gguf; a Marian model for
    /// --task translate); repeat it for each model. One model alone also runs: its
    /// table, scores and report.
    #[arg(long = "model", short = 'm', value_name = "MODEL", required = true)]
    pub models: Vec<String>,
    /// References: JSONL `{"id", "text"}` (id = the article's id, as `saar batch` gives
    /// it: `name.txt` in a folder, or the path given; `name` alone also matches), or
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
    pub batching: BatchingOptions,
    #[command(flatten)]
    pub generation: GenerationOptions,
    /// Where each model's run is kept (one batch output file per model, task and
    /// settings), so a rerun only runs new models and articles. Default: the report's
    /// path with the extension `.runs`.
    #[arg(long, value_name = "DIR", help_heading = "Runs")]
    pub runs: Option<PathBuf>,
    /// Run every model again instead of reusing earlier runs.
    #[arg(long, help_heading = "Runs")]
    pub force: bool,
    /// Say on stderr the model files, the thread count, and which model and article is
    /// running.
    #[arg(long, short = 'v', help_heading = "Output")]
    pub verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    Summarize,
    Translate,
}

pub fn run(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    let generation = super::options::checked(args.generation.task_settings())?.generation;
    let task = match args.task {
        TaskArg::Summarize => CompareTask::Summarize(TaskSettings {
            length: args.length.into(),
            ..TaskSettings::new(generation)
        }),
        TaskArg::Translate => CompareTask::Translate(generation),
    };
    let mut documents = compare::read_documents(&args.corpus)?;
    if let Some(refs) = &args.refs {
        compare::attach_references(&mut documents, refs)?;
    }
    let placement = args.runtime.placement()?;
    let cache = RunCache {
        dir: args
            .runs
            .clone()
            .unwrap_or_else(|| default_runs_dir(&args.report)),
        force: args.force,
        batching: args.batching.scheduler()?,
    };
    // Every model is resolved and checked against the task before any runs.
    let mut resolved = Vec::with_capacity(args.models.len());
    for name in &args.models {
        let model = ModelOptions {
            model: Some(name.clone()),
            offline: args.offline,
            prompts: args.prompts.clone(),
            chat_template: None,
        };
        let files = llm::resolve_verbose(&model, args.verbose)?;
        compare::check_model(&files, &task)?;
        resolved.push((name, files, model));
    }
    let mut runs = Vec::with_capacity(args.models.len());
    for (m, (name, files, model)) in resolved.into_iter().enumerate() {
        eprintln!("saar: model {}/{}: {name}", m + 1, args.models.len());
        let prompts = model.task_prompts()?;
        // A model is loaded only when some article is not in its earlier run, and is
        // dropped before the next one loads: one model in memory at a time.
        let cached = compare::run_cached(
            files,
            &placement,
            prompts,
            &documents,
            &task,
            &cache,
            &mut |event| {
                let Progress::Document { id, index, total } = event;
                if args.verbose {
                    eprintln!("saar: {name}: article {}/{total}: {id}", index + 1);
                }
            },
        )
        .with_context(|| format!("running model `{name}`"))?;
        eprintln!(
            "saar: {name}: {} article(s) run, {} reused from {}",
            cached.ran,
            cached.reused,
            cached.path.display()
        );
        runs.push(cached.run);
    }
    let comparison = Comparison::new(&task, documents, runs);
    std::fs::write(&args.report, comparison.html_report())
        .with_context(|| format!("cannot write the report to {}", args.report.display()))?;
    print!("{}", comparison.markdown_table());
    eprintln!("saar: report written to {}", args.report.display());
    Ok(ExitCode::SUCCESS)
}

/// `report.html` keeps its runs in `report.runs/` beside it.
fn default_runs_dir(report: &Path) -> PathBuf {
    report.with_extension("runs")
}

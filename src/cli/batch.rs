//! `saar batch`: many documents through one loaded model (an LLM, or a Marian model for
//! translation), one JSON record per document appended to `--out`. A bad document gets
//! an error record and the run goes on; a rerun of the same command skips what is
//! done, so a crash costs one document. An LLM has `--parallel` documents in flight,
//! decoding together; records still come in input order. The driver is the library's
//! [`saar::task::batch::BatchPlan::run`]; this file is options and progress.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use saar::task::batch::{
    self, BatchEvent, BatchJob, BatchOutput, BatchPlan, BatchTask, Document, ModelIdentity, Shard,
};
use saar::task::TaskSettings;

use super::batch_progress::Progress;
use super::batching::{self, BatchingOptions};
use super::llm;
use super::options::{GenerationOptions, ModelOptions, RuntimeOptions};
use super::summarize::{Lang, LengthArg, MaxChunks};
use super::translate::MtOptions;

/// Summarize and/or translate a corpus into a JSON-lines file; resumable and shardable.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Text files, directories (every *.txt and *.md below them), JSON-lines files of
    /// {"id", "text", …}, or `-` for JSON lines on standard input.
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<PathBuf>,
    /// What to compute for each document.
    #[arg(long, help_heading = "Batch", value_enum)]
    pub task: TaskArg,
    /// The JSON-lines file records are appended to; `<OUT>.lock` guards it.
    #[arg(long, short = 'o', help_heading = "Batch", value_name = "OUT")]
    pub out: PathBuf,
    /// Redo every document: empty the output first instead of resuming.
    #[arg(long, help_heading = "Batch")]
    pub force: bool,
    /// Redo the documents an earlier run recorded as failed (their new records are
    /// appended; the later line for an id wins). Without it, failures are not retried.
    #[arg(long, help_heading = "Batch")]
    pub retry_failed: bool,
    /// Process only shard K of N (K from 0), chosen by a hash of each document id.
    #[arg(long, help_heading = "Batch", value_name = "K/N")]
    pub shard: Option<Shard>,
    /// No progress bar or log lines; only the final summary line.
    #[arg(long, short = 'q', help_heading = "Batch")]
    pub quiet: bool,
    /// Keep scraped-news boilerplate (browser notices, "also read" links, tweet footers).
    #[arg(long, help_heading = "Batch")]
    pub keep_boilerplate: bool,
    /// Language of the summaries.
    #[arg(long, help_heading = "Summary", value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
    /// How long the summaries should be.
    #[arg(long, help_heading = "Summary", value_enum, default_value_t = LengthArg::Medium)]
    pub length: LengthArg,
    #[command(flatten)]
    pub chunks: MaxChunks,
    #[command(flatten)]
    pub model: ModelOptions,
    #[command(flatten)]
    pub runtime: RuntimeOptions,
    #[command(flatten)]
    pub batching: BatchingOptions,
    #[command(flatten)]
    pub generation: GenerationOptions,
    #[command(flatten)]
    pub mt: MtOptions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    Summarize,
    Translate,
    Both,
}

impl From<TaskArg> for BatchTask {
    fn from(task: TaskArg) -> Self {
        match task {
            TaskArg::Summarize => BatchTask::Summarize,
            TaskArg::Translate => BatchTask::Translate,
            TaskArg::Both => BatchTask::Both,
        }
    }
}

pub fn run(args: &BatchArgs) -> anyhow::Result<ExitCode> {
    let settings = args.mt.apply(TaskSettings {
        lang: args.lang.into(),
        length: args.length.into(),
        max_chunks: args.chunks.max_chunks,
        ..args.generation.task_settings()
    });
    let job = BatchJob {
        task: args.task.into(),
        clean: !args.keep_boilerplate,
        settings: super::options::checked(settings)?,
        retry_failed: args.retry_failed,
    };
    let placement = args.runtime.placement()?;
    let scheduler = args.batching.scheduler()?;
    // Translating alone defaults to the translation model; a summary needs an LLM.
    let default_for = match job.task {
        BatchTask::Translate => saar::task::TaskKind::Translate,
        _ => saar::task::TaskKind::Summarize,
    };
    let files = llm::resolve_verbose_for(&args.model, default_for, false)?;
    let job = BatchJob {
        settings: llm::with_model_defaults(&args.generation, &files, job.settings)?,
        ..job
    };
    // A task the model cannot do is refused before anything is opened or loaded.
    let prompts = args.model.task_prompts()?;
    let plan = BatchPlan::new(job, ModelIdentity::of_files(&files, &prompts))?;
    let (mut output, mut resumed) = BatchOutput::open(&args.out, args.force)?;
    let documents: Vec<Document> = batch::discover(&args.inputs, &mut std::io::stdin().lock())?
        .into_iter()
        .filter(|doc| args.shard.is_none_or(|shard| shard.contains(&doc.id)))
        .collect();
    // Ctrl-C from here on says how far the run got; every record is already on disk.
    let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    super::interrupt::exit_on_ctrl_c(written.clone())?;
    let (pause_before, mut begun) = (super::interrupt::pause_before(), 0);
    let name = files.name.clone();
    let model = saar::task::Model::load(files, &placement, prompts)
        .with_context(|| format!("loading model `{name}`"))?;
    let mut model = batching::share(model, scheduler)?;
    // Settle what is done first, so progress and its ETA count only the work left.
    let pending = plan.pending(&documents, &mut resumed.done);
    let mut progress = Progress::new(pending.todo.len(), args.quiet);
    let duplicates = batch::duplicate_ids(&documents);
    if let Some(first) = duplicates.first() {
        progress.note(&format!(
            "saar: warning: {} document id(s) appear more than once (first: {first}); give each document its own id, or results cannot be told apart",
            duplicates.len()
        ));
    }
    if resumed.truncated_bytes > 0 && !args.quiet {
        progress.note(&format!(
            "saar: cut a torn last record ({} bytes) from {}",
            resumed.truncated_bytes,
            args.out.display()
        ));
    }
    let tally = plan.run(
        &mut model,
        &pending.todo,
        &mut resumed,
        &mut output,
        &mut |event| match event {
            BatchEvent::Begin { id } => {
                begun += 1;
                if pause_before == Some(begun) {
                    super::interrupt::pause(begun);
                }
                progress.begin(id)
            }
            BatchEvent::Done {
                id,
                generated_tokens,
                error,
            } => {
                written.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if let (Some(error), false) = (error, args.quiet) {
                    progress.note(&format!("saar: {id}: {error}"));
                }
                progress.end(id, generated_tokens);
            }
            BatchEvent::Skipped { id } => progress.end(id, 0),
        },
    )?;
    progress.finish();
    eprintln!(
        "saar: batch done {}, skipped {}, failed {}{}; {} tokens at {:.1} tokens/s -> {}",
        tally.done,
        pending.skipped + tally.skipped,
        tally.failed,
        match pending.failed_before {
            0 => String::new(),
            n => format!(" (+{n} failed in an earlier run)"),
        },
        progress.generated_tokens(),
        progress.tokens_per_sec(),
        args.out.display()
    );
    Ok(if tally.failed + pending.failed_before > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

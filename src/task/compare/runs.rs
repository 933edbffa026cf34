//! Running one model over the comparison's documents through the batch machinery
//! ([`BatchPlan::run`]): in memory ([`run_model`]), or kept as a batch output file per
//! (model, task, settings) so that a rerun only runs what is new ([`run_cached`]).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{
    score_outputs, CompareError, CompareTask, Document, DocumentOutput, ModelRun, Progress,
};
use crate::engine::{Placement, SchedulerOptions};
use crate::model::ModelFiles;
use crate::prompt::TaskPrompts;
use crate::score::check_numbers;
use crate::task::batch::{
    self, BatchEvent, BatchJob, BatchOutput, BatchPlan, BatchTask, DocumentBody, ModelIdentity,
    RecordKey, RecordSink, Resumed,
};
use crate::task::{Model, TaskSettings, Usage};

/// Where runs are kept, whether to redo them, and how an LLM runs its documents.
#[derive(Debug, Clone)]
pub struct RunCache {
    pub dir: PathBuf,
    /// Redo every document instead of reusing earlier records.
    pub force: bool,
    /// Documents an LLM decodes together (see [`Model::share`]); `None`: one at a time.
    pub batching: Option<SchedulerOptions>,
}

/// A model's run, and how much of it came from earlier runs.
#[derive(Debug, Clone)]
pub struct CachedRun {
    pub run: ModelRun,
    /// Documents whose outputs were reused, and documents the model ran on now.
    pub reused: usize,
    pub ran: usize,
    /// The batch output file holding the run.
    pub path: PathBuf,
}

/// The batch job a comparison task is. Documents are already prepared, so nothing more
/// is cleaned; earlier failures are retried, since a comparison needs every output.
fn job(task: &CompareTask) -> BatchJob {
    let (task, settings) = match task {
        CompareTask::Summarize(settings) => (BatchTask::Summarize, settings.clone()),
        CompareTask::Translate(generation) => {
            (BatchTask::Translate, TaskSettings::new(generation.clone()))
        }
    };
    BatchJob {
        task,
        clean: false,
        settings,
        retry_failed: true,
    }
}

fn batch_documents(documents: &[Document]) -> Vec<batch::Document> {
    documents
        .iter()
        .map(|d| batch::Document {
            id: d.id.clone(),
            source: d.id.clone(),
            body: DocumentBody::Inline(d.source.clone()),
            extra: Default::default(),
        })
        .collect()
}

/// Runs `task` with the loaded `session` over every document (no cache), checks each
/// output's numbers against its source, and scores the outputs when every document has
/// a reference. The model's own end-of-sequence tokens stop generation.
pub fn run_model(
    model: &mut Model,
    documents: &[Document],
    task: &CompareTask,
    progress: &mut dyn FnMut(Progress),
) -> Result<ModelRun, CompareError> {
    let plan = BatchPlan::new(job(task), ModelIdentity::of_model(model))?;
    let docs = batch_documents(documents);
    let todo: Vec<&batch::Document> = docs.iter().collect();
    let mut records: Vec<Value> = Vec::new();
    plan.run(
        model,
        &todo,
        &mut Resumed::default(),
        &mut records,
        &mut progress_events(todo.len(), progress),
    )?;
    model_run(&plan, documents, &docs, &records)
}

/// Refuses a model that cannot do `task` (a Marian model asked for summaries), so a
/// caller can check every model before any runs.
pub fn check_model(files: &ModelFiles, task: &CompareTask) -> Result<(), CompareError> {
    BatchPlan::new(
        job(task),
        ModelIdentity::of_files(files, &TaskPrompts::embedded()),
    )?;
    Ok(())
}

/// Runs `task` with the model in `files` over `documents`, keeping the run in a batch
/// output file under `cache.dir`. Documents an earlier run already did with the same
/// model and settings are reused; the model is loaded only when some are left.
pub fn run_cached(
    files: ModelFiles,
    placement: &Placement,
    prompts: TaskPrompts,
    documents: &[Document],
    task: &CompareTask,
    cache: &RunCache,
    progress: &mut dyn FnMut(Progress),
) -> Result<CachedRun, CompareError> {
    let plan = BatchPlan::new(job(task), ModelIdentity::of_files(&files, &prompts))?;
    let path = cache.dir.join(run_file_name(&plan));
    std::fs::create_dir_all(&cache.dir).map_err(|source| batch::BatchError::Write {
        path: cache.dir.clone(),
        error: source,
    })?;
    let docs = batch_documents(documents);
    let (mut output, mut resumed) = BatchOutput::open(&path, cache.force)?;
    let pending = plan.pending(&docs, &mut resumed.done);
    let ran = pending.todo.len();
    if ran > 0 {
        let mut events = progress_events(ran, progress);
        let sink: &mut dyn RecordSink = &mut output;
        let mut model = Model::load(files, placement, prompts)?;
        if let Some(scheduler) = &cache.batching {
            model = model.share(scheduler.clone().into())?;
        }
        plan.run(&mut model, &pending.todo, &mut resumed, sink, &mut events)?;
    }
    drop(output);
    let records = batch::read_records(&path)?;
    Ok(CachedRun {
        run: model_run(&plan, documents, &docs, &records)?,
        reused: documents.len() - ran,
        ran,
        path,
    })
}

/// `<model>-<task>-<hash>.jsonl`: readable, and distinct for every model, revision and
/// settings (the hash covers them all).
fn run_file_name(plan: &BatchPlan) -> String {
    let tail = Path::new(&plan.model.name)
        .file_name()
        .map_or(plan.model.name.clone(), |n| {
            n.to_string_lossy().into_owned()
        });
    let slug: String = tail
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(48)
        .collect();
    let hash = batch::settings_hash(&json!({
        "model": plan.model.name,
        "revision": plan.model.revision,
        "settings_hash": plan.settings_hash,
    }));
    format!("{slug}-{}-{}.jsonl", plan.job.task.name(), &hash[..12])
}

fn progress_events<'p>(
    total: usize,
    progress: &'p mut dyn FnMut(Progress),
) -> impl FnMut(BatchEvent) + 'p {
    let mut index = 0;
    move |event| {
        if let BatchEvent::Begin { id } = event {
            progress(Progress::Document { id, index, total });
            index += 1;
        }
    }
}

/// The comparison's view of a run: each document's latest record, which must be ok.
fn model_run(
    plan: &BatchPlan,
    documents: &[Document],
    docs: &[batch::Document],
    records: &[Value],
) -> Result<ModelRun, CompareError> {
    let mut outputs = Vec::with_capacity(documents.len());
    let mut total = Usage::default();
    let mut wall_secs = 0.0;
    let mut first: Option<&Value> = None;
    for (document, doc) in documents.iter().zip(docs) {
        let key = plan.key(doc, &doc.load().0);
        let record = records
            .iter()
            .rev()
            .find(|r| RecordKey::of_record(r).is_some_and(|(k, _)| k == key))
            .ok_or_else(|| CompareError::MissingOutput {
                model: plan.model.name.clone(),
                id: document.id.clone(),
            })?;
        if record["status"] != "ok" {
            return Err(CompareError::DocumentFailed {
                model: plan.model.name.clone(),
                id: document.id.clone(),
                error: record["error"].as_str().unwrap_or_default().to_string(),
            });
        }
        first.get_or_insert(record);
        let field = if plan.job.task == BatchTask::Summarize {
            "summary"
        } else {
            "translation"
        };
        let text = record[field].as_str().unwrap_or_default().to_string();
        let count = |name: &str| record[name].as_u64().unwrap_or(0) as usize;
        let secs = |name: &str| record[name].as_f64().unwrap_or(0.0);
        let usage = Usage {
            calls: count("calls"),
            prompt_tokens: count("prompt_tokens"),
            generated_tokens: count("generated_tokens"),
            prefill_secs: secs("prefill_secs"),
            decode_secs: secs("decode_secs"),
        };
        total.add(&usage);
        wall_secs += secs("elapsed_secs");
        outputs.push(DocumentOutput {
            id: document.id.clone(),
            words: text.split_whitespace().count(),
            chars: text.chars().count(),
            findings: check_numbers(&document.source, &text),
            text,
            usage,
        });
    }
    let field = |name: &str| {
        first
            .and_then(|r| r[name].as_str())
            .unwrap_or_default()
            .to_string()
    };
    Ok(ModelRun {
        model: plan.model.name.clone(),
        architecture: field("architecture"),
        device: field("device"),
        dtype: field("dtype"),
        scores: score_outputs(documents, &outputs),
        outputs,
        usage: total,
        wall_secs,
    })
}

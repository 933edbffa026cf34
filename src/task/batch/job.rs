//! What a batch run computes and with which model, and the settings that make two
//! runs the same work. Everything here is known before a model is loaded, so a caller
//! (`saar compare`) can tell that nothing is left to do without loading one.

use serde_json::{json, Value};

use super::{settings_hash, BatchError, Document, RecordKey};
use crate::model::{ModelFiles, ModelKind};
use crate::prompt::TaskPrompts;
use crate::task::{supports, unsupported, Model, TaskKind, TaskSettings};

/// What is computed for each document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchTask {
    Summarize,
    Translate,
    /// A summary and a full translation; each is kept when the other fails.
    Both,
}

impl BatchTask {
    pub fn name(self) -> &'static str {
        match self {
            BatchTask::Summarize => "summarize",
            BatchTask::Translate => "translate",
            BatchTask::Both => "both",
        }
    }

    pub fn summarizes(self) -> bool {
        self != BatchTask::Translate
    }

    pub fn translates(self) -> bool {
        self != BatchTask::Summarize
    }
}

/// Everything a batch run does with each document, apart from the model.
#[derive(Debug, Clone)]
pub struct BatchJob {
    pub task: BatchTask,
    /// Remove scraped-news boilerplate before the model sees a document.
    pub clean: bool,
    /// The summaries' language and length, the generation settings of every model
    /// call (empty EOS ids are filled from the model), and a translation model's beams
    /// and sentences per padded batch.
    pub settings: TaskSettings,
    /// Redo documents an earlier run recorded as failed.
    pub retry_failed: bool,
}

/// Which model a run uses, as far as the resume key is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelIdentity {
    pub name: String,
    pub revision: String,
    pub kind: ModelKind,
    /// The prompt templates' hash for an LLM; `None` for a Marian model (no prompts).
    pub prompt_hash: Option<String>,
}

impl ModelIdentity {
    /// The identity of resolved (not yet loaded) model files run with `prompts`.
    pub fn of_files(files: &ModelFiles, prompts: &TaskPrompts) -> Self {
        Self {
            name: files.name.clone(),
            revision: files.revision.clone().unwrap_or_default(),
            kind: files.kind,
            prompt_hash: (files.kind == ModelKind::Llm).then(|| prompts.hash()),
        }
    }

    /// The identity of a loaded model.
    pub fn of_model(model: &Model) -> Self {
        let files = model.files();
        Self {
            name: files.name.clone(),
            revision: files.revision.clone().unwrap_or_default(),
            kind: files.kind,
            prompt_hash: model.prompt_hash(),
        }
    }
}

/// A job bound to a model: its settings, their hash, and the resume key of a document.
#[derive(Debug, Clone)]
pub struct BatchPlan {
    pub job: BatchJob,
    pub model: ModelIdentity,
    /// Everything that changes an output (recorded in each record as `settings`).
    pub settings: Value,
    pub settings_hash: String,
}

/// The documents left to do, and what an earlier run already did.
#[derive(Debug, Default)]
pub struct Pending<'d> {
    pub todo: Vec<&'d Document>,
    pub skipped: usize,
    /// Skipped because an earlier run recorded them as failed (and no retry was asked).
    pub failed_before: usize,
}

impl BatchPlan {
    /// Binds `job` to `model`. A task the model cannot do (a translation model asked
    /// for summaries) is refused here, before anything is loaded.
    pub fn new(job: BatchJob, model: ModelIdentity) -> Result<Self, BatchError> {
        for (needed, task) in [
            (job.task.summarizes(), TaskKind::Summarize),
            (job.task.translates(), TaskKind::Translate),
        ] {
            if needed && !supports(model.kind, task) {
                return Err(unsupported(&model.name, model.kind, task).into());
            }
        }
        let settings = settings_json(&job, &model);
        Ok(Self {
            settings_hash: settings_hash(&settings),
            job,
            model,
            settings,
        })
    }

    pub fn key(&self, doc: &Document, content_hash: &str) -> RecordKey {
        RecordKey::new(
            &doc.id,
            content_hash,
            &self.model.name,
            &self.model.revision,
            &self.settings_hash,
        )
    }

    /// Settles which of `documents` are done according to `resumed` (reading each
    /// document once to hash it), so progress counts only the work left. With
    /// `retry_failed`, earlier failures are taken out of `resumed` and redone.
    pub fn pending<'d>(
        &self,
        documents: &'d [Document],
        done: &mut std::collections::HashMap<RecordKey, bool>,
    ) -> Pending<'d> {
        let mut pending = Pending::default();
        for doc in documents {
            let key = self.key(doc, &doc.load().0);
            match done.get(&key) {
                Some(false) if self.job.retry_failed => {
                    done.remove(&key);
                    pending.todo.push(doc);
                }
                Some(&ok) => {
                    pending.skipped += 1;
                    pending.failed_before += usize::from(!ok);
                }
                None => pending.todo.push(doc),
            }
        }
        pending
    }
}

/// Everything that changes an output, hashed into the resume key. The batch size is
/// left out: batching never changes a translation.
fn settings_json(job: &BatchJob, model: &ModelIdentity) -> Value {
    let mut settings = json!({
        "task": job.task.name(),
        "keep_boilerplate": !job.clean,
    });
    let generation = &job.settings.generation;
    match &model.prompt_hash {
        Some(prompt_hash) => {
            for (name, value) in [
                ("lang", json!(job.settings.lang.code())),
                ("length", json!(job.settings.length.name())),
                ("max_new_tokens", json!(generation.max_new_tokens)),
                ("temperature", json!(generation.temperature)),
                ("top_k", json!(generation.top_k)),
                ("top_p", json!(generation.top_p)),
                ("seed", json!(generation.seed)),
                ("repeat_penalty", json!(shortest(generation.repeat_penalty))),
                ("repeat_last_n", json!(generation.repeat_last_n)),
                ("prompt_hash", json!(prompt_hash)),
            ] {
                settings[name] = value;
            }
        }
        None => {
            let mt = job.settings.marian();
            for (name, value) in [
                ("engine", json!("marian")),
                ("beams", json!(mt.beams)),
                ("max_length", json!(mt.max_length)),
                ("max_new_tokens", json!(mt.max_new_tokens)),
                ("min_length", json!(mt.min_length)),
                ("length_penalty", json!(mt.length_penalty)),
                ("no_repeat_ngram_size", json!(mt.no_repeat_ngram_size)),
                (
                    "repetition_penalty",
                    json!(mt.repetition_penalty.map(shortest)),
                ),
                ("early_stopping", json!(mt.early_stopping)),
                ("renormalize_logits", json!(mt.renormalize_logits)),
            ] {
                settings[name] = value;
            }
        }
    }
    settings
}

/// An f32 flag value as the user wrote it (`1.1`, not `1.100000023841858`): the
/// shortest decimal that reads back as the same f32.
fn shortest(value: f32) -> f64 {
    value.to_string().parse().unwrap_or(f64::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::compare::greedy_settings;

    fn job(task: BatchTask) -> BatchJob {
        BatchJob {
            task,
            clean: true,
            settings: TaskSettings::new(greedy_settings(8)),
            retry_failed: false,
        }
    }

    fn identity(prompt_hash: Option<&str>) -> ModelIdentity {
        ModelIdentity {
            name: "m".into(),
            revision: "r".into(),
            kind: match prompt_hash {
                Some(_) => ModelKind::Llm,
                None => ModelKind::Marian,
            },
            prompt_hash: prompt_hash.map(str::to_string),
        }
    }

    #[test]
    fn marian_models_only_translate_and_batch_size_never_changes_the_key() {
        for task in [BatchTask::Summarize, BatchTask::Both] {
            let err = BatchPlan::new(job(task), identity(None)).unwrap_err();
            assert_eq!(
                err.to_string(),
                "m is a translation model; it cannot summarize: use a language model for that (e.g. -m qwen3-1.7b)"
            );
        }
        let plan = BatchPlan::new(job(BatchTask::Translate), identity(None)).unwrap();
        let mut wider = job(BatchTask::Translate);
        wider.settings.batch_size = 32;
        let wider = BatchPlan::new(wider, identity(None)).unwrap();
        assert_eq!(plan.settings_hash, wider.settings_hash);
        let mut beams = job(BatchTask::Translate);
        beams.settings.beams = Some(4);
        let beams = BatchPlan::new(beams, identity(None)).unwrap();
        assert_ne!(plan.settings_hash, beams.settings_hash);
    }

    #[test]
    fn llm_settings_carry_the_prompt_hash() {
        let a = BatchPlan::new(job(BatchTask::Summarize), identity(Some("p1"))).unwrap();
        let b = BatchPlan::new(job(BatchTask::Summarize), identity(Some("p2"))).unwrap();
        assert_eq!(a.settings["prompt_hash"], "p1");
        assert_eq!(a.settings["max_new_tokens"], 8);
        assert_eq!(a.settings["lang"], "en");
        let mut penalized = job(BatchTask::Summarize);
        penalized.settings.generation.repeat_penalty = 1.1;
        let penalized = BatchPlan::new(penalized, identity(Some("p1"))).unwrap();
        assert_eq!(penalized.settings["repeat_penalty"].to_string(), "1.1");
        assert_ne!(a.settings_hash, b.settings_hash);
    }
}

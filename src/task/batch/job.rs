//! What a batch run computes and with which model, and the settings that make two
//! runs the same work. Everything here is known before a model is loaded, so a caller
//! (`saar compare`) can tell that nothing is left to do without loading one.

use serde_json::{json, Value};

use super::{settings_hash, BatchError, Document, RecordKey};
use crate::engine::marian::MarianSettings;
use crate::model::ModelFiles;
use crate::prompt::TaskPrompts;
use crate::task::{is_marian, LlmSession, SummarizeSettings};

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
    /// The summaries' language and length, and the generation settings of every LLM
    /// call (translation included). Empty EOS ids are filled from the model's tokenizer.
    pub summarize: SummarizeSettings,
    /// Beams and sentences per padded batch for Marian models.
    pub marian: MarianSettings,
    /// Redo documents an earlier run recorded as failed.
    pub retry_failed: bool,
}

/// Which model a run uses, as far as the resume key is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelIdentity {
    pub name: String,
    pub revision: String,
    /// The prompt templates' hash for an LLM; `None` for a Marian model (no prompts).
    pub prompt_hash: Option<String>,
}

impl ModelIdentity {
    /// The identity of resolved (not yet loaded) model files run with `prompts`.
    pub fn of_files(files: &ModelFiles, prompts: &TaskPrompts) -> Self {
        Self {
            name: files.name.clone(),
            revision: files.revision.clone().unwrap_or_default(),
            prompt_hash: (!is_marian(files)).then(|| prompts.hash()),
        }
    }

    /// The identity of a loaded LLM session.
    pub fn of_session(session: &LlmSession) -> Self {
        let files = session.files();
        Self {
            name: files.name.clone(),
            revision: files.revision.clone().unwrap_or_default(),
            prompt_hash: Some(session.prompts_hash()),
        }
    }

    pub fn is_marian(&self) -> bool {
        self.prompt_hash.is_none()
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
    /// Binds `job` to `model`. A Marian model only translates: asking it for summaries
    /// is refused here, before anything is loaded.
    pub fn new(job: BatchJob, model: ModelIdentity) -> Result<Self, BatchError> {
        if model.is_marian() && job.task != BatchTask::Translate {
            return Err(BatchError::MarianSummary {
                model: model.name,
                task: job.task.name(),
            });
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
    match &model.prompt_hash {
        Some(prompt_hash) => {
            let generation = &job.summarize.generation;
            for (name, value) in [
                (
                    "lang",
                    json!(format!("{:?}", job.summarize.lang).to_lowercase()),
                ),
                (
                    "length",
                    json!(format!("{:?}", job.summarize.length).to_lowercase()),
                ),
                ("max_new_tokens", json!(generation.max_new_tokens)),
                ("temperature", json!(generation.temperature)),
                ("top_k", json!(generation.top_k)),
                ("top_p", json!(generation.top_p)),
                ("seed", json!(generation.seed)),
                ("repeat_penalty", json!(generation.repeat_penalty)),
                ("repeat_last_n", json!(generation.repeat_last_n)),
                ("prompt_hash", json!(prompt_hash)),
            ] {
                settings[name] = value;
            }
        }
        None => {
            let mt = &job.marian;
            for (name, value) in [
                ("engine", json!("marian")),
                ("beams", json!(mt.beams)),
                ("max_length", json!(mt.max_length)),
                ("max_new_tokens", json!(mt.max_new_tokens)),
                ("min_length", json!(mt.min_length)),
                ("length_penalty", json!(mt.length_penalty)),
                ("no_repeat_ngram_size", json!(mt.no_repeat_ngram_size)),
                ("repetition_penalty", json!(mt.repetition_penalty)),
                ("early_stopping", json!(format!("{:?}", mt.early_stopping))),
                ("renormalize_logits", json!(mt.renormalize_logits)),
            ] {
                settings[name] = value;
            }
        }
    }
    settings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::compare::greedy_settings;

    fn job(task: BatchTask) -> BatchJob {
        BatchJob {
            task,
            clean: true,
            summarize: SummarizeSettings {
                lang: crate::prompt::Lang::En,
                length: crate::prompt::Length::Medium,
                generation: greedy_settings(8),
            },
            marian: MarianSettings::default(),
            retry_failed: false,
        }
    }

    fn identity(prompt_hash: Option<&str>) -> ModelIdentity {
        ModelIdentity {
            name: "m".into(),
            revision: "r".into(),
            prompt_hash: prompt_hash.map(str::to_string),
        }
    }

    #[test]
    fn marian_models_only_translate_and_batch_size_never_changes_the_key() {
        for task in [BatchTask::Summarize, BatchTask::Both] {
            let err = BatchPlan::new(job(task), identity(None)).unwrap_err();
            assert!(err.to_string().contains("use an LLM"), "{err}");
        }
        let plan = BatchPlan::new(job(BatchTask::Translate), identity(None)).unwrap();
        let mut wider = job(BatchTask::Translate);
        wider.marian.batch_size = 32;
        let wider = BatchPlan::new(wider, identity(None)).unwrap();
        assert_eq!(plan.settings_hash, wider.settings_hash);
        let mut beams = job(BatchTask::Translate);
        beams.marian.beams = Some(4);
        let beams = BatchPlan::new(beams, identity(None)).unwrap();
        assert_ne!(plan.settings_hash, beams.settings_hash);
    }

    #[test]
    fn llm_settings_carry_the_prompt_hash() {
        let a = BatchPlan::new(job(BatchTask::Summarize), identity(Some("p1"))).unwrap();
        let b = BatchPlan::new(job(BatchTask::Summarize), identity(Some("p2"))).unwrap();
        assert_eq!(a.settings["prompt_hash"], "p1");
        assert_eq!(a.settings["max_new_tokens"], 8);
        assert_ne!(a.settings_hash, b.settings_hash);
    }
}

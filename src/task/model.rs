//! The one model API every door goes through (the CLI's commands, `saar batch`,
//! `saar compare`, the HTTP server). A [`Model`] is loaded from resolved files; its
//! kind was decided when the files were resolved, and it answers each task with one
//! call taking one settings type ([`TaskSettings`]) that every engine honours. A task
//! the model cannot do is a typed error ([`TaskError::Unsupported`]).
//!
//! A new engine family plugs in here: one variant of [`Engine`], its arm in each
//! task method, and its kind in [`crate::model::ModelKind`].

use super::control::StopWhen;
use super::record::{ModelStamp, Record};
use super::{summarize, translate, translate_mt, Completion, Event, LlmSession, TaskError, Usage};
use crate::engine::batch::{BatchHandle, BatchThreadOptions};
use crate::engine::indictrans::IndicTransTranslator;
use crate::engine::marian::{MarianSettings, MarianTranslator};
use crate::engine::translator::SentenceTranslator;
use crate::engine::{GenerationSettings, ModelInfo, Placement};
use crate::model::{ModelFiles, ModelKind};
use crate::prompt::{Lang, Length, Message, TaskPrompts};
use crate::text::Prepared;
use crate::Result;

/// What a caller can ask of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    Summarize,
    Translate,
    /// A conversation through the model's chat template.
    Chat,
    /// Raw text continued with no template.
    Complete,
}

impl TaskKind {
    /// The verb as a user reads it in an error ("it cannot summarize").
    pub fn verb(self) -> &'static str {
        match self {
            TaskKind::Summarize => "summarize",
            TaskKind::Translate => "translate",
            TaskKind::Chat => "chat",
            TaskKind::Complete => "continue raw text",
        }
    }
}

/// The defaults both doors use (CLI flags and HTTP parameters) where the model's own
/// generation config says nothing: greedy decoding, for reproducible output, and no
/// repeat penalty (as HF's `generate`).
pub mod defaults {
    pub const MAX_NEW_TOKENS: usize = 512;
    pub const TEMPERATURE: f64 = 0.0;
    pub const SEED: u64 = 299_792_458;
    pub const REPEAT_PENALTY: f32 = 1.0;
    pub const REPEAT_LAST_N: usize = 64;
    pub const BATCH_SIZE: usize = 8;
    /// The most chunks a summary takes unless raised: a news article needs a handful;
    /// 100 is about a megabyte of Hindi, already hours of model time on a CPU.
    pub const MAX_CHUNKS: usize = 100;
    /// From this many chunks on, the caller is warned before the work starts.
    pub const WARN_CHUNKS: usize = 10;

    /// Generation with every default.
    pub fn generation() -> crate::engine::GenerationSettings {
        crate::engine::GenerationSettings {
            max_new_tokens: MAX_NEW_TOKENS,
            temperature: TEMPERATURE,
            top_k: None,
            top_p: None,
            seed: SEED,
            repeat_penalty: REPEAT_PENALTY,
            repeat_last_n: REPEAT_LAST_N,
            eos_token_ids: Vec::new(),
        }
    }
}

/// Settings for every task on every engine. Engines take what applies to them:
/// `generation.max_new_tokens` bounds every engine's output; `beams` and `batch_size`
/// are for sentence translation models.
#[derive(Debug, Clone)]
pub struct TaskSettings {
    /// Sampling and length. Empty `eos_token_ids` are filled from the model.
    pub generation: GenerationSettings,
    /// Whether the caller chose `generation.max_new_tokens`. When it did not, a
    /// translation model keeps the limit of its own generation config (as HF does);
    /// an LLM always takes `generation.max_new_tokens`.
    pub max_new_tokens_given: bool,
    /// The summary's language and length.
    pub lang: Lang,
    pub length: Length,
    /// Run the number check on a summary.
    pub check: bool,
    /// Beam width for translation models; `None` is the model's own default.
    pub beams: Option<usize>,
    /// Sentences a translation model runs together in one padded batch.
    pub batch_size: usize,
    /// When to end a generation before the model does.
    pub stop: StopWhen,
    /// A summary of more chunks than this is refused before any model call.
    pub max_chunks: usize,
}

impl TaskSettings {
    /// English, medium length, no check, the model's beams, batches of 8.
    pub fn new(generation: GenerationSettings) -> Self {
        Self {
            generation,
            max_new_tokens_given: false,
            lang: Lang::En,
            length: Length::Medium,
            check: false,
            beams: None,
            batch_size: defaults::BATCH_SIZE,
            stop: StopWhen::default(),
            max_chunks: defaults::MAX_CHUNKS,
        }
    }

    /// Checks every value is in range; the error names the setting (`top_p`), and
    /// each door says it in its own words (`--top-p`, or the JSON field).
    pub fn validate(&self) -> Result<(), BadSetting> {
        let g = &self.generation;
        let bad = |name, rule| Err(BadSetting { name, rule });
        if g.max_new_tokens == 0 {
            return bad("max_new_tokens", "must be at least 1");
        }
        if !(g.temperature >= 0.0 && g.temperature.is_finite()) {
            return bad("temperature", "must be 0 (greedy) or a positive number");
        }
        if g.top_p.is_some_and(|p| !(p > 0.0 && p <= 1.0)) {
            return bad("top_p", "must be in (0, 1]");
        }
        if g.top_k == Some(0) {
            return bad("top_k", "must be at least 1");
        }
        if !(g.repeat_penalty > 0.0 && g.repeat_penalty.is_finite()) {
            return bad(
                "repeat_penalty",
                "must be a positive number (1.0 turns it off)",
            );
        }
        if self.beams == Some(0) {
            return bad("beams", "must be at least 1");
        }
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1");
        }
        Ok(())
    }

    /// The settings a sentence translation model runs with: what the caller chose
    /// over the model's own search (`base`); a `max_new_tokens` the caller chose
    /// bounds each sentence's translation.
    pub fn translation(&self, base: MarianSettings) -> MarianSettings {
        MarianSettings {
            beams: self.beams.or(base.beams),
            batch_size: self.batch_size.max(1),
            max_new_tokens: if self.max_new_tokens_given {
                Some(self.generation.max_new_tokens)
            } else {
                base.max_new_tokens
            },
            ..base
        }
    }

    /// [`TaskSettings::translation`] over no model defaults: what a batch run's resume
    /// key records.
    pub fn marian(&self) -> MarianSettings {
        self.translation(MarianSettings::default())
    }
}

/// A setting out of its range: `name` is the setting's field name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} {rule}")]
pub struct BadSetting {
    pub name: &'static str,
    pub rule: &'static str,
}

/// The input of a task's first model call, as `--show-prompt` prints it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FirstPrompt {
    /// For an LLM, the prompt rendered through the chat template, special tokens
    /// included; for a translation model, the first sentence as the model reads it.
    pub prompt: String,
    /// Its token ids, as the model is given them.
    pub prompt_ids: Vec<u32>,
}

/// A loaded engine.
pub(crate) enum Engine {
    Llm(LlmSession),
    Marian(MarianTranslator),
    IndicTrans(IndicTransTranslator),
}

/// A loaded model ready for tasks.
pub struct Model {
    files: ModelFiles,
    engine: Engine,
    info: ModelInfo,
}

impl Model {
    /// Loads the engine `files.kind` names, where `placement` says. `prompts` are the
    /// task templates for LLMs (translation models take none).
    pub fn load(files: ModelFiles, placement: &Placement, prompts: TaskPrompts) -> Result<Self> {
        let engine = match files.kind {
            ModelKind::Llm => Engine::Llm(LlmSession::load(files.clone(), placement, prompts)?),
            ModelKind::Marian => Engine::Marian(MarianTranslator::load(&files, placement)?),
            ModelKind::IndicTrans => Engine::IndicTrans(load_indictrans(&files, placement)?),
        };
        let info = match &engine {
            Engine::Llm(session) => session.info().clone(),
            Engine::Marian(translator) => translator.info().clone(),
            Engine::IndicTrans(translator) => translator.info().clone(),
        };
        Ok(Self {
            files,
            engine,
            info,
        })
    }

    /// As [`load`](Self::load), but an LLM's weights are not read: only its
    /// tokenizer, templates and context, enough for [`first_prompt`](Self::first_prompt).
    /// Any other task on it stops with [`TaskError::StoppedAtPrompt`] at its first model
    /// call. Translation models load whole (they are small).
    pub fn prompt_only(
        files: ModelFiles,
        placement: &Placement,
        prompts: TaskPrompts,
    ) -> Result<Self> {
        if files.kind != ModelKind::Llm {
            return Self::load(files, placement, prompts);
        }
        let session = LlmSession::prompt_only(files.clone(), placement, prompts)?;
        Ok(Self {
            files,
            info: session.info().clone(),
            engine: Engine::Llm(session),
        })
    }

    /// Moves an LLM onto a batching thread so that clones of this model
    /// ([`fork`](Self::fork)), each driven by a thread of its own, decode together in
    /// one batch. A translation model, or an LLM that cannot batch, is kept as it is.
    pub fn share(self, options: BatchThreadOptions) -> Result<Self> {
        let engine = match self.engine {
            Engine::Llm(session) => Engine::Llm(session.share(options)?),
            engine => engine,
        };
        Ok(Self { engine, ..self })
    }

    /// Another handle on a shared model's batch; `None` for a model that is not shared.
    pub fn fork(&self) -> Option<Self> {
        match &self.engine {
            Engine::Llm(session) => Some(Self {
                files: self.files.clone(),
                engine: Engine::Llm(session.fork()?),
                info: self.info.clone(),
            }),
            Engine::Marian(_) | Engine::IndicTrans(_) => None,
        }
    }

    /// The batching thread of a shared LLM.
    pub fn batch(&self) -> Option<&BatchHandle> {
        match &self.engine {
            Engine::Llm(session) => session.batch(),
            Engine::Marian(_) | Engine::IndicTrans(_) => None,
        }
    }

    /// How many sequences this model decodes together (1 unless it is shared).
    pub fn parallel(&self) -> usize {
        match &self.engine {
            Engine::Llm(session) => session.parallel(),
            Engine::Marian(_) | Engine::IndicTrans(_) => 1,
        }
    }

    pub fn kind(&self) -> ModelKind {
        self.files.kind
    }

    pub fn files(&self) -> &ModelFiles {
        &self.files
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The prompt templates' hash for an LLM; `None` for a translation model.
    pub fn prompt_hash(&self) -> Option<String> {
        match &self.engine {
            Engine::Llm(session) => Some(session.prompts_hash()),
            Engine::Marian(_) | Engine::IndicTrans(_) => None,
        }
    }

    /// Which model this is and where it runs, as records show it.
    pub fn stamp(&self) -> ModelStamp {
        ModelStamp::new(&self.files, &self.info, self.prompt_hash())
    }

    /// Whether this model can do `task`.
    pub fn supports(&self, task: TaskKind) -> bool {
        supports(self.kind(), task)
    }

    /// Counts tokens as the model's tokenizer does (for usage of raw requests).
    pub fn count_tokens(&self, text: &str) -> usize {
        match &self.engine {
            Engine::Llm(session) => crate::text::TokenCounter::count(session.tokenizer(), text),
            Engine::Marian(translator) => translator.encode(text).map_or(0, |ids| ids.len()),
            Engine::IndicTrans(translator) => translator.encode(text).map_or(0, |ids| ids.len()),
        }
    }

    /// How many tokens of article text one summary call takes with `settings`, and the
    /// counter that measures them (what `saar split --chunks` shows).
    pub fn summary_budget(
        &self,
        settings: &TaskSettings,
    ) -> Result<(usize, &dyn crate::text::TokenCounter)> {
        match &self.engine {
            Engine::Llm(session) => Ok((
                super::summary_budget(session, settings)?,
                session.tokenizer(),
            )),
            Engine::Marian(_) | Engine::IndicTrans(_) => {
                Err(unsupported(&self.files.name, self.kind(), TaskKind::Summarize).into())
            }
        }
    }

    /// Summarizes a prepared article (map-reduce when it does not fit).
    pub fn summarize(
        &mut self,
        article: &Prepared,
        settings: &TaskSettings,
        events: &mut dyn FnMut(Event),
    ) -> Result<Record> {
        let settings = self.with_eos(settings);
        let stamp = self.stamp();
        let session = self.llm(TaskKind::Summarize)?;
        let summary = summarize(session, &article.text, &settings, events)?;
        let check = settings
            .check
            .then(|| crate::score::check_numbers(&article.text, &summary.text));
        Ok(Record {
            chunks: Some(summary.chunks),
            combine_rounds: Some(summary.combine_rounds),
            check,
            ..record("summarize", summary.text, stamp, summary.usage, article)
        })
    }

    /// Translates a prepared article, lines and paragraphs kept.
    pub fn translate(
        &mut self,
        article: &Prepared,
        settings: &TaskSettings,
        events: &mut dyn FnMut(Event),
    ) -> Result<Record> {
        let settings = self.with_eos(settings);
        let stamp = self.stamp();
        let by_sentence = |translator: &dyn SentenceTranslator, events: &mut dyn FnMut(Event)| {
            let search = settings.translation(translator.base_settings());
            translate_mt(translator, &article.text, &search, events)
        };
        let translation = match &mut self.engine {
            Engine::Llm(session) => translate(session, &article.text, &settings, events)?,
            Engine::Marian(translator) => by_sentence(translator, events)?,
            Engine::IndicTrans(translator) => by_sentence(translator, events)?,
        };
        Ok(Record {
            pieces: Some(translation.pieces),
            ..record(
                "translate",
                translation.text,
                stamp,
                translation.usage,
                article,
            )
        })
    }

    /// What the first model call of `task` (summarize or translate) on `article` would
    /// be given, with nothing run: the same chunking and templates as the task itself.
    /// `None` when the task needs no model call (an article already in English).
    pub fn first_prompt(
        &self,
        task: TaskKind,
        article: &Prepared,
        settings: &TaskSettings,
        events: &mut dyn FnMut(Event),
    ) -> Result<Option<FirstPrompt>> {
        let settings = self.with_eos(settings);
        let translator = match (&self.engine, task) {
            (Engine::Llm(session), TaskKind::Summarize | TaskKind::Translate) => {
                let mut view = session.prompt_view();
                let ran = match task {
                    TaskKind::Summarize => {
                        summarize(&mut view, &article.text, &settings, events).map(|_| ())
                    }
                    _ => translate(&mut view, &article.text, &settings, events).map(|_| ()),
                };
                return match ran {
                    Err(crate::Error::Task(TaskError::StoppedAtPrompt { text, ids })) => {
                        Ok(Some(FirstPrompt {
                            prompt: text,
                            prompt_ids: ids,
                        }))
                    }
                    Err(err) => Err(err),
                    Ok(()) => Ok(None),
                };
            }
            (Engine::Marian(translator), TaskKind::Translate) => {
                translator as &dyn SentenceTranslator
            }
            (Engine::IndicTrans(translator), TaskKind::Translate) => translator,
            _ => return Err(unsupported(&self.files.name, self.kind(), task).into()),
        };
        let plan = super::MtPlan::new(translator, &article.text)?;
        let Some(first) = plan.sources().first().copied() else {
            return Ok(None);
        };
        Ok(Some(FirstPrompt {
            prompt: translator.model_input(first),
            prompt_ids: translator.encode(first)?,
        }))
    }

    /// Answers a conversation through the model's chat template.
    pub fn chat(
        &mut self,
        messages: &[Message],
        settings: &TaskSettings,
        sink: &mut dyn FnMut(&str),
    ) -> Result<Completion> {
        let settings = self.with_eos(settings);
        let session = self.llm(TaskKind::Chat)?;
        session.chat(messages, &settings.generation, &settings.stop, sink)
    }

    /// Continues raw text with no chat template.
    pub fn complete(
        &mut self,
        prompt: &str,
        settings: &TaskSettings,
        sink: &mut dyn FnMut(&str),
    ) -> Result<Completion> {
        let settings = self.with_eos(settings);
        let session = self.llm(TaskKind::Complete)?;
        session.continue_text(prompt, &settings.generation, &settings.stop, sink)
    }

    /// The sentence translator (Marian, IndicTrans2), for the batch driver's
    /// cross-document sentence batches; `None` for an LLM.
    pub(crate) fn sentence_translator(&self) -> Option<&dyn SentenceTranslator> {
        match &self.engine {
            Engine::Llm(_) => None,
            Engine::Marian(translator) => Some(translator),
            Engine::IndicTrans(translator) => Some(translator),
        }
    }

    /// The LLM session, or the typed error for a model that cannot do `task`.
    fn llm(&mut self, task: TaskKind) -> Result<&mut LlmSession> {
        let kind = self.kind();
        match &mut self.engine {
            Engine::Llm(session) => Ok(session),
            Engine::Marian(_) | Engine::IndicTrans(_) => {
                Err(unsupported(&self.files.name, kind, task).into())
            }
        }
    }

    /// `settings` with the model's own EOS ids where the caller gave none.
    fn with_eos(&self, settings: &TaskSettings) -> TaskSettings {
        let mut settings = settings.clone();
        if let (Engine::Llm(session), true) =
            (&self.engine, settings.generation.eos_token_ids.is_empty())
        {
            settings.generation.eos_token_ids = session.tokenizer().eos_token_ids().to_vec();
        }
        settings
    }
}

/// Whether a model of `kind` can do `task`; known before the model is loaded.
pub fn supports(kind: ModelKind, task: TaskKind) -> bool {
    match kind {
        ModelKind::Llm => true,
        ModelKind::Marian | ModelKind::IndicTrans => task == TaskKind::Translate,
    }
}

/// The error for a model of `kind` asked for a `task` it cannot do.
pub fn unsupported(model: &str, kind: ModelKind, task: TaskKind) -> TaskError {
    TaskError::Unsupported {
        model: model.to_string(),
        kind: kind.description(),
        task: task.verb(),
    }
}

/// Refuses `task` for resolved files before anything is loaded.
pub fn check_supports(files: &ModelFiles, task: TaskKind) -> Result<(), TaskError> {
    if supports(files.kind, task) {
        Ok(())
    } else {
        Err(unsupported(&files.name, files.kind, task))
    }
}

/// An IndicTrans2 model, its language tags from its repository's direction: the
/// `en-indic` repositories translate English into Hindi, the others Hindi into English.
fn load_indictrans(
    files: &ModelFiles,
    placement: &Placement,
) -> Result<IndicTransTranslator, crate::engine::EngineError> {
    let translator = IndicTransTranslator::load(files, placement)?;
    let repo = files.repo.as_deref().unwrap_or(&files.name);
    if repo.contains("en-indic") {
        translator.with_languages("eng_Latn", "hin_Deva")
    } else {
        Ok(translator)
    }
}

fn record(
    task: &'static str,
    output: String,
    model: ModelStamp,
    usage: Usage,
    article: &Prepared,
) -> Record {
    Record {
        task,
        output,
        model,
        usage,
        chunks: None,
        combine_rounds: None,
        pieces: None,
        removed_boilerplate: article.removed.len(),
        check: None,
    }
}

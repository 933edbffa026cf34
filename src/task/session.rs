//! A loaded LLM with everything needed to run a task prompt through it: tokenizer,
//! chat template and task templates. Tasks ask it for completions and token budgets.
//! The model is the session's own (one sequence at a time), or runs on a batching
//! thread that many clones of the session share ([`LlmSession::share`]).

use std::sync::Arc;

use super::control::StopWhen;
use super::output::Output;
use super::TaskError;
use crate::engine::batch::{BatchHandle, BatchThreadOptions};
use crate::engine::{self, CausalLm, GenerationSettings, Placement};
use crate::model::tokenizer::ModelTokenizer;
use crate::model::ModelFiles;
use crate::prompt::{self, ChatTemplate, Message, PromptVars, Task, TaskPrompts};
use crate::Result;

/// Tokens kept free between the prompt and the output, so that a chat template's
/// closing tokens never push a full context over.
const CONTEXT_MARGIN: usize = 16;

/// A model ready to run task prompts.
pub struct LlmSession {
    decoder: Decoder,
    /// Shared by the clones of a batched session.
    tokenizer: Arc<ModelTokenizer>,
    /// `None` for a model with no chat template: it can only continue raw text.
    chat: Option<Arc<ChatTemplate>>,
    prompts: Arc<TaskPrompts>,
    files: Arc<ModelFiles>,
    context_length: usize,
}

/// What runs the session's generations.
enum Decoder {
    /// The session's own model, one sequence at a time.
    Own(Box<dyn CausalLm>),
    /// A sequence each in the batch of a thread that clones of this session share.
    Shared(BatchHandle),
    /// No model: the first model call ends the task with [`TaskError::StoppedAtPrompt`],
    /// carrying its prompt (`--show-prompt`).
    PromptOnly(engine::ModelInfo),
}

/// One model call's output and cost.
#[derive(Debug, Clone)]
pub struct Completion {
    pub text: String,
    pub usage: Usage,
    pub finish: Finish,
    /// The prompt as token ids, and the generated ids (without a final EOS).
    pub prompt_ids: Vec<u32>,
    pub output_ids: Vec<u32>,
}

impl Completion {
    /// The text without the whitespace a chat answer begins or ends with.
    fn trimmed(mut self) -> Self {
        self.text = self.text.trim().to_string();
        self
    }
}

/// Why a model call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Finish {
    /// The model ended its answer (an EOS token).
    Eos,
    /// `max_new_tokens`, or the model's context, ran out.
    Length,
    /// A stop string of the caller's came.
    StopString,
    /// The caller raised its cancel flag.
    Cancelled,
    /// The caller's deadline passed.
    TimedOut,
}

/// Token counts and times, summed over every model call a task made. Serializes to
/// the fields every JSON record saar writes carries, rates included.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub calls: usize,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub prefill_secs: f64,
    pub decode_secs: f64,
}

impl Usage {
    pub fn add(&mut self, other: &Usage) {
        self.calls += other.calls;
        self.prompt_tokens += other.prompt_tokens;
        self.generated_tokens += other.generated_tokens;
        self.prefill_secs += other.prefill_secs;
        self.decode_secs += other.decode_secs;
    }

    pub fn prefill_tokens_per_sec(&self) -> f64 {
        rate(self.prompt_tokens, self.prefill_secs)
    }

    pub fn decode_tokens_per_sec(&self) -> f64 {
        rate(self.generated_tokens, self.decode_secs)
    }
}

impl serde::Serialize for Usage {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(7))?;
        map.serialize_entry("calls", &self.calls)?;
        map.serialize_entry("prompt_tokens", &self.prompt_tokens)?;
        map.serialize_entry("generated_tokens", &self.generated_tokens)?;
        map.serialize_entry("prefill_secs", &self.prefill_secs)?;
        map.serialize_entry("decode_secs", &self.decode_secs)?;
        map.serialize_entry("prefill_tokens_per_sec", &self.prefill_tokens_per_sec())?;
        map.serialize_entry("decode_tokens_per_sec", &self.decode_tokens_per_sec())?;
        map.end()
    }
}

fn rate(tokens: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        tokens as f64 / secs
    } else {
        0.0
    }
}

impl LlmSession {
    /// Loads the model and its tokenizer from `files`. A model without a chat template
    /// (a base model) loads too: it can continue raw text, and chat tasks fail on it
    /// with the tokenizer's own error.
    pub fn load(files: ModelFiles, placement: &Placement, prompts: TaskPrompts) -> Result<Self> {
        let tokenizer = ModelTokenizer::load(&files)?;
        let chat = tokenizer.chat_template().ok();
        let model = engine::llm::load(&files, placement)?;
        let context_length = match files.context_length {
            Some(cap) => cap.min(model.info().context_length),
            None => model.info().context_length,
        };
        Ok(Self {
            decoder: Decoder::Own(model),
            tokenizer: Arc::new(tokenizer),
            chat: chat.map(Arc::new),
            prompts: Arc::new(prompts),
            files: Arc::new(files),
            context_length,
        })
    }

    /// A session with the tokenizer, templates and context of `files` but no weights
    /// read: tasks run on it up to their first model call, which ends them with
    /// [`TaskError::StoppedAtPrompt`].
    pub fn prompt_only(
        files: ModelFiles,
        placement: &Placement,
        prompts: TaskPrompts,
    ) -> Result<Self> {
        let tokenizer = ModelTokenizer::load(&files)?;
        let chat = tokenizer.chat_template().ok();
        let info = engine::llm::describe(&files, placement)?;
        Ok(Self {
            context_length: info.context_length,
            decoder: Decoder::PromptOnly(info),
            tokenizer: Arc::new(tokenizer),
            chat: chat.map(Arc::new),
            prompts: Arc::new(prompts),
            files: Arc::new(files),
        })
    }

    /// This session without its model, as [`prompt_only`](Self::prompt_only) makes one.
    pub(crate) fn prompt_view(&self) -> Self {
        Self {
            decoder: Decoder::PromptOnly(self.info().clone()),
            tokenizer: self.tokenizer.clone(),
            chat: self.chat.clone(),
            prompts: self.prompts.clone(),
            files: self.files.clone(),
            context_length: self.context_length,
        }
    }

    /// Moves the model onto a batching thread, so that clones of the session
    /// ([`fork`](Self::fork)) decode together. A model that cannot batch stays the
    /// session's own; so does an already shared session's.
    pub fn share(self, options: BatchThreadOptions) -> Result<Self> {
        let decoder = match self.decoder {
            Decoder::Own(mut model) => match model.batched() {
                Some(_) => Decoder::Shared(BatchHandle::spawn(model, options)?),
                None => Decoder::Own(model),
            },
            shared => shared,
        };
        Ok(Self { decoder, ..self })
    }

    /// Another session on the same batching thread; `None` for a session that owns
    /// its model.
    pub fn fork(&self) -> Option<Self> {
        match &self.decoder {
            Decoder::Own(_) | Decoder::PromptOnly(_) => None,
            Decoder::Shared(handle) => Some(Self {
                decoder: Decoder::Shared(handle.clone()),
                tokenizer: self.tokenizer.clone(),
                chat: self.chat.clone(),
                prompts: self.prompts.clone(),
                files: self.files.clone(),
                context_length: self.context_length,
            }),
        }
    }

    /// The batching thread a shared session runs on.
    pub fn batch(&self) -> Option<&BatchHandle> {
        match &self.decoder {
            Decoder::Own(_) | Decoder::PromptOnly(_) => None,
            Decoder::Shared(handle) => Some(handle),
        }
    }

    /// How many sequences run together: 1 for a session that owns its model.
    pub fn parallel(&self) -> usize {
        match &self.decoder {
            Decoder::Own(_) | Decoder::PromptOnly(_) => 1,
            Decoder::Shared(handle) => handle.max_sequences(),
        }
    }

    pub fn files(&self) -> &ModelFiles {
        &self.files
    }

    pub fn info(&self) -> &engine::ModelInfo {
        match &self.decoder {
            Decoder::Own(model) => model.info(),
            Decoder::Shared(handle) => handle.info(),
            Decoder::PromptOnly(info) => info,
        }
    }

    pub fn tokenizer(&self) -> &ModelTokenizer {
        &self.tokenizer
    }

    /// The prompt templates' hash, recorded with outputs.
    pub fn prompts_hash(&self) -> String {
        self.prompts.hash()
    }

    /// How many tokens of article text fit in one call of `task`, leaving room for the
    /// prompt around it and for `max_new_tokens` of output.
    pub fn text_budget(
        &self,
        task: Task,
        vars: &PromptVars,
        max_new_tokens: usize,
    ) -> Result<usize> {
        let empty = PromptVars {
            text: String::new(),
            parts: Vec::new(),
            ..vars.clone()
        };
        let overhead = self.encode_prompt(task, &empty)?.len();
        Ok(self
            .context_length
            .saturating_sub(overhead + max_new_tokens + CONTEXT_MARGIN))
    }

    /// Renders `task` with `vars` inside the chat template, generates, and streams the
    /// decoded text to `sink` as it comes.
    pub fn complete(
        &mut self,
        task: Task,
        vars: &PromptVars,
        settings: &GenerationSettings,
        stop: &StopWhen,
        sink: &mut dyn FnMut(&str),
    ) -> Result<Completion> {
        let rendered = self.render(task, vars)?;
        let prompt = self.tokenizer.encode(&rendered, false)?;
        Ok(self
            .run(&rendered, &prompt, settings, stop, sink)?
            .trimmed())
    }

    /// [`complete`](Self::complete) for each of `inputs`, with no streaming; the
    /// completions come in input order. A shared session runs up to
    /// [`parallel`](Self::parallel) of them together, each on a fork driven by a thread
    /// of its own; a session that owns its model runs them one after another.
    /// `started(i)` hears when input `i` is handed to the model (all at once when
    /// they run together). The first error, in input order, is returned.
    pub fn complete_each(
        &mut self,
        task: Task,
        inputs: &[PromptVars],
        settings: &GenerationSettings,
        stop: &StopWhen,
        started: &mut dyn FnMut(usize),
    ) -> Result<Vec<Completion>> {
        let workers = self.parallel().min(inputs.len());
        if workers <= 1 {
            return (inputs.iter().enumerate())
                .map(|(i, vars)| {
                    started(i);
                    self.complete(task, vars, settings, stop, &mut |_| {})
                })
                .collect();
        }
        (0..inputs.len()).for_each(&mut *started);
        let next = std::sync::atomic::AtomicUsize::new(0);
        let done: Vec<std::sync::Mutex<Option<Result<Completion>>>> =
            inputs.iter().map(|_| Default::default()).collect();
        std::thread::scope(|scope| {
            for mut fork in (0..workers).filter_map(|_| self.fork()) {
                let (next, done) = (&next, &done);
                scope.spawn(move || loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(vars) = inputs.get(i) else { break };
                    let completion = fork.complete(task, vars, settings, stop, &mut |_| {});
                    *done[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(completion);
                });
            }
        });
        done.into_iter()
            .map(|slot| {
                let slot = slot.into_inner().unwrap_or_else(|e| e.into_inner());
                slot.unwrap_or_else(|| Err(engine::batch::batch_stopped().into()))
            })
            .collect()
    }

    /// Renders a conversation with the model's chat template (generation prompt added)
    /// and generates the assistant's answer.
    pub fn chat(
        &mut self,
        messages: &[Message],
        settings: &GenerationSettings,
        stop: &StopWhen,
        sink: &mut dyn FnMut(&str),
    ) -> Result<Completion> {
        let rendered = self.chat_template()?.render(messages)?;
        let prompt = self.tokenizer.encode(&rendered, false)?;
        Ok(self
            .run(&rendered, &prompt, settings, stop, sink)?
            .trimmed())
    }

    /// Continues `text` as it is, with no chat template: what a base model needs. The
    /// tokenizer adds its own special tokens (a BOS where the model wants one), and the
    /// output is kept byte for byte (a leading space included).
    pub fn continue_text(
        &mut self,
        text: &str,
        settings: &GenerationSettings,
        stop: &StopWhen,
        sink: &mut dyn FnMut(&str),
    ) -> Result<Completion> {
        let prompt = self.tokenizer.encode(text, true)?;
        self.run(text, &prompt, settings, stop, sink)
    }

    /// Generates from `prompt` (`text` encoded), streaming decoded text through the
    /// stop strings; a prompt-only session ends the task here, with `text` and `prompt`.
    fn run(
        &mut self,
        text: &str,
        prompt: &[u32],
        settings: &GenerationSettings,
        stop: &StopWhen,
        sink: &mut dyn FnMut(&str),
    ) -> Result<Completion> {
        let mut output = Output::new(self.tokenizer.stream(), stop);
        let generation = match &mut self.decoder {
            Decoder::Own(model) => {
                model.reset();
                engine::generate(model.as_mut(), prompt, settings, &mut |token| {
                    output.token(token, sink)
                })?
            }
            Decoder::Shared(handle) => output.generate_batched(handle, prompt, settings, sink)?,
            Decoder::PromptOnly(_) => {
                return Err(TaskError::StoppedAtPrompt {
                    text: text.to_string(),
                    ids: prompt.to_vec(),
                }
                .into())
            }
        };
        Ok(output.finish(prompt, generation, sink))
    }

    /// The chat template, or the error that says the model has none.
    fn chat_template(&self) -> Result<&ChatTemplate> {
        if let Some(chat) = &self.chat {
            return Ok(chat.as_ref());
        }
        // Loading found none; asking the tokenizer again gives the error that says why.
        Err(match self.tokenizer.chat_template() {
            Err(err) => err.into(),
            Ok(_) => prompt::PromptError::NoChatTemplate {
                model: self.files.name.clone(),
            }
            .into(),
        })
    }

    fn render(&self, task: Task, vars: &PromptVars) -> Result<String> {
        Ok(prompt::build_prompt(
            &self.prompts,
            self.chat_template()?,
            task,
            vars,
        )?)
    }

    fn encode_prompt(&self, task: Task, vars: &PromptVars) -> Result<Vec<u32>> {
        Ok(self.tokenizer.encode(&self.render(task, vars)?, false)?)
    }
}

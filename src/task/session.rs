//! A loaded LLM with everything needed to run a task prompt through it: tokenizer,
//! chat template and task templates. Tasks ask it for completions and token budgets.

use crate::engine::{self, CausalLm, GenerationSettings, Placement, StopReason};
use crate::model::tokenizer::ModelTokenizer;
use crate::model::ModelFiles;
use crate::prompt::{self, ChatTemplate, PromptVars, Task, TaskPrompts};
use crate::Result;

/// Tokens kept free between the prompt and the output, so that a chat template's
/// closing tokens never push a full context over.
const CONTEXT_MARGIN: usize = 16;

/// A model ready to run task prompts.
pub struct LlmSession {
    model: Box<dyn CausalLm>,
    tokenizer: ModelTokenizer,
    chat: ChatTemplate,
    prompts: TaskPrompts,
    files: ModelFiles,
    context_length: usize,
}

/// One model call's output and cost.
#[derive(Debug, Clone)]
pub struct Completion {
    pub text: String,
    pub usage: Usage,
    pub stop: StopReason,
}

/// Token counts and times, summed over every model call a task made.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
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

    /// The counts, times and rates as they appear in every JSON record saar writes
    /// (`--format json` and `saar batch`), added to `record`.
    pub fn write_json(&self, record: &mut serde_json::Map<String, serde_json::Value>) {
        let fields = [
            ("calls", self.calls.into()),
            ("prompt_tokens", self.prompt_tokens.into()),
            ("generated_tokens", self.generated_tokens.into()),
            ("prefill_secs", self.prefill_secs.into()),
            ("decode_secs", self.decode_secs.into()),
            (
                "prefill_tokens_per_sec",
                self.prefill_tokens_per_sec().into(),
            ),
            ("decode_tokens_per_sec", self.decode_tokens_per_sec().into()),
        ];
        record.extend(fields.map(|(name, value)| (name.to_string(), value)));
    }
}

/// Which model produced a record: name, hub repo and revision, architecture, device,
/// weight type and the prompt templates' hash, added to `record` (shared by
/// `--format json` and `saar batch`).
pub fn write_model_json(
    record: &mut serde_json::Map<String, serde_json::Value>,
    files: &crate::model::ModelFiles,
    info: &crate::engine::ModelInfo,
    prompt_hash: Option<&str>,
) {
    let fields = [
        ("model", files.name.clone().into()),
        ("repo", files.repo.clone().into()),
        ("revision", files.revision.clone().into()),
        ("architecture", info.architecture.clone().into()),
        ("device", info.device.clone().into()),
        ("dtype", info.dtype.clone().into()),
        ("prompt_hash", prompt_hash.map(str::to_string).into()),
    ];
    record.extend(fields.map(|(name, value)| (name.to_string(), value)));
}

fn rate(tokens: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        tokens as f64 / secs
    } else {
        0.0
    }
}

impl LlmSession {
    /// Loads the model, its tokenizer and chat template from `files`.
    pub fn load(files: ModelFiles, placement: &Placement, prompts: TaskPrompts) -> Result<Self> {
        let tokenizer = ModelTokenizer::load(&files)?;
        let chat = tokenizer.chat_template()?;
        let model = engine::llm::load(&files, placement)?;
        let context_length = match files.context_length {
            Some(cap) => cap.min(model.info().context_length),
            None => model.info().context_length,
        };
        Ok(Self {
            model,
            tokenizer,
            chat,
            prompts,
            files,
            context_length,
        })
    }

    pub fn files(&self) -> &ModelFiles {
        &self.files
    }

    pub fn info(&self) -> &engine::ModelInfo {
        self.model.info()
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
        sink: &mut dyn FnMut(&str),
    ) -> Result<Completion> {
        let prompt = self.encode_prompt(task, vars)?;
        self.model.reset();
        let mut stream = self.tokenizer.stream();
        let mut text = String::new();
        let generation = engine::generate(self.model.as_mut(), &prompt, settings, &mut |token| {
            if let Some(piece) = stream.push(token) {
                sink(&piece);
                text.push_str(&piece);
            }
            true
        })?;
        if let Some(rest) = stream.finish() {
            sink(&rest);
            text.push_str(&rest);
        }
        let usage = Usage {
            calls: 1,
            prompt_tokens: generation.prompt_tokens,
            generated_tokens: generation.tokens.len(),
            prefill_secs: generation.prefill_secs,
            decode_secs: generation.decode_secs,
        };
        Ok(Completion {
            text: text.trim().to_string(),
            usage,
            stop: generation.stop,
        })
    }

    fn encode_prompt(&self, task: Task, vars: &PromptVars) -> Result<Vec<u32>> {
        let rendered = prompt::build_prompt(&self.prompts, &self.chat, task, vars)?;
        Ok(self.tokenizer.encode(&rendered, false)?)
    }
}

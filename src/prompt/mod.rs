//! Prompts: the task templates in `prompts/` (embedded, overridable with `--prompts`)
//! rendered inside the model's own chat template with minijinja.
//!
//! The flow is task template → [`Message`]s → chat template → one string, which the
//! caller encodes with `add_special_tokens = false` (the chat template already holds
//! the model's special tokens, as with HF `apply_chat_template`).

mod chat;
mod hf_env;
mod neutralise;
mod pyfmt;
mod strftime;
mod task;

pub use chat::{ChatOptions, ChatTemplate, SpecialTokens};
pub use neutralise::{neutralise_delimiters, neutralise_special_tokens};
pub use task::{Lang, Length, PromptVars, Task, TaskPrompts};

/// Errors from loading or rendering task templates and chat templates.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// A template that does not compile: `origin` is the file (or built-in name).
    #[error("template {origin} line {line}: {message}; fix the template or remove it to use the built-in one")]
    Syntax {
        origin: String,
        line: usize,
        message: String,
    },
    /// A template that compiles but fails while rendering (including `raise_exception`).
    #[error("template {origin} line {line} failed to render: {message}")]
    Render {
        origin: String,
        line: usize,
        message: String,
    },
    /// A prompt directory that cannot be read, or a file in it.
    #[error("cannot read prompt template {path}: {message}")]
    Read { path: String, message: String },
    /// A task template that never uses the text it is given, so the article would not
    /// reach the model.
    #[error("template {origin} never uses {{{{ {needs} }}}}: the model would not see the article; put {{{{ {needs} }}}} where the text goes")]
    MissingInput { origin: String, needs: String },
    /// A file in the prompt directory that would silently be ignored.
    #[error("unknown prompt template {path}: expected one of {expected} (a misspelt name would be ignored)")]
    UnknownTemplate { path: String, expected: String },
    /// The model ships no chat template anywhere saar looks.
    #[error("model {model} has no chat template (a base model?); continue raw text with `saar generate`, or give a template with `--chat-template FILE`")]
    NoChatTemplate { model: String },
    /// A `chat_template` entry in `tokenizer_config.json` of an unexpected shape.
    #[error("{path}: chat_template must be a string or a list of {{name, template}} with a \"default\" entry; {message}")]
    BadChatTemplateField { path: String, message: String },
}

/// One chat message, as chat templates expect it (`{"role": ..., "content": ...}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    /// `system`, `user` or `assistant` (templates may accept others, such as `tool`).
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }
    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new("assistant", content)
    }
}

/// Renders `task` for `vars` and wraps it in the model's chat template, ready to be
/// encoded with `add_special_tokens = false`.
///
/// Special tokens of the model (such as `<|im_end|>`) that appear inside message
/// contents are broken up first, so an article cannot smuggle in control tokens.
pub fn build_prompt(
    prompts: &TaskPrompts,
    chat: &ChatTemplate,
    task: Task,
    vars: &PromptVars,
) -> Result<String, PromptError> {
    let messages: Vec<Message> = prompts
        .render(task, vars)?
        .into_iter()
        .map(|m| Message {
            content: neutralise_special_tokens(&m.content, chat.reserved_tokens()),
            role: m.role,
        })
        .collect();
    chat.render(&messages)
}

//! Tasks built from the stages. [`Model`] is the one API every door uses: it loads
//! whichever engine the files are, and answers summarize, translate, chat and raw
//! completion with one [`TaskSettings`] and one [`Record`]. Below it, an
//! [`LlmSession`] holds a loaded LLM with its tokenizer, chat template and prompts;
//! [`summarize`] (map-reduce when the article does not fit) and [`translate`] (chunk by
//! chunk, paragraphs kept) drive it, and [`translate_mt`] drives a Marian model.

pub mod batch;
pub mod compare;
mod control;
pub(crate) mod model;
mod output;
mod record;
mod session;
mod summarize;
mod translate;
mod translate_mt;

pub use control::{Interrupt, StopFilter, StopWhen};
pub use model::{
    check_supports, defaults, supports, unsupported, BadSetting, FirstPrompt, Model, TaskKind,
    TaskSettings,
};
pub use record::{json_fields, ModelStamp, Record};
pub use session::{Completion, Finish, LlmSession, Usage};
pub use summarize::{summarize, summary_budget, summary_chunks, Summary};
pub use translate::{translate, Translation, TranslationPiece};
pub use translate_mt::{translate_mt, MtPlan};

/// What a running task tells its caller, so the CLI can stream and report progress
/// without the library printing anything.
#[derive(Debug)]
pub enum Event<'a> {
    /// A piece of the final output, as it is generated.
    Output(&'a str),
    /// A step of a multi-pass task began (for `--verbose`).
    Step(String),
    /// Something the user should hear before the work goes on (always shown).
    Warning(String),
    /// `done` of `total` chunks of a long article are summarized (0 before the first).
    Progress { done: usize, total: usize },
}

/// Errors a task raises on its own, beyond those of the stages it drives.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error(
        "{model} is {kind}; it cannot {task}: use a language model for that (e.g. -m qwen3-1.7b)"
    )]
    Unsupported {
        model: String,
        kind: &'static str,
        task: &'static str,
    },
    #[error("the model's context is too small for --max-new-tokens {max_new_tokens}: lower --max-new-tokens")]
    ContextTooSmall { max_new_tokens: usize },
    #[error(
        "the translation model returned fewer sentences than it was given; report this as a bug"
    )]
    MissingTranslation,
    #[error("the article needs {chunks} chunks ({calls} model calls at least), more than --max-chunks {limit}: give a shorter text, or raise --max-chunks to run it anyway")]
    TooManyChunks {
        chunks: usize,
        calls: usize,
        limit: usize,
    },
    /// A prompt-only model ([`Model::prompt_only`]) reached its first model call: `text`
    /// is the rendered prompt, special tokens included, and `ids` its tokens.
    #[error("stopped before the first model call, as asked (prompt only)")]
    StoppedAtPrompt { text: String, ids: Vec<u32> },
}

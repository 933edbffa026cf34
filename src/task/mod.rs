//! Tasks built from the stages: an [`LlmSession`] holds a loaded model with its
//! tokenizer, chat template and prompts; [`summarize`] (map-reduce when the article does
//! not fit) and [`translate`] (chunk by chunk, paragraphs kept) drive it.

pub mod batch;
pub mod compare;
mod session;
mod summarize;
mod translate;
mod translate_mt;

pub use session::{write_model_json, Completion, LlmSession, Usage};
pub use summarize::{summarize, summary_budget, summary_chunks, SummarizeSettings, Summary};
pub use translate::{translate, Translation, TranslationPiece};
pub use translate_mt::{is_marian, translate_mt, MtPlan};

/// What a running task tells its caller, so the CLI can stream and report progress
/// without the library printing anything.
#[derive(Debug)]
pub enum Event<'a> {
    /// A piece of the final output, as it is generated.
    Output(&'a str),
    /// A step of a multi-pass task began (for `--verbose`).
    Step(String),
}

/// Errors a task raises on its own, beyond those of the stages it drives.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("the model's context is too small for --max-new-tokens {max_new_tokens}: lower --max-new-tokens")]
    ContextTooSmall { max_new_tokens: usize },
    #[error(
        "the translation model returned fewer sentences than it was given; report this as a bug"
    )]
    MissingTranslation,
}

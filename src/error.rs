//! The library's error type: one enum that wraps each stage's typed error, so the
//! CLI can print a single line that says what went wrong and what to do.

/// Every error the library returns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error(transparent)]
    Tokenizer(#[from] crate::model::tokenizer::TokenizerError),
    #[error(transparent)]
    Prompt(#[from] crate::prompt::PromptError),
    #[error(transparent)]
    Input(#[from] crate::text::InputError),
    #[error(transparent)]
    Chunk(#[from] crate::text::ChunkError),
    #[error(transparent)]
    Task(#[from] crate::task::TaskError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

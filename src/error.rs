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

/// An error and each of its sources on one line, each source added unless the line
/// already says it (many errors repeat their source's text in their own).
pub fn one_line(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line = format!("{line}: {text}");
        }
        source = cause.source();
    }
    line.replace('\n', " ")
}

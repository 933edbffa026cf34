//! Text handling with no ML in it: reading input, Unicode normalization, cleaning of
//! scraped-news boilerplate, sentence segmentation for Hindi with English inside it,
//! and token-budget chunking. (Contract stub: the text helper fills it.)

/// Counts tokens the way the model will; the chunker needs nothing else from a model.
pub trait TokenCounter {
    fn count(&self, text: &str) -> usize;
}

/// Input that cannot be processed.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}")]
    Other(String),
}

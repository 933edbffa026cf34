//! Text handling with no ML in it: reading input, Unicode normalization, cleaning of
//! scraped-news boilerplate, sentence segmentation for Hindi with English inside it,
//! and token-budget chunking.
//!
//! The usual order is [`read_input`] → [`prepare`] (which runs [`normalize`], optionally
//! [`clean`], then [`split_sentences`]) → [`chunk`].

mod abbrev;
mod boilerplate;
mod chunk;
mod clean;
pub mod counters;
mod credits;
mod fold;
mod input;
mod normalize;
mod notices;
mod paragraph;
mod pieces;
mod script;
mod segment;

pub use chunk::{chunk, Chunk, ChunkError, ChunkSettings};
pub use clean::{clean, Cleaned, RemovalReason, Removed};
pub use input::{read_input, read_input_from, validate_input, InputError, MAX_INPUT_BYTES};
pub use normalize::normalize;
pub use paragraph::{join_parts, paragraphs};
pub use script::{script_of, Script};
pub use segment::{split_sentences, Boundary, Sentence};

/// Counts tokens the way the model will; the chunker needs nothing else from a model.
pub trait TokenCounter {
    fn count(&self, text: &str) -> usize;
}

/// Which preparation steps [`prepare`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrepareOptions {
    /// Run [`normalize`] first (turn off to keep offsets equal to the input's).
    pub normalize: bool,
    /// Remove boilerplate with [`clean`].
    pub clean: bool,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            normalize: true,
            clean: true,
        }
    }
}

/// Article text ready for prompting: the text the sentence offsets point into, the
/// sentences, and what cleaning removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prepared {
    pub text: String,
    pub sentences: Vec<Sentence>,
    pub removed: Vec<Removed>,
}

/// Normalizes, cleans and splits `raw` as `options` say.
pub fn prepare(raw: &str, options: PrepareOptions) -> Prepared {
    let normalized = if options.normalize {
        normalize(raw)
    } else {
        raw.to_string()
    };
    let Cleaned { text, removed } = if options.clean {
        clean(&normalized)
    } else {
        Cleaned {
            text: normalized,
            removed: Vec::new(),
        }
    };
    let sentences = split_sentences(&text);
    Prepared {
        text,
        sentences,
        removed,
    }
}

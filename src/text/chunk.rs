//! Packing sentences into chunks that fit the model's context. Whole sentences go
//! together under the token budget; a sentence over the budget is cut (see `pieces`).
//! A chunk may repeat the last sentences of the previous one as context (overlap), and
//! records which prefix is repeated, so the chunks without their overlaps concatenate
//! back to the input exactly.

use std::ops::Range;

use super::pieces::{fit_run, split_oversized, Piece};
use super::segment::{Boundary, Sentence};
use super::TokenCounter;

/// How to chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSettings {
    /// The most tokens one chunk may count, overlap included.
    pub max_tokens: usize,
    /// How many sentences (or pieces of a cut sentence) of the previous chunk to repeat
    /// at the start of the next. Fewer are repeated when they would take more than half
    /// of the budget.
    pub overlap_sentences: usize,
}

/// A span of the text that fits the budget.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Chunk {
    /// The chunk text, overlap included.
    pub range: Range<usize>,
    /// The prefix of `range` repeated from the previous chunk (empty when none).
    pub overlap: Range<usize>,
    /// The token count of the whole chunk text, as the counter reported it.
    pub tokens: usize,
    /// Indices of the sentences with text in this chunk, overlap included.
    pub sentences: Range<usize>,
    /// What follows the chunk: the boundary of its last sentence, or `Inline` when the
    /// chunk ends inside a sentence that had to be cut.
    pub boundary: Boundary,
}

impl Chunk {
    pub fn text<'a>(&self, source: &'a str) -> &'a str {
        source.get(self.range.clone()).unwrap_or("")
    }

    /// The part of the chunk that no earlier chunk contains.
    pub fn new_range(&self) -> Range<usize> {
        self.overlap.end..self.range.end
    }

    pub fn new_text<'a>(&self, source: &'a str) -> &'a str {
        source.get(self.new_range()).unwrap_or("")
    }

    pub fn overlap_text<'a>(&self, source: &'a str) -> &'a str {
        source.get(self.overlap.clone()).unwrap_or("")
    }
}

/// Why chunking failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("the chunk token budget is 0: set --max-tokens to 1 or more")]
    ZeroBudget,
    #[error("the text {grapheme:?} at byte {offset} alone counts {tokens} tokens, over the chunk budget of {max_tokens}: raise --max-tokens")]
    GraphemeOverBudget {
        offset: usize,
        grapheme: String,
        tokens: usize,
        max_tokens: usize,
    },
    #[error("the sentences do not tile the text ({detail}): split the same text that you chunk")]
    SentencesMismatch { detail: String },
}

/// A piece of the text that is never split again, and the sentence it belongs to.
struct Unit {
    piece: Piece,
    sentence: usize,
    ends_sentence: bool,
}

/// Packs `sentences` (consecutive, as [`super::split_sentences`] returns them) of
/// `text` into chunks of at most `settings.max_tokens` tokens as `counter` counts them.
pub fn chunk(
    text: &str,
    sentences: &[Sentence],
    counter: &dyn TokenCounter,
    settings: ChunkSettings,
) -> Result<Vec<Chunk>, ChunkError> {
    if settings.max_tokens == 0 {
        return Err(ChunkError::ZeroBudget);
    }
    check_tiling(text, sentences)?;
    let units = units_within_budget(text, sentences, counter, settings.max_tokens)?;
    Ok(pack_chunks(text, sentences, &units, counter, settings))
}

fn check_tiling(text: &str, sentences: &[Sentence]) -> Result<(), ChunkError> {
    let mut expected_start = sentences.first().map_or(0, |s| s.range.start);
    for (index, sentence) in sentences.iter().enumerate() {
        let Range { start, end } = sentence.range;
        let problem = if start != expected_start {
            Some("a gap or an overlap between sentences")
        } else if end <= start {
            Some("an empty sentence")
        } else if end > text.len() {
            Some("a sentence past the end of the text")
        } else if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            Some("a sentence boundary inside a character")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(ChunkError::SentencesMismatch {
                detail: format!("{problem} at sentence {index}, bytes {start}..{end}"),
            });
        }
        expected_start = end;
    }
    Ok(())
}

fn units_within_budget(
    text: &str,
    sentences: &[Sentence],
    counter: &dyn TokenCounter,
    max_tokens: usize,
) -> Result<Vec<Unit>, ChunkError> {
    let mut units = Vec::with_capacity(sentences.len());
    let mut pieces = Vec::new();
    for (index, sentence) in sentences.iter().enumerate() {
        let tokens = counter.count(&text[sentence.range.clone()]);
        if tokens <= max_tokens {
            units.push(Unit {
                piece: Piece {
                    range: sentence.range.clone(),
                    tokens,
                },
                sentence: index,
                ends_sentence: true,
            });
            continue;
        }
        pieces.clear();
        split_oversized(
            text,
            sentence.range.clone(),
            counter,
            max_tokens,
            &mut pieces,
        )?;
        units.extend(pieces.drain(..).map(|piece| Unit {
            ends_sentence: piece.range.end == sentence.range.end,
            piece,
            sentence: index,
        }));
    }
    Ok(units)
}

fn pack_chunks(
    text: &str,
    sentences: &[Sentence],
    units: &[Unit],
    counter: &dyn TokenCounter,
    settings: ChunkSettings,
) -> Vec<Chunk> {
    let pieces: Vec<Piece> = units.iter().map(|unit| unit.piece.clone()).collect();
    let mut chunks = Vec::new();
    let mut next = 0;
    while next < pieces.len() {
        let mut overlap = settings.overlap_sentences.min(next);
        while overlap > 0
            && pieces[next - overlap..next]
                .iter()
                .map(|p| p.tokens)
                .sum::<usize>()
                > settings.max_tokens / 2
        {
            overlap -= 1;
        }
        let (end, tokens) = loop {
            match fit_run(
                text,
                &pieces,
                next - overlap,
                next,
                counter,
                settings.max_tokens,
            ) {
                Some(found) => break found,
                None if overlap > 0 => overlap -= 1,
                None => break (next + 1, pieces[next].tokens),
            }
        };
        let lead = next - overlap;
        let last = &units[end - 1];
        chunks.push(Chunk {
            range: pieces[lead].range.start..pieces[end - 1].range.end,
            overlap: pieces[lead].range.start..pieces[next].range.start,
            tokens,
            sentences: units[lead].sentence..last.sentence + 1,
            boundary: if last.ends_sentence {
                sentences[last.sentence].boundary
            } else {
                Boundary::Inline
            },
        });
        next = end;
    }
    chunks
}

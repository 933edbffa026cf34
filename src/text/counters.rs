//! Simple token counters for tests, benchmarks and rough budgets when no model
//! tokenizer is at hand. The real pipeline counts with the model's tokenizer.

use super::TokenCounter;

/// Counts Unicode scalar values (chars), whitespace included.
#[derive(Debug, Clone, Copy, Default)]
pub struct CharCounter;

impl TokenCounter for CharCounter {
    fn count(&self, text: &str) -> usize {
        text.chars().count()
    }
}

/// Counts whitespace-separated words.
#[derive(Debug, Clone, Copy, Default)]
pub struct WordCounter;

impl TokenCounter for WordCounter {
    fn count(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }
}

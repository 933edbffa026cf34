//! Cutting a sentence that alone is over the token budget, and the greedy packing that
//! both this and the chunker use. Cuts go at clause marks first (comma, semicolon,
//! colon, dash), then between words, then between grapheme clusters, so a piece is
//! never cut in the middle of a letter.

use std::ops::Range;

use unicode_segmentation::UnicodeSegmentation;

use super::chunk::ChunkError;
use super::segment::{grapheme_boundary_at_or_after, skip_whitespace};
use super::TokenCounter;

/// A span of text and its token count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Piece {
    pub(crate) range: Range<usize>,
    pub(crate) tokens: usize,
}

#[derive(Debug, Clone, Copy)]
enum Level {
    Clause,
    Word,
    Grapheme,
}

/// Splits `range`, which counts more than `max_tokens`, into consecutive pieces that
/// each fit; fails only when one grapheme cluster alone is over the budget.
pub(crate) fn split_oversized(
    text: &str,
    range: Range<usize>,
    counter: &dyn TokenCounter,
    max_tokens: usize,
    out: &mut Vec<Piece>,
) -> Result<(), ChunkError> {
    split_at_level(text, range, Level::Clause, counter, max_tokens, out)
}

fn split_at_level(
    text: &str,
    range: Range<usize>,
    level: Level,
    counter: &dyn TokenCounter,
    max_tokens: usize,
    out: &mut Vec<Piece>,
) -> Result<(), ChunkError> {
    let cuts = match level {
        Level::Clause => clause_cuts(text, range.clone()),
        Level::Word => word_cuts(text, range.clone()),
        Level::Grapheme => grapheme_cuts(text, range.clone()),
    };
    let mut fitting = Vec::new();
    let mut start = range.start;
    for end in cuts.into_iter().chain(std::iter::once(range.end)) {
        let piece = start..end;
        start = end;
        let tokens = counter.count(&text[piece.clone()]);
        if tokens <= max_tokens {
            fitting.push(Piece {
                range: piece,
                tokens,
            });
            continue;
        }
        pack_into(text, &fitting, counter, max_tokens, out);
        fitting.clear();
        match level {
            Level::Clause => split_at_level(text, piece, Level::Word, counter, max_tokens, out)?,
            Level::Word => split_at_level(text, piece, Level::Grapheme, counter, max_tokens, out)?,
            Level::Grapheme => {
                return Err(ChunkError::GraphemeOverBudget {
                    offset: piece.start,
                    grapheme: text[piece].chars().take(16).collect(),
                    tokens,
                    max_tokens,
                })
            }
        }
    }
    pack_into(text, &fitting, counter, max_tokens, out);
    Ok(())
}

/// Joins consecutive fitting pieces into as few pieces as the budget allows.
fn pack_into(
    text: &str,
    items: &[Piece],
    counter: &dyn TokenCounter,
    max_tokens: usize,
    out: &mut Vec<Piece>,
) {
    let mut from = 0;
    while from < items.len() {
        let (end, tokens) = fit_run(text, items, from, from, counter, max_tokens)
            .unwrap_or((from + 1, items[from].tokens));
        out.push(Piece {
            range: items[from].range.start..items[end - 1].range.end,
            tokens,
        });
        from = end;
    }
}

/// The longest run `items[lead..end]` with `end > from` whose text fits the budget, and
/// its token count. Counts add up per item first (one count per item, not per try) and
/// the run's own text is then counted to confirm, since tokenizers are not exactly
/// additive. `None` when even `items[lead..=from]` is over the budget.
pub(crate) fn fit_run(
    text: &str,
    items: &[Piece],
    lead: usize,
    from: usize,
    counter: &dyn TokenCounter,
    max_tokens: usize,
) -> Option<(usize, usize)> {
    let mut estimate: usize = items[lead..from].iter().map(|item| item.tokens).sum();
    let mut end = from;
    while end < items.len() && estimate + items[end].tokens <= max_tokens {
        estimate += items[end].tokens;
        end += 1;
    }
    end = end.max(from + 1);
    loop {
        if lead == from && end == from + 1 {
            let tokens = items[from].tokens;
            return (tokens <= max_tokens).then_some((end, tokens));
        }
        let tokens = counter.count(&text[items[lead].range.start..items[end - 1].range.end]);
        if tokens <= max_tokens {
            return Some((end, tokens));
        }
        if end == from + 1 {
            return None;
        }
        end -= 1;
    }
}

fn is_clause_mark(c: char) -> bool {
    matches!(
        c,
        ',' | ';' | ':' | '—' | '–' | '،' | '؛' | '、' | '，' | '；' | '：'
    )
}

/// Cut after a clause mark followed by whitespace (so 1,000 and 10:30 stay whole),
/// after a dash, and after a spaced hyphen (" - ").
fn clause_cuts(text: &str, range: Range<usize>) -> Vec<usize> {
    let slice = &text[range.clone()];
    let mut cuts = Vec::new();
    let mut previous = ' ';
    for (offset, c) in slice.char_indices() {
        let after = range.start + offset + c.len_utf8();
        let next_is_space = text[after..].starts_with(char::is_whitespace);
        let is_cut = match c {
            '—' | '–' => true,
            '-' => previous.is_whitespace() && next_is_space,
            c => is_clause_mark(c) && next_is_space,
        };
        previous = c;
        if is_cut {
            push_cut(
                &mut cuts,
                grapheme_boundary_at_or_after(text, skip_whitespace(text, after)),
                &range,
            );
        }
    }
    cuts
}

/// Cut before each word that follows whitespace.
fn word_cuts(text: &str, range: Range<usize>) -> Vec<usize> {
    let slice = &text[range.clone()];
    let mut cuts = Vec::new();
    let mut previous_is_space = false;
    for (offset, c) in slice.char_indices() {
        let is_space = c.is_whitespace();
        if previous_is_space && !is_space {
            push_cut(
                &mut cuts,
                grapheme_boundary_at_or_after(text, range.start + offset),
                &range,
            );
        }
        previous_is_space = is_space;
    }
    cuts
}

fn grapheme_cuts(text: &str, range: Range<usize>) -> Vec<usize> {
    text[range.clone()]
        .grapheme_indices(true)
        .skip(1)
        .map(|(offset, _)| range.start + offset)
        .collect()
}

fn push_cut(cuts: &mut Vec<usize>, cut: usize, range: &Range<usize>) {
    let after_last = cuts.last().is_none_or(|&last| cut > last);
    if cut > range.start && cut < range.end && after_last {
        cuts.push(cut);
    }
}

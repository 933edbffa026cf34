//! Corpus chrF and chrF++ exactly as sacrebleu 2.x `CHRF()` computes them by default:
//! character n-grams up to 6 over the text with all whitespace removed, optional word
//! n-grams after sacrebleu's punctuation split, beta 2, and the effective-order average
//! (not epsilon smoothing). With several references the best-F reference wins per segment.

use std::collections::HashMap;

use serde::Serialize;

use super::pytext::py_split;

/// Character n-gram order of chrF.
pub const CHAR_ORDER: usize = 6;
/// Word n-gram order of chrF++.
pub const CHRF_PP_WORD_ORDER: usize = 2;
/// Recall weight.
pub const BETA: f64 = 2.0;

/// `string.punctuation`, which sacrebleu peels off word edges for chrF++.
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// A corpus chrF score (chrF when `word_order` is 0, chrF++ when it is 2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChrfScore {
    /// 0..=100.
    pub score: f64,
    pub char_order: usize,
    pub word_order: usize,
    pub beta: f64,
}

/// Hypothesis, reference and matching n-gram counts for one order.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct OrderStats {
    hyp: u64,
    reference: u64,
    matched: u64,
}

/// N-gram counts per order, keyed by windows into the character or word list.
type NgramCounts<'w, 'a> = Vec<HashMap<&'w [&'a str], u64>>;

pub(crate) fn corpus_chrf(
    hyps: &[String],
    ref_streams: &[Vec<String>],
    word_order: usize,
) -> ChrfScore {
    let orders = CHAR_ORDER + word_order;
    let mut corpus = vec![OrderStats::default(); orders];
    for (i, hyp) in hyps.iter().enumerate() {
        let hyp_chars = squeeze_whitespace(hyp);
        let hyp_words = split_punctuation(hyp);
        let hyp_ngrams = all_ngrams(&hyp_chars, &hyp_words, word_order);

        let mut best: Option<(f64, Vec<OrderStats>)> = None;
        for stream in ref_streams {
            let Some(reference) = stream.get(i) else {
                continue;
            };
            let ref_chars = squeeze_whitespace(reference);
            let ref_words = split_punctuation(reference);
            let ref_ngrams = all_ngrams(&ref_chars, &ref_words, word_order);
            let stats: Vec<OrderStats> = hyp_ngrams
                .iter()
                .zip(&ref_ngrams)
                .map(|(h, r)| match_statistics(h, r))
                .collect();
            let f = f_score(&stats);
            if best.as_ref().is_none_or(|(best_f, _)| f > *best_f) {
                best = Some((f, stats));
            }
        }
        if let Some((_, stats)) = best {
            for (total, seg) in corpus.iter_mut().zip(stats) {
                total.hyp += seg.hyp;
                total.reference += seg.reference;
                total.matched += seg.matched;
            }
        }
    }
    ChrfScore {
        score: f_score(&corpus),
        char_order: CHAR_ORDER,
        word_order,
        beta: BETA,
    }
}

/// `''.join(line.split())`, as a list of one-character slices.
fn squeeze_whitespace(text: &str) -> Vec<&str> {
    py_split(text)
        .flat_map(|word| {
            word.char_indices()
                .map(move |(at, c)| &word[at..at + c.len_utf8()])
        })
        .collect()
}

/// sacrebleu's `_remove_punctuation`: one punctuation mark is split off the end of a
/// word, or else off its start (so "(hi)" becomes "(hi" and ")").
fn split_punctuation(text: &str) -> Vec<&str> {
    let is_punct = |c: char| PUNCTUATION.contains(c);
    let mut words = Vec::new();
    for word in py_split(text) {
        let mut chars = word.chars();
        let first = chars.next();
        let last = chars.next_back();
        match (first, last) {
            (Some(_), None) | (None, _) => words.push(word),
            (Some(first), Some(last)) => {
                if is_punct(last) {
                    let cut = word.len() - last.len_utf8();
                    words.extend([&word[..cut], &word[cut..]]);
                } else if is_punct(first) {
                    let cut = first.len_utf8();
                    words.extend([&word[..cut], &word[cut..]]);
                } else {
                    words.push(word);
                }
            }
        }
    }
    words
}

/// Character n-grams of orders 1..=6, then word n-grams of orders 1..=word_order.
fn all_ngrams<'w, 'a>(
    chars: &'w [&'a str],
    words: &'w [&'a str],
    word_order: usize,
) -> NgramCounts<'w, 'a> {
    let mut all = Vec::with_capacity(CHAR_ORDER + word_order);
    for n in 1..=CHAR_ORDER {
        all.push(count_windows(chars, n));
    }
    for n in 1..=word_order {
        all.push(count_windows(words, n));
    }
    all
}

fn count_windows<'w, 'a>(items: &'w [&'a str], n: usize) -> HashMap<&'w [&'a str], u64> {
    let mut counts = HashMap::new();
    for window in items.windows(n) {
        *counts.entry(window).or_insert(0) += 1;
    }
    counts
}

/// sacrebleu's `_get_match_statistics`: hypothesis n-grams count only when the reference
/// has n-grams of that order.
fn match_statistics(hyp: &HashMap<&[&str], u64>, reference: &HashMap<&[&str], u64>) -> OrderStats {
    let mut hyp_count = 0;
    let mut matched = 0;
    for (ngram, &count) in hyp {
        hyp_count += count;
        if let Some(&in_ref) = reference.get(ngram) {
            matched += count.min(in_ref);
        }
    }
    OrderStats {
        hyp: if reference.is_empty() { 0 } else { hyp_count },
        reference: reference.values().sum(),
        matched,
    }
}

/// sacrebleu's `_compute_f_score` without epsilon smoothing: precision and recall are
/// averaged over the orders where both sides have n-grams.
fn f_score(stats: &[OrderStats]) -> f64 {
    let factor = BETA * BETA;
    let (mut avg_prec, mut avg_rec, mut effective) = (0.0, 0.0, 0usize);
    for s in stats {
        if s.hyp > 0 && s.reference > 0 {
            avg_prec += s.matched as f64 / s.hyp as f64;
            avg_rec += s.matched as f64 / s.reference as f64;
            effective += 1;
        }
    }
    if effective == 0 {
        return 0.0;
    }
    avg_prec /= effective as f64;
    avg_rec /= effective as f64;
    if avg_prec + avg_rec == 0.0 {
        return 0.0;
    }
    // Same operation order as sacrebleu, so the last bits agree too.
    let mut score = (1.0 + factor) * avg_prec * avg_rec;
    score /= factor * avg_prec + avg_rec;
    100.0 * score
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punctuation_split_follows_sacrebleu_including_its_quirk() {
        assert_eq!(
            split_punctuation("(hi) a, ,b ."),
            ["(hi", ")", "a", ",", ",", "b", "."]
        );
    }

    #[test]
    fn identical_text_scores_one_hundred() {
        let hyps = vec!["नमस्ते दुनिया".to_string()];
        let refs = vec![hyps.clone()];
        assert!((corpus_chrf(&hyps, &refs, 2).score - 100.0).abs() < 1e-9);
    }
}

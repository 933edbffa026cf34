//! Corpus BLEU exactly as sacrebleu 2.x `BLEU()` computes it by default: 13a tokens,
//! mixed case, n-grams up to 4, `exp` smoothing, no effective order, closest reference
//! length with ties going to the shorter reference, and clipped counts taken as the
//! maximum over references.

use std::collections::HashMap;

use serde::Serialize;

use super::pytext::py_rstrip;
use super::tokenize_13a::tokenize_13a;

/// The highest n-gram order BLEU counts.
pub const MAX_NGRAM_ORDER: usize = 4;

/// The log sacrebleu's `my_log` uses for a zero precision.
const LOG_OF_ZERO: f64 = -9_999_999_999.0;

/// A corpus BLEU score with its sufficient statistics (sacrebleu's `BLEUScore`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BleuScore {
    /// 0..=100.
    pub score: f64,
    /// Clipped matching n-grams per order 1..=4.
    pub counts: [u64; MAX_NGRAM_ORDER],
    /// Hypothesis n-grams per order 1..=4.
    pub totals: [u64; MAX_NGRAM_ORDER],
    /// Smoothed precisions per order, in percent.
    pub precisions: [f64; MAX_NGRAM_ORDER],
    /// Brevity penalty.
    pub bp: f64,
    /// Hypothesis tokens in the corpus.
    pub sys_len: u64,
    /// Closest-reference tokens in the corpus.
    pub ref_len: u64,
}

/// `hyps[i]` is scored against `ref_streams[k][i]` for every stream `k`.
/// The caller ([`super::Corpus`]) guarantees equal lengths.
pub(crate) fn corpus_bleu(hyps: &[String], ref_streams: &[Vec<String>]) -> BleuScore {
    let mut sys_len = 0u64;
    let mut ref_len = 0u64;
    let mut counts = [0u64; MAX_NGRAM_ORDER];
    let mut totals = [0u64; MAX_NGRAM_ORDER];

    for (i, hyp) in hyps.iter().enumerate() {
        let ref_lines: Vec<String> = ref_streams
            .iter()
            .filter_map(|stream| stream.get(i))
            .map(|r| preprocess(r))
            .collect();
        let mut ref_max_counts: HashMap<&[&str], u64> = HashMap::new();
        let mut ref_lens = Vec::with_capacity(ref_lines.len());
        let ref_tokens: Vec<Vec<&str>> = ref_lines
            .iter()
            .map(|r| r.split(' ').filter(|t| !t.is_empty()).collect())
            .collect();
        for tokens in &ref_tokens {
            ref_lens.push(tokens.len() as u64);
            for (ngram, count) in count_ngrams(tokens) {
                let best = ref_max_counts.entry(ngram).or_insert(0);
                *best = (*best).max(count);
            }
        }

        let hyp_line = preprocess(hyp);
        let hyp_tokens: Vec<&str> = hyp_line.split(' ').filter(|t| !t.is_empty()).collect();
        let hyp_len = hyp_tokens.len() as u64;
        sys_len += hyp_len;
        ref_len += closest_ref_len(hyp_len, &ref_lens);
        for (ngram, count) in count_ngrams(&hyp_tokens) {
            let order = ngram.len() - 1;
            totals[order] += count;
            if let Some(&in_ref) = ref_max_counts.get(ngram) {
                counts[order] += count.min(in_ref);
            }
        }
    }
    compute_bleu(counts, totals, sys_len, ref_len)
}

/// sacrebleu's `_preprocess_segment`: `rstrip()`, then 13a.
fn preprocess(segment: &str) -> String {
    tokenize_13a(py_rstrip(segment))
}

fn count_ngrams<'t, 's>(tokens: &'t [&'s str]) -> HashMap<&'t [&'s str], u64> {
    let mut counts = HashMap::new();
    for n in 1..=MAX_NGRAM_ORDER {
        for window in tokens.windows(n) {
            *counts.entry(window).or_insert(0) += 1;
        }
    }
    counts
}

/// The reference length nearest the hypothesis length; ties go to the shorter one.
fn closest_ref_len(hyp_len: u64, ref_lens: &[u64]) -> u64 {
    let mut best: Option<(u64, u64)> = None;
    for &len in ref_lens {
        let diff = hyp_len.abs_diff(len);
        best = match best {
            Some((best_diff, best_len))
                if diff > best_diff || (diff == best_diff && len >= best_len) =>
            {
                Some((best_diff, best_len))
            }
            _ => Some((diff, len)),
        };
    }
    best.map_or(0, |(_, len)| len)
}

/// sacrebleu's `BLEU.compute_bleu` with `smooth_method='exp'`, `effective_order=False`.
fn compute_bleu(
    counts: [u64; MAX_NGRAM_ORDER],
    totals: [u64; MAX_NGRAM_ORDER],
    sys_len: u64,
    ref_len: u64,
) -> BleuScore {
    let bp = if sys_len < ref_len {
        if sys_len > 0 {
            (1.0 - ref_len as f64 / sys_len as f64).exp()
        } else {
            0.0
        }
    } else {
        1.0
    };
    let mut precisions = [0.0; MAX_NGRAM_ORDER];
    let score = if counts.iter().all(|&c| c == 0) {
        0.0
    } else {
        let mut smooth = 1.0;
        for n in 0..MAX_NGRAM_ORDER {
            if totals[n] == 0 {
                break;
            }
            precisions[n] = if counts[n] == 0 {
                smooth *= 2.0;
                100.0 / (smooth * totals[n] as f64)
            } else {
                100.0 * counts[n] as f64 / totals[n] as f64
            };
        }
        let log_sum: f64 = precisions
            .iter()
            .map(|&p| if p == 0.0 { LOG_OF_ZERO } else { p.ln() })
            .sum();
        bp * (log_sum / MAX_NGRAM_ORDER as f64).exp()
    };
    BleuScore {
        score,
        counts,
        totals,
        precisions,
        bp,
        sys_len,
        ref_len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_in_reference_length_go_to_the_shorter_reference() {
        assert_eq!(closest_ref_len(5, &[7, 3]), 3);
        assert_eq!(closest_ref_len(5, &[3, 7]), 3);
        assert_eq!(closest_ref_len(5, &[]), 0);
    }

    #[test]
    fn a_missing_order_zeroes_the_score_without_effective_order() {
        let hyps = vec!["a b".to_string()];
        let refs = vec![vec!["a b".to_string()]];
        let bleu = corpus_bleu(&hyps, &refs);
        assert_eq!(bleu.counts, [2, 1, 0, 0]);
        assert!(bleu.score < 1e-6);
    }
}

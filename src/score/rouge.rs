//! ROUGE-L as Google's `rouge-score` package computes it with `RougeScorer(['rougeL'])`:
//! lowercase, every run of characters outside [a-z0-9] becomes a separator, no stemming,
//! LCS precision/recall/F1 per segment. With several references the best-F one wins
//! (`score_multi`). The corpus figure is the mean of the per-segment values, and saar
//! reports it in percent (rouge-score's 0..1 times 100). Porter stemming
//! (`use_stemmer=True`) is not implemented, so saar's ROUGE-L is always unstemmed.

use serde::Serialize;

/// Mean per-segment ROUGE-L, in percent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RougeLScore {
    /// Mean F1, 0..=100.
    pub f: f64,
    /// Mean precision, 0..=100.
    pub p: f64,
    /// Mean recall, 0..=100.
    pub r: f64,
}

/// Precision, recall and F1 of one segment, each 0..=1 as rouge-score returns them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentRouge {
    pub precision: f64,
    pub recall: f64,
    pub fmeasure: f64,
}

/// rouge-score's default tokenizer without stemming.
pub fn rouge_tokenize(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `_score_lcs(target, prediction)`: zero when either side has no tokens.
pub fn rouge_l_segment(reference: &str, hypothesis: &str) -> SegmentRouge {
    let target = rouge_tokenize(reference);
    let prediction = rouge_tokenize(hypothesis);
    if target.is_empty() || prediction.is_empty() {
        return SegmentRouge {
            precision: 0.0,
            recall: 0.0,
            fmeasure: 0.0,
        };
    }
    let lcs = lcs_length(&target, &prediction) as f64;
    let precision = lcs / prediction.len() as f64;
    let recall = lcs / target.len() as f64;
    let fmeasure = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    SegmentRouge {
        precision,
        recall,
        fmeasure,
    }
}

/// Mean over segments of the best-F reference's scores.
pub(crate) fn corpus_rouge_l(hyps: &[String], ref_streams: &[Vec<String>]) -> RougeLScore {
    let (mut f, mut p, mut r) = (0.0, 0.0, 0.0);
    for (i, hyp) in hyps.iter().enumerate() {
        let mut best: Option<SegmentRouge> = None;
        for reference in ref_streams.iter().filter_map(|stream| stream.get(i)) {
            let seg = rouge_l_segment(reference, hyp);
            // np.argmax keeps the first maximum.
            if best.is_none_or(|b| seg.fmeasure > b.fmeasure) {
                best = Some(seg);
            }
        }
        if let Some(best) = best {
            f += best.fmeasure;
            p += best.precision;
            r += best.recall;
        }
    }
    let n = hyps.len().max(1) as f64;
    RougeLScore {
        f: 100.0 * f / n,
        p: 100.0 * p / n,
        r: 100.0 * r / n,
    }
}

/// Longest common subsequence length with two rolling rows.
fn lcs_length(a: &[String], b: &[String]) -> usize {
    let mut previous = vec![0usize; b.len() + 1];
    let mut current = vec![0usize; b.len() + 1];
    for token_a in a {
        for (j, token_b) in b.iter().enumerate() {
            current[j + 1] = if token_a == token_b {
                previous[j] + 1
            } else {
                previous[j + 1].max(current[j])
            };
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_keeps_only_ascii_alphanumeric_runs() {
        assert_eq!(
            rouge_tokenize("It's 5:30 — Déjà vu! राम"),
            ["it", "s", "5", "30", "d", "j", "vu"]
        );
    }

    #[test]
    fn lcs_counts_in_order_matches_only() {
        let seg = rouge_l_segment("the cat sat on the mat", "the mat sat on a cat");
        // LCS "the sat on" = 3 of 6 tokens each side.
        assert!((seg.precision - 0.5).abs() < 1e-12);
        assert!((seg.fmeasure - 0.5).abs() < 1e-12);
        assert_eq!(rouge_l_segment("", "x").fmeasure, 0.0);
    }
}

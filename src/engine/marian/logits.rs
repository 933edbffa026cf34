//! The logits processors HF's `generate` builds for Marian, applied in HF's order to
//! one row of scores: repetition penalty, no-repeat n-grams, bad words, minimum
//! lengths, forced EOS at the last position, and optional renormalisation.

use std::collections::HashMap;

/// Which processors run, with their parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct LogitsProcessors {
    pub repetition_penalty: f32,
    pub no_repeat_ngram_size: usize,
    /// Banned single tokens (EOS never among them, as in HF).
    pub banned_tokens: Vec<u32>,
    /// Banned sequences of two or more tokens.
    pub banned_sequences: Vec<Vec<u32>>,
    pub min_length: usize,
    pub min_new_tokens: usize,
    /// Decoder tokens before generation starts (the start token).
    pub prompt_length: usize,
    pub max_length: usize,
    pub eos_token_ids: Vec<u32>,
    pub forced_eos_token_ids: Vec<u32>,
    pub renormalize: bool,
}

impl LogitsProcessors {
    /// Splits `bad_words_ids` as `NoBadWordsLogitsProcessor` does, dropping bans
    /// that are exactly one EOS token.
    pub fn split_bad_words(bad_words: &[Vec<u32>], eos: &[u32]) -> (Vec<u32>, Vec<Vec<u32>>) {
        let kept = bad_words
            .iter()
            .filter(|words| !(words.len() == 1 && eos.contains(&words[0])));
        let (single, multi): (Vec<&Vec<u32>>, Vec<&Vec<u32>>) =
            kept.filter(|w| !w.is_empty()).partition(|w| w.len() == 1);
        (
            single.into_iter().map(|w| w[0]).collect(),
            multi.into_iter().cloned().collect(),
        )
    }

    /// Processes `scores` for the row whose decoder tokens so far are `sequence`.
    pub fn apply(&self, sequence: &[u32], scores: &mut [f32]) {
        let cur_len = sequence.len();
        if self.repetition_penalty != 1.0 {
            let mut seen = sequence.to_vec();
            seen.sort_unstable();
            seen.dedup();
            for token in seen {
                if let Some(score) = scores.get_mut(token as usize) {
                    *score = if *score < 0.0 {
                        *score * self.repetition_penalty
                    } else {
                        *score / self.repetition_penalty
                    };
                }
            }
        }
        if self.no_repeat_ngram_size > 0 {
            for token in banned_ngram_continuations(sequence, self.no_repeat_ngram_size) {
                ban(scores, token);
            }
        }
        for &token in &self.banned_tokens {
            ban(scores, token);
        }
        for words in &self.banned_sequences {
            if let Some((last, prefix)) = words.split_last() {
                if sequence.ends_with(prefix) {
                    ban(scores, *last);
                }
            }
        }
        let too_short = cur_len < self.min_length
            || cur_len.saturating_sub(self.prompt_length) < self.min_new_tokens;
        if too_short {
            for &eos in &self.eos_token_ids {
                ban(scores, eos);
            }
        }
        if !self.forced_eos_token_ids.is_empty() && cur_len + 1 == self.max_length {
            scores.fill(f32::NEG_INFINITY);
            for &eos in &self.forced_eos_token_ids {
                if let Some(score) = scores.get_mut(eos as usize) {
                    *score = 0.0;
                }
            }
        }
        if self.renormalize {
            log_softmax_in_place(scores);
        }
    }
}

fn ban(scores: &mut [f32], token: u32) {
    if let Some(score) = scores.get_mut(token as usize) {
        *score = f32::NEG_INFINITY;
    }
}

/// Tokens that would repeat an n-gram already in `sequence` (HF's
/// `NoRepeatNGramLogitsProcessor`, which also counts the start token).
fn banned_ngram_continuations(sequence: &[u32], n: usize) -> Vec<u32> {
    if sequence.len() + 1 < n {
        return Vec::new();
    }
    let mut continuations: HashMap<&[u32], Vec<u32>> = HashMap::new();
    for ngram in sequence.windows(n) {
        continuations
            .entry(&ngram[..n - 1])
            .or_default()
            .push(ngram[n - 1]);
    }
    let tail = &sequence[sequence.len() + 1 - n..];
    continuations.remove(tail).unwrap_or_default()
}

/// Log-softmax of one row, accumulated in f64.
pub fn log_softmax_in_place(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return;
    }
    let sum: f64 = scores.iter().map(|&s| f64::from(s - max).exp()).sum();
    let log_sum = sum.ln() as f32;
    for score in scores.iter_mut() {
        *score = *score - max - log_sum;
    }
}

/// Index of the first largest score, like `torch.argmax`.
pub fn argmax(scores: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &score) in scores.iter().enumerate() {
        if score > scores[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn processors() -> LogitsProcessors {
        LogitsProcessors {
            repetition_penalty: 1.0,
            no_repeat_ngram_size: 0,
            banned_tokens: vec![],
            banned_sequences: vec![],
            min_length: 0,
            min_new_tokens: 0,
            prompt_length: 1,
            max_length: 10,
            eos_token_ids: vec![0],
            forced_eos_token_ids: vec![],
            renormalize: false,
        }
    }

    #[test]
    fn eos_alone_is_never_a_bad_word() {
        let (single, multi) =
            LogitsProcessors::split_bad_words(&[vec![0], vec![5], vec![1, 2]], &[0]);
        assert_eq!(single, vec![5]);
        assert_eq!(multi, vec![vec![1, 2]]);
    }

    #[test]
    fn ngram_repeats_are_banned_only_after_the_matching_prefix() {
        assert_eq!(banned_ngram_continuations(&[9, 1, 2, 3, 1], 2), vec![2]);
        assert_eq!(
            banned_ngram_continuations(&[9, 1, 2, 3, 1], 3),
            Vec::<u32>::new()
        );
        assert_eq!(banned_ngram_continuations(&[9, 1, 2, 1, 2], 3), vec![1]);
    }

    #[test]
    fn forced_eos_leaves_only_eos_at_the_last_position() {
        let mut p = processors();
        p.forced_eos_token_ids = vec![0];
        let mut scores = vec![1.0, 5.0, 3.0];
        p.apply(&[9; 9], &mut scores);
        assert_eq!(scores, vec![0.0, f32::NEG_INFINITY, f32::NEG_INFINITY]);
        let mut scores = vec![1.0, 5.0, 3.0];
        p.apply(&[9; 8], &mut scores);
        assert_eq!(scores, vec![1.0, 5.0, 3.0]);
    }

    #[test]
    fn repetition_penalty_shrinks_seen_tokens_towards_lower_scores() {
        let mut p = processors();
        p.repetition_penalty = 2.0;
        let mut scores = vec![1.0, -1.0, 4.0];
        p.apply(&[0, 1, 1], &mut scores);
        assert_eq!(scores, vec![0.5, -2.0, 4.0]);
    }

    #[test]
    fn min_length_holds_back_eos() {
        let mut p = processors();
        p.min_length = 3;
        let mut scores = vec![1.0, 0.0];
        p.apply(&[9, 4], &mut scores);
        assert_eq!(scores[0], f32::NEG_INFINITY);
    }

    #[test]
    fn argmax_takes_the_first_of_equal_scores() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
    }
}

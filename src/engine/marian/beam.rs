//! Beam search with the semantics of transformers' `_beam_search` (the vectorised
//! rewrite): per sentence, the top `max(2, 1 + #eos) * beams` continuations by summed
//! log-probability; candidates that end (EOS or `max_length`) among the first `beams`
//! may enter the finished set with score `sum / generated_len ** length_penalty`; the
//! best unfinished ones run on. A sentence stops when `early_stopping` says so or when
//! no running beam can still beat its worst finished one. Scores are f32 and the
//! `-1e9` masks are added in the same order as HF, so ties break the same way.
//!
//! A sentence whose search is over leaves the batch; HF keeps computing it but can no
//! longer change its result, so the output is the same.

use super::config::EarlyStopping;
use super::logits::log_softmax_in_place;
use super::model::{DecoderState, MarianModel};
use super::search::Hypothesis;
use super::settings::{SearchPlan, PROMPT_LENGTH};
use crate::engine::{EngineError, StopReason};

/// HF's "impossible" score.
const MASKED: f32 = -1.0e9;

#[derive(Debug, Clone)]
struct Finished {
    sequence: Vec<u32>,
    score: f32,
    /// False for placeholders that only hold a slot.
    done: bool,
}

/// The search state of one source sentence.
struct Sentence {
    running: Vec<(Vec<u32>, f32)>,
    finished: Vec<Finished>,
    can_improve: bool,
    over: bool,
}

impl Sentence {
    fn new(beams: usize, start: u32) -> Self {
        Sentence {
            running: (0..beams)
                .map(|b| (vec![start], if b == 0 { 0.0 } else { MASKED }))
                .collect(),
            finished: (0..beams)
                .map(|_| Finished {
                    sequence: vec![start],
                    score: MASKED,
                    done: false,
                })
                .collect(),
            can_improve: true,
            over: false,
        }
    }
}

/// The `k` best `(score, index)` pairs, best first; equal scores keep index order.
struct TopK {
    k: usize,
    best: Vec<(f32, usize)>,
}

impl TopK {
    fn new(k: usize) -> Self {
        TopK {
            k,
            best: Vec::with_capacity(k + 1),
        }
    }

    fn offer(&mut self, score: f32, index: usize) {
        if self.best.len() == self.k && !self.best.last().is_some_and(|last| score > last.0) {
            return;
        }
        let at = self
            .best
            .partition_point(|&(s, i)| s > score || (s == score && i < index));
        self.best.insert(at, (score, index));
        self.best.truncate(self.k);
    }
}

/// Indices of the `n` largest values, best first; equal values keep their order.
fn top_indices(values: &[f32], n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| {
        values[b]
            .partial_cmp(&values[a])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    order.truncate(n);
    order
}

pub fn beam_search(
    model: &MarianModel,
    mut state: DecoderState,
    plan: &SearchPlan,
) -> Result<Vec<Hypothesis>, EngineError> {
    let beams = plan.num_beams;
    let sources = state.rows();
    let expand: Vec<u32> = (0..sources as u32)
        .flat_map(|s| std::iter::repeat_n(s, beams))
        .collect();
    state.select_rows(&expand)?;
    let mut sentences: Vec<Sentence> = (0..sources)
        .map(|_| Sentence::new(beams, plan.decoder_start))
        .collect();
    let mut active: Vec<usize> = (0..sources).collect();
    let mut cur_len = PROMPT_LENGTH;
    while !active.is_empty() {
        let last: Vec<u32> = active
            .iter()
            .flat_map(|&s| {
                sentences[s]
                    .running
                    .iter()
                    .map(|(seq, _)| seq.last().copied().unwrap_or(plan.decoder_start))
            })
            .collect();
        let logits = model.step(&mut state, &last)?;
        let vocab = logits.dims()[1];
        let mut logits = logits.flatten_all()?.to_vec1::<f32>()?;
        let mut next_rows = Vec::new();
        let mut still_active = Vec::new();
        for (position, &s) in active.iter().enumerate() {
            let rows = &mut logits[position * beams * vocab..(position + 1) * beams * vocab];
            let chosen = advance(&mut sentences[s], rows, vocab, plan, cur_len);
            if !sentences[s].over {
                still_active.push(s);
                next_rows.extend(chosen.iter().map(|&beam| (position * beams + beam) as u32));
            }
        }
        cur_len += 1;
        if still_active.len() == active.len() {
            state.reorder_beams(&next_rows)?;
        } else if !still_active.is_empty() {
            state.select_rows(&next_rows)?;
        }
        active = still_active;
    }
    Ok(sentences
        .into_iter()
        .map(|sentence| {
            let best = sentence.finished.into_iter().next();
            let (sequence, score) = best.map_or((vec![plan.decoder_start], MASKED), |f| {
                (f.sequence, f.score)
            });
            let ended = sequence.len() > PROMPT_LENGTH
                && sequence
                    .last()
                    .is_some_and(|t| plan.eos_token_ids.contains(t));
            let stop = if ended {
                StopReason::Eos
            } else {
                StopReason::MaxNewTokens
            };
            Hypothesis::from_sequence(sequence, stop, Some(score))
        })
        .collect())
}

/// One step for one sentence; returns, for each new running beam, the beam it grew from.
fn advance(
    sentence: &mut Sentence,
    logits: &mut [f32],
    vocab: usize,
    plan: &SearchPlan,
    cur_len: usize,
) -> Vec<usize> {
    let beams = plan.num_beams;
    let keep = 2usize.max(1 + plan.eos_token_ids.len()) * beams;
    let mut top = TopK::new(keep);
    for (beam, (sequence, running_score)) in sentence.running.iter().enumerate() {
        let scores = &mut logits[beam * vocab..(beam + 1) * vocab];
        log_softmax_in_place(scores);
        plan.processors.apply(sequence, scores);
        for (token, score) in scores.iter().enumerate() {
            top.offer(score + running_score, beam * vocab + token);
        }
    }
    let candidates: Vec<(f32, usize, u32)> = top
        .best
        .iter()
        .map(|&(score, index)| (score, index / vocab, (index % vocab) as u32))
        .collect();
    let grown = |&(_, beam, token): &(f32, usize, u32)| {
        let mut sequence = sentence.running[beam].0.clone();
        sequence.push(token);
        sequence
    };
    let at_max_length = cur_len + 1 >= plan.max_length;
    let ends: Vec<bool> = candidates
        .iter()
        .map(|c| at_max_length || plan.eos_token_ids.contains(&c.2))
        .collect();

    // Running beams for the next step: the best candidates that did not end.
    let running_scores: Vec<f32> = candidates
        .iter()
        .zip(&ends)
        .map(|(c, &end)| c.0 + if end { MASKED } else { 0.0 })
        .collect();
    let next = top_indices(&running_scores, beams);

    // Finished hypotheses: merge the ended top-`beams` candidates into the kept ones.
    let length_penalty = ((cur_len + 1 - PROMPT_LENGTH) as f64).powf(plan.length_penalty) as f32;
    // HF also masks the candidates of a sentence whose finished set is full under
    // `early_stopping=True`; such a sentence has already left the batch here.
    let mut merged: Vec<Finished> = sentence.finished.clone();
    for (j, (candidate, &end)) in candidates.iter().zip(&ends).enumerate() {
        let just_ended = end && j < beams;
        let mut score = candidate.0 / length_penalty;
        score += if sentence.can_improve { 0.0 } else { MASKED };
        score += if just_ended { 0.0 } else { MASKED };
        merged.push(Finished {
            sequence: grown(candidate),
            score,
            done: just_ended,
        });
    }
    let merged_scores: Vec<f32> = merged.iter().map(|f| f.score).collect();
    sentence.finished = top_indices(&merged_scores, beams)
        .into_iter()
        .map(|i| merged[i].clone())
        .collect();

    sentence.running = next
        .iter()
        .map(|&j| (grown(&candidates[j]), running_scores[j]))
        .collect();

    // Can a running beam still beat the worst finished hypothesis?
    let new_len = cur_len + 1;
    let best_length = if plan.early_stopping == EarlyStopping::Never && plan.length_penalty > 0.0 {
        plan.max_length - PROMPT_LENGTH
    } else {
        new_len - PROMPT_LENGTH
    };
    let best_possible =
        sentence.running[0].1 / ((best_length as f64).powf(plan.length_penalty) as f32);
    let worst = sentence
        .finished
        .iter()
        .map(|f| f.score)
        .fold(f32::INFINITY, f32::min);
    let improvable = sentence
        .finished
        .iter()
        .any(|f| best_possible > if f.done { worst } else { MASKED });
    sentence.can_improve &= improvable;
    let all_done = sentence.finished.iter().all(|f| f.done);
    sentence.over = !sentence.can_improve
        || (plan.early_stopping == EarlyStopping::True && all_done)
        || ends.iter().all(|&end| end);
    next.iter().map(|&j| candidates[j].1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_keeps_the_best_in_order_and_prefers_lower_indices_on_ties() {
        let mut top = TopK::new(3);
        for (i, s) in [1.0, 5.0, 3.0, 5.0, 4.0, -1.0].into_iter().enumerate() {
            top.offer(s, i);
        }
        assert_eq!(top.best, vec![(5.0, 1), (5.0, 3), (4.0, 4)]);
    }

    #[test]
    fn top_indices_is_stable() {
        assert_eq!(top_indices(&[2.0, 7.0, 2.0, 7.0], 3), vec![1, 3, 0]);
    }
}

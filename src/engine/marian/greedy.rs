//! Greedy decoding with HF `generate(num_beams=1)` semantics: processors on the raw
//! logits, the first highest score wins, a sentence stops at EOS or at `max_length`.
//! Finished sentences leave the batch, so the rest run on fewer rows; their own
//! results do not change, which is what makes a batch equal its sentences one by one.

use super::logits::argmax;
use super::model::{DecoderState, MarianModel};
use super::search::Hypothesis;
use super::settings::SearchPlan;
use crate::engine::{EngineError, StopReason};

pub fn greedy(
    model: &MarianModel,
    mut state: DecoderState,
    plan: &SearchPlan,
) -> Result<Vec<Hypothesis>, EngineError> {
    let rows = state.rows();
    let mut sequences: Vec<Vec<u32>> = vec![vec![plan.decoder_start]; rows];
    let mut stops: Vec<Option<StopReason>> = vec![None; rows];
    let mut active: Vec<usize> = (0..rows).collect();
    while !active.is_empty() {
        let last: Vec<u32> = active
            .iter()
            .map(|&i| sequences[i].last().copied().unwrap_or(plan.decoder_start))
            .collect();
        let logits = model.step(&mut state, &last)?;
        let vocab = logits.dims()[1];
        let mut logits = logits.flatten_all()?.to_vec1::<f32>()?;
        for (scores, &i) in logits.chunks_mut(vocab).zip(&active) {
            plan.processors.apply(&sequences[i], scores);
            let next = argmax(scores);
            sequences[i].push(next);
            if plan.eos_token_ids.contains(&next) {
                stops[i] = Some(StopReason::Eos);
            } else if sequences[i].len() >= plan.max_length {
                stops[i] = Some(StopReason::MaxNewTokens);
            }
        }
        let keep: Vec<u32> = (0..active.len() as u32)
            .filter(|&r| stops[active[r as usize]].is_none())
            .collect();
        if keep.len() < active.len() && !keep.is_empty() {
            state.select_rows(&keep)?;
        }
        active = keep.iter().map(|&r| active[r as usize]).collect();
    }
    Ok(sequences
        .into_iter()
        .zip(stops)
        .map(|(sequence, stop)| {
            Hypothesis::from_sequence(sequence, stop.unwrap_or(StopReason::MaxNewTokens), None)
        })
        .collect())
}

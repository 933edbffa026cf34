//! What a search returns, the entry point that picks greedy or beam search, and
//! the batching and teacher forcing that every translation engine on this network
//! shares.

use candle_core::Tensor;

use super::beam::beam_search;
use super::greedy::greedy;
use super::model::{DecoderState, MarianModel};
use super::settings::{SearchPlan, PROMPT_LENGTH};
use crate::engine::{EngineError, StopReason};

/// One finished translation in ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    /// Generated ids, without the decoder start token and without the final EOS.
    pub tokens: Vec<u32>,
    pub stop: StopReason,
    /// Beam search's length-normalised log-probability (HF's `sequences_scores`).
    pub score: Option<f32>,
}

impl Hypothesis {
    /// From a full decoder sequence (start token first, EOS last when it stopped there).
    pub fn from_sequence(mut sequence: Vec<u32>, stop: StopReason, score: Option<f32>) -> Self {
        if stop == StopReason::Eos {
            sequence.pop();
        }
        let tokens = sequence.split_off(PROMPT_LENGTH.min(sequence.len()));
        Hypothesis {
            tokens,
            stop,
            score,
        }
    }
}

/// Runs the planned search over a batch the encoder has prepared.
pub fn search(
    model: &MarianModel,
    state: DecoderState,
    plan: &SearchPlan,
) -> Result<Vec<Hypothesis>, EngineError> {
    if plan.num_beams > 1 {
        beam_search(model, state, plan)
    } else {
        greedy(model, state, plan)
    }
}

/// Generates for already tokenized sources (each ending in its EOS), grouped by
/// length into batches of `batch_size`; results come back in the order given.
pub(crate) fn generate_batched(
    model: &MarianModel,
    sources: &[Vec<u32>],
    plan: &SearchPlan,
    batch_size: usize,
) -> Result<Vec<Hypothesis>, EngineError> {
    if sources.iter().any(Vec::is_empty) {
        return Err(EngineError::Config {
            path: "source ids".into(),
            message: "every source needs at least its </s> token".into(),
        });
    }
    if let Some(long) = sources.iter().find(|s| s.len() > model.max_positions()) {
        return Err(EngineError::ContextOverflow {
            tokens: long.len(),
            context: model.max_positions(),
        });
    }
    let mut order: Vec<usize> = (0..sources.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sources[i].len()));
    let mut results: Vec<Option<Hypothesis>> = vec![None; sources.len()];
    crate::engine::kernels::on_pool(|| {
        for batch in order.chunks(batch_size.max(1)) {
            let batch_sources: Vec<Vec<u32>> = batch.iter().map(|&i| sources[i].clone()).collect();
            let state = model.encode(&batch_sources)?;
            for (&i, hypothesis) in batch.iter().zip(search(model, state, plan)?) {
                results[i] = Some(hypothesis);
            }
        }
        Ok::<_, EngineError>(())
    })?;
    Ok(results.into_iter().flatten().collect())
}

/// Decoder logits `(sources, positions, vocab)` for given decoder inputs (start
/// token first): all positions at once, or one at a time through the cache as
/// generation runs them (`stepwise`).
pub(crate) fn forced_logits(
    model: &MarianModel,
    sources: &[Vec<u32>],
    decoder_ids: &[Vec<u32>],
    stepwise: bool,
) -> Result<Tensor, EngineError> {
    let mut state = model.encode(sources)?;
    let len = decoder_ids.first().map_or(0, Vec::len);
    if decoder_ids.iter().any(|ids| ids.len() != len) || decoder_ids.len() != sources.len() {
        return Err(EngineError::Config {
            path: "decoder ids".into(),
            message: "one decoder sequence per source, all of one length".into(),
        });
    }
    let flat: Vec<u32> = decoder_ids.concat();
    let ids = Tensor::from_vec(flat, (decoder_ids.len(), len), model.device())?;
    if !stepwise {
        return model.decode(&mut state, &ids);
    }
    let steps = (0..len)
        .map(|p| model.decode(&mut state, &ids.narrow(1, p, 1)?))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Tensor::cat(&steps, 1)?)
}

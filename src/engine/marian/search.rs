//! What a search returns, and the entry point that picks greedy or beam search.

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

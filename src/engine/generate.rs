//! The decode loop shared by every [`CausalLm`]: prefill, then one token at a time
//! with sampling, repeat penalty and EOS stops.

use std::time::Instant;

use candle_core::Tensor;
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::utils::apply_repeat_penalty;

use super::{CausalLm, EngineError};

#[derive(Debug, Clone)]
pub struct GenerationSettings {
    pub max_new_tokens: usize,
    /// 0 means greedy.
    pub temperature: f64,
    pub top_k: Option<usize>,
    pub top_p: Option<f64>,
    pub seed: u64,
    /// 1.0 means off.
    pub repeat_penalty: f32,
    pub repeat_last_n: usize,
    /// Generation stops after any of these.
    pub eos_token_ids: Vec<u32>,
}

impl GenerationSettings {
    /// Plain greedy decoding (no penalty, as HF's `generate` defaults): the baseline for
    /// reproducible comparisons. EOS ids are left for the caller to fill from the model.
    pub fn greedy(max_new_tokens: usize) -> Self {
        GenerationSettings {
            max_new_tokens,
            temperature: 0.0,
            top_k: None,
            top_p: None,
            seed: 0,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            eos_token_ids: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    Eos,
    MaxNewTokens,
    ContextFull,
    Stopped,
}

#[derive(Debug, Clone)]
pub struct Generation {
    /// New tokens, without the prompt, without the final EOS.
    pub tokens: Vec<u32>,
    pub prompt_tokens: usize,
    pub prefill_secs: f64,
    pub decode_secs: f64,
    pub stop: StopReason,
}

/// One sequence's decoding state after its prompt: the sampler, the history the repeat
/// penalty reads, and the stop rules. [`generate`] and the batched
/// [`Scheduler`](super::batch::Scheduler) both feed it logits, so a sequence decodes the
/// same alone or in a batch.
pub struct SequenceSampler {
    sampler: LogitsProcessor,
    settings: GenerationSettings,
    /// Prompt and new tokens, for the repeat penalty and the next position.
    history: Vec<u32>,
    prompt_tokens: usize,
    context: usize,
}

impl SequenceSampler {
    /// Starts after `prompt`, for a model whose context holds `context` positions.
    pub fn new(prompt: &[u32], settings: &GenerationSettings, context: usize) -> Self {
        let mut history = Vec::with_capacity(prompt.len() + settings.max_new_tokens);
        history.extend_from_slice(prompt);
        Self {
            sampler: LogitsProcessor::from_sampling(settings.seed, sampling(settings)),
            settings: settings.clone(),
            history,
            prompt_tokens: prompt.len(),
            context,
        }
    }

    /// Tokens generated so far.
    pub fn generated(&self) -> usize {
        self.history.len() - self.prompt_tokens
    }

    /// Picks the next token from `logits` (of the last position fed) and hands it to
    /// `on_token`. `Ok(None)`: feed [`last`](Self::last) at [`position`](Self::position)
    /// and call again with its logits; `Ok(Some(reason))`: the sequence has ended.
    pub fn next(
        &mut self,
        logits: &Tensor,
        on_token: &mut dyn FnMut(u32) -> bool,
    ) -> Result<Option<StopReason>, EngineError> {
        if self.generated() >= self.settings.max_new_tokens {
            return Ok(Some(StopReason::MaxNewTokens));
        }
        let next = self
            .sampler
            .sample(&penalized(logits, &self.history, &self.settings)?)?;
        if self.settings.eos_token_ids.contains(&next) {
            return Ok(Some(StopReason::Eos));
        }
        self.history.push(next);
        if !on_token(next) {
            return Ok(Some(StopReason::Stopped));
        }
        if self.generated() >= self.settings.max_new_tokens {
            return Ok(Some(StopReason::MaxNewTokens));
        }
        if self.position() >= self.context {
            return Ok(Some(StopReason::ContextFull));
        }
        Ok(None)
    }

    /// The token to feed next (the last one sampled).
    pub fn last(&self) -> u32 {
        self.history.last().copied().unwrap_or_default()
    }

    /// The position [`last`](Self::last) takes in the sequence.
    pub fn position(&self) -> usize {
        self.history.len() - 1
    }

    /// The new tokens, without the prompt and without a final EOS.
    pub fn into_tokens(mut self) -> Vec<u32> {
        self.history.split_off(self.prompt_tokens)
    }
}

/// The error for a prompt that cannot run: empty, or longer than the context.
pub(crate) fn check_prompt(prompt: &[u32], context: usize) -> Result<(), EngineError> {
    if prompt.len() > context {
        return Err(EngineError::ContextOverflow {
            tokens: prompt.len(),
            context,
        });
    }
    Ok(())
}

/// Generates from `prompt`. `on_token` sees each new token as it comes and returns
/// `false` to stop early.
pub fn generate(
    model: &mut dyn CausalLm,
    prompt: &[u32],
    settings: &GenerationSettings,
    on_token: &mut dyn FnMut(u32) -> bool,
) -> Result<Generation, EngineError> {
    let context = model.info().context_length;
    check_prompt(prompt, context)?;
    let mut sequence = SequenceSampler::new(prompt, settings, context);

    let prefill_start = Instant::now();
    let mut logits = model.forward(prompt, 0)?;
    let prefill_secs = prefill_start.elapsed().as_secs_f64();

    let decode_start = Instant::now();
    let stop = loop {
        if let Some(stop) = sequence.next(&logits, on_token)? {
            break stop;
        }
        logits = model.forward(&[sequence.last()], sequence.position())?;
    };
    Ok(Generation {
        tokens: sequence.into_tokens(),
        prompt_tokens: prompt.len(),
        prefill_secs,
        decode_secs: decode_start.elapsed().as_secs_f64(),
        stop,
    })
}

fn sampling(settings: &GenerationSettings) -> Sampling {
    let temperature = settings.temperature;
    if temperature <= 0.0 {
        return Sampling::ArgMax;
    }
    match (settings.top_k, settings.top_p) {
        (None, None) => Sampling::All { temperature },
        (Some(k), None) => Sampling::TopK { k, temperature },
        (None, Some(p)) => Sampling::TopP { p, temperature },
        (Some(k), Some(p)) => Sampling::TopKThenTopP { k, p, temperature },
    }
}

/// The logits with the repeat penalty applied over the last `repeat_last_n` tokens.
fn penalized(
    logits: &Tensor,
    history: &[u32],
    settings: &GenerationSettings,
) -> Result<Tensor, EngineError> {
    if settings.repeat_penalty == 1.0 || settings.repeat_last_n == 0 {
        return Ok(logits.clone());
    }
    let recent = &history[history.len().saturating_sub(settings.repeat_last_n)..];
    Ok(apply_repeat_penalty(
        logits,
        settings.repeat_penalty,
        recent,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ModelInfo;
    use candle_core::Device;

    /// Predicts `next[last token]` with a margin of 1 over `runner_up[last token]`, and
    /// records every call so the loop's positions can be checked.
    struct ScriptedLm {
        next: Vec<u32>,
        runner_up: Vec<u32>,
        calls: Vec<(Vec<u32>, usize)>,
        info: ModelInfo,
    }

    impl ScriptedLm {
        fn new(next: &[u32], context: usize) -> Self {
            let vocab = next.len();
            Self {
                next: next.to_vec(),
                runner_up: (0..vocab as u32).map(|t| (t + 5) % vocab as u32).collect(),
                calls: Vec::new(),
                info: ModelInfo {
                    architecture: "scripted".into(),
                    dtype: "f32".into(),
                    device: "cpu".into(),
                    context_length: context,
                    vocab_size: vocab,
                },
            }
        }
    }

    impl CausalLm for ScriptedLm {
        fn forward(&mut self, ids: &[u32], pos: usize) -> Result<Tensor, EngineError> {
            self.calls.push((ids.to_vec(), pos));
            let last = *ids.last().ok_or(EngineError::EmptyPrompt)? as usize;
            let mut logits = vec![0f32; self.next.len()];
            logits[self.runner_up[last] as usize] = 4.0;
            logits[self.next[last] as usize] = 5.0;
            Ok(Tensor::new(logits, &Device::Cpu)?)
        }
        fn reset(&mut self) {}
        fn info(&self) -> &ModelInfo {
            &self.info
        }
    }

    fn greedy(max_new_tokens: usize, eos: &[u32]) -> GenerationSettings {
        GenerationSettings {
            max_new_tokens,
            temperature: 0.0,
            top_k: None,
            top_p: None,
            seed: 7,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            eos_token_ids: eos.to_vec(),
        }
    }

    // 0→1→2→3→4→9 (EOS), and 9→0.
    const CHAIN: [u32; 10] = [1, 2, 3, 4, 9, 0, 0, 0, 0, 0];

    #[test]
    fn greedy_stops_at_eos_without_emitting_it() {
        let mut lm = ScriptedLm::new(&CHAIN, 100);
        let mut seen = Vec::new();
        let run = generate(&mut lm, &[5, 0], &greedy(50, &[8, 9]), &mut |t| {
            seen.push(t);
            true
        })
        .unwrap();
        assert_eq!(run.tokens, vec![1, 2, 3, 4]);
        assert_eq!(seen, run.tokens);
        assert_eq!(run.stop, StopReason::Eos);
        assert_eq!(run.prompt_tokens, 2);
        let positions: Vec<usize> = lm.calls.iter().map(|(_, p)| *p).collect();
        assert_eq!(
            positions,
            vec![0, 2, 3, 4, 5],
            "prefill, then one position per token"
        );
        assert_eq!(lm.calls[0].0, vec![5, 0]);
    }

    #[test]
    fn max_new_tokens_is_honoured_without_a_wasted_step() {
        let mut lm = ScriptedLm::new(&CHAIN, 100);
        let run = generate(&mut lm, &[0], &greedy(3, &[9]), &mut |_| true).unwrap();
        assert_eq!(run.tokens, vec![1, 2, 3]);
        assert_eq!(run.stop, StopReason::MaxNewTokens);
        assert_eq!(
            lm.calls.len(),
            3,
            "prefill + 2 steps feed the first 2 new tokens"
        );
        let run = generate(&mut lm, &[0], &greedy(0, &[9]), &mut |_| true).unwrap();
        assert!(run.tokens.is_empty());
    }

    #[test]
    fn context_end_and_callback_stop_generation() {
        let mut lm = ScriptedLm::new(&CHAIN, 4);
        let run = generate(&mut lm, &[0, 0], &greedy(50, &[]), &mut |_| true).unwrap();
        assert_eq!(run.stop, StopReason::ContextFull);
        assert_eq!(
            run.tokens,
            vec![1, 2, 3],
            "positions 2 and 3 are fed; the token for 4 is the last"
        );
        let run = generate(&mut lm, &[0], &greedy(50, &[]), &mut |t| t != 2).unwrap();
        assert_eq!((run.tokens, run.stop), (vec![1, 2], StopReason::Stopped));
        let too_long = generate(&mut lm, &[0; 5], &greedy(5, &[]), &mut |_| true);
        assert!(matches!(
            too_long,
            Err(EngineError::ContextOverflow {
                tokens: 5,
                context: 4
            })
        ));
    }

    #[test]
    fn repeat_penalty_steers_away_from_recent_tokens() {
        // Every token predicts 1 (score 5) over token + 5 (score 4); a penalty of 2 makes
        // a recent token score half.
        let mut lm = ScriptedLm::new(&[1; 10], 100);
        let mut settings = greedy(4, &[]);
        let plain = generate(&mut lm, &[0], &settings, &mut |_| true).unwrap();
        assert_eq!(plain.tokens, vec![1, 1, 1, 1]);
        settings.repeat_penalty = 2.0;
        let penalized = generate(&mut lm, &[0], &settings, &mut |_| true).unwrap();
        // After 1 → 6 (1 is recent); 6's runner-up is 1 too; then 1 (2.5) beats 6 (2).
        assert_eq!(penalized.tokens, vec![1, 6, 1, 1]);
        settings.repeat_last_n = 1;
        let last_only = generate(&mut lm, &[0], &settings, &mut |_| true).unwrap();
        assert_eq!(
            last_only.tokens,
            vec![1, 6, 1, 6],
            "only the last token is penalized"
        );
    }

    #[test]
    fn sampling_is_reproducible_and_top_k_1_is_greedy() {
        let mut lm = ScriptedLm::new(&CHAIN, 100);
        let mut settings = greedy(20, &[]);
        settings.temperature = 1.5;
        let a = generate(&mut lm, &[0], &settings, &mut |_| true)
            .unwrap()
            .tokens;
        let b = generate(&mut lm, &[0], &settings, &mut |_| true)
            .unwrap()
            .tokens;
        assert_eq!(a, b, "same seed, same tokens");
        let greedy_tokens = generate(&mut lm, &[0], &greedy(20, &[]), &mut |_| true)
            .unwrap()
            .tokens;
        assert_ne!(
            a, greedy_tokens,
            "temperature 1.5 over 10 tokens should wander"
        );
        settings.top_k = Some(1);
        let top1 = generate(&mut lm, &[0], &settings, &mut |_| true)
            .unwrap()
            .tokens;
        assert_eq!(top1, greedy_tokens);
    }
}

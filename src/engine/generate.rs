//! The decode loop shared by every [`CausalLm`]: prefill, then one token at a time
//! with sampling, repeat penalty and EOS stops. (Contract stub: the engine helper fills it.)

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

/// Generates from `prompt`. `on_token` sees each new token as it comes and returns
/// `false` to stop early.
pub fn generate(
    model: &mut dyn CausalLm,
    prompt: &[u32],
    settings: &GenerationSettings,
    on_token: &mut dyn FnMut(u32) -> bool,
) -> Result<Generation, EngineError> {
    let _ = (model, prompt, settings, on_token);
    unimplemented!("engine helper")
}

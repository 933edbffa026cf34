//! One normalized description of a decoder-only transformer, whatever file it came from
//! (`hf_config` reads `config.json`, `gguf` reads GGUF metadata). The decoder reads only
//! [`DecoderConfig`]: family differences are data here, not code paths there.

use super::rope::RopeSpec;

/// The families saar runs, as named in `EngineError::UnsupportedArchitecture`.
pub const SUPPORTED_ARCHITECTURES: &str = "qwen2, qwen3, llama and gemma3";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Qwen2,
    Qwen3,
    Llama,
    Gemma3,
}

impl Family {
    /// Maps a `model_type` or GGUF `general.architecture` to a family.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "qwen2" => Some(Self::Qwen2),
            "qwen3" => Some(Self::Qwen3),
            "llama" => Some(Self::Llama),
            "gemma3" | "gemma3_text" => Some(Self::Gemma3),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Qwen2 => "qwen2",
            Self::Qwen3 => "qwen3",
            Self::Llama => "llama",
            Self::Gemma3 => "gemma3",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Silu,
    /// `gelu_pytorch_tanh`: the tanh approximation.
    GeluTanh,
    /// `gelu`: the exact erf form.
    Gelu,
}

/// Everything the decoder needs to know about a model's shape and numerics.
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderConfig {
    pub family: Family,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    pub num_kv_heads: usize,
    pub head_dim: usize,
    pub rms_norm_eps: f64,
    /// Added to every RMSNorm weight at load time (gemma3 safetensors store `w - 1`).
    pub norm_weight_offset: f32,
    pub context_length: usize,
    pub tie_word_embeddings: bool,
    pub qkv_bias: bool,
    pub o_bias: bool,
    pub mlp_bias: bool,
    pub activation: Activation,
    /// RMSNorm over each head of q and k before RoPE (qwen3, gemma3).
    pub qk_norm: bool,
    /// Norms after attention and around the MLP (gemma3).
    pub sandwich_norms: bool,
    /// Embeddings multiplied by this (gemma3: sqrt(hidden)).
    pub embedding_scale: Option<f64>,
    pub attention_scale: f64,
    /// `tanh(logits / cap) * cap` on the output (gemma3; transformers' Gemma3 ignores
    /// `attn_logit_softcapping`, and so do we).
    pub final_logit_softcap: Option<f64>,
    /// RoPE of full-attention layers.
    pub rope: RopeSpec,
    /// RoPE of sliding-window layers when it differs (gemma3 local layers).
    pub local_rope: Option<RopeSpec>,
    pub sliding_window: Option<usize>,
    /// One entry per layer: does it attend through the sliding window?
    pub sliding_layers: Vec<bool>,
    /// GGUF llama weights are permuted for interleaved (GPT-J style) rotation.
    pub interleaved_rope: bool,
}

impl DecoderConfig {
    /// Rejects shapes the decoder cannot run (zero sizes, heads that do not group,
    /// odd head dims for RoPE), whatever file they came from.
    pub fn validate(&self) -> Result<(), String> {
        let sizes = [
            ("hidden size", self.hidden_size),
            ("intermediate size", self.intermediate_size),
            ("layer count", self.num_layers),
            ("attention head count", self.num_heads),
            ("KV head count", self.num_kv_heads),
            ("vocabulary size", self.vocab_size),
            ("context length", self.context_length),
        ];
        if let Some((name, _)) = sizes.iter().find(|(_, n)| *n == 0) {
            return Err(format!("the model's {name} is 0"));
        }
        if !self.num_heads.is_multiple_of(self.num_kv_heads) {
            return Err(format!(
                "{} attention heads do not group into {} KV heads",
                self.num_heads, self.num_kv_heads
            ));
        }
        if self.head_dim == 0 || !self.head_dim.is_multiple_of(2) {
            return Err(format!(
                "head dim {} is not a positive even number",
                self.head_dim
            ));
        }
        if self.sliding_window == Some(0) {
            return Err("the sliding window is 0".into());
        }
        Ok(())
    }
}

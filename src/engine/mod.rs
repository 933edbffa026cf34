//! Engines turn token ids into token ids. They know nothing of files on disk beyond
//! the [`crate::model::ModelFiles`] they are handed, nothing of CLI flags and nothing
//! of tasks. Every supported family runs through one decoder ([`llm`]) behind the
//! [`CausalLm`] trait, and the decode loop in [`generate()`] serves any `CausalLm`.

pub mod batch;
pub mod generate;
pub mod indictrans;
pub mod kernels;
pub mod kv_cache;
pub mod llm;
pub mod marian;
pub mod translator;

pub use batch::{BatchedLm, Scheduler, SchedulerOptions, SequenceSink};
pub use generate::{generate, Generation, GenerationSettings, SequenceSampler, StopReason};

use candle_core::{DType, Device, Tensor};

/// Errors from loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("unsupported architecture `{found}`: saar supports {supported}")]
    UnsupportedArchitecture {
        found: String,
        supported: &'static str,
    },
    #[error("model config {path}: {message}")]
    Config { path: String, message: String },
    #[error(
        "model weights {path} are unreadable ({message}); delete the file and download it again"
    )]
    Weights { path: String, message: String },
    #[error("GGUF file {path} uses a quantization saar cannot run ({message}); use a file of a type saar runs: F32, F16, BF16, Q8_0, Q6_K, Q5_K, Q5_0, Q5_1, Q4_K, Q4_0, Q4_1, IQ4_XS, IQ4_NL, Q3_K or Q2_K (Q4_K_M is the usual choice)")]
    UnsupportedQuantization { path: String, message: String },
    #[error("the prompt has {tokens} tokens but the model's context holds {context}")]
    ContextOverflow { tokens: usize, context: usize },
    #[error("the prompt is empty; the model needs at least one token to continue")]
    EmptyPrompt,
    #[error("token id {id} is outside the model's vocabulary of {vocab}; the tokenizer does not belong to this model")]
    TokenOutOfRange { id: u32, vocab: usize },
    #[error("internal error: forward at position {requested} but the KV cache holds {cached} positions; call reset() or continue at {cached}")]
    CachePosition { requested: usize, cached: usize },
    #[error("{architecture} models cannot decode many sequences at once")]
    NotBatched { architecture: String },
    #[error("one sequence needs {needed_mib} MiB of KV cache but the budget is {budget_mib} MiB; raise --kv-cache-mib or lower --max-new-tokens")]
    KvBudget {
        needed_mib: usize,
        budget_mib: usize,
    },
    #[error("a batched decoding step failed, ending its sequences: {message}")]
    BatchStep { message: String },
    #[error("{0}")]
    Candle(#[from] candle_core::Error),
}

/// What a loaded model says about itself, for `--stats` and JSON output.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelInfo {
    /// Architecture name as saar knows it: `qwen2`, `qwen3`, `llama`, `gemma3`.
    pub architecture: String,
    /// `f32`, `bf16`, `f16`, or the GGUF file type such as `q4_k_m`.
    pub dtype: String,
    /// `cpu`, `cuda:0`, `metal:0`.
    pub device: String,
    /// Maximum positions the model was trained for.
    pub context_length: usize,
    pub vocab_size: usize,
}

/// A decoder-only language model with a KV cache. `Send`, so a worker thread can own it.
pub trait CausalLm: Send {
    /// Runs `ids` at positions `pos..pos + ids.len()` (the cache holds `0..pos`) and
    /// returns the logits of the last position as a 1-D f32 tensor of `vocab_size`.
    /// `pos == 0` starts a new sequence; any other `pos` must continue the cached one
    /// ([`EngineError::CachePosition`] otherwise).
    fn forward(&mut self, ids: &[u32], pos: usize) -> Result<Tensor, EngineError>;
    /// Empties the KV cache so the next call can start at position 0.
    fn reset(&mut self);
    fn info(&self) -> &ModelInfo;
    /// The same model running many sequences at once (see [`batch`]), where it can.
    fn batched(&mut self) -> Option<&mut dyn BatchedLm> {
        None
    }
}

/// Where a model runs and in which floating-point type.
#[derive(Debug, Clone)]
pub struct Placement {
    pub device: Device,
    /// `None` picks the default: bf16 on a GPU, f32 on a CPU (safetensors only;
    /// GGUF keeps its quantized types).
    pub dtype: Option<DType>,
}

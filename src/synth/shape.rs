//! The dimensions of a synthetic model: tiny presets for tests (one per
//! architecture) and the real shapes `saar bench` measures.

use super::tokenizer::tiny_vocab_size;

/// A decoder architecture saar runs, named as in llama.cpp's `general.architecture`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    Qwen2,
    Qwen3,
    Llama,
    Gemma3,
}

/// Which tokenizer and special tokens a model family uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Qwen,
    Llama,
    Gemma,
}

impl Arch {
    pub const ALL: [Arch; 4] = [Arch::Qwen2, Arch::Qwen3, Arch::Llama, Arch::Gemma3];

    pub fn family(self) -> Family {
        match self {
            Arch::Qwen2 | Arch::Qwen3 => Family::Qwen,
            Arch::Llama => Family::Llama,
            Arch::Gemma3 => Family::Gemma,
        }
    }

    /// The GGUF architecture name (`general.architecture`, key prefix).
    pub fn gguf_name(self) -> &'static str {
        match self {
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Llama => "llama",
            Arch::Gemma3 => "gemma3",
        }
    }

    /// `model_type` in the HF `config.json`.
    pub fn hf_model_type(self) -> &'static str {
        match self {
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Llama => "llama",
            Arch::Gemma3 => "gemma3_text",
        }
    }

    /// `architectures[0]` in the HF `config.json`.
    pub fn hf_class(self) -> &'static str {
        match self {
            Arch::Qwen2 => "Qwen2ForCausalLM",
            Arch::Qwen3 => "Qwen3ForCausalLM",
            Arch::Llama => "LlamaForCausalLM",
            Arch::Gemma3 => "Gemma3ForCausalLM",
        }
    }

    /// Reads an HF `model_type` (or `architectures[0]` class name).
    pub fn from_hf(name: &str) -> Option<Arch> {
        Arch::ALL
            .into_iter()
            .find(|arch| arch.hf_model_type() == name || arch.hf_class() == name)
    }

    /// Qwen2 has biases on the q/k/v projections.
    pub fn has_qkv_bias(self) -> bool {
        self == Arch::Qwen2
    }

    /// Qwen3 and Gemma3 RMS-normalise each query and key head.
    pub fn has_qk_norm(self) -> bool {
        matches!(self, Arch::Qwen3 | Arch::Gemma3)
    }
}

/// Dimensions and hyper-parameters of a synthetic model.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub arch: Arch,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub ffn: usize,
    pub vocab: usize,
    /// `max_position_embeddings`.
    pub context: usize,
    pub tied_embeddings: bool,
    pub rope_theta: f64,
    pub rms_norm_eps: f64,
    /// Gemma3 only: the window of its local-attention layers.
    pub sliding_window: Option<usize>,
}

impl Shape {
    /// A model of a few hundred KB whose vocabulary is exactly the tiny tokenizer's.
    /// Widths are multiples of 32 (Q8_0 and Q5_0 blocks) but not of 256, so Q4_K_M
    /// exercises llama.cpp's fallback types; see [`Shape::tiny_kquant`] for K-quants.
    /// Two layers for every architecture: Gemma3's are then both local (sliding)
    /// layers, as llama.cpp places a global one every 6th; parity checks of the
    /// global layer can ask for `Shape { layers: 6, ..Shape::tiny(Arch::Gemma3) }`.
    pub fn tiny(arch: Arch) -> Shape {
        let mut shape = Shape {
            arch,
            hidden: 64,
            layers: 2,
            heads: 4,
            kv_heads: 2,
            head_dim: 16,
            ffn: 128,
            vocab: tiny_vocab_size(arch.family()),
            context: 4096,
            // Qwen3 and Llama untied so both output-head layouts are covered.
            tied_embeddings: matches!(arch, Arch::Qwen2 | Arch::Gemma3),
            rope_theta: 1_000_000.0,
            rms_norm_eps: 1e-6,
            sliding_window: None,
        };
        match arch {
            Arch::Qwen2 | Arch::Qwen3 => {}
            Arch::Llama => {
                shape.rope_theta = 500_000.0;
                shape.rms_norm_eps = 1e-5;
            }
            Arch::Gemma3 => shape.sliding_window = Some(128),
        }
        shape
    }

    /// Like [`Shape::tiny`] but 256 wide, so every 2-D weight takes real K-quant
    /// blocks (a few MB of f32 weights).
    pub fn tiny_kquant(arch: Arch) -> Shape {
        Shape {
            hidden: 256,
            head_dim: 64,
            ffn: 256,
            ..Shape::tiny(arch)
        }
    }

    /// Qwen2.5-0.5B(-Instruct): 494M parameters, tied embeddings.
    pub fn qwen2_5_0_5b() -> Shape {
        Shape {
            arch: Arch::Qwen2,
            hidden: 896,
            layers: 24,
            heads: 14,
            kv_heads: 2,
            head_dim: 64,
            ffn: 4864,
            vocab: 151_936,
            context: 32_768,
            tied_embeddings: true,
            rope_theta: 1_000_000.0,
            rms_norm_eps: 1e-6,
            sliding_window: None,
        }
    }

    /// Qwen3-1.7B: 2.0B parameters with the tied embedding, head_dim 128.
    pub fn qwen3_1_7b() -> Shape {
        Shape {
            arch: Arch::Qwen3,
            hidden: 2048,
            layers: 28,
            heads: 16,
            kv_heads: 8,
            head_dim: 128,
            ffn: 6144,
            vocab: 151_936,
            context: 40_960,
            tied_embeddings: true,
            rope_theta: 1_000_000.0,
            rms_norm_eps: 1e-6,
            sliding_window: None,
        }
    }

    /// Checks the dimensions fit together; returns a one-line reason when not.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("hidden", self.hidden),
            ("layers", self.layers),
            ("heads", self.heads),
            ("kv_heads", self.kv_heads),
            ("head_dim", self.head_dim),
            ("ffn", self.ffn),
            ("vocab", self.vocab),
            ("context", self.context),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(format!("{name} must be positive"));
        }
        if !self.heads.is_multiple_of(self.kv_heads) {
            return Err(format!(
                "heads ({}) must be a multiple of kv_heads ({})",
                self.heads, self.kv_heads
            ));
        }
        if !self.head_dim.is_multiple_of(2) {
            return Err(format!(
                "head_dim ({}) must be even for rope",
                self.head_dim
            ));
        }
        Ok(())
    }

    /// Number of weights, embedding (and untied head) included.
    pub fn parameter_count(&self) -> usize {
        let q = self.heads * self.head_dim;
        let kv = self.kv_heads * self.head_dim;
        let mut per_layer =
            self.hidden * (q + 2 * kv) + q * self.hidden + 3 * self.hidden * self.ffn;
        per_layer += 2 * self.hidden;
        if self.arch.has_qkv_bias() {
            per_layer += q + 2 * kv;
        }
        if self.arch.has_qk_norm() {
            per_layer += 2 * self.head_dim;
        }
        if self.arch == Arch::Gemma3 {
            per_layer += 2 * self.hidden;
        }
        let head = if self.tied_embeddings {
            0
        } else {
            self.vocab * self.hidden
        };
        self.vocab * self.hidden + head + self.layers * per_layer + self.hidden
    }
}

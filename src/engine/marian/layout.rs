//! What tells the BART-family translation networks saar runs apart: Marian
//! (opus-mt: post-norm, shared vocabulary, positions from 0) and IndicTrans2
//! (fairseq's pre-norm transformer: embedding and final layer norms, separate
//! vocabularies, positions counted past the padding id). Each config file becomes a
//! [`Layout`]; the network is built from that alone, so both share one code path.

use super::layers::Activation;

/// How position vectors are laid out and numbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Positions {
    /// HF's `MarianSinusoidalPositionalEmbedding`: position `p` is row `p`, angles
    /// `p / 10000^(2i/d)` in f64.
    Marian,
    /// fairseq's `SinusoidalPositionalEmbedding` (IndicTrans2, M2M100): angles
    /// `p · exp(-i · ln(10000) / (d/2 - 1))` in f32; real tokens count from
    /// `padding_idx + 1`, padding tokens take the zero row `padding_idx`.
    Fairseq { padding_idx: u32 },
}

/// Layer norms a network has beyond the two or three inside each layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Norms {
    /// Norm before each block (then a final norm after the stack) instead of after.
    pub pre_norm: bool,
    /// `layernorm_embedding`: a norm over token plus position embeddings.
    pub embedding: bool,
}

/// The shape and features of one encoder-decoder network.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub d_model: usize,
    pub encoder_layers: usize,
    pub decoder_layers: usize,
    pub encoder_heads: usize,
    pub decoder_heads: usize,
    pub encoder_ffn: usize,
    pub decoder_ffn: usize,
    pub source_vocab: usize,
    pub target_vocab: usize,
    pub activation: Activation,
    /// Token embeddings multiplied by `sqrt(d_model)`.
    pub scale_embedding: bool,
    /// One table for source and target tokens.
    pub shared_embeddings: bool,
    /// The output layer is the decoder's embedding table.
    pub tied_output: bool,
    pub encoder_norms: Norms,
    pub decoder_norms: Norms,
    pub positions: Positions,
    pub pad_id: u32,
    /// Longest source, and longest decoder sequence, the position table covers.
    pub max_positions: usize,
}

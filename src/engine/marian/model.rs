//! The encoder-decoder network of Marian (HF's `MarianMTModel`) and IndicTrans2
//! (HF's `IndicTransForConditionalGeneration`), built from a [`Layout`] for batched
//! generation: the encoder masks padded source positions, the decoder keeps a
//! key/value cache per layer, and the cross-attention keys and values are computed
//! once per batch of sources, then only reordered or trimmed as beams move.

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{LayerNorm, VarBuilder};

use super::layers::{
    causal_mask, layer_norm, padding_mask, uses_saar_kernels, DecoderLayer, EncoderLayer, KeyValue,
};
use super::layout::{Layout, Norms};
use super::positions::PositionTable;
use crate::engine::kernels::dense;
use crate::engine::kv_cache::KvCache;
use crate::engine::EngineError;
use crate::model::Weights;

/// A loaded network (Marian's or IndicTrans2's, as its [`Layout`] says).
pub struct MarianModel {
    encoder_embed: Tensor,
    decoder_embed: Tensor,
    lm_head: Tensor,
    final_logits_bias: Tensor,
    /// The output head runs on saar's dense kernels (decided at load time).
    saar_head: bool,
    positions: PositionTable,
    encoder_layers: Vec<EncoderLayer>,
    decoder_layers: Vec<DecoderLayer>,
    encoder_norms: StackNorms,
    decoder_norms: StackNorms,
    embed_scale: f64,
    pad_id: u32,
    max_positions: usize,
    dtype: DType,
    device: Device,
}

/// What the decoder carries between steps for one batch of rows.
pub struct DecoderState {
    cross: Vec<KeyValue>,
    cross_mask: Tensor,
    /// Each row's source length: its real (unpadded) cross-attention positions.
    source_lens: Vec<usize>,
    cache: Vec<KvCache>,
    /// Decoder positions already run.
    pub position: usize,
}

impl DecoderState {
    /// Keeps `rows` (indices into the current rows, repeats allowed): expands sources
    /// into beams, follows beam reorders, drops finished sentences.
    pub fn select_rows(&mut self, rows: &[u32]) -> Result<(), EngineError> {
        self.source_lens = rows.iter().map(|&r| self.source_lens[r as usize]).collect();
        let device = self.cross_mask.device().clone();
        let rows = Tensor::new(rows, &device)?;
        self.cross = self
            .cross
            .iter()
            .map(|kv| kv.select_rows(&rows))
            .collect::<Result<_, _>>()?;
        self.cross_mask = self.cross_mask.index_select(&rows, 0)?;
        self.reorder_cache(&rows)
    }

    /// Reorders the decoder cache only: for beams moving within their own sentence,
    /// whose cross-attention rows are all the same.
    pub fn reorder_beams(&mut self, rows: &[u32]) -> Result<(), EngineError> {
        let rows = Tensor::new(rows, self.cross_mask.device())?;
        self.reorder_cache(&rows)
    }

    fn reorder_cache(&mut self, rows: &Tensor) -> Result<(), EngineError> {
        for cache in &mut self.cache {
            cache.select_rows(rows)?;
        }
        Ok(())
    }

    pub fn rows(&self) -> usize {
        self.cross_mask.dims().first().copied().unwrap_or(0)
    }
}

/// The norms around a layer stack: over the embeddings (`layernorm_embedding`) and,
/// for pre-norm stacks, after the last layer (`layer_norm`).
struct StackNorms {
    embedding: Option<LayerNorm>,
    last: Option<LayerNorm>,
}

impl StackNorms {
    fn load(vb: &VarBuilder, norms: Norms, dim: usize) -> candle_core::Result<Self> {
        let load =
            |wanted: bool, name: &str| wanted.then(|| layer_norm(vb.pp(name), dim)).transpose();
        Ok(StackNorms {
            embedding: load(norms.embedding, "layernorm_embedding")?,
            last: load(norms.pre_norm, "layer_norm")?,
        })
    }

    fn embedded(&self, xs: Tensor) -> candle_core::Result<Tensor> {
        match &self.embedding {
            Some(norm) => norm.forward(&xs),
            None => Ok(xs),
        }
    }

    fn last(&self, xs: Tensor) -> candle_core::Result<Tensor> {
        match &self.last {
            Some(norm) => norm.forward(&xs),
            None => Ok(xs),
        }
    }
}

fn weights_error(weights: &Weights, error: candle_core::Error) -> EngineError {
    let path = match weights {
        Weights::Safetensors(paths) => paths
            .first()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        Weights::PytorchBin(path) | Weights::Gguf(path) => path.display().to_string(),
    };
    EngineError::Weights {
        path,
        message: error.to_string(),
    }
}

impl MarianModel {
    pub fn load(
        layout: &Layout,
        weights: &Weights,
        dtype: DType,
        device: &Device,
    ) -> Result<Self, EngineError> {
        let vb = match weights {
            // SAFETY: the files are memory-mapped read-only; saar never writes model
            // files while a model is loaded.
            Weights::Safetensors(paths) => unsafe {
                VarBuilder::from_mmaped_safetensors(paths, dtype, device)
            },
            Weights::PytorchBin(path) => VarBuilder::from_pth(path, dtype, device),
            Weights::Gguf(path) => {
                return Err(EngineError::Weights {
                    path: path.display().to_string(),
                    message: "Marian models load from safetensors or pytorch_model.bin, not GGUF"
                        .into(),
                })
            }
        }
        .map_err(|e| weights_error(weights, e))?;
        Self::from_var_builder(layout, vb).map_err(|e| weights_error(weights, e))
    }

    pub(crate) fn from_var_builder(layout: &Layout, vb: VarBuilder) -> candle_core::Result<Self> {
        let dim = layout.d_model;
        let embedding = |names: &[&str], rows: usize| -> candle_core::Result<Tensor> {
            let name = names
                .iter()
                .find(|n| vb.contains_tensor(n))
                .unwrap_or(&names[0]);
            vb.get((rows, dim), name)
        };
        let (encoder_embed, decoder_embed) = if layout.shared_embeddings {
            let shared = embedding(
                &[
                    "model.shared.weight",
                    "model.encoder.embed_tokens.weight",
                    "model.decoder.embed_tokens.weight",
                ],
                layout.source_vocab,
            )?;
            (shared.clone(), shared)
        } else {
            (
                embedding(&["model.encoder.embed_tokens.weight"], layout.source_vocab)?,
                embedding(&["model.decoder.embed_tokens.weight"], layout.target_vocab)?,
            )
        };
        let lm_head = if layout.tied_output {
            decoder_embed.clone()
        } else {
            vb.get((layout.target_vocab, dim), "lm_head.weight")?
        };
        // HF starts from zeros when a checkpoint lacks the bias (IndicTrans2 has none).
        let final_logits_bias = if vb.contains_tensor("final_logits_bias") {
            vb.get((1, layout.target_vocab), "final_logits_bias")?
                .to_dtype(DType::F32)?
        } else {
            Tensor::zeros((1, layout.target_vocab), DType::F32, vb.device())?
        };
        let encoder_layers = (0..layout.encoder_layers)
            .map(|i| {
                EncoderLayer::load(
                    vb.pp(format!("model.encoder.layers.{i}")),
                    dim,
                    layout.encoder_heads,
                    layout.encoder_ffn,
                    layout.activation,
                    layout.encoder_norms.pre_norm,
                )
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let decoder_layers = (0..layout.decoder_layers)
            .map(|i| {
                DecoderLayer::load(
                    vb.pp(format!("model.decoder.layers.{i}")),
                    dim,
                    layout.decoder_heads,
                    layout.decoder_ffn,
                    layout.activation,
                    layout.decoder_norms.pre_norm,
                )
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(MarianModel {
            positions: PositionTable::new(
                layout.positions,
                layout.max_positions,
                dim,
                vb.dtype(),
                vb.device(),
            )?,
            encoder_norms: StackNorms::load(&vb.pp("model.encoder"), layout.encoder_norms, dim)?,
            decoder_norms: StackNorms::load(&vb.pp("model.decoder"), layout.decoder_norms, dim)?,
            encoder_embed,
            decoder_embed,
            saar_head: uses_saar_kernels(&lm_head),
            lm_head,
            final_logits_bias,
            encoder_layers,
            decoder_layers,
            embed_scale: if layout.scale_embedding {
                (dim as f64).sqrt()
            } else {
                1.0
            },
            pad_id: layout.pad_id,
            max_positions: layout.max_positions,
            dtype: vb.dtype(),
            device: vb.device().clone(),
        })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn max_positions(&self) -> usize {
        self.max_positions
    }

    pub fn target_vocab_size(&self) -> usize {
        self.lm_head.dims()[0]
    }

    fn embed(
        &self,
        table: &Tensor,
        ids: &Tensor,
        first_position: usize,
    ) -> candle_core::Result<Tensor> {
        let (rows, len) = ids.dims2()?;
        let dim = table.dims()[1];
        let tokens = table
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((rows, len, dim))?;
        let positions = self.positions.lookup(ids, first_position)?;
        (tokens * self.embed_scale)?.broadcast_add(&positions)
    }

    /// Runs the encoder over `sources` (padded on the right with the pad id) and
    /// prepares the decoder: cross-attention keys and values for every layer.
    pub fn encode(&self, sources: &[Vec<u32>]) -> Result<DecoderState, EngineError> {
        let longest = sources.iter().map(Vec::len).max().unwrap_or(0);
        if longest > self.max_positions {
            return Err(EngineError::ContextOverflow {
                tokens: longest,
                context: self.max_positions,
            });
        }
        let padded: Vec<u32> = sources
            .iter()
            .flat_map(|s| {
                s.iter()
                    .copied()
                    .chain(std::iter::repeat_n(self.pad_id, longest - s.len()))
            })
            .collect();
        let ids = Tensor::from_vec(padded, (sources.len(), longest), &self.device)?;
        let lengths: Vec<usize> = sources.iter().map(Vec::len).collect();
        let mask = padding_mask(&lengths, longest, self.dtype, &self.device)?;
        let mut hidden =
            self.encoder_norms
                .embedded(self.embed(&self.encoder_embed, &ids, 0)?)?;
        for layer in &self.encoder_layers {
            hidden = layer.forward(&hidden, &mask)?;
        }
        let hidden = self.encoder_norms.last(hidden)?;
        let cross = self
            .decoder_layers
            .iter()
            .map(|layer| layer.encoder_attn.key_value(&hidden))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(DecoderState {
            cross,
            cross_mask: mask,
            source_lens: lengths,
            // In the network's dtype: candle's attention multiplies queries and keys of
            // one dtype (an f32 cache broke f16/bf16 models).
            cache: vec![KvCache::stored_as(None, self.dtype); self.decoder_layers.len()],
            position: 0,
        })
    }

    /// Runs decoder tokens `ids` `(rows, new)` after the cached positions and returns
    /// f32 logits `(rows, new, target_vocab)`.
    pub fn decode(&self, state: &mut DecoderState, ids: &Tensor) -> Result<Tensor, EngineError> {
        let (rows, new) = ids.dims2()?;
        if state.position + new > self.max_positions {
            return Err(EngineError::ContextOverflow {
                tokens: state.position + new,
                context: self.max_positions,
            });
        }
        let mut hidden =
            self.decoder_norms
                .embedded(self.embed(&self.decoder_embed, ids, state.position)?)?;
        let causal = if new > 1 {
            Some(causal_mask(new, state.position, self.dtype, &self.device)?)
        } else {
            None
        };
        let layers = self
            .decoder_layers
            .iter()
            .zip(state.cache.iter_mut())
            .zip(&state.cross);
        for ((layer, cache), cross) in layers {
            let source = (cross, &state.cross_mask, state.source_lens.as_slice());
            hidden = layer.forward(&hidden, cache, causal.as_ref(), source)?;
        }
        state.position += new;
        let hidden = self.decoder_norms.last(hidden)?;
        let dim = hidden.dims()[2];
        let hidden = hidden.reshape((rows * new, dim))?;
        let logits = if self.saar_head {
            dense::linear(&hidden, &self.lm_head, Some(&self.final_logits_bias))?
        } else {
            hidden
                .matmul(&self.lm_head.t()?)?
                .to_dtype(DType::F32)?
                .broadcast_add(&self.final_logits_bias)?
        };
        Ok(logits.reshape((rows, new, ()))?)
    }

    /// Logits for the next token of every row: `(rows, target_vocab)`.
    pub fn step(&self, state: &mut DecoderState, tokens: &[u32]) -> Result<Tensor, EngineError> {
        let ids = Tensor::from_vec(tokens.to_vec(), (tokens.len(), 1), &self.device)?;
        Ok(self.decode(state, &ids)?.squeeze(1)?)
    }
}

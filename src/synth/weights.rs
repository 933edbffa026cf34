//! The named tensors of each family in Hugging Face layout, and their seeded random
//! values. Both serialisers (safetensors and GGUF) read tensors through
//! [`TensorSource`], so a synthetic model and a converted one share one code path.

use std::collections::HashMap;

use candle_core::{Device, Tensor};

use super::rng::{stream_seed, SplitMix64};
use super::{Arch, Shape, SynthError};

/// Spread of the random projection weights.
const WEIGHT_STD: f32 = 0.02;
/// Spread of the logits: the embedding and head rows get deviation
/// `LOGIT_STD / sqrt(hidden)`. Peaked rather than near-uniform distributions keep
/// greedy decoding stable across float formats and quantization.
const LOGIT_STD: f32 = 2.0;
/// Spread of norm weights and biases around their neutral value: large enough that
/// a norm or bias loaded into the wrong place changes the logits visibly.
const NORM_STD: f32 = 0.1;
/// Embedding column 0 when a token is favoured, as a multiple of a typical
/// embedding row's norm (see [`FavouredToken`]).
const FAVOUR_LEVEL: f32 = 10.0;
/// Elements per independently seeded chunk of a tensor.
const CHUNK: usize = 1 << 18;

/// Where a tensor's values come from: a synthetic generator or files on disk.
pub trait TensorSource {
    /// Every tensor name, Hugging Face naming, sorted.
    fn names(&self) -> Vec<String>;
    /// The tensor's dimensions, without loading it.
    fn dims(&self, name: &str) -> Result<Vec<usize>, SynthError>;
    /// The tensor as f32 on the CPU.
    fn load(&self, name: &str) -> Result<Tensor, SynthError>;
}

/// How a tensor's values are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Init {
    /// Normal around 0 with the given deviation: projections, embeddings, biases.
    Normal(f32),
    /// Around 1: RMSNorm weights that multiply (Qwen, Llama).
    AroundOne,
}

#[derive(Debug, Clone)]
struct TensorSpec {
    name: String,
    dims: Vec<usize>,
    init: Init,
}

/// Pushes the model towards one token, for tests of EOS handling: every token's
/// embedding gets a large constant in column 0, which dominates the residual stream,
/// and the output row of `token` gets extra weight there, so its logit leads the
/// rest by nearly `logit_margin` whatever the input (measured with transformers on
/// the tiny models: 6 to 7.5 for a margin of 8; 4 to 6 for Gemma3, whose
/// post-sublayer norms add more noise). Greedy decoding then emits it at once.
#[derive(Debug, Clone, PartialEq)]
pub struct FavouredToken {
    pub token: String,
    pub logit_margin: f32,
}

/// The random tensors of one synthetic model.
pub struct SyntheticTensors {
    specs: Vec<TensorSpec>,
    index: HashMap<String, usize>,
    seed: u64,
    hidden: usize,
    tied: bool,
    arch: Arch,
    /// Token id and margin, resolved against the tokenizer.
    favoured: Option<(usize, f32)>,
}

impl SyntheticTensors {
    pub fn new(shape: &Shape, seed: u64, favoured: Option<(u32, f32)>) -> Self {
        let mut specs = tensor_specs(shape);
        specs.sort_by(|a, b| a.name.cmp(&b.name));
        let index = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| (spec.name.clone(), i))
            .collect();
        Self {
            specs,
            index,
            seed,
            hidden: shape.hidden,
            tied: shape.tied_embeddings,
            arch: shape.arch,
            favoured: favoured.map(|(id, margin)| (id as usize, margin)),
        }
    }

    fn spec(&self, name: &str) -> Result<&TensorSpec, SynthError> {
        self.index
            .get(name)
            .map(|&i| &self.specs[i])
            .ok_or_else(|| SynthError::MissingTensor(name.to_string()))
    }

    fn generate(&self, spec: &TensorSpec) -> Vec<f32> {
        let len: usize = spec.dims.iter().product();
        let mut values = vec![0f32; len];
        let std = match spec.init {
            Init::Normal(std) => std,
            Init::AroundOne => NORM_STD,
        };
        fill_normal_parallel(&mut values, self.seed, &spec.name, std);
        if spec.init == Init::AroundOne {
            values.iter_mut().for_each(|v| *v += 1.0);
        }
        if let Some((token, margin)) = self.favoured {
            self.apply_favour(&spec.name, &mut values, token, margin);
        }
        values
    }

    fn apply_favour(&self, name: &str, values: &mut [f32], token: usize, margin: f32) {
        let hidden = self.hidden;
        // Column 0 then dominates every token's residual stream, so after the final
        // RMSNorm it is about sqrt(hidden) and the others are small.
        let boost = margin / (hidden as f32).sqrt();
        let is_embedding = name == "model.embed_tokens.weight";
        let is_output = name == "lm_head.weight" || (self.tied && is_embedding);
        if is_embedding {
            let level = favour_level(hidden);
            values.iter_mut().step_by(hidden).for_each(|v| *v = level);
        }
        if name == "lm_head.weight" {
            // Column 0 is large in every hidden state; random head weights there
            // would swamp the margin, so only the favoured row reads it.
            values.iter_mut().step_by(hidden).for_each(|v| *v = 0.0);
        }
        if is_output {
            if let Some(v) = values.get_mut(token * hidden) {
                *v += boost;
            }
        }
        if name == "model.norm.weight" {
            // Neutral gain on column 0 so the margin comes out as asked.
            values[0] = if self.arch == Arch::Gemma3 { 0.0 } else { 1.0 };
        }
    }
}

impl TensorSource for SyntheticTensors {
    fn names(&self) -> Vec<String> {
        self.specs.iter().map(|spec| spec.name.clone()).collect()
    }

    fn dims(&self, name: &str) -> Result<Vec<usize>, SynthError> {
        Ok(self.spec(name)?.dims.clone())
    }

    fn load(&self, name: &str) -> Result<Tensor, SynthError> {
        let spec = self.spec(name)?;
        let values = self.generate(spec);
        Ok(Tensor::from_vec(
            values,
            spec.dims.as_slice(),
            &Device::Cpu,
        )?)
    }
}

fn embedding_std(hidden: usize) -> f32 {
    LOGIT_STD / (hidden as f32).sqrt()
}

fn favour_level(hidden: usize) -> f32 {
    FAVOUR_LEVEL * embedding_std(hidden) * (hidden as f32).sqrt()
}

/// Fills `values` in chunks seeded by (`seed`, `name`, chunk), on all cores.
fn fill_normal_parallel(values: &mut [f32], seed: u64, name: &str, std: f32) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut pieces: Vec<(u64, &mut [f32])> = values
        .chunks_mut(CHUNK)
        .enumerate()
        .map(|(i, piece)| (i as u64, piece))
        .collect();
    if pieces.len() <= 1 || threads == 1 {
        for (i, piece) in pieces.iter_mut() {
            SplitMix64::new(stream_seed(seed, name, *i)).fill_normal(piece, std);
        }
        return;
    }
    let per_thread = pieces.len().div_ceil(threads);
    std::thread::scope(|scope| {
        for group in pieces.chunks_mut(per_thread) {
            scope.spawn(move || {
                for (i, piece) in group.iter_mut() {
                    SplitMix64::new(stream_seed(seed, name, *i)).fill_normal(piece, std);
                }
            });
        }
    });
}

/// The tensors of `shape` with the names and shapes `transformers` saves.
fn tensor_specs(shape: &Shape) -> Vec<TensorSpec> {
    let arch = shape.arch;
    // Gemma's RMSNorm multiplies by (1 + weight), so its neutral weight is 0.
    let norm = if arch == Arch::Gemma3 {
        Init::Normal(NORM_STD)
    } else {
        Init::AroundOne
    };
    let linear = Init::Normal(WEIGHT_STD);
    let embedding = Init::Normal(embedding_std(shape.hidden));
    let (h, q, kv) = (
        shape.hidden,
        shape.heads * shape.head_dim,
        shape.kv_heads * shape.head_dim,
    );
    let mut specs = Vec::new();
    let mut push =
        |name: String, dims: Vec<usize>, init: Init| specs.push(TensorSpec { name, dims, init });
    push(
        "model.embed_tokens.weight".into(),
        vec![shape.vocab, h],
        embedding,
    );
    push("model.norm.weight".into(), vec![h], norm);
    if !shape.tied_embeddings {
        push("lm_head.weight".into(), vec![shape.vocab, h], embedding);
    }
    for layer in 0..shape.layers {
        let p = format!("model.layers.{layer}");
        push(format!("{p}.input_layernorm.weight"), vec![h], norm);
        push(
            format!("{p}.post_attention_layernorm.weight"),
            vec![h],
            norm,
        );
        for (proj, rows) in [("q_proj", q), ("k_proj", kv), ("v_proj", kv)] {
            push(
                format!("{p}.self_attn.{proj}.weight"),
                vec![rows, h],
                linear,
            );
            if arch.has_qkv_bias() {
                push(
                    format!("{p}.self_attn.{proj}.bias"),
                    vec![rows],
                    Init::Normal(NORM_STD),
                );
            }
        }
        push(format!("{p}.self_attn.o_proj.weight"), vec![h, q], linear);
        if arch.has_qk_norm() {
            push(
                format!("{p}.self_attn.q_norm.weight"),
                vec![shape.head_dim],
                norm,
            );
            push(
                format!("{p}.self_attn.k_norm.weight"),
                vec![shape.head_dim],
                norm,
            );
        }
        if arch == Arch::Gemma3 {
            push(
                format!("{p}.pre_feedforward_layernorm.weight"),
                vec![h],
                norm,
            );
            push(
                format!("{p}.post_feedforward_layernorm.weight"),
                vec![h],
                norm,
            );
        }
        push(
            format!("{p}.mlp.gate_proj.weight"),
            vec![shape.ffn, h],
            linear,
        );
        push(
            format!("{p}.mlp.up_proj.weight"),
            vec![shape.ffn, h],
            linear,
        );
        push(
            format!("{p}.mlp.down_proj.weight"),
            vec![h, shape.ffn],
            linear,
        );
    }
    specs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_cover_exactly_the_parameter_count() {
        for arch in Arch::ALL {
            for shape in [
                Shape::tiny(arch),
                Shape::qwen2_5_0_5b(),
                Shape::qwen3_1_7b(),
            ] {
                let total: usize = tensor_specs(&shape)
                    .iter()
                    .map(|spec| spec.dims.iter().product::<usize>())
                    .sum();
                assert_eq!(total, shape.parameter_count(), "{shape:?}");
            }
        }
        assert_eq!(Shape::qwen2_5_0_5b().parameter_count(), 494_032_768);
    }

    #[test]
    fn values_do_not_depend_on_threading() {
        let mut whole = vec![0f32; CHUNK * 3 + 5];
        fill_normal_parallel(&mut whole, 9, "x", 1.0);
        let mut serial = vec![0f32; CHUNK * 3 + 5];
        for (i, piece) in serial.chunks_mut(CHUNK).enumerate() {
            SplitMix64::new(stream_seed(9, "x", i as u64)).fill_normal(piece, 1.0);
        }
        assert_eq!(whole, serial);
    }

    #[test]
    fn favoured_token_leads_the_output_row() {
        let shape = Shape::tiny(Arch::Qwen2);
        let tensors = SyntheticTensors::new(&shape, 3, Some((7, 8.0)));
        let embedding = tensors.load("model.embed_tokens.weight").unwrap();
        let column: Vec<f32> = embedding
            .narrow(1, 0, 1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let boost = 8.0 / (shape.hidden as f32).sqrt();
        let level = favour_level(shape.hidden);
        for (row, value) in column.iter().enumerate() {
            let expected = if row == 7 { level + boost } else { level };
            assert!((value - expected).abs() < 1e-6, "row {row}: {value}");
        }
    }
}

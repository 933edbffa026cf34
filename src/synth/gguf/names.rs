//! llama.cpp's names for Hugging Face tensors, and the order they are written in.

use crate::synth::{Arch, SynthError};

/// One tensor to write: where it comes from and what llama.cpp calls it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTensor {
    pub hf_name: String,
    pub gguf_name: String,
    /// The block (layer) index for `blk.N.*` tensors.
    pub block: Option<usize>,
}

/// Maps every HF tensor name to its llama.cpp name, skipping what llama.cpp skips,
/// sorted: embedding, blocks in order, output norm, output head.
pub fn plan_tensors(hf_names: &[String], arch: Arch) -> Result<Vec<PlannedTensor>, SynthError> {
    let mut plan = Vec::with_capacity(hf_names.len());
    for hf_name in hf_names {
        // Rotary tables are recomputed at load time; Gemma's head is always tied.
        if hf_name.ends_with(".rotary_emb.inv_freq")
            || (arch == Arch::Gemma3 && hf_name == "lm_head.weight")
        {
            continue;
        }
        let (gguf_name, block) = gguf_name(hf_name, arch)
            .ok_or_else(|| SynthError::UnsupportedArchitecture(format!("tensor {hf_name}")))?;
        plan.push(PlannedTensor {
            hf_name: hf_name.clone(),
            gguf_name,
            block,
        });
    }
    plan.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
    Ok(plan)
}

fn order_key(tensor: &PlannedTensor) -> (u8, usize, &str) {
    let group = match (tensor.block, tensor.gguf_name.as_str()) {
        (Some(_), _) => 1,
        (None, "token_embd.weight") => 0,
        (None, "output_norm.weight") => 2,
        (None, _) => 3,
    };
    (group, tensor.block.unwrap_or(0), tensor.gguf_name.as_str())
}

fn gguf_name(hf_name: &str, arch: Arch) -> Option<(String, Option<usize>)> {
    match hf_name {
        "model.embed_tokens.weight" => return Some(("token_embd.weight".into(), None)),
        "model.norm.weight" => return Some(("output_norm.weight".into(), None)),
        "lm_head.weight" => return Some(("output.weight".into(), None)),
        _ => {}
    }
    let rest = hf_name.strip_prefix("model.layers.")?;
    let (block, rest) = rest.split_once('.')?;
    let block: usize = block.parse().ok()?;
    let (module, suffix) = rest.rsplit_once('.')?;
    if suffix != "weight" && suffix != "bias" {
        return None;
    }
    let name = match module {
        "input_layernorm" => "attn_norm",
        "self_attn.q_proj" => "attn_q",
        "self_attn.k_proj" => "attn_k",
        "self_attn.v_proj" => "attn_v",
        "self_attn.o_proj" => "attn_output",
        "self_attn.q_norm" => "attn_q_norm",
        "self_attn.k_norm" => "attn_k_norm",
        // Gemma normalises after attention and around the MLP; the others before the MLP.
        "post_attention_layernorm" if arch == Arch::Gemma3 => "post_attention_norm",
        "post_attention_layernorm" => "ffn_norm",
        "pre_feedforward_layernorm" if arch == Arch::Gemma3 => "ffn_norm",
        "post_feedforward_layernorm" if arch == Arch::Gemma3 => "post_ffw_norm",
        "mlp.gate_proj" => "ffn_gate",
        "mlp.up_proj" => "ffn_up",
        "mlp.down_proj" => "ffn_down",
        _ => return None,
    };
    Some((format!("blk.{block}.{name}.{suffix}"), Some(block)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn gemma_norms_map_to_their_own_slots() {
        let plan = plan_tensors(
            &names(&[
                "model.layers.3.post_attention_layernorm.weight",
                "model.layers.3.pre_feedforward_layernorm.weight",
                "model.layers.3.post_feedforward_layernorm.weight",
                "lm_head.weight",
            ]),
            Arch::Gemma3,
        )
        .unwrap();
        let gguf: Vec<&str> = plan.iter().map(|t| t.gguf_name.as_str()).collect();
        assert_eq!(
            gguf,
            [
                "blk.3.ffn_norm.weight",
                "blk.3.post_attention_norm.weight",
                "blk.3.post_ffw_norm.weight"
            ]
        );
    }

    #[test]
    fn order_is_embedding_blocks_norm_output() {
        let plan = plan_tensors(
            &names(&[
                "lm_head.weight",
                "model.layers.10.mlp.up_proj.weight",
                "model.norm.weight",
                "model.layers.2.self_attn.q_proj.bias",
                "model.embed_tokens.weight",
                "model.layers.0.rotary_emb.inv_freq",
            ]),
            Arch::Qwen2,
        )
        .unwrap();
        let gguf: Vec<&str> = plan.iter().map(|t| t.gguf_name.as_str()).collect();
        assert_eq!(
            gguf,
            [
                "token_embd.weight",
                "blk.2.attn_q.bias",
                "blk.10.ffn_up.weight",
                "output_norm.weight",
                "output.weight"
            ]
        );
    }

    #[test]
    fn unknown_tensors_are_refused() {
        let error = plan_tensors(&names(&["vision_tower.patch.weight"]), Arch::Llama).unwrap_err();
        assert!(error.to_string().contains("vision_tower.patch.weight"));
    }
}

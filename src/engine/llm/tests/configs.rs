//! `config.json` normalization: transformers 4 and 5 layouts agree, family defaults
//! fill what real configs leave out, and unsupported settings are named.

use super::super::config::DecoderConfig;
use super::super::hf_config::from_hf_config;
use super::super::rope::RopeScaling;
use super::*;

fn parse(cfg: &Value) -> Result<DecoderConfig, EngineError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, cfg.to_string()).unwrap();
    from_hf_config(&path)
}

#[test]
fn transformers_5_gemma3_layout_matches_the_older_one() {
    let old = tiny_config(Family::Gemma3);
    let mut new = old.clone();
    let fields = new.as_object_mut().unwrap();
    for key in [
        "rope_theta",
        "rope_local_base_freq",
        "rope_scaling",
        "sliding_window_pattern",
    ] {
        fields.remove(key);
    }
    new["layer_types"] = json!([
        "sliding_attention",
        "full_attention",
        "sliding_attention",
        "full_attention"
    ]);
    new["rope_parameters"] = json!({
        "full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1000000.0},
        "sliding_attention": {"rope_type": "default", "rope_theta": 20000.0}
    });
    let (old, new) = (parse(&old).unwrap(), parse(&new).unwrap());
    assert_eq!(old, new);
    assert_eq!(old.sliding_layers, vec![true, false, true, false]);
    assert_eq!(old.rope.scaling, RopeScaling::Linear { factor: 2.0 });
    assert_eq!(old.local_rope.as_ref().map(|r| r.theta), Some(20_000.0));
}

#[test]
fn sparse_gemma3_multimodal_config_gets_the_family_defaults() {
    // The shape of gemma-3-4b-it's config.json: most text fields left to defaults.
    let cfg = json!({
        "model_type": "gemma3",
        "text_config": {"hidden_size": 2560, "intermediate_size": 10240, "model_type": "gemma3_text",
                        "num_hidden_layers": 34, "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
                        "sliding_window": 1024},
        "vision_config": {"model_type": "siglip_vision_model"}
    });
    let c = parse(&cfg).unwrap();
    assert_eq!(
        (c.num_heads, c.num_kv_heads, c.head_dim, c.vocab_size),
        (8, 4, 256, 262_208)
    );
    assert_eq!(c.attention_scale, 1.0 / 16.0);
    assert_eq!(c.embedding_scale, Some(2560f64.sqrt()));
    assert_eq!(c.norm_weight_offset, 1.0);
    assert!(c.tie_word_embeddings && c.qk_norm && c.sandwich_norms);
    assert_eq!(c.rope.theta, 1_000_000.0);
    let globals: Vec<usize> = (0..34).filter(|&i| !c.sliding_layers[i]).collect();
    assert_eq!(globals, vec![5, 11, 17, 23, 29]);
    assert_eq!(c.sliding_window, Some(1024));
    assert_eq!(c.context_length, 131_072);
}

#[test]
fn qwen_and_llama_flags_follow_transformers() {
    let qwen2 = parse(&tiny_config(Family::Qwen2)).unwrap();
    assert!(qwen2.qkv_bias && !qwen2.o_bias && !qwen2.qk_norm);
    assert_eq!(qwen2.sliding_layers, vec![false; 3]);
    let mut qwen3 = tiny_config(Family::Qwen3);
    qwen3.as_object_mut().unwrap().remove("head_dim");
    qwen3["rope_parameters"] = json!({"rope_type": "yarn", "factor": 4.0, "rope_theta": 1000000.0,
                                      "original_max_position_embeddings": 512});
    let qwen3 = parse(&qwen3).unwrap();
    assert_eq!(qwen3.head_dim, 128, "Qwen3Config's default head_dim");
    assert!(qwen3.qk_norm && !qwen3.qkv_bias);
    assert!(matches!(
        qwen3.rope.scaling,
        RopeScaling::Yarn {
            factor: 4.0,
            original_context: 512.0,
            ..
        }
    ));
    assert_eq!(qwen3.rope.theta, 1_000_000.0);
    let mut llama = tiny_config(Family::Llama);
    llama["attention_bias"] = json!(true);
    let llama = parse(&llama).unwrap();
    assert!(llama.qkv_bias && llama.o_bias && !llama.tie_word_embeddings);
    assert_eq!(llama.head_dim, 16);
}

#[test]
fn unsupported_settings_are_named() {
    let mut cfg = tiny_config(Family::Llama);
    cfg["rope_scaling"] = json!({"rope_type": "dynamic", "factor": 2.0});
    assert!(parse(&cfg).unwrap_err().to_string().contains("dynamic"));
    let mut cfg = tiny_config(Family::Llama);
    cfg["num_key_value_heads"] = json!(3);
    assert!(parse(&cfg).unwrap_err().to_string().contains("KV heads"));
    let mut cfg = tiny_config(Family::Qwen2);
    cfg["hidden_act"] = json!("relu6");
    assert!(parse(&cfg).unwrap_err().to_string().contains("relu6"));
    let err = parse(&json!("not an object")).unwrap_err().to_string();
    assert!(err.contains("config.json"), "{err}");
}

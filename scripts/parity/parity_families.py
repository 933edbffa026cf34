"""What each fixture family looks like on disk: tokenizer, special tokens, config.json,
generation_config.json and tokenizer_config.json, written in the shape the real hub
repos use (transformers 4.x keys such as `rope_theta`, `rope_scaling`,
`sliding_window_pattern`, `rope_local_base_freq`) so saar is tested on the files it will
meet, not on what the installed transformers would write today.
"""

from dataclasses import dataclass, field
from pathlib import Path

from parity_tokenizers import gemma_tokenizer, llama_tokenizer, qwen_tokenizer

TEMPLATES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "chat_templates"

QWEN_TOKENIZER_CONFIG = {"errors": "replace", "model_max_length": 131072, "split_special_tokens": False}

TINY = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 512,
}


@dataclass
class Family:
    name: str
    tokenizer: object
    template: str
    # tokenizer_config.json special tokens, as the real model sets them (None = absent).
    bos_token: str | None
    eos_token: str
    pad_token: str | None
    unk_token: str | None
    # Real generation_config.json eos list, by token string.
    eos_tokens: list
    config: dict
    generation: dict = field(default_factory=dict)
    chat_kwargs: dict = field(default_factory=dict)
    layers_norm_zero_centered: bool = False
    # Further tokenizer_config.json keys the real repo sets.
    tokenizer_config: dict = field(default_factory=dict)

    def tid(self, token):
        return self.tokenizer.token_to_id(token)


def _template(name):
    return (TEMPLATES / f"{name}.jinja").read_text(encoding="utf-8")


def _qwen(name, tok, own_config, generation_extra, chat_kwargs=None):
    """Qwen2.5 and Qwen3 share their config keys, EOS set and special tokens."""
    eot, im_end = tok.token_to_id("<|endoftext|>"), tok.token_to_id("<|im_end|>")
    config = {
        "attention_dropout": 0.0,
        "bos_token_id": eot,
        "eos_token_id": im_end,
        "hidden_act": "silu",
        **TINY,
        "initializer_range": 0.02,
        "max_window_layers": 2,
        "model_type": name,
        "num_hidden_layers": 2,
        "rms_norm_eps": 1e-06,
        "torch_dtype": "float32",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": tok.get_vocab_size(),
        **own_config,
    }
    generation = {
        "bos_token_id": eot,
        "do_sample": True,
        "eos_token_id": [im_end, eot],
        "pad_token_id": eot,
        **generation_extra,
    }
    return Family(
        name, tok, _template(name), None, "<|im_end|>", "<|endoftext|>", None,
        ["<|im_end|>", "<|endoftext|>"], dict(sorted(config.items())), generation,
        chat_kwargs=chat_kwargs or {}, tokenizer_config=QWEN_TOKENIZER_CONFIG,
    )


def qwen2():
    config = {
        "architectures": ["Qwen2ForCausalLM"],
        "rope_theta": 1000000.0,
        "sliding_window": 512,
        "tie_word_embeddings": True,
    }
    generation = {"repetition_penalty": 1.05, "temperature": 0.7, "top_p": 0.8, "top_k": 20}
    return _qwen("qwen2", qwen_tokenizer(480), config, generation)


def qwen3():
    config = {
        "architectures": ["Qwen3ForCausalLM"],
        "attention_bias": False,
        # Deliberately not hidden_size / heads (16): real Qwen3 sets it explicitly too.
        "head_dim": 32,
        "rope_scaling": None,
        "rope_theta": 1000000,
        "sliding_window": None,
        # Untied, like Qwen3-8B and larger.
        "tie_word_embeddings": False,
    }
    generation = {"temperature": 0.6, "top_k": 20, "top_p": 0.95}
    tok = qwen_tokenizer(480, extra_added=["<think>", "</think>"])
    return _qwen("qwen3", tok, config, generation, chat_kwargs={"enable_thinking": False})


def llama():
    tok = llama_tokenizer(480)
    ids = {t: tok.token_to_id(t) for t in ["<|begin_of_text|>", "<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"]}
    eos = [ids["<|end_of_text|>"], ids["<|eom_id|>"], ids["<|eot_id|>"]]
    config = {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": ids["<|begin_of_text|>"],
        "eos_token_id": eos,
        "head_dim": 16,
        "hidden_act": "silu",
        **TINY,
        "initializer_range": 0.02,
        "mlp_bias": False,
        "model_type": "llama",
        "num_hidden_layers": 2,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        # Llama 3.2's scaling with a small original context, so that at the fixture's
        # short positions the three regimes (kept, smoothed, divided by `factor`)
        # all touch some of the 8 frequencies.
        "rope_scaling": {
            "factor": 32.0,
            "high_freq_factor": 4.0,
            "low_freq_factor": 1.0,
            "original_max_position_embeddings": 64,
            "rope_type": "llama3",
        },
        "rope_theta": 10000.0,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "use_cache": True,
        "vocab_size": tok.get_vocab_size(),
    }
    generation = {
        "bos_token_id": ids["<|begin_of_text|>"],
        "do_sample": True,
        "eos_token_id": eos,
        "temperature": 0.6,
        "top_p": 0.9,
    }
    return Family(
        "llama", tok, _template("llama"), "<|begin_of_text|>", "<|eot_id|>", None, None,
        ["<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"], config, generation,
        tokenizer_config={"model_input_names": ["input_ids", "attention_mask"], "model_max_length": 131072},
    )


def gemma3_text_config(tok):
    layer_count, pattern = 3, 3
    return {
        "attention_bias": False,
        "attention_dropout": 0.0,
        "attn_logit_softcapping": None,
        "final_logit_softcapping": None,
        "head_dim": 16,
        "hidden_activation": "gelu_pytorch_tanh",
        **TINY,
        "initializer_range": 0.02,
        "layer_types": [
            "sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(layer_count)
        ],
        "num_hidden_layers": layer_count,
        # Not head_dim, so an engine that scales by head_dim is caught.
        "query_pre_attn_scalar": 24,
        "rms_norm_eps": 1e-06,
        "rope_local_base_freq": 10000.0,
        "rope_theta": 1000000.0,
        # Small enough that every prompt crosses it.
        "sliding_window": 4,
        "sliding_window_pattern": pattern,
        "use_cache": True,
        "vocab_size": tok.get_vocab_size(),
    }


def gemma3():
    tok = gemma_tokenizer(500)
    end_of_turn = tok.token_to_id("<end_of_turn>")
    config = {
        "architectures": ["Gemma3ForCausalLM"],
        "bos_token_id": 2,
        "cache_implementation": "hybrid",
        "eos_token_id": [1, end_of_turn],
        "model_type": "gemma3_text",
        "pad_token_id": 0,
        "rope_scaling": None,
        "torch_dtype": "float32",
        **gemma3_text_config(tok),
    }
    generation = {
        "bos_token_id": 2,
        "cache_implementation": "hybrid",
        "do_sample": True,
        "eos_token_id": [1, end_of_turn],
        "pad_token_id": 0,
        "top_k": 64,
        "top_p": 0.95,
    }
    return Family(
        "gemma3", tok, _template("gemma3"), "<bos>", "<eos>", "<pad>", "<unk>",
        ["<eos>", "<end_of_turn>"], config, generation, layers_norm_zero_centered=True,
        tokenizer_config={
            "add_bos_token": True,
            "add_eos_token": False,
            "model_max_length": 32768,
            "spaces_between_special_tokens": False,
            "use_default_system_prompt": False,
        },
    )


def gemma3_mm():
    """Gemma 3 4B-style multimodal checkpoint: model_type `gemma3`, a sparse
    `text_config` that leaves rope_theta, rope_local_base_freq, rms_norm_eps,
    hidden_activation and max_position_embeddings to Gemma3TextConfig's defaults,
    linear rope scaling on the global layers, `language_model.model.*` weight names and
    a (tiny) vision tower that a text engine must skip."""
    family = gemma3()
    tok = family.tokenizer
    tok.add_special_tokens(["<start_of_image>", "<end_of_image>", "<image_soft_token>"])
    full = gemma3_text_config(tok)
    defaults_left_out = [
        "attention_bias", "attention_dropout", "attn_logit_softcapping", "final_logit_softcapping",
        "hidden_activation", "initializer_range", "layer_types", "max_position_embeddings",
        "rms_norm_eps", "rope_local_base_freq", "rope_theta", "use_cache",
    ]
    text_config = {k: v for k, v in full.items() if k not in defaults_left_out}
    text_config.update({"model_type": "gemma3_text", "num_hidden_layers": 2, "sliding_window_pattern": 2})
    text_config["rope_scaling"] = {"factor": 8.0, "rope_type": "linear"}
    family.name = "gemma3_mm"
    family.config = {
        "architectures": ["Gemma3ForConditionalGeneration"],
        "boi_token_index": tok.token_to_id("<start_of_image>"),
        "eoi_token_index": tok.token_to_id("<end_of_image>"),
        "eos_token_id": family.config["eos_token_id"],
        "image_token_index": tok.token_to_id("<image_soft_token>"),
        "initializer_range": 0.02,
        "mm_tokens_per_image": 4,
        "model_type": "gemma3",
        "text_config": dict(sorted(text_config.items())),
        "torch_dtype": "float32",
        "vision_config": {
            "hidden_size": 16,
            "image_size": 28,
            "intermediate_size": 32,
            "model_type": "siglip_vision_model",
            "num_attention_heads": 2,
            "num_hidden_layers": 1,
            "patch_size": 14,
            "vision_use_head": False,
        },
    }
    family.tokenizer_config = {
        **family.tokenizer_config,
        "boi_token": "<start_of_image>",
        "eoi_token": "<end_of_image>",
        "image_token": "<image_soft_token>",
    }
    return family


FAMILIES = {"qwen2": qwen2, "qwen3": qwen3, "llama": llama, "gemma3": gemma3, "gemma3_mm": gemma3_mm}

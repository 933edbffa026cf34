"""Writes tests/fixtures/parity/<family>/: a tiny random-weight model of each family
(qwen2, qwen3, llama, gemma3) with a real-shaped tokenizer and the real chat template,
plus expected.json holding what HF transformers computes from those files: token ids,
first-step logits, greedy continuations with and without EOS, and chat-template strings.
tests/parity.rs checks saar against these numbers. Run by hand (see README.md).
"""

import argparse
import datetime
import json
import shutil
import sys
from pathlib import Path

import tokenizers
import torch
import transformers
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig, PreTrainedTokenizerFast

sys.path.insert(0, str(Path(__file__).resolve().parent))
from parity_families import FAMILIES  # noqa: E402
from parity_text import CHAT_USER_MESSAGE, CONVERSATIONS, MIXED_PROMPT, RAW_HINDI_PROMPT  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "parity"
NEW_TOKENS = 24
# Weights ~ N(0, INIT_STD): big enough that logits spread over several units, so a
# 1e-4 tolerance means something.
INIT_STD = 0.15
# Every greedy step must win by this much, so f32 rounding in another engine can't
# flip a choice and a mismatch always means a real difference.
MIN_MARGIN = 1e-3


def sig6(values):
    return [float(f"{v:.6g}") for v in values]


def write_json(path, obj):
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def save_tokenizer(family, out_dir):
    hf_tok = PreTrainedTokenizerFast(
        tokenizer_object=family.tokenizer,
        bos_token=family.bos_token,
        eos_token=family.eos_token,
        pad_token=family.pad_token,
        unk_token=family.unk_token,
        clean_up_tokenization_spaces=False,
    )
    hf_tok.chat_template = family.template
    # Real repos of these families keep the template inside tokenizer_config.json.
    hf_tok.save_pretrained(out_dir, save_jinja_files=False)
    for extra in ["special_tokens_map.json", "chat_template.jinja"]:
        (out_dir / extra).unlink(missing_ok=True)
    # Shape tokenizer_config.json like the real ones (readable by transformers 4.x too).
    path = out_dir / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config.pop("backend", None)
    added = json.loads((out_dir / "tokenizer.json").read_text(encoding="utf-8"))["added_tokens"]
    config["added_tokens_decoder"] = {
        str(t["id"]): {k: t[k] for k in ["content", "lstrip", "normalized", "rstrip", "single_word", "special"]}
        for t in added
    }
    config.update(family.tokenizer_config)
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    write_json(path, dict(sorted(config.items())))


def norm_centre(family, name):
    """Mean of a norm weight. Llama-style norms multiply by w (centre 1); Gemma's by
    1 + w (centre 0), except that Gemma's sandwich norms get 1 + w ~ 2: otherwise the
    sqrt(hidden)-scaled input embedding dominates the residual stream and greedy
    decoding just repeats the input token, which would make a weak fixture."""
    if not family.layers_norm_zero_centered:
        return 1.0
    sandwich = ("post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm")
    return 1.0 if any(part in name for part in sandwich) else 0.0


def randomize(model, family, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "norm" in name:
                # Random norm weights, so an engine that ignores them (or Gemma's
                # 1 + w offset) is caught.
                param.copy_(norm_centre(family, name) + 0.1 * torch.randn_like(param))
            else:
                param.copy_(INIT_STD * torch.randn_like(param))


def build_model(family, seed, scratch):
    write_json(scratch / "config.json", family.config)
    config = transformers.AutoConfig.from_pretrained(scratch)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager", dtype=torch.float32)
    randomize(model, family, seed)
    return model.eval()


def greedy(model, ids, eos_ids, pad_id):
    config = GenerationConfig(
        do_sample=False,
        num_beams=1,
        max_new_tokens=NEW_TOKENS,
        eos_token_id=eos_ids or None,
        pad_token_id=pad_id,
        repetition_penalty=1.0,
    )
    model.generation_config = config
    inputs = torch.tensor([ids])
    with torch.no_grad():
        out = model.generate(inputs, attention_mask=torch.ones_like(inputs), generation_config=config)
    return out[0, len(ids):].tolist()


def full_logits(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0, -1].float()


def check_greedy(model, prompt_ids, generated):
    """Recomputes each step without the KV cache: every generated token must be the
    argmax of the full-sequence logits. Returns the smallest winning margin and the
    logits of the last step."""
    margins, logits = [], None
    for step, token in enumerate(generated):
        logits = full_logits(model, prompt_ids + generated[:step])
        top2 = torch.topk(logits, 2)
        assert int(top2.indices[0]) == token, f"HF generate disagrees with argmax at step {step}"
        margins.append(float(top2.values[0] - top2.values[1]))
    return margins, logits


def prompts_for(family, hf_tok):
    chat_text = hf_tok.apply_chat_template(
        [{"role": "user", "content": CHAT_USER_MESSAGE}],
        tokenize=False,
        add_generation_prompt=True,
        **family.chat_kwargs,
    )
    return [
        ("chat", chat_text, False),
        ("raw_hindi", RAW_HINDI_PROMPT, True),
        ("mixed", MIXED_PROMPT, True),
    ]


def run_prompts(model, family, hf_tok):
    eos_ids = [family.tid(t) for t in family.eos_tokens]
    pad_id = family.tid(family.pad_token) if family.pad_token else eos_ids[0]
    results = []
    for name, text, add_special in prompts_for(family, hf_tok):
        ids = hf_tok(text, add_special_tokens=add_special)["input_ids"]
        if family.bos_token:
            # The template writes BOS for chat prompts, the tokenizer for raw text: once.
            assert ids[0] == family.tid(family.bos_token) and ids.count(ids[0]) == 1, (name, ids[:3])
        first = full_logits(model, ids)
        no_eos = greedy(model, ids, None, pad_id)
        assert len(no_eos) == NEW_TOKENS
        with_eos = greedy(model, ids, eos_ids, pad_id)
        margins, last = check_greedy(model, ids, no_eos)
        stop_margins, _ = check_greedy(model, ids, with_eos)
        stopped = len(with_eos) < NEW_TOKENS or with_eos[-1] in eos_ids
        assert with_eos == no_eos[: len(with_eos)]
        results.append(
            {
                "name": name,
                "text": text,
                "add_special_tokens": add_special,
                "ids": ids,
                "first_logits": sig6(first.tolist()),
                "first_logits_stats": {
                    "std": round(float(first.std()), 4),
                    "min": round(float(first.min()), 4),
                    "max": round(float(first.max()), 4),
                },
                "greedy_no_eos": no_eos,
                "greedy_no_eos_last_logits": sig6(last.tolist()),
                "greedy_eos": with_eos,
                "greedy_eos_stopped": stopped,
                "min_greedy_margin": min(margins + stop_margins),
                # Per step of greedy_no_eos: how far the chosen logit led the runner-up.
                "greedy_no_eos_margins": [round(m, 6) for m in margins],
                "greedy_no_eos_text": hf_tok.decode(no_eos, skip_special_tokens=False),
                "decoded_prompt": hf_tok.decode(ids, skip_special_tokens=True),
            }
        )
    return results


def chat_strings(family, hf_tok):
    out = []
    cases = [(name, msgs, True, family.chat_kwargs) for name, msgs in CONVERSATIONS.items()]
    cases.append(("multi_turn_no_generation_prompt", CONVERSATIONS["multi_turn"], False, {}))
    for name, messages, add_gen, kwargs in cases:
        text = hf_tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_gen, **kwargs)
        ids = hf_tok(text, add_special_tokens=False)["input_ids"]
        out.append(
            {
                "name": name,
                "messages": messages,
                "add_generation_prompt": add_gen,
                "template_kwargs": kwargs,
                "text": text,
                "ids": ids,
            }
        )
    return out


def acceptable(results):
    margins_ok = all(r["min_greedy_margin"] >= MIN_MARGIN for r in results)
    # Stopping is only tested if some prompt hits an EOS after at least one real token.
    stops = any(r["greedy_eos_stopped"] and len(r["greedy_eos"]) >= 2 for r in results)
    return margins_ok and stops


def make_family(name, first_seed, max_seeds):
    family = FAMILIES[name]()
    out_dir = OUT / name
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    save_tokenizer(family, out_dir)
    hf_tok = AutoTokenizer.from_pretrained(out_dir, local_files_only=True)

    scratch = OUT / f".scratch-{name}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    for seed in range(first_seed, first_seed + max_seeds):
        model = build_model(family, seed, scratch)
        results = run_prompts(model, family, hf_tok)
        margins = [round(r["min_greedy_margin"], 4) for r in results]
        print(f"  {name} seed {seed}: margins {margins} eos-run lengths {[len(r['greedy_eos']) for r in results]}")
        if acceptable(results):
            break
    else:
        raise SystemExit(f"{name}: no seed in {max_seeds} gave clear greedy margins and an EOS stop")
    shutil.rmtree(scratch)

    model.save_pretrained(out_dir)
    # Overwrite what this transformers version wrote with the hub-style files.
    write_json(out_dir / "config.json", {**family.config, "transformers_version": "4.51.3"})
    write_json(out_dir / "generation_config.json", {**family.generation, "transformers_version": "4.51.3"})

    # Everything expected is computed from the files as saved, read back the way a
    # user would load them.
    reloaded = AutoModelForCausalLM.from_pretrained(
        out_dir, dtype=torch.float32, attn_implementation="eager", local_files_only=True
    ).eval()
    for key, value in model.state_dict().items():
        assert torch.equal(value, reloaded.state_dict()[key]), key
    hf_tok = AutoTokenizer.from_pretrained(out_dir, local_files_only=True)
    expected = {
        "family": name,
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
        },
        "seed": seed,
        "init_std": INIT_STD,
        "new_tokens": NEW_TOKENS,
        "eos_token_ids": [family.tid(t) for t in family.eos_tokens],
        "vocab_size": family.tokenizer.get_vocab_size(),
        "date_string": datetime.date.today().strftime("%d %b %Y"),
        "weight_names": sorted(load_file(out_dir / "model.safetensors").keys()),
        "prompts": run_prompts(reloaded, family, hf_tok),
        "chat_strings": chat_strings(family, hf_tok),
    }
    write_json(out_dir / "expected.json", expected)
    return reloaded, expected


def save_bin_copy(name):
    """The same weights as a legacy pytorch_model.bin, for saar's .bin loading path."""
    state = load_file(OUT / name / "model.safetensors")
    bin_dir = OUT / f"{name}-bin"
    shutil.rmtree(bin_dir, ignore_errors=True)
    bin_dir.mkdir()
    torch.save(state, bin_dir / "pytorch_model.bin")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("families", nargs="*", default=list(FAMILIES))
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--max-seeds", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in args.families:
        _, expected = make_family(name, args.first_seed, args.max_seeds)
        stats = [p["first_logits_stats"] for p in expected["prompts"]]
        margins = [round(p["min_greedy_margin"], 4) for p in expected["prompts"]]
        stops = [len(p["greedy_eos"]) for p in expected["prompts"]]
        print(f"{name}: seed {expected['seed']} logits {stats} margins {margins} eos-run lengths {stops}")
    if "qwen2" in args.families:
        save_bin_copy("qwen2")
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"fixtures total {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()

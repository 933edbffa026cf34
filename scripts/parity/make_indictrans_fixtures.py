"""Builds tests/fixtures/indictrans: a tiny random IndicTrans2 model with real
SentencePiece models and fairseq dictionaries, and what the reference code makes of
it, for tests/indictrans.rs.

The reference code is AI4Bharat's own (modeling_indictrans.py and
configuration_indictrans.py from the IndicTrans2 repository's huggingface_interface/,
tokenization_indictrans.py as the hub models ship it). It is never copied into this
repository: pass the folder that holds the three files.

Run by hand (never from tests), with transformers 4.46 (the remote code predates 4.50):
  PYTHONHASHSEED=0 python scripts/parity/make_indictrans_fixtures.py /path/to/reference

What it writes into tests/fixtures/indictrans/tiny/:
  model.SRC, model.TGT         unigram models trained on Hindi / English text written for saar
  dict.SRC.json, dict.TGT.json fairseq-style dictionaries: <s>=0, <pad>=1, </s>=2, <unk>=3,
                               the pieces, then (source side) the language tags
  tokenizer_config.json        in the shape the hub repositories use
  config.json                  an IndicTransConfig: pre-norm, layernorm_embedding, gelu,
                               separate vocabularies, an untied output layer
  generation_config.json       the hub's special ids and a short max_length
  model.safetensors, pytorch_model.bin   the same weights in both formats
and tests/fixtures/indictrans/expected.json: ids, decodes, logits and generate() outputs.
"""

import argparse
import importlib
import json
import math
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import sentencepiece as spm
import torch

sys.path.insert(0, str(Path(__file__).parent))
from indictrans_text import PROBES, SOURCE_TRAINING, TARGET_TRAINING  # noqa: E402
from make_marian_fixtures import train_spm  # noqa: E402

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "indictrans"
MODEL_DIR = OUT / "tiny"
MAX_POSITIONS = 64
MAX_LENGTH = 24
# The tags of the languages the fixtures use, at the end of the source dictionary.
TAGS = ["eng_Latn", "hin_Deva", "mar_Deva", "ben_Beng"]
# Source pieces left out of dict.SRC.json on purpose: the tokenizer maps them to <unk>.
DROPPED_SOURCE_PIECES = 3


def load_reference(path: Path):
    """Imports the reference files as one package, so their relative imports work."""
    package = Path(tempfile.mkdtemp()) / "indictrans_reference"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("configuration_indictrans.py", "modeling_indictrans.py", "tokenization_indictrans.py"):
        shutil.copy(path / name, package / name)
    sys.path.insert(0, str(package.parent))
    config = importlib.import_module("indictrans_reference.configuration_indictrans")
    modeling = importlib.import_module("indictrans_reference.modeling_indictrans")
    tokenization = importlib.import_module("indictrans_reference.tokenization_indictrans")
    return config, modeling, tokenization


def fairseq_dict(sp: spm.SentencePieceProcessor, drop: int, tags: list[str]) -> dict:
    """fairseq's layout: the four specials, the pieces, then any extra symbols."""
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    dropped = 0
    for i in range(sp.get_piece_size()):
        if sp.is_control(i) or sp.is_unknown(i):
            continue
        piece = sp.id_to_piece(i)
        if dropped < drop and len(piece) > 2 and i > 40:
            dropped += 1
            continue
        vocab.setdefault(piece, len(vocab))
    for tag in tags:
        vocab.setdefault(tag, len(vocab))
    return vocab


def write_tokenizer_files(workdir: Path, source: dict, target: dict) -> None:
    if MODEL_DIR.exists():
        shutil.rmtree(MODEL_DIR)
    MODEL_DIR.mkdir(parents=True)
    shutil.copy(workdir / "source.model", MODEL_DIR / "model.SRC")
    shutil.copy(workdir / "target.model", MODEL_DIR / "model.TGT")
    for name, vocab in (("dict.SRC.json", source), ("dict.TGT.json", target)):
        (MODEL_DIR / name).write_text(json.dumps(vocab, ensure_ascii=False, indent=2), encoding="utf-8")
    special = lambda text: {  # noqa: E731
        "content": text, "lstrip": False, "normalized": False, "rstrip": False,
        "single_word": False, "special": True,
    }
    config = {
        "added_tokens_decoder": {str(i): special(t) for i, t in enumerate(["<s>", "<pad>", "</s>", "<unk>"])},
        "auto_map": {"AutoTokenizer": ["tokenization_indictrans.IndicTransTokenizer", None]},
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": True,
        "do_lower_case": False,
        "eos_token": "</s>",
        "model_max_length": 256,
        "pad_token": "<pad>",
        "tokenizer_class": "IndicTransTokenizer",
        "unk_token": "<unk>",
    }
    (MODEL_DIR / "tokenizer_config.json").write_text(json.dumps(config, indent=2))


def indictrans_config(config_module, source_vocab, target_vocab, positions, layers, embed, heads, ffn):
    """An IndicTransConfig in the hub models' layout (pre-norm, embedding norm, gelu,
    separate vocabularies, untied output layer) at the given size; the benchmark
    script builds its models with it too."""
    config = config_module.IndicTransConfig(
        encoder_vocab_size=source_vocab,
        decoder_vocab_size=target_vocab,
        encoder_embed_dim=embed,
        decoder_embed_dim=embed,
        max_source_positions=positions,
        max_target_positions=positions,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=heads,
        decoder_attention_heads=heads,
        encoder_ffn_dim=ffn,
        decoder_ffn_dim=ffn,
        activation_function="gelu",
        encoder_normalize_before=True,
        decoder_normalize_before=True,
        layernorm_embedding=True,
        share_decoder_input_output_embed=False,
        scale_embedding=True,
        attn_implementation="eager",
    )
    config._attn_implementation = "eager"
    return config


def random_model(reference, source_vocab: int, target_vocab: int, seed: int, eos_bias: float):
    config_module, modeling, _ = reference
    config = indictrans_config(
        config_module, source_vocab, target_vocab, MAX_POSITIONS, layers=2, embed=32, heads=4, ffn=64
    )
    torch.manual_seed(seed)
    model = modeling.IndicTransForConditionalGeneration(config).eval()
    # As for the Marian fixtures: equal-norm embeddings, norms and biases away from
    # their neutral values, a strong last decoder layer, so greedy output depends on
    # the source and every weight matters.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layer_norm" in name or "layernorm" in name:
                p.copy_(torch.randn_like(p) * 0.2 + (1.0 if name.endswith("weight") else 0.0))
            elif name.endswith("bias"):
                p.copy_(torch.randn_like(p) * 0.1)
            elif "embed_tokens" in name:
                rows = torch.randn_like(p)
                p.copy_(rows / rows.norm(dim=1, keepdim=True))
            else:
                p.copy_(torch.randn_like(p) / (p.shape[1] ** 0.5))
        decoder = model.model.decoder
        last = decoder.layers[-1]
        last.fc2.weight.mul_(4.0)
        last.encoder_attn.out_proj.weight.mul_(4.0)
        # The final norm's bias adds a constant to every logit through the output
        # layer; steering it along EOS's row ends some translations early.
        bias = decoder.layer_norm.bias
        model.lm_head.weight[2].add_(eos_bias * bias / bias.dot(bias))
    return model


def encode(tokenizer, texts: list[str]):
    return tokenizer(texts, return_tensors="pt", padding=True)


def pick_model(reference, tokenizer, source_vocab: int, target_vocab: int, texts: list[str]):
    """The first seed whose greedy translations vary in tokens and in length."""
    batch = encode(tokenizer, texts)
    for seed in range(200):
        model = random_model(reference, source_vocab, target_vocab, seed, eos_bias=(3.0, 5.0, 7.0)[seed % 3])
        with torch.no_grad():
            out = model.generate(**batch, num_beams=1, max_length=MAX_LENGTH)
        rows = [[t for t in seq[1:] if t not in (1, 2)] for seq in out.tolist()]
        varied = sum(len(set(r)) >= 3 for r in rows)
        early = sum(0 < len(r) < MAX_LENGTH - 2 for r in rows)
        if varied >= 4 and early >= 3:
            print(f"seed {seed}: {varied} varied, {early} stop early")
            return model
    raise SystemExit("no seed gave varied translations; adjust random_model")


def write_model_files(model) -> None:
    model.save_pretrained(MODEL_DIR, safe_serialization=True)
    torch.save(model.state_dict(), MODEL_DIR / "pytorch_model.bin")
    config = json.loads((MODEL_DIR / "config.json").read_text())
    config["auto_map"] = {
        "AutoConfig": "configuration_indictrans.IndicTransConfig",
        "AutoModelForSeq2SeqLM": "modeling_indictrans.IndicTransForConditionalGeneration",
    }
    config.pop("_name_or_path", None)
    (MODEL_DIR / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    generation = {
        "bos_token_id": 0,
        "decoder_start_token_id": 2,
        "eos_token_id": 2,
        "max_length": MAX_LENGTH,
        "pad_token_id": 1,
    }
    (MODEL_DIR / "generation_config.json").write_text(json.dumps(generation, indent=2))


def generate(model, tokenizer, texts: list[str], **kwargs) -> list[dict]:
    batch = encode(tokenizer, texts)
    with torch.no_grad():
        out = model.generate(**batch, **kwargs)
    return [{"ids": seq, "text": tokenizer.decode(seq, skip_special_tokens=True)} for seq in out.tolist()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reference", type=Path, help="folder with the reference's three .py files")
    args = parser.parse_args()
    reference = load_reference(args.reference)
    tokenization = reference[2]

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        source = spm.SentencePieceProcessor(model_file=str(train_spm(workdir, "source", SOURCE_TRAINING, 420)))
        target = spm.SentencePieceProcessor(model_file=str(train_spm(workdir, "target", TARGET_TRAINING, 320)))
        source_dict = fairseq_dict(source, DROPPED_SOURCE_PIECES, TAGS)
        target_dict = fairseq_dict(target, 0, [])
        write_tokenizer_files(workdir, source_dict, target_dict)

    tokenizer = tokenization.IndicTransTokenizer.from_pretrained(str(MODEL_DIR))
    tagged = [f"{src} {tgt} {text}" for src, tgt, text in PROBES]
    translatable = [t for t, (_, _, text) in zip(tagged, PROBES) if text.strip()][:12]
    model = pick_model(reference, tokenizer, len(source_dict), len(target_dict), translatable)
    write_model_files(model)
    modeling = reference[1]
    model = modeling.IndicTransForConditionalGeneration.from_pretrained(str(MODEL_DIR)).eval()
    model_bin = modeling.IndicTransForConditionalGeneration.from_pretrained(
        str(MODEL_DIR), use_safetensors=False
    ).eval()

    tokenized = [
        {"text": t, "tokens": tokenizer.tokenize(t), "ids": tokenizer(t)["input_ids"]} for t in tagged
    ]

    generator = torch.Generator().manual_seed(7)
    decodes = []
    for n in (1, 3, 8, 20):
        ids = torch.randint(0, len(target_dict), (n,), generator=generator).tolist()
        ids = ids[: n // 2] + [0, 1, 2, 3][: n % 4] + ids[n // 2 :]
        decodes.append({"ids": ids, "text": tokenizer.decode(ids, skip_special_tokens=True)})

    greedy = [generate(model, tokenizer, [t], num_beams=1)[0] for t in translatable]
    beam = [generate(model, tokenizer, [t], num_beams=4)[0] for t in translatable]
    # The reference's own defaults as its examples call generate.
    beam5 = [generate(model, tokenizer, [t], num_beams=5, min_length=0)[0] for t in translatable[:6]]
    batch_texts = translatable[:6]
    batch_greedy = generate(model, tokenizer, batch_texts, num_beams=1)
    batch_beam = generate(model, tokenizer, batch_texts, num_beams=4)

    # Teacher-forced logits at every decoder position for a (left-)padded pair.
    forced_texts = [translatable[1], translatable[3]]
    forced_batch = encode(tokenizer, forced_texts)
    decoder_ids = [[2] + [4 + 7 * i + j for j in range(5)] for i in range(2)]
    with torch.no_grad():
        forced_logits = model(**forced_batch, decoder_input_ids=torch.tensor(decoder_ids)).logits
        forced_bin = model_bin(**forced_batch, decoder_input_ids=torch.tensor(decoder_ids)).logits
    diff = float((forced_logits - forced_bin).abs().max())
    print("bin vs safetensors max diff", diff)
    assert diff < 1e-5, "the .bin and .safetensors weights differ"
    teacher_forced = {
        "texts": forced_texts,
        "input_ids": forced_batch["input_ids"].tolist(),
        "decoder_input_ids": decoder_ids,
        "logits": [[[round(x, 6) for x in step] for step in row] for row in forced_logits.tolist()],
    }

    expected = {
        "generated_by": "scripts/parity/make_indictrans_fixtures.py",
        "transformers": __import__("transformers").__version__,
        "torch": torch.__version__,
        "source_vocab_size": len(source_dict),
        "target_vocab_size": len(target_dict),
        "max_length": MAX_LENGTH,
        "tokenized": tokenized,
        "decoded": decodes,
        "teacher_forced": teacher_forced,
        "greedy": [dict(source=t, **g) for t, g in zip(translatable, greedy)],
        "beam": [dict(source=t, **b) for t, b in zip(translatable, beam)],
        "beam5": [dict(source=t, **b) for t, b in zip(translatable, beam5)],
        "batch": {"texts": batch_texts, "greedy": batch_greedy, "beam": batch_beam},
    }
    with open(OUT / "expected.json", "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)

    print(f"vocab {len(source_dict)}/{len(target_dict)}; greedy lengths {[len(g['ids']) for g in greedy]};"
          f" beam lengths {[len(b['ids']) for b in beam]}")
    for row in greedy[:3] + beam[:3]:
        print(row["text"][:100])
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"fixtures: {total / 1024:.0f} KiB")
    assert total < 2 * 1024 * 1024, "fixtures must stay under 2 MB"
    assert not math.isnan(float(forced_logits.sum()))


if __name__ == "__main__":
    main()

"""Builds tests/fixtures/marian: a tiny random MarianMTModel with real SentencePiece
models, and what Hugging Face transformers makes of it, for tests/marian.rs.

Run by hand (never from tests):  /work/venv/bin/python scripts/parity/make_marian_fixtures.py

What it writes into tests/fixtures/marian/tiny/:
  source.spm, target.spm   unigram models trained on Hindi / English text written for saar
  vocab.json               the joint vocabulary laid out as Marian's: </s>=0, <unk>=1, <pad>=last
  tokenizer_config.json    as the opus-mt repositories ship it (languages only)
  config.json              saved by transformers, then stripped of fields older opus-mt
                           configs lack, so the Rust defaults are exercised
  generation_config.json   bad_words_ids=[[pad]], forced EOS, num_beams=4, a short max_length
  model.safetensors and pytorch_model.bin   the same weights in both formats
and tests/fixtures/marian/expected.json: token ids, decodes, and generate() outputs.
"""

import json
import math
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2
import torch
from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer

sys.path.insert(0, str(Path(__file__).parent))
from marian_text import ENGLISH_TRAINING, HINDI_PROBES, HINDI_TRAINING  # noqa: E402

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "marian"
MODEL_DIR = OUT / "tiny"
MAX_POSITIONS = 64
MAX_LENGTH = 24
# Source pieces left out of vocab.json on purpose: MarianTokenizer maps them to <unk>.
DROPPED_SOURCE_PIECES = 2


def train_spm(workdir: Path, name: str, lines: list[str], vocab_size: int) -> Path:
    text = workdir / f"{name}.txt"
    text.write_text("\n".join(lines), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(text),
        model_prefix=str(workdir / name),
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    # Training records the temporary paths; drop them so reruns write the same bytes.
    path = workdir / f"{name}.model"
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(path.read_bytes())
    del proto.trainer_spec.input[:]
    proto.trainer_spec.model_prefix = name
    path.write_bytes(proto.SerializeToString())
    return path


def build_vocab(source: spm.SentencePieceProcessor, target: spm.SentencePieceProcessor) -> dict:
    vocab = {"</s>": 0, "<unk>": 1}
    for sp, skip in ((target, 0), (source, DROPPED_SOURCE_PIECES)):
        dropped = 0
        for i in range(sp.get_piece_size()):
            if sp.is_control(i) or sp.is_unknown(i):
                continue
            piece = sp.id_to_piece(i)
            # Drop a couple of multi-character source pieces that the target lacks.
            if dropped < skip and piece not in vocab and len(piece) > 2 and i > 40:
                dropped += 1
                continue
            vocab.setdefault(piece, len(vocab))
    vocab[">>eng<<"] = len(vocab)
    vocab["<pad>"] = len(vocab)
    return vocab


def random_model(vocab_size: int, seed: int, eos_bias: float) -> MarianMTModel:
    pad = vocab_size - 1
    config = MarianConfig(
        vocab_size=vocab_size,
        decoder_vocab_size=vocab_size,
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=MAX_POSITIONS,
        pad_token_id=pad,
        decoder_start_token_id=pad,
        eos_token_id=0,
        bos_token_id=0,
        forced_eos_token_id=0,
        scale_embedding=True,
        activation_function="swish",
        share_encoder_decoder_embeddings=True,
    )
    torch.manual_seed(seed)
    model = MarianMTModel(config).eval()
    # Default random weights make a decoder that repeats its previous token: the tied
    # embedding dominates the residual stream. Equal-norm embeddings, a strong last
    # layer and a wide last norm give decisive logits that depend on the source, and an
    # EOS bias ends some translations early.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "embed_positions" in name:
                continue  # sinusoidal and frozen, as in every Marian checkpoint
            if "layer_norm" in name:
                p.copy_(torch.randn_like(p) * 0.2 + (1.0 if name.endswith("weight") else 0.0))
            elif name.endswith("bias"):
                p.copy_(torch.randn_like(p) * 0.1)
            elif "shared" in name:
                rows = torch.randn_like(p)
                p.copy_(rows / rows.norm(dim=1, keepdim=True))
            else:
                p.copy_(torch.randn_like(p) / (p.shape[1] ** 0.5))
        last = model.model.decoder.layers[-1]
        last.final_layer_norm.weight.mul_(4.0)
        last.fc2.weight.mul_(4.0)
        last.encoder_attn.out_proj.weight.mul_(4.0)
        bias = torch.randn(1, vocab_size) * 0.1
        bias[0, 0] = eos_bias
        model.final_logits_bias.copy_(bias)
    return model


def write_tokenizer_files(workdir: Path, vocab: dict) -> None:
    if MODEL_DIR.exists():
        shutil.rmtree(MODEL_DIR)
    MODEL_DIR.mkdir(parents=True)
    shutil.copy(workdir / "source.model", MODEL_DIR / "source.spm")
    shutil.copy(workdir / "target.model", MODEL_DIR / "target.spm")
    with open(MODEL_DIR / "vocab.json", "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, indent=1)
    with open(MODEL_DIR / "tokenizer_config.json", "w", encoding="utf-8") as f:
        json.dump({"source_lang": "hi", "target_lang": "en"}, f)


def pick_model(tokenizer, vocab_size: int, texts: list[str]) -> MarianMTModel:
    """The first seed whose greedy translations vary in tokens and in length."""
    batch = tokenizer(texts, return_tensors="pt", padding=True)
    pad = vocab_size - 1
    for seed in range(100):
        model = random_model(vocab_size, seed, eos_bias=(2.0, 4.0, 6.0)[seed % 3])
        with torch.no_grad():
            out = model.generate(
                **batch, num_beams=1, max_length=MAX_LENGTH, bad_words_ids=[[pad]], forced_eos_token_id=0
            )
        rows = [[t for t in seq[1:] if t not in (0, pad)] for seq in out.tolist()]
        varied = sum(len(set(r)) >= 3 for r in rows)
        early = sum(0 < len(r) < MAX_LENGTH - 2 for r in rows)
        if varied >= 4 and early >= 1:
            print(f"seed {seed}: {varied} varied, {early} stop early")
            return model
    raise SystemExit("no seed gave varied translations; adjust random_model")


def write_model_files(model: MarianMTModel, vocab: dict) -> None:
    model.save_pretrained(MODEL_DIR)  # model.safetensors and config.json
    torch.save(model.state_dict(), MODEL_DIR / "pytorch_model.bin")
    for stale in ("generation_config.json",):
        (MODEL_DIR / stale).unlink(missing_ok=True)

    config = json.loads((MODEL_DIR / "config.json").read_text())
    # Older opus-mt configs predate these fields; the loaders must default them.
    for field in ("decoder_vocab_size", "share_encoder_decoder_embeddings", "tie_word_embeddings"):
        config.pop(field, None)
    (MODEL_DIR / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))

    pad = len(vocab) - 1
    generation = {
        "bad_words_ids": [[pad]],
        "bos_token_id": 0,
        "decoder_start_token_id": pad,
        "eos_token_id": 0,
        "forced_eos_token_id": 0,
        "max_length": MAX_LENGTH,
        "num_beams": 4,
        "pad_token_id": pad,
    }
    (MODEL_DIR / "generation_config.json").write_text(json.dumps(generation, indent=2))


def generate(model, tokenizer, texts: list[str], **kwargs) -> list[dict]:
    batch = tokenizer(texts, return_tensors="pt", padding=True)
    with torch.no_grad():
        out = model.generate(**batch, **kwargs)
    rows = []
    for seq in out.tolist():
        rows.append({"ids": seq, "text": tokenizer.decode(seq, skip_special_tokens=True)})
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        source_path = train_spm(workdir, "source", HINDI_TRAINING, 400)
        target_path = train_spm(workdir, "target", ENGLISH_TRAINING, 300)
        source = spm.SentencePieceProcessor(model_file=str(source_path))
        target = spm.SentencePieceProcessor(model_file=str(target_path))
        vocab = build_vocab(source, target)
        write_tokenizer_files(workdir, vocab)

    tokenizer = MarianTokenizer.from_pretrained(str(MODEL_DIR))
    translatable = [t for t in HINDI_PROBES if t.strip()][:12]
    write_model_files(pick_model(tokenizer, len(vocab), translatable), vocab)
    model = MarianMTModel.from_pretrained(str(MODEL_DIR)).eval()
    model_bin = MarianMTModel.from_pretrained(str(MODEL_DIR), use_safetensors=False).eval()

    tokenized = [
        {"text": t, "tokens": tokenizer.tokenize(t), "ids": tokenizer(t)["input_ids"]} for t in HINDI_PROBES
    ]

    generator = torch.Generator().manual_seed(7)
    specials = [0, 1, len(vocab) - 1]
    decodes = []
    for n in (1, 3, 8, 20):
        ids = torch.randint(0, len(vocab), (n,), generator=generator).tolist()
        ids = ids[: n // 2] + specials[: n % 3] + ids[n // 2 :]
        decodes.append({"ids": ids, "text": tokenizer.decode(ids, skip_special_tokens=True)})

    greedy = [generate(model, tokenizer, [t], num_beams=1)[0] for t in translatable]
    beam = [generate(model, tokenizer, [t])[0] for t in translatable]
    batch_texts = translatable[:6]
    batch_greedy = generate(model, tokenizer, batch_texts, num_beams=1)
    batch_beam = generate(model, tokenizer, batch_texts)
    # Search settings beyond the model's defaults; the repetition controls make EOS
    # compete at every length, so length normalisation decides between hypotheses.
    scenarios = []
    for name, settings, texts in [
        ("tuned", {"num_beams": 3, "length_penalty": 0.6, "early_stopping": True, "no_repeat_ngram_size": 2,
                   "renormalize_logits": True, "max_new_tokens": 12}, batch_texts),
        ("never", {"num_beams": 5, "early_stopping": "never", "length_penalty": 1.3, "min_length": 6},
         batch_texts[:3]),
        ("no_repeats", {"num_beams": 4, "no_repeat_ngram_size": 1}, translatable),
        ("penalised", {"num_beams": 4, "repetition_penalty": 3.0, "length_penalty": 2.0}, translatable),
        ("penalised_short", {"num_beams": 2, "repetition_penalty": 3.0, "length_penalty": -1.0}, translatable),
        ("greedy_penalised", {"num_beams": 1, "repetition_penalty": 3.0}, translatable),
        ("never_penalised", {"num_beams": 4, "early_stopping": "never", "length_penalty": 1.5,
                             "repetition_penalty": 3.0}, translatable),
        ("early_penalised", {"num_beams": 4, "early_stopping": True, "repetition_penalty": 3.0}, translatable),
    ]:
        outputs = generate(model, tokenizer, texts, **settings)
        scenarios.append({"name": name, "settings": settings, "texts": texts, "outputs": outputs})

    # The first decoder step's logits for one sentence, to localise numeric drift.
    batch = tokenizer([translatable[0]], return_tensors="pt")
    start = torch.tensor([[model.config.decoder_start_token_id]])
    with torch.no_grad():
        logits = model(**batch, decoder_input_ids=start).logits[0, -1]
        logits_bin = model_bin(**batch, decoder_input_ids=start).logits[0, -1]
    print("bin vs safetensors max diff", float((logits - logits_bin).abs().max()), float(logits.abs().max()))
    assert torch.allclose(logits, logits_bin, rtol=1e-4, atol=1e-3), "the .bin and .safetensors weights differ"

    # Teacher-forced logits at every decoder position for a padded pair: checks the
    # masks, the positions and the cache of an incremental decoder, not only argmaxes.
    forced_texts = [translatable[1], translatable[3]]
    forced_batch = tokenizer(forced_texts, return_tensors="pt", padding=True)
    decoder_ids = [[model.config.decoder_start_token_id] + [3 + 7 * i + j for j in range(5)] for i in range(2)]
    with torch.no_grad():
        forced_logits = model(**forced_batch, decoder_input_ids=torch.tensor(decoder_ids)).logits
    teacher_forced = {
        "texts": forced_texts,
        "decoder_input_ids": decoder_ids,
        "logits": [[[round(x, 4) for x in step] for step in row] for row in forced_logits.tolist()],
    }

    expected = {
        "generated_by": "scripts/parity/make_marian_fixtures.py",
        "transformers": __import__("transformers").__version__,
        "vocab_size": len(vocab),
        "max_position_embeddings": MAX_POSITIONS,
        "special_tokens": tokenizer.all_special_tokens,
        "tokenized": tokenized,
        "decoded": decodes,
        "first_step_logits": {"text": translatable[0], "logits": [round(x, 5) for x in logits.tolist()]},
        "teacher_forced": teacher_forced,
        "greedy": [dict(source=t, **g) for t, g in zip(translatable, greedy)],
        "beam": [dict(source=t, **b) for t, b in zip(translatable, beam)],
        "batch": {"texts": batch_texts, "greedy": batch_greedy, "beam": batch_beam},
        "scenarios": scenarios,
    }
    with open(OUT / "expected.json", "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)

    lengths = [len(g["ids"]) for g in greedy]
    print(f"vocab {len(vocab)}; greedy lengths {lengths}; beam lengths {[len(b['ids']) for b in beam]}")
    for row in greedy[:4] + beam[:4]:
        print(row["text"][:100])
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"fixtures: {total / 1024:.0f} KiB")
    assert total < 2 * 1024 * 1024, "fixtures must stay under 2 MB"
    assert not math.isnan(float(logits.sum()))


if __name__ == "__main__":
    main()

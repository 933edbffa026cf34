"""Reference speeds for the Marian rows of `saar bench --shape opus-mt-hi-en`:
CTranslate2 (and, with --pytorch, PyTorch/transformers) translating random sentences
with a random-weight model of Helsinki-NLP/opus-mt-hi-en's shape, greedy, f32, with
the same lengths saar uses (64 source tokens -> exactly 64 generated, EOS never wins).

Run by hand, never from tests (needs ctranslate2, torch, transformers in the venv):

  /work/venv/bin/python scripts/bench/ctranslate2_marian.py --work-dir /work/refs/marian \
      --threads 2 --batch 1,8 --pytorch

It builds <work-dir>/hf (MarianMTModel from a config, random weights) and converts it
with CTranslate2's Transformers converter into <work-dir>/ct2, once; later runs reuse
both. Prints one JSON line per row, with the keys `saar bench` uses.
"""

import argparse
import json
import time
from pathlib import Path

import torch
import transformers

# Helsinki-NLP/opus-mt-hi-en (as saar's MarianShape::opus_mt_base).
VOCAB = 61127
PAD = VOCAB - 1
SHAPE = dict(
    vocab_size=VOCAB,
    decoder_vocab_size=VOCAB,
    d_model=512,
    encoder_layers=6,
    decoder_layers=6,
    encoder_attention_heads=8,
    decoder_attention_heads=8,
    encoder_ffn_dim=2048,
    decoder_ffn_dim=2048,
    max_position_embeddings=512,
    activation_function="swish",
    scale_embedding=True,
    share_encoder_decoder_embeddings=True,
    tie_word_embeddings=True,
    pad_token_id=PAD,
    decoder_start_token_id=PAD,
    eos_token_id=0,
    bos_token_id=0,
    forced_eos_token_id=0,
)
TOKENS = ["</s>", "<unk>"] + [f"t{i}" for i in range(2, VOCAB - 1)] + ["<pad>"]


class StubTokenizer:
    """What CTranslate2's Marian loader reads from a tokenizer: the vocabulary and
    the EOS/UNK strings. The random model has no SentencePiece files to load."""

    eos_token = "</s>"
    unk_token = "<unk>"

    def get_vocab(self):
        return {token: index for index, token in enumerate(TOKENS)}


def build_hf(folder: Path, seed: int):
    if (folder / "config.json").is_file():
        return
    torch.manual_seed(seed)
    model = transformers.MarianMTModel(transformers.MarianConfig(**SHAPE))
    model.save_pretrained(folder)


def convert_ct2(hf: Path, out: Path):
    if (out / "model.bin").is_file():
        return
    from ctranslate2.converters import TransformersConverter

    class Converter(TransformersConverter):
        def load_tokenizer(self, tokenizer_class, model_name_or_path, **kwargs):
            return StubTokenizer()

    Converter(str(hf)).convert(str(out), quantization="float32", force=True)


def sources(batch: int, length: int):
    """The ids saar's Marian bench feeds (saar's src/engine/marian/bench.rs)."""
    return [
        [1 + (b * 7919 + t * 104_729) % (VOCAB - 2) for t in range(length)]
        for b in range(batch)
    ]


def timed(run, repeat: int):
    run()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        generated = run()
        times.append(time.perf_counter() - start)
    return generated, sorted(times)[len(times) // 2]


def bench_ct2(folder: Path, batch: int, length: int, new_tokens: int, threads: int, repeat: int):
    import ctranslate2

    translator = ctranslate2.Translator(
        str(folder), device="cpu", compute_type="float32", intra_threads=threads, inter_threads=1
    )
    batch_tokens = [[TOKENS[i] for i in ids] for ids in sources(batch, length)]

    def run():
        results = translator.translate_batch(
            batch_tokens,
            beam_size=1,
            max_decoding_length=new_tokens,
            min_decoding_length=new_tokens,
        )
        return sum(len(r.hypotheses[0]) for r in results)

    generated, secs = timed(run, repeat)
    return dict(tool=f"ctranslate2-{ctranslate2.__version__}", generated_tokens=generated, secs=secs)


def bench_pytorch(folder: Path, batch: int, length: int, new_tokens: int, threads: int, repeat: int):
    torch.set_num_threads(threads)
    model = transformers.MarianMTModel.from_pretrained(folder, dtype=torch.float32).eval()
    input_ids = torch.tensor(sources(batch, length))

    def run():
        with torch.inference_mode():
            out = model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                num_beams=1,
                do_sample=False,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
            )
        # generate() returns the decoder start token plus the new tokens.
        return (out.shape[1] - 1) * batch

    generated, secs = timed(run, repeat)
    return dict(tool=f"pytorch-{torch.__version__}", generated_tokens=generated, secs=secs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", default="1,8")
    parser.add_argument("--prompt-tokens", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs after a warm-up; the median counts")
    parser.add_argument("--pytorch", action="store_true", help="also time transformers' generate()")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    hf, ct2 = args.work_dir / "hf", args.work_dir / "ct2"
    build_hf(hf, args.seed)
    convert_ct2(hf, ct2)
    benches = [lambda *a: bench_ct2(ct2, *a)]
    if args.pytorch:
        benches.append(lambda *a: bench_pytorch(hf, *a))
    # Every CTranslate2 row before any PyTorch row: PyTorch's OpenMP threads keep
    # spinning after a run and took CPU from a CTranslate2 run that came right after
    # (CTranslate2 measured 60 / 197 tok/s interleaved, 96-120 / 315-339 alone).
    batches = [int(b) for b in args.batch.split(",")]
    for bench in benches:
        for batch in batches:
            row = bench(batch, args.prompt_tokens, args.new_tokens, args.threads, args.repeat)
            expected = batch * args.new_tokens
            if row["generated_tokens"] != expected:
                raise SystemExit(f"{row['tool']} generated {row['generated_tokens']} tokens, not {expected}")
            print(
                json.dumps(
                    dict(
                        format="marian-f32",
                        shape="opus-mt-hi-en",
                        kernels=row["tool"],
                        threads=args.threads,
                        batch=batch,
                        prompt_tokens=args.prompt_tokens,
                        new_tokens=args.new_tokens,
                        generated_tokens=row["generated_tokens"],
                        translate_tok_s=row["generated_tokens"] / row["secs"],
                        secs=row["secs"],
                    )
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()

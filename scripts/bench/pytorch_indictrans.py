"""Reference speed for the IndicTrans2 rows of `saar bench --shape indictrans2-dist-200m`
(or `indictrans2-1b`): AI4Bharat's own modeling code under PyTorch/transformers,
translating random sources with a random-weight model of the same shape, greedy, f32,
64 source tokens -> exactly 64 generated (EOS never wins), as saar's rows measure.

The reference code is never copied into this repository: pass the folder holding
modeling_indictrans.py, configuration_indictrans.py and tokenization_indictrans.py.
Run by hand, never from tests, with transformers 4.46 (the remote code predates 4.50):

  /work/venv-it/bin/python scripts/bench/pytorch_indictrans.py /path/to/reference \
      --threads 2 --batch 1,8

Prints one JSON line per row, with the keys `saar bench` uses.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "parity"))
from make_indictrans_fixtures import indictrans_config, load_reference  # noqa: E402

# saar's MarianShape::indictrans2_dist_200m and ::indictrans2_1b.
SHAPES = {
    "indictrans2-dist-200m": dict(embed=512, heads=8, ffn=2048),
    "indictrans2-1b": dict(embed=1024, heads=16, ffn=8192),
}
SOURCE_VOCAB = 122_672
TARGET_VOCAB = 32_296
LAYERS = 18
MAX_POSITIONS = 256


def build(reference, shape: dict, seed: int):
    config_module, modeling, _ = reference
    config = indictrans_config(
        config_module, SOURCE_VOCAB, TARGET_VOCAB, MAX_POSITIONS, layers=LAYERS, **shape
    )
    torch.manual_seed(seed)
    return modeling.IndicTransForConditionalGeneration(config).eval()


def sources(batch: int, length: int):
    """Source ids away from the special ones (0-3), different per sentence."""
    return [
        [4 + (b * 7919 + t * 104_729) % (SOURCE_VOCAB - 4) for t in range(length)]
        for b in range(batch)
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reference", type=Path)
    parser.add_argument("--shape", default="indictrans2-dist-200m", choices=sorted(SHAPES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", default="1,8")
    parser.add_argument("--prompt-tokens", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs after a warm-up; the median counts")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    model = build(load_reference(args.reference), SHAPES[args.shape], args.seed)
    for batch in [int(b) for b in args.batch.split(",")]:
        input_ids = torch.tensor(sources(batch, args.prompt_tokens))

        def run():
            with torch.inference_mode():
                out = model.generate(
                    input_ids=input_ids,
                    attention_mask=torch.ones_like(input_ids),
                    num_beams=1,
                    do_sample=False,
                    max_new_tokens=args.new_tokens,
                    min_new_tokens=args.new_tokens,
                    decoder_start_token_id=2,
                    eos_token_id=2,
                    pad_token_id=1,
                )
            # generate() returns the decoder start token plus the new tokens.
            return (out.shape[1] - 1) * batch

        run()  # warm-up
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            generated = run()
            times.append(time.perf_counter() - start)
        secs = sorted(times)[len(times) // 2]
        if generated != batch * args.new_tokens:
            raise SystemExit(f"generated {generated} tokens, not {batch * args.new_tokens}")
        print(
            json.dumps(
                dict(
                    format="indictrans2-f32",
                    shape=args.shape,
                    kernels=f"pytorch-{torch.__version__}",
                    threads=args.threads,
                    batch=batch,
                    prompt_tokens=args.prompt_tokens,
                    new_tokens=args.new_tokens,
                    generated_tokens=generated,
                    translate_tok_s=generated / secs,
                    secs=secs,
                )
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()

"""Reference speeds for the safetensors rows of `saar bench`: PyTorch/transformers
running the very folder saar benches (a random-weight model `saar bench --work-dir`
kept), with the same lengths: a prompt of random ids in one forward pass, then greedy
decoding of new tokens one at a time through the KV cache, EOS never stopping it.

Run by hand, never from tests (needs torch and transformers in the venv):

  saar bench --threads 2 --formats safetensors-f32 --work-dir /work/refs/gguf
  /work/venv/bin/python scripts/bench/pytorch_llm.py /work/refs/gguf/qwen2.5-0.5b-f32 \
      --threads 2 --dtype f32

Prints one JSON line with the keys `saar bench` uses.
"""

import argparse
import json
import time
from pathlib import Path

import torch
import transformers

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}


def load(path, dtype):
    """The model in `dtype`; transformers before 4.56 names the argument torch_dtype."""
    try:
        return transformers.AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    except TypeError:
        return transformers.AutoModelForCausalLM.from_pretrained(path, torch_dtype=dtype)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", type=Path, help="an HF model folder (saar bench --work-dir keeps them)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = load(args.model, DTYPES[args.dtype]).eval()
    vocab = model.config.vocab_size
    prompt = torch.randint(0, vocab, (1, args.prompt_tokens))

    def decode_from(out, steps):
        cache, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
        for _ in range(steps):
            out = model(input_ids=token, past_key_values=cache, use_cache=True)
            cache, token = out.past_key_values, out.logits[:, -1:].argmax(-1)

    with torch.inference_mode():
        # One short pass first: PyTorch's first call sets up kernels lazily.
        model(input_ids=prompt[:, :8], use_cache=True)
        start = time.perf_counter()
        out = model(input_ids=prompt, use_cache=True)
        prefill_secs = time.perf_counter() - start
        start = time.perf_counter()
        # As saar counts: the prefill's logits give the first new token.
        decode_from(out, args.new_tokens - 1)
        decode_secs = time.perf_counter() - start
        # Again from an empty cache (a one-token prompt), as saar bench's decode_tok_s
        # and llama-bench's tg rows.
        out = model(input_ids=prompt[:, :1], use_cache=True)
        start = time.perf_counter()
        decode_from(out, args.new_tokens - 1)
        empty_secs = time.perf_counter() - start

    print(
        json.dumps(
            dict(
                format=f"safetensors-{args.dtype}",
                # saar bench --work-dir names folders `{shape}-{dtype}`.
                shape=args.model.name.removesuffix(f"-{args.dtype}"),
                kernels=f"pytorch-{torch.__version__}",
                threads=args.threads,
                prompt_tokens=args.prompt_tokens,
                new_tokens=args.new_tokens,
                prefill_tok_s=args.prompt_tokens / prefill_secs,
                decode_tok_s=args.new_tokens / empty_secs,
                decode_after_prompt_tok_s=args.new_tokens / decode_secs,
            )
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()

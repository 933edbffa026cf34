"""PyTorch beside `saar bench` on the same GPU: the same shapes (the config.json of each
safetensors folder `saar bench --work-dir` built), bf16, random weights, a random
prompt of --prompt-tokens, then --new-tokens greedy tokens with no EOS stop.

One JSON line per model on stdout, with the figures saar's rows carry:
prefill_tok_s (one forward pass over the prompt) and decode_after_prompt_tok_s (the
generated tokens over generate()'s time less one prefill). Needs torch and
transformers (the lent machines' python3 has both); run by scripts/gpu/run.sh.
"""

import argparse
import json
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--new-tokens", type=int, default=128)
    args = parser.parse_args()
    try:
        import torch
        import transformers
    except ImportError as err:
        print(f"torch_bench.py: skipped, no PyTorch here ({err})", file=sys.stderr)
        return 0
    if not torch.cuda.is_available():
        print("torch_bench.py: skipped, PyTorch sees no GPU", file=sys.stderr)
        return 0
    for folder in args.folders:
        print(json.dumps(bench(folder, args, torch, transformers)), flush=True)
    return 0


def bench(folder, args, torch, transformers):
    config = transformers.AutoConfig.from_pretrained(folder)
    with torch.device("cuda"):
        model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.eval()
    generator = torch.Generator(device="cuda").manual_seed(0)
    prompt = torch.randint(
        0, config.vocab_size, (1, args.prompt_tokens), device="cuda", generator=generator
    )

    def timed(work):
        torch.cuda.synchronize()
        start = time.perf_counter()
        work()
        torch.cuda.synchronize()
        return time.perf_counter() - start

    def generate():
        model.generate(
            prompt,
            attention_mask=torch.ones_like(prompt),
            max_new_tokens=args.new_tokens,
            min_new_tokens=args.new_tokens,
            do_sample=False,
            eos_token_id=None,
            pad_token_id=0,
        )

    with torch.inference_mode():
        timed(lambda: model(prompt))  # warm-up: kernels load and tune on first use
        prefill = min(timed(lambda: model(prompt)) for _ in range(3))
        whole = timed(generate)
    return {
        "engine": "pytorch",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "gpu": torch.cuda.get_device_name(),
        "model": folder,
        "dtype": "bf16",
        "prompt_tokens": args.prompt_tokens,
        "new_tokens": args.new_tokens,
        "prefill_tok_s": args.prompt_tokens / prefill,
        "decode_after_prompt_tok_s": args.new_tokens / max(whole - prefill, 1e-9),
    }


if __name__ == "__main__":
    sys.exit(main())

"""Medians of `scripts/bench/pairs.sh`'s JSON lines: per file and prompt length, saar's
and the reference's prefill and decode tok/s, and the median of the per-round ratios
(saar ÷ reference, round i against round i), with every round's ratio.

  python3 scripts/bench/pairs.py pairs.jsonl
"""

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def key(row):
    """(file, prompt tokens, tool) of a saar, llama-bench or PyTorch row, or None."""
    if "model_filename" in row:  # llama-bench -o jsonl
        prompt, new = row["n_prompt"], row["n_gen"]
        return Path(row["model_filename"]).name, prompt or None, "llama.cpp", new
    if row.get("kernels") == "saar":
        return row["shape"], row["prompt_tokens"], "saar", None
    if str(row.get("kernels", "")).startswith("pytorch"):
        name = f"{row['shape']}-{row['format'].split('-')[-1]}"
        return name, row["prompt_tokens"], "PyTorch", None
    return None


def main():
    runs = defaultdict(list)  # (file, prompt, tool, what) -> tok/s by round
    for line in Path(sys.argv[1]).read_text().splitlines():
        if not line.startswith("{"):
            continue
        row = json.loads(line)
        found = key(row)
        if found is None:
            continue
        name, prompt, tool, gen = found
        if tool == "llama.cpp":
            # llama-bench gives a pp row and a tg row; a tg row belongs to every prompt.
            if prompt:
                runs[(name, prompt, tool, "prefill")].append(row["avg_ts"])
            else:
                runs[(name, None, tool, "decode")].append(row["avg_ts"])
            continue
        runs[(name, prompt, tool, "prefill")].append(row["prefill_tok_s"])
        runs[(name, prompt, tool, "decode")].append(row["decode_tok_s"])
    print("| file | prompt | saar prefill | reference prefill | ratio (median; rounds) "
          "| saar decode | reference decode | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for (name, prompt, tool, what), saar in sorted(runs.items(), key=lambda kv: str(kv[0])):
        if tool != "saar" or what != "prefill":
            continue
        for ref in ("llama.cpp", "PyTorch"):
            theirs = runs.get((name, prompt, ref, "prefill"))
            if not theirs:
                continue
            ratios = [a / b for a, b in zip(saar, theirs)]
            decode = runs.get((name, prompt, "saar", "decode"), [])
            their_decode = runs.get((name, None if ref == "llama.cpp" else prompt, ref, "decode"), [])
            decode_ratios = [a / b for a, b in zip(decode, their_decode)]
            med = statistics.median
            rounds = ", ".join(f"{r:.2f}" for r in ratios)
            line = f"| {name} | {prompt} | {med(saar):.1f} | {ref} {med(theirs):.1f} | "
            line += f"**{med(ratios):.2f}** ({rounds}) | "
            if decode_ratios:
                line += f"{med(decode):.1f} | {med(their_decode):.1f} | {med(decode_ratios):.2f} |"
            else:
                line += "| | |"
            print(line)

if __name__ == "__main__":
    main()

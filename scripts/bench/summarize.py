"""Turns the JSON lines of `scripts/bench/table.sh` (saar bench's rows, llama-bench's
`-o jsonl` rows, the Python scripts' rows) into the markdown table of README.md#speed:
one line per shape and format, saar's and stock candle's speed, the reference tools'
speed, the ratios, and decode speed after the prompt where a tool reports it (decode
columns are from an empty cache, as llama-bench's tg rows).

  /work/venv/bin/python scripts/bench/summarize.py /work/refs/table.jsonl
"""

import json
import re
import sys
from collections import defaultdict
from pathlib import Path


def speeds(row):
    """(prefill, decode) tok/s of a saar or Python row; Marian rows give their
    end-to-end translate speed as the one figure."""
    if "translate_tok_s" in row:
        return None, row["translate_tok_s"]
    return row.get("prefill_tok_s"), row.get("decode_tok_s")


def file_key(filename):
    """(shape, format) of a GGUF file saar bench --work-dir named `{shape}-{type}.gguf`."""
    match = re.match(r"(.+)-([a-z0-9_]+)\.gguf$", Path(filename).name)
    return (match[1], f"gguf-{match[2]}") if match else None


def read(lines):
    # (shape, format) -> tool -> [prefill, decode]
    table = defaultdict(lambda: defaultdict(lambda: [None, None]))
    # (shape, format) -> tool -> decode tok/s after the prompt (saar and PyTorch rows)
    after = defaultdict(dict)
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        row = json.loads(line)
        if "model_filename" in row:  # llama-bench
            key = file_key(row["model_filename"])
            if key is None:
                continue
            slot = 0 if row["n_prompt"] > 0 else 1
            table[key]["llama.cpp"][slot] = row["avg_ts"]
            continue
        # `saar bench --model FILE` names the row after the file.
        shape, fmt = file_key(row["shape"]) or (row["shape"], row["format"])
        if "batch" in row:
            fmt = f"{fmt} batch {row['batch']}"
        tool = row["kernels"].split("-")[0]
        table[(shape, fmt)][tool] = list(speeds(row))
        if "decode_after_prompt_tok_s" in row:
            after[(shape, fmt)][tool] = row["decode_after_prompt_tok_s"]
    return table, after


def cell(pair):
    prefill, decode = pair
    fmt = lambda x: "-" if x is None else f"{x:.1f}"
    return fmt(decode) if prefill is None and decode is not None else f"{fmt(prefill)} / {fmt(decode)}"


def ratio(a, b):
    parts = []
    for x, y in zip(a, b):
        if x is not None and y:
            parts.append(f"{x / y:.2f}")
    return " / ".join(parts) or "-"


def main():
    lines = []
    for name in sys.argv[1:] or ["-"]:
        lines += (sys.stdin if name == "-" else open(name)).readlines()
    table, after = read(lines)
    print(
        "| shape | format | saar | stock candle | saar ÷ candle | reference | saar ÷ reference "
        "| decode after the prompt: saar (reference) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for (shape, fmt), tools in table.items():
        saar = tools.get("saar", [None, None])
        candle = tools.get("candle", [None, None])
        refs = [(name, speeds_) for name, speeds_ in tools.items() if name not in ("saar", "candle")]
        ref_text = "; ".join(f"{name} {cell(s)}" for name, s in refs) or "-"
        ref_ratio = "; ".join(f"{ratio(saar, s)} ({name})" for name, s in refs) or "-"
        later = after.get((shape, fmt), {})
        later_text = " ".join(
            f"{value:.1f}" if name == "saar" else f"({name} {value:.1f})"
            for name, value in sorted(later.items(), key=lambda item: item[0] != "saar")
        )
        print(
            f"| {shape} | {fmt} | {cell(saar)} | {cell(candle)} | {ratio(saar, candle)} "
            f"| {ref_text} | {ref_ratio} | {later_text or '-'} |"
        )


if __name__ == "__main__":
    main()

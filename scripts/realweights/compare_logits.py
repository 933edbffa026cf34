#!/usr/bin/env python3
"""Why saar's and llama.cpp's greedy runs part on real quantized weights: their logits,
step by step, against the same file's exact model.

compare.py shows where the two greedy continuations part; this says why. For each
model of compare.py (Gemma 3 270M Q4_K_M, SmolLM2-135M-Instruct Q4_1) and each of its
raw prompts, it runs saar (`examples/step_logits.rs`) and libllama (`llama_logits.cpp`,
compiled here against a llama.cpp build) and records every step's full logits:

1. both on the quantized file, greedy: where they part, and each runtime's margin
   between its own pick and the other's at that step (same prefix, so same context);
2. both on the file's exact model: the same GGUF with every tensor dequantized to F32
   (gguf-py's own dequantizers), where no activation is quantized; greedy agreement
   there, and the largest logit difference at the first step;
3. the exact model along llama.cpp's path: at the parting step, which of the two picks
   the exact model prefers and by how much, and each runtime's mean |logit error|
   against it at the first step.

Needs numpy (run it with a venv's python) and a llama.cpp source tree with a CPU build
(`--llama-src`, as scripts/bench/README.md builds it from the llama-cpp-python sdist);
the dequantized files go to the scratch folder (1.1 GB for Gemma), never the repository.

    cargo build --release --example step_logits
    /path/to/venv/bin/python scripts/realweights/compare_logits.py --scratch /work/refs/rw \\
        --saar target/release/saar --step-logits target/release/examples/step_logits \\
        --llama-src /work/refs/llama.cpp
"""

import argparse
import pathlib
import subprocess
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from compare import PROMPTS, checked_scratch, common_prefix, run, saar_tokenize, setup  # noqa: E402


def build_driver(src: pathlib.Path, scratch: pathlib.Path) -> pathlib.Path:
    driver = scratch / "llama_logits"
    lib = src / "build" / "bin"
    source = pathlib.Path(__file__).resolve().parent / "llama_logits.cpp"
    run(["g++", "-O2", "-std=c++17", f"-I{src / 'include'}", f"-I{src / 'ggml' / 'include'}",
         str(source), f"-L{lib}", "-lllama", "-lggml", "-lggml-base", f"-Wl,-rpath,{lib}", "-o", str(driver)])
    return driver


def dequantized(src: pathlib.Path, llama_src: pathlib.Path) -> pathlib.Path:
    """The GGUF at `src` with every tensor in F32, its metadata kept."""
    dst = src.with_name(src.stem + ".dequantized-f32.gguf")
    if dst.exists():
        return dst
    sys.path.insert(0, str(llama_src / "gguf-py"))
    import gguf

    reader = gguf.GGUFReader(src)
    writer = gguf.GGUFWriter(dst, reader.fields["general.architecture"].contents())
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        kind = field.types[0]
        if name == "general.file_type":
            writer.add_uint32(name, gguf.LlamaFileType.ALL_F32)
        elif kind == gguf.GGUFValueType.ARRAY:
            writer.add_array(name, field.contents())
        elif kind == gguf.GGUFValueType.STRING:
            writer.add_string(name, field.contents())
        else:
            writer.add_key_value(name, field.contents(), kind)
    for tensor in reader.tensors:
        values = gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        writer.add_tensor(tensor.name, values.reshape([int(n) for n in reversed(tensor.shape)]))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return dst


def logits(driver, model, prompt, forced, steps, scratch):
    """(argmax per step, logits [steps, vocab]) from a driver run; `driver` is the
    command and the arguments it takes after the steps."""
    out = scratch / "logits.f32"
    ids = ",".join(map(str, prompt))
    path = ",".join(map(str, forced)) if forced else "-"
    command, extra = driver
    picks = run([command, str(model), str(out), ids, path, str(steps)] + extra).stdout
    values = np.fromfile(out, dtype=np.float32)
    return [int(x) for x in picks.strip().split(",")], values.reshape(steps, -1)


def compare(args, name, quantized, scratch):
    exact = dequantized(quantized, args.llama_src)
    # libllama without flash attention (its CPU path rounds Q to f16 with it).
    llama, saar = (str(args.driver), ["0"]), (str(args.step_logits), [])
    n = args.new
    print(f"\n## {name}: {quantized.name} and its exact model ({exact.name})")
    print("| prompt | quantized: shared | exact: shared | parting step: llama.cpp margin | saar margin | exact prefers | first-step mean abs error vs exact: llama.cpp | saar |")
    print("|---|---|---|---|---|---|---|---|")
    totals = np.zeros(2)
    for prompt in PROMPTS:
        text = scratch / "prompt.txt"
        text.write_bytes(prompt.encode("utf-8"))
        ids = saar_tokenize(args.saar, quantized, [text])[0]
        llama_q, llama_ql = logits(llama, quantized, ids, None, n, scratch)
        saar_q, saar_ql = logits(saar, quantized, ids, None, n, scratch)
        llama_e, llama_el = logits(llama, exact, ids, None, n, scratch)
        saar_e, saar_el = logits(saar, exact, ids, None, n, scratch)
        # The exact model along llama.cpp's quantized path, which saar's shares up to
        # the parting step.
        _, truth = logits(saar, exact, ids, llama_q, n, scratch)
        shared, shared_exact = common_prefix(llama_q, saar_q), common_prefix(llama_e, saar_e)
        totals += [shared, shared_exact]
        if shared < n:
            a, b = llama_q[shared], saar_q[shared]
            margins = (llama_ql[shared][a] - llama_ql[shared][b], saar_ql[shared][b] - saar_ql[shared][a])
            prefer = truth[shared][a] - truth[shared][b]
            who = f"llama.cpp's by {prefer:.3f}" if prefer > 0 else f"saar's by {-prefer:.3f}"
            parting = f"{margins[0]:.3f} | {margins[1]:.3f} | {who}"
        else:
            parting = "– | – | –"
        exact_note = ""
        if shared_exact < n:
            # Where the exact runs part, llama.cpp's own margin between the two picks.
            a, b = llama_e[shared_exact], saar_e[shared_exact]
            exact_note = f" (margin {llama_el[shared_exact][a] - llama_el[shared_exact][b]:.3f})"
        err = (np.abs(llama_ql[0] - truth[0]).mean(), np.abs(saar_ql[0] - truth[0]).mean())
        print(f"| {prompt} | {shared}/{n} | {shared_exact}/{n}{exact_note} | {parting} | {err[0]:.3f} | {err[1]:.3f} |")
        print(f"  (exact model: llama.cpp and saar differ by at most {np.abs(llama_el[0] - saar_el[0]).max():.4f} at the first step)")
    print(f"  all prompts: quantized {int(totals[0])}/{n * len(PROMPTS)}, exact {int(totals[1])}/{n * len(PROMPTS)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scratch", type=pathlib.Path, default=pathlib.Path("/work/refs/realweights"))
    parser.add_argument("--saar", default="target/release/saar")
    parser.add_argument("--step-logits", default="target/release/examples/step_logits")
    parser.add_argument("--llama-src", type=pathlib.Path, default=pathlib.Path("/work/refs/llama.cpp"))
    parser.add_argument("--new", type=int, default=32)
    args = parser.parse_args()
    scratch = checked_scratch(args.scratch)
    variants = setup(scratch)
    args.driver = build_driver(args.llama_src.resolve(), scratch)
    for name in ["gemma (GGUF alone)", "smollm2 (GGUF alone)"]:
        compare(args, name, variants[name].resolve(), scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main())

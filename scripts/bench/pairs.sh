#!/usr/bin/env bash
# Issue 21's prefill pairs: for each file given, saar and the reference on that very
# file with the same prompt lengths, one after the other, the whole list repeated so
# that the pairs interleave. A GGUF file runs llama.cpp's llama-bench; a safetensors
# folder runs PyTorch (scripts/bench/pytorch_llm.py, in the folder's type: f32, or
# bf16 for a folder named *-bf16). JSON lines on stdout; `pairs.py` gives the medians.
#
#   LLAMA_BENCH=/work/refs/llama.cpp/build/bin/llama-bench PYTHON=/work/venv-it/bin/python \
#   scripts/bench/pairs.sh /work/refs/bench21/qwen2.5-0.5b-f16.gguf … > pairs.jsonl
#   python3 scripts/bench/pairs.py pairs.jsonl
#
# Environment (all optional):
#   SAAR         the saar binary                     (target/release/saar; build it first)
#   THREADS      threads for every tool              (2)
#   PROMPTS      prompt lengths, comma-separated     (512,2048)
#   NEW          tokens generated after each prompt  (32)
#   REPEAT       rounds over the list                (3)
#   QUIET        a command put before each measurement, e.g. one that pauses other work
#   LLAMA_BENCH, PYTHON  the references; a file whose reference is unset runs saar only
set -euo pipefail
cd "$(dirname "$0")/../.."

SAAR=${SAAR:-target/release/saar}
THREADS=${THREADS:-2}
PROMPTS=${PROMPTS:-512,2048}
NEW=${NEW:-32}
REPEAT=${REPEAT:-3}
QUIET=${QUIET:-}

for round in $(seq "$REPEAT"); do
  for file in "$@"; do
    echo "# $(date -u +%T) round $round: $file, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    $QUIET "$SAAR" bench --threads "$THREADS" --model "$file" --prompt-tokens "$PROMPTS" \
      --new-tokens "$NEW"
    if [[ $file == *.gguf ]]; then
      if [[ -n ${LLAMA_BENCH:-} ]]; then
        $QUIET "$LLAMA_BENCH" -m "$file" -p "$PROMPTS" -n "$NEW" -t "$THREADS" -r 1 -o jsonl
      fi
    elif [[ -n ${PYTHON:-} ]]; then
      dtype=f32
      [[ $file == *-bf16 ]] && dtype=bf16
      for prompt in ${PROMPTS//,/ }; do
        $QUIET "$PYTHON" scripts/bench/pytorch_llm.py "$file" --threads "$THREADS" \
          --dtype "$dtype" --prompt-tokens "$prompt" --new-tokens "$NEW"
      done
    fi
  done
done

#!/usr/bin/env bash
# The speed table of README.md#speed, row by row: for each format, saar's kernels and
# stock candle's path (`saar bench --kernels both`) and then, on the very same file,
# the reference tool when its path is given, so each trio runs back to back.
# Prints JSON lines (saar's, llama-bench's, the Python scripts') on stdout.
#
#   LLAMA_BENCH=/work/refs/llama.cpp/build/bin/llama-bench \
#   PYTHON=/work/venv/bin/python scripts/bench/table.sh
#
# Environment (all optional):
#   SAAR         the saar binary               (target/release/saar; build it first)
#   THREADS      threads for every tool        (2)
#   SHAPES       LLM shapes                    ("qwen2.5-0.5b qwen3-1.7b")
#   FORMATS      LLM rows                      ("gguf-q4_k_m gguf-q8_0 gguf-f16 safetensors-f32 safetensors-bf16")
#   PROMPT, NEW  prompt and generated tokens   (512, 128)
#   REPEAT       timed runs of llama-bench and the Marian script after a warm-up (5)
#   KERNELS      saar's paths to run: both (saar's kernels and stock candle's) or saar (both)
#   MARIAN       1 to run the Marian rows      (1)
#   WORK         where models are built        (/work/refs/bench); each is removed
#                after its row unless KEEP=1
#   LLAMA_BENCH  llama.cpp's llama-bench: runs on each GGUF file saar ran
#   PYTHON       a Python with torch+transformers (PyTorch rows for safetensors f32/bf16
#                and Marian) and ctranslate2 (Marian rows)
# It never builds llama.cpp or installs anything; see scripts/bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

SAAR=${SAAR:-target/release/saar}
THREADS=${THREADS:-2}
SHAPES=${SHAPES:-"qwen2.5-0.5b qwen3-1.7b"}
FORMATS=${FORMATS:-"gguf-q4_k_m gguf-q8_0 gguf-f16 safetensors-f32 safetensors-bf16"}
PROMPT=${PROMPT:-512}
NEW=${NEW:-128}
REPEAT=${REPEAT:-5}
MARIAN=${MARIAN:-1}
WORK=${WORK:-/work/refs/bench}
KEEP=${KEEP:-0}
KERNELS=${KERNELS:-both}

echo "# $(date -u +%FT%TZ) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
mkdir -p "$WORK"
for shape in $SHAPES; do
  for format in $FORMATS; do
    "$SAAR" bench --threads "$THREADS" --shape "$shape" --formats "$format" --kernels "$KERNELS" \
      --prompt-tokens "$PROMPT" --new-tokens "$NEW" --work-dir "$WORK"
    echo "# $(date -u +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    kind=${format%%-*}
    type=${format#*-}
    if [[ $kind == gguf ]]; then
      file="$WORK/$shape-$type.gguf"
      if [[ -n ${LLAMA_BENCH:-} ]]; then
        # -p/-n: the same prompt and generated lengths; JSON lines like saar's.
        "$LLAMA_BENCH" -m "$file" -p "$PROMPT" -n "$NEW" -t "$THREADS" -r "$REPEAT" -o jsonl
      fi
    else
      file="$WORK/$shape-$type"
      if [[ -n ${PYTHON:-} && $type != f16 ]]; then
        "$PYTHON" scripts/bench/pytorch_llm.py "$file" --threads "$THREADS" --dtype "$type" \
          --prompt-tokens "$PROMPT" --new-tokens "$NEW"
      fi
    fi
    [[ $KEEP == 1 ]] || rm -rf "$file"
  done
done

if [[ $MARIAN == 1 ]]; then
  "$SAAR" bench --threads "$THREADS" --shape opus-mt-hi-en --kernels "$KERNELS" --batch 1,8
  if [[ -n ${PYTHON:-} ]]; then
    "$PYTHON" scripts/bench/ctranslate2_marian.py --work-dir "$WORK/marian" \
      --threads "$THREADS" --batch 1,8 --repeat "$REPEAT" --pytorch
  fi
fi

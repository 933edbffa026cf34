#!/usr/bin/env bash
# Many sequences decoded together: `saar bench --sequences` and, on the very same GGUF
# file, llama.cpp's llama-batched-bench, back to back for each format.
# Prints JSON lines on stdout (saar's rows, then llama-batched-bench's with
# --output-format jsonl); S_TG there is speed_tg, saar's is aggregate_decode_tok_s.
#
#   LLAMA_BATCHED_BENCH=/work/refs/llama.cpp/build/bin/llama-batched-bench \
#   scripts/bench/sequences.sh > /work/refs/sequences.jsonl
#
# Environment (all optional):
#   SAAR                 the saar binary         (target/release/saar; build it first)
#   THREADS              threads for both tools  (2)
#   SHAPE                the LLM shape           (qwen2.5-0.5b)
#   FORMATS              GGUF rows               ("gguf-q4_k_m gguf-q8_0")
#   PROMPT, NEW          -npp and -ntg           (128, 128)
#   SEQUENCES            -npl                    (1,2,4,8)
#   WORK                 where models are built and kept (/work/refs/bench)
#   LLAMA_BATCHED_BENCH  llama.cpp's llama-batched-bench: runs on each file saar ran
set -euo pipefail
cd "$(dirname "$0")/../.."

SAAR=${SAAR:-target/release/saar}
THREADS=${THREADS:-2}
SHAPE=${SHAPE:-qwen2.5-0.5b}
FORMATS=${FORMATS:-"gguf-q4_k_m gguf-q8_0"}
PROMPT=${PROMPT:-128}
NEW=${NEW:-128}
SEQUENCES=${SEQUENCES:-1,2,4,8}
WORK=${WORK:-/work/refs/bench}

mkdir -p "$WORK"
for format in $FORMATS; do
  echo "# $(date -u +%T) $format, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  "$SAAR" bench --threads "$THREADS" --shape "$SHAPE" --formats "$format" \
    --sequences "$SEQUENCES" --prompt-tokens "$PROMPT" --new-tokens "$NEW" --work-dir "$WORK"
  if [[ -n ${LLAMA_BATCHED_BENCH:-} ]]; then
    echo "# $(date -u +%T) llama-batched-bench, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    # Room for every sequence's prompt and new tokens in one KV cache.
    largest=${SEQUENCES##*,}
    "$LLAMA_BATCHED_BENCH" -m "$WORK/$SHAPE-${format#gguf-}.gguf" -c $((largest * (PROMPT + NEW))) \
      -npp "$PROMPT" -ntg "$NEW" -npl "$SEQUENCES" -t "$THREADS" --output-format jsonl
  fi
done

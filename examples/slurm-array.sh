#!/usr/bin/env bash
# A Slurm job array that splits one corpus across N jobs with `saar batch --shard K/N`.
# Shards are chosen by a SHA-256 of each document id, so the jobs need no coordination;
# each writes its own output, and a job that dies is resumed by running it again
# (`sbatch --array=K slurm-array.sh`): finished documents are skipped.
#
#   sbatch slurm-array.sh           # submit all shards
#   cat results/shard-*.jsonl > results.jsonl   # afterwards: one file
#
#SBATCH --job-name=saar-batch
#SBATCH --array=0-7
#SBATCH --cpus-per-task=8
#SBATCH --mem=16G
#SBATCH --time=12:00:00
#SBATCH --output=logs/saar-%A_%a.log
# On a GPU partition add: #SBATCH --gres=gpu:1   (and build saar with --features cuda)

set -euo pipefail

CORPUS=${CORPUS:-/data/hindi-news}          # a folder of *.txt/*.md, or JSONL files
OUT_DIR=${OUT_DIR:-results}
MODEL=${SAAR_MODEL:-qwen3-1.7b}
SHARDS=${SLURM_ARRAY_TASK_COUNT:-8}         # keep equal to the size of --array

mkdir -p "$OUT_DIR" logs
# Download once on a login node (`saar models pull $MODEL`); jobs then run offline.
saar batch "$CORPUS" \
    --task both \
    --model "$MODEL" --offline \
    --shard "${SLURM_ARRAY_TASK_ID}/${SHARDS}" \
    --out "$OUT_DIR/shard-${SLURM_ARRAY_TASK_ID}.jsonl"
# Exit code 1 means some documents failed: their records carry "status": "error".

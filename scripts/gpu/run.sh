#!/usr/bin/env bash
# The device run: saar's model tests, CLI and benchmarks on a lent NVIDIA GPU machine
# (H100/H200: no network, no Rust, NVIDIA driver present), in under 8 minutes.
#
# What to carry: gpu-carry/ (git-ignored), made here by scripts/gpu/prepare.sh: the
# release `saar` and the tests/parity.rs and tests/marian.rs test binaries, built with
# --features cuda for compute capability 9.0, stripped and gzipped (with the ~7 MB
# working tree they must stay under the device's 64 MiB). The fixtures travel with the
# working tree. Device call:
#   carry ["gpu-carry"], command "scripts/gpu/run.sh", timeout_s 540
#
# The binaries link the CUDA 13 libraries (libcudart.so.13, libcublas.so.13,
# libcublasLt.so.13, libcurand.so.10, libnvrtc.so.13), which are far too big to carry
# (cuBLAS alone is 600 MB): they are taken from the machine, from
# $SAAR_CUDA_LIBS, /usr/local/cuda/lib64, or the nvidia/cu13 wheels of its python3
# (the lent image's PyTorch has them). libcuda.so.1 comes with the driver, which must be
# >= 580.65.06 (CUDA 13.0).
#
# Steps, each under its own time limit (430 s together); a failing step is reported and
# the next runs:
#   1. parity tests on the GPU (SAAR_TEST_DEVICE=cuda): every architecture and format of
#      tests/fixtures/parity against HF's f32 reference: f32 safetensors, .bin and GGUF
#      F32 greedy tokens equal and logits within 1e-4; GGUF Q8_0 as on the CPU; bf16
#      within 0.2 and f16 within 0.05 of HF's logits, greedy tokens equal to HF's up to
#      the first step HF decided by less than twice that (tests/parity.rs).
#   2. Marian tests on the GPU (tests/marian.rs, f32: logits, greedy and beam vs HF).
#   3. the CLI on the GPU: `saar summarize` with each parity fixture in f32, bf16 and
#      f16, and `saar translate` with the Marian fixture; each f32 output must equal the
#      same binary's output on the CPU.
#   4. `saar bench --device cuda`: prefill and decode tok/s at the qwen2.5-0.5b and
#      qwen3-1.7b shapes, bf16 safetensors and GGUF Q4_K_M; then PyTorch (bf16) on the
#      same shapes and card when python3 has torch and transformers.
# Results: $OUT (or ./gpu-out) gets log.txt, bench.jsonl and torch.jsonl.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"
out="${OUT:-$repo/gpu-out}"
mkdir -p "$out"
exec > >(tee "$out/log.txt") 2>&1
tee_pid=$!
# Let tee print the last lines before the script returns.
trap 'exec >&- 2>&-; wait "$tee_pid"' EXIT

die() {
    echo "run.sh: $*"
    exit 1
}

# The carried binaries.
bin="$(mktemp -d)"
for name in saar parity marian; do
    [[ -f gpu-carry/$name.gz ]] ||
        die "gpu-carry/$name.gz is missing: run scripts/gpu/prepare.sh where the toolkit builds, and carry gpu-carry"
    gzip -dc "gpu-carry/$name.gz" >"$bin/$name" && chmod +x "$bin/$name"
done

# The first GPU step: a driver and a GPU.
command -v nvidia-smi >/dev/null ||
    die "no NVIDIA driver here (nvidia-smi not found): run this on a lent GPU machine"
gpu="$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)"
[[ -n "$gpu" ]] || die "nvidia-smi lists no GPU: run this on a lent GPU machine"
echo "== GPU: $gpu"

# The CUDA libraries the binaries link, from the machine.
libs=()
for dir in ${SAAR_CUDA_LIBS:-} /usr/local/cuda/lib64 /usr/local/cuda/lib; do
    [[ -d $dir ]] && libs+=("$dir")
done
while read -r dir; do
    libs+=("$dir")
done < <(python3 -c '
import glob, os, site, sys
roots = site.getsitepackages() + [site.getusersitepackages()] + sys.path
for root in roots:
    for lib in sorted(glob.glob(os.path.join(root, "nvidia", "*", "lib"))):
        print(lib)
' 2>/dev/null | awk '!seen[$0]++')
LD_LIBRARY_PATH="$(IFS=:; echo "${libs[*]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH
missing="$(ldd "$bin/saar" | awk '/not found/ {print $1}' | tr '\n' ' ')"
[[ -z "$missing" ]] ||
    die "CUDA libraries not found: $missing(set SAAR_CUDA_LIBS to the folder that holds them)"
ldd "$bin/saar" | grep -E 'cuda|cublas|curand|nvrtc'

failed=()
step() { # name, seconds, command...
    local name="$1" limit="$2"
    shift 2
    echo "== $name"
    local start=$SECONDS
    # A fresh bash runs the step, so that `timeout` can stop a shell function too.
    if timeout "$limit" bash -c '"$@"' step "$@"; then
        echo "-- $name: ok ($((SECONDS - start)) s)"
    else
        echo "-- $name: FAILED (exit $?, $((SECONDS - start)) s)"
        failed+=("$name")
    fi
}

export bin out
export SAAR_TEST_DEVICE=cuda CARGO_MANIFEST_DIR="$repo"
step "parity tests on cuda" 90 "$bin/parity" --test-threads 4
step "marian tests on cuda" 40 "$bin/marian" --test-threads 4
unset SAAR_TEST_DEVICE

article="$(mktemp)"
printf '%s\n' 'नागपुर में मेट्रो की नई लाइन शुरू हुई। पहले दिन 12,000 लोगों ने यात्रा की।' >"$article"
# The f32 output on the GPU must be the CPU's; the 16-bit ones must run.
cli_fixture() { # folder
    local model="$1" cpu gpu dtype
    cpu="$("$bin/saar" summarize "$article" -m "$model" --offline --device cpu --dtype f32 --max-new-tokens 24 --format json)" || return 1
    for dtype in f32 bf16 f16; do
        gpu="$("$bin/saar" summarize "$article" -m "$model" --offline --device cuda --dtype "$dtype" --max-new-tokens 24 --format json)" || return 1
        python3 - "$model" "$dtype" "$cpu" "$gpu" <<'EOF' || return 1
import json, sys
model, dtype, cpu, gpu = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
same = cpu["output"] == gpu["output"]
print(f"{model} {dtype} on {gpu['device']}: {'same as' if same else 'differs from'} the CPU's f32 output")
sys.exit(0 if same or dtype != "f32" else 1)
EOF
    done
}
cli() {
    local status=0 model
    for model in tests/fixtures/parity/*/; do
        [[ -f $model/config.json ]] || continue
        cli_fixture "${model%/}" || status=1
    done
    local marian cpu gpu
    marian="$(mktemp -d)"
    cp tests/fixtures/marian/tiny/* "$marian/"
    cpu="$("$bin/saar" translate "$article" -m "$marian" --offline --device cpu --dtype f32)" || return 1
    gpu="$("$bin/saar" translate "$article" -m "$marian" --offline --device cuda --dtype f32)" || return 1
    if [[ "$cpu" == "$gpu" ]]; then
        echo "marian f32 on cuda: same as the CPU's"
    else
        echo "marian f32 on cuda: differs from the CPU's: '$gpu' vs '$cpu'"
        status=1
    fi
    "$bin/saar" translate "$article" -m "$marian" --offline --device cuda --dtype bf16 >/dev/null || status=1
    return $status
}
export article
export -f cli cli_fixture
step "saar CLI on cuda" 60 cli

work="$(mktemp -d)"
bench() {
    local shape
    for shape in qwen2.5-0.5b qwen3-1.7b; do
        "$bin/saar" bench --device cuda --shape "$shape" --formats safetensors-bf16,gguf \
            --quant q4_k_m --work-dir "$work" >>"$out/bench.jsonl" || return 1
    done
}
export work
export -f bench
step "saar bench on cuda" 180 bench
torch_bench() {
    python3 scripts/gpu/torch_bench.py "$work/qwen2.5-0.5b-bf16" "$work/qwen3-1.7b-bf16" \
        >"$out/torch.jsonl"
}
export -f torch_bench
step "pytorch bench on cuda" 60 torch_bench
rm -rf "$work" "$bin"

if ((${#failed[@]})); then
    echo "run.sh: failed: ${failed[*]}"
    exit 1
fi
echo "run.sh: every step passed"

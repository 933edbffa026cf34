#!/usr/bin/env bash
# Builds, on a machine without a GPU, everything scripts/gpu/run.sh needs on a lent GPU
# machine (which has no network, no Rust and no crates), into gpu-carry/ (git-ignored):
#
#   saar.gz         the release `saar` built with --features cuda
#   parity.gz       the release test binaries of tests/parity.rs and tests/marian.rs,
#   marian.gz       built with --features cuda (run there with SAAR_TEST_DEVICE=cuda)
#
# Stripped and gzipped, since what travels to the device (the working tree plus the
# carried paths) must stay under 64 MiB; run.sh unpacks them. Carry `gpu-carry`:
#
#   scripts/gpu/prepare.sh      # here: toolkit (cached), build, pack
#   device run: carry ["gpu-carry"], command "scripts/gpu/run.sh"
#
# The build uses target-cuda/ (git-ignored), so it leaves the CPU build in target/ alone.
set -euo pipefail
cd "$(dirname "$0")/../.."

eval "$(scripts/gpu/toolkit.sh)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target-cuda}"

cargo build --release --locked --features cuda --bin saar
# The test binaries' paths come from cargo's JSON messages (their names carry a hash).
tests_json="$(cargo test --release --locked --features cuda --test parity --test marian \
    --no-run --message-format=json)"
test_binary() {
    python3 -c '
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == sys.argv[1] \
            and msg.get("executable"):
        print(msg["executable"])
' "$1" <<<"$tests_json"
}

rm -rf gpu-carry
mkdir -p gpu-carry
pack() { # source, name
    strip -o "gpu-carry/$2" "$1"
    gzip -9 "gpu-carry/$2"
}
pack "$CARGO_TARGET_DIR/release/saar" saar
pack "$(test_binary parity)" parity
pack "$(test_binary marian)" marian
du -b gpu-carry/* >&2
echo "prepare.sh: gpu-carry/ is ready ($(du -sh gpu-carry | cut -f1)); carry it to the GPU machine and run scripts/gpu/run.sh there" >&2

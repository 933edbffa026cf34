#!/usr/bin/env bash
# Runs the Dockerfile's steps in a shell, for machines without a Docker engine:
# the release build of the first stage, then the runtime stage's user, volume and
# entrypoint, serving a tiny model from the repository as that non-root user and
# answering /health, a chat completion and SIGTERM as the container would.
#
#   examples/deploy/check.sh        (as root: it creates the user, as the image does)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

echo "== stage 1: cargo build --release --locked --bin saar"
cargo build --release --locked --bin saar
install -D -m 0755 target/release/saar "$work/bin/saar"

echo "== stage 2: user 10001, /models owned by it, HF_HOME on it"
id -u saar >/dev/null 2>&1 || useradd --system --uid 10001 --create-home --home-dir /home/saar saar
install -d -o 10001 -g 10001 "$work/models"
cp -r tests/fixtures/parity/qwen3 "$work/model"
chmod -R a+rX "$work"

echo "== entrypoint: saar serve, as user 10001"
# setpriv execs saar as the user (as a container runtime does), so $pid is saar itself
# and SIGTERM reaches it directly; runuser would stay in between as the parent.
setpriv --reuid=10001 --regid=10001 --init-groups -- env HF_HOME="$work/models" SAAR_HOST=127.0.0.1 SAAR_PORT=0 HF_HUB_OFFLINE=1 \
  "$work/bin/saar" serve -m "$work/model" --shutdown-grace 5 2>"$work/log" &
pid=$!
for _ in $(seq 600); do
  grep -q 'is loaded' "$work/log" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/log"; exit 1; }
  sleep 0.1
done
base=$(grep -o 'http://[0-9.:]*' "$work/log" | head -n 1)
test "$(ps -o uid= -p "$pid" | tr -d ' ')" = 10001
curl -fsS "$base/health" && echo
curl -fsS "$base/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"messages": [{"role": "user", "content": "नमस्ते"}], "max_tokens": 4}' && echo
kill -TERM "$pid"
wait "$pid"
echo "== exit 0 after SIGTERM; request log:"
cat "$work/log"

#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs what is missing (Debian packages, the
# default model), builds into build/, starts spatten-server on loopback with the default model
# (or the GGUF in SPATTEN_MODEL), streams an answer to a chat prompt through the sample client,
# then stops the server with SIGTERM (it drains and exits).
#
# Usage: bash scripts/run.sh ["prompt"] [extra spatten-client flags...]
# Env:   SPATTEN_PORT (default 50051)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

prompt="${1:-What is the capital of France?}"
shift || true
port="${SPATTEN_PORT:-50051}"

spatten_install_deps
model="$(spatten_model)"
spatten_build
bin="$SPATTEN_BUILD_DIR/bin"
spatten_log "model: $model"

# f32 activations: on this 135M model, greedy decoding with 8-bit activations (the fast
# default, computed as llama.cpp computes it) answers the default question with
# "L'Etoile, la Marseillaise..." exactly as llama.cpp does; its first two tokens are 0.08 apart.
"$bin/spatten-server" --model "$model" --host 127.0.0.1 --port "$port" --weights f32 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 300); do
  kill -0 "$server_pid" 2>/dev/null || { spatten_log "the server exited during start-up"; exit 1; }
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.2
done

spatten_log "prompt: $prompt"
"$bin/spatten-client" --target "127.0.0.1:$port" --chat --stream --prompt "$prompt" "$@"
echo

kill -TERM "$server_pid"
wait "$server_pid" || true
trap - EXIT

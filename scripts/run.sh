#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs what is missing (Debian packages, the
# default model), builds into build/, and generates an answer to a chat prompt with the default
# model (or the GGUF in SPATTEN_MODEL). Once the gRPC server lands, this starts the server and
# the sample client instead.
#
# Usage: bash scripts/run.sh ["prompt"] [extra spatten-generate flags...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

prompt="${1:-What is the capital of France?}"
shift || true

spatten_install_deps
model="$(spatten_model)"
spatten_build
spatten_log "model: $model"
spatten_log "prompt: $prompt"
"$SPATTEN_BUILD_DIR/bin/spatten-generate" --model "$model" --chat --prompt "$prompt" "$@"
echo

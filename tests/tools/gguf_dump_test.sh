#!/usr/bin/env bash
# spatten-gguf-dump on the default model: 272 tensors with the types the file holds (210 q4_1
# block matrices, the q8_0 token embedding, 61 f32 norm vectors), and a clean error on a file
# that is not GGUF. Exit 77 (skipped) when SPATTEN_MODEL is unset.
set -euo pipefail
dump="$1"
[[ -n "${SPATTEN_MODEL:-}" ]] || { echo "SPATTEN_MODEL is not set; skipping"; exit 77; }

out="$("$dump" "$SPATTEN_MODEL")"
fail() { echo "FAIL: $*"; echo "$out" | head -40; exit 1; }
grep -qx "tensors: 272" <<<"$out" || fail "expected 'tensors: 272'"
[[ "$(grep -cE '^  [0-9]+ +[a-z0-9_.]+ +(q4_1|q8_0|f32) ' <<<"$out")" == 272 ]] || fail "expected 272 tensor rows"
grep -qE '^  q4_1 +210 tensors' <<<"$out" || fail "expected 210 q4_1 tensors"
grep -qE '^  q8_0 +1 tensors' <<<"$out" || fail "expected 1 q8_0 tensor"
grep -qE '^  f32 +61 tensors' <<<"$out" || fail "expected 61 f32 tensors"
grep -qE 'token_embd.weight +q8_0 +\[576, 49152\]' <<<"$out" || fail "token_embd row"
grep -qE 'llama.block_count +u32 +30' <<<"$out" || fail "block_count metadata"

bad="$(mktemp)"
trap 'rm -f "$bad"' EXIT
printf 'not a gguf file' > "$bad"
if err="$("$dump" "$bad" 2>&1)"; then fail "a non-GGUF file was accepted"; fi
grep -q "bad magic" <<<"$err" || { echo "unexpected error: $err"; exit 1; }
echo "gguf-dump: 272 tensors (210 q4_1, 1 q8_0, 61 f32); bad file rejected: $err"

#!/usr/bin/env bash
# The issue's chat check, end to end: spatten-generate --chat on the default model answers
# "What is the capital of France?" with an answer naming Paris, streamed on stdout with nothing
# else there (logs go to stderr). Exit 77 (skipped) when SPATTEN_MODEL is unset.
#
# It runs the f32-activation path (--weights f32). With 8-bit activations (the default, fast
# path, computed as llama.cpp computes them) greedy decoding of this prompt starts with "L"
# instead of "The": the two lead tokens are 0.08 apart, and llama.cpp's own greedy answer is
# the same "L'Etoile, la Marseillaise, ..." (tests/golden/model: chat-france). That path is
# checked token by token against llama.cpp by model_golden_test instead.
set -euo pipefail
gen="$1"
[[ -n "${SPATTEN_MODEL:-}" ]] || { echo "SPATTEN_MODEL is not set; skipping"; exit 77; }
out="$("$gen" --model "$SPATTEN_MODEL" --chat --prompt "What is the capital of France?" \
  --max-tokens 48 --threads 2 --weights f32 2>/dev/null)"
echo "answer: $out"
grep -q "Paris" <<<"$out" || { echo "FAIL: the answer does not name Paris"; exit 1; }
if grep -qE "<\|im_(start|end)\|>|info|model:" <<<"$out"; then
  echo "FAIL: stdout holds special tokens or log lines"; exit 1
fi

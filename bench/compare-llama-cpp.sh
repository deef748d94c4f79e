#!/usr/bin/env bash
# Side-by-side throughput of SpAtten Serve's CPU engine and llama.cpp on this machine, in one
# run: same model, same thread count, same tests (ppN prefill, tgN decode), interleaved so
# that both see the same machine state. Prints a Markdown table with the ratios; the figures in
# docs/benchmarks.md come from this script.
#
# Usage: bench/compare-llama-cpp.sh [--threads T] [-p 512] [-n 128] [-r 5] [--rounds 2]
# Env:   SPATTEN_MODEL (default: the default model), SPATTEN_BUILD_DIR (default: build)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
threads="$(nproc)"; n_prompt=512; n_gen=128; reps=5; rounds=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads|-t) threads="$2"; shift 2 ;;
    -p) n_prompt="$2"; shift 2 ;;
    -n) n_gen="$2"; shift 2 ;;
    -r) reps="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

model="${SPATTEN_MODEL:-$("$root/scripts/fetch-model.sh")}"
build="${SPATTEN_BUILD_DIR:-$root/build}"
ours="$build/bin/spatten-bench"
[[ -x "$ours" ]] || { echo "build first: $ours is missing" >&2; exit 1; }
peer_bin="$("$root/tools/peer/build-llama-cpp.sh" | tail -n 1)"
peer="$peer_bin/llama-bench"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for round in $(seq 1 "$rounds"); do
  echo "round $round/$rounds: llama.cpp" >&2
  "$peer" -m "$model" -t "$threads" -p "$n_prompt" -n "$n_gen" -r "$reps" -o json > "$out/peer-$round.json"
  echo "round $round/$rounds: spatten" >&2
  "$ours" --model "$model" --threads "$threads" -p "$n_prompt" -n "$n_gen" -r "$reps" --json \
    > "$out/ours-$round.json" 2> "$out/ours-$round.log"
done

python3 - "$out" "$rounds" "$threads" "$model" <<'PY'
import json, os, statistics, sys
out, rounds, threads, model = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def load(prefix):
    by = {}
    for r in range(1, rounds + 1):
        for row in json.load(open(os.path.join(out, f"{prefix}-{r}.json"))):
            name = f"pp{row['n_prompt']}" if row["n_prompt"] else f"tg{row['n_gen']}"
            by.setdefault(name, []).extend(row["samples_ts"])
    return by
peer, ours = load("peer"), load("ours")
print(f"model: {os.path.basename(model)}, threads: {threads}, rounds: {rounds}")
print()
print("| test | llama.cpp t/s | spatten t/s | spatten / llama.cpp |")
print("|---|---:|---:|---:|")
for name in sorted(peer, key=lambda n: (n[:2] != "pp", n)):
    p, o = peer[name], ours.get(name)
    if not o:
        continue
    pm, om = statistics.mean(p), statistics.mean(o)
    ps = statistics.stdev(p) if len(p) > 1 else 0.0
    os_ = statistics.stdev(o) if len(o) > 1 else 0.0
    print(f"| {name} | {pm:.2f} ± {ps:.2f} | {om:.2f} ± {os_:.2f} | {om / pm:.2f}x |")
PY

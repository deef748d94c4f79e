#!/usr/bin/env bash
# Builds the libFuzzer fuzzers (fuzz/) with clang + ASan + UBSan in build-fuzz/ and runs each
# for a bounded time, starting from a copy of its seed corpus (fuzz/corpus/<name>/). Fails on any
# crash, sanitizer report, timeout or out-of-memory; prints each fuzzer's exec count.
#
# Usage: bash scripts/fuzz.sh [name...]      names: gguf tokenizer workload_csv (default: all)
# Env:   SPATTEN_FUZZ_SECONDS   seconds per fuzzer (default 60)
#        SPATTEN_FUZZ_BUILD_DIR build directory (default build-fuzz)
#        SPATTEN_MODEL          a GGUF file: the tokenizer fuzzer also fuzzes its vocabulary
# Crash reproducers are kept in $SPATTEN_FUZZ_BUILD_DIR/artifacts/<name>/; rerun one with
#   build-fuzz/fuzz/<name>_fuzzer <file>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

seconds="${SPATTEN_FUZZ_SECONDS:-60}"
build_dir="${SPATTEN_FUZZ_BUILD_DIR:-$SPATTEN_ROOT/build-fuzz}"
jobs="$(nproc 2>/dev/null || echo 2)"
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=(gguf tokenizer workload_csv)
declare -A max_len=([gguf]=65536 [tokenizer]=4096 [workload_csv]=16384)

cc="${CC:-clang}" cxx="${CXX:-clang++}"
if ! command -v "$cxx" >/dev/null; then
  spatten_log "fuzzing needs clang: apt-get install -y clang libclang-rt-14-dev"
  exit 1
fi
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' > "$probe/p.cpp"
if ! "$cxx" -fsanitize=fuzzer,address "$probe/p.cpp" -o "$probe/p" 2>"$probe/err"; then
  cat "$probe/err" >&2
  spatten_log "$cxx cannot link libFuzzer: apt-get install -y libclang-rt-14-dev"
  exit 1
fi

start=$SECONDS
spatten_log "building the fuzzers with $cxx in $build_dir"
# -O1 with line tables and assertions on: quicker to compile than -O2, and Result misuse asserts.
fuzz_flags="-O1 -gline-tables-only"
CC="$cc" CXX="$cxx" cmake -S "$SPATTEN_ROOT" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Fuzz \
  -DCMAKE_C_FLAGS_FUZZ="$fuzz_flags" -DCMAKE_CXX_FLAGS_FUZZ="$fuzz_flags" \
  -DSPATTEN_FUZZ=ON -DSPATTEN_SANITIZE=address,undefined -DSPATTEN_SERVER=OFF -DSPATTEN_CUDA=OFF \
  -DSPATTEN_BUILD_TESTS=OFF >&2
targets=()
for n in "${names[@]}"; do targets+=("${n}_fuzzer"); done
cmake --build "$build_dir" --parallel "$jobs" --target "${targets[@]}" >&2
spatten_log "fuzzers built in $((SECONDS - start)) s"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=()
for n in "${names[@]}"; do
  corpus="$probe/corpus-$n"
  artifacts="$build_dir/artifacts/$n"
  mkdir -p "$corpus" "$artifacts"
  cp -r "$SPATTEN_ROOT/fuzz/corpus/$n/." "$corpus/"
  log="$build_dir/artifacts/$n.log"
  spatten_log "fuzzing $n for $seconds s (max_len ${max_len[$n]})"
  rc=0
  "$build_dir/fuzz/${n}_fuzzer" -max_total_time="$seconds" -max_len="${max_len[$n]}" -timeout=20 \
    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1 || rc=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  units="$(ls "$corpus" | wc -l)"
  if [[ $rc -ne 0 ]]; then
    tail -n 60 "$log" >&2
    spatten_log "FUZZ FAILURE: $n (exit $rc); reproducer(s) in $artifacts/, full log $log"
    failed+=("$n")
  else
    spatten_log "fuzz $n: ${execs:-?} execs in $seconds s, corpus $units inputs, no crash"
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  spatten_log "fuzzers that failed: ${failed[*]}"
  exit 1
fi
spatten_log "fuzzing passed ($((SECONDS - start)) s including the build)"

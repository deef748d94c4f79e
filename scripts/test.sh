#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is missing (Debian
# packages, the default model), builds into build/ with warnings as errors, runs every test
# with CTest, then rebuilds the untrusted-input suites (GGUF loader, tokenizer, dequantizers)
# under AddressSanitizer + UndefinedBehaviorSanitizer and runs them again.
#
# Usage: bash scripts/test.sh        Env: SPATTEN_MODEL (a GGUF path; default model otherwise),
#                                         SPATTEN_SKIP_SANITIZERS=1 to skip the sanitizer pass,
#                                         SPATTEN_SKIP_FUZZ=1 to skip the short fuzz run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

spatten_install_deps
SPATTEN_MODEL="$(spatten_model)"
export SPATTEN_MODEL
spatten_log "model: $SPATTEN_MODEL"

spatten_build -DSPATTEN_WERROR=ON
jobs="$(nproc 2>/dev/null || echo 2)"
spatten_log "running the test suite"
ctest_log="$(mktemp)"
trap 'rm -f "$ctest_log"' EXIT
ctest --test-dir "$SPATTEN_BUILD_DIR" --output-on-failure --parallel "$jobs" --timeout 900 \
  | tee "$ctest_log"
# CTest's "N% tests passed, F tests failed out of T", kept for the closing summary line.
summary="$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$ctest_log" | tail -n 1)"
failed="$(sed -E 's/.* ([0-9]+) tests? failed out of .*/\1/' <<<"$summary")"
total="$(sed -E 's/.* out of ([0-9]+)$/\1/' <<<"$summary")"
skipped="$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*\*+Skipped' "$ctest_log" || true)"

if [[ "${SPATTEN_SKIP_SANITIZERS:-0}" != 1 ]]; then
  asan_dir="$SPATTEN_ROOT/build-asan"
  spatten_log "building the untrusted-input suites with ASan + UBSan in $asan_dir"
  cmake -S "$SPATTEN_ROOT" -B "$asan_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSPATTEN_SANITIZE=address,undefined -DSPATTEN_CUDA=OFF -DSPATTEN_SERVER=OFF \
    -DSPATTEN_WERROR=ON >&2
  sanitized=(gguf_test tokenizer_test dequant_test)
  cmake --build "$asan_dir" --parallel "$jobs" --target "${sanitized[@]}" >&2
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  for t in "${sanitized[@]}"; do
    spatten_log "sanitized: $t"
    "$asan_dir/tests/$t" --gtest_brief=1
  done
fi
if [[ "${SPATTEN_SKIP_FUZZ:-0}" != 1 ]]; then
  # A short libFuzzer run of every fuzzer (clang build in build-fuzz/); see docs/fuzzing.md.
  SPATTEN_FUZZ_SECONDS="${SPATTEN_FUZZ_SECONDS:-20}" bash "$SPATTEN_ROOT/scripts/fuzz.sh"
fi
spatten_log "all tests passed"
echo "ctest: $((total - failed - skipped)) passed, $failed failed, $skipped skipped"

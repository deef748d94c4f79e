#!/usr/bin/env bash
# Builds the reference peer (llama.cpp) out of tree from the llama-cpp-python source
# distribution on PyPI. It is used only to produce golden data and side-by-side benchmark
# figures; nothing it builds or unpacks is ever committed.
#
# Usage: tools/peer/build-llama-cpp.sh   (prints the directory holding the peer's binaries)
# Env:   SPATTEN_PEER_DIR   where to unpack and build (default ~/.cache/spatten/peer)
#        LLAMA_CPP_PYTHON_VERSION   sdist version (default pinned below)
# The peer is built with its own default (-march=native): side-by-side figures compare
# against the best build a user of llama.cpp would get on this machine.
set -euo pipefail

version="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
peer_dir="${SPATTEN_PEER_DIR:-$HOME/.cache/spatten/peer}"
src="$peer_dir/llama_cpp_python-$version"
build="$peer_dir/build-$version"
targets=(llama-tokenize llama-perplexity llama-bench llama-cli llama-completion llama-simple)

mkdir -p "$peer_dir"
if [[ ! -d "$src/vendor/llama.cpp" ]]; then
  tmp="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --no-binary :all: \
    "llama-cpp-python==$version" -d "$tmp" >&2
  tar -xzf "$tmp"/llama_cpp_python-"$version".tar.gz -C "$peer_dir"
  rm -rf "$tmp"
fi

if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$src/vendor/llama.cpp" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
    -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF >&2
fi
# Build whichever of the wanted tools this llama.cpp version defines.
available="$(ninja -C "$build" -t targets all 2>/dev/null | sed -n 's/^\([a-z-]*\): .*/\1/p' | sort -u)"
want=()
for t in "${targets[@]}"; do grep -qx "$t" <<<"$available" && want+=("$t"); done
ninja -C "$build" "${want[@]}" >&2
echo "$build/bin"

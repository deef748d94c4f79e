# Shared by the set-up scripts (sourced, not run): package list, dependency install, build.
# Everything the project needs on a fresh Debian 12 machine is installed from here.

SPATTEN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPATTEN_BUILD_DIR="${SPATTEN_BUILD_DIR:-$SPATTEN_ROOT/build}"

# Debian 12 packages the build, the tests and the model download need.
SPATTEN_APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  python3 python3-pip
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libspdlog-dev libabsl-dev libgtest-dev googletest libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev
  clang libclang-rt-14-dev  # scripts/fuzz.sh: libFuzzer (the runtime is only a Recommends of clang)
)

spatten_log() { echo "[spatten] $*" >&2; }

# Installs whatever of SPATTEN_APT_PACKAGES is missing. As non-root, lists the missing
# packages with the command to install them and fails.
spatten_install_deps() {
  local missing=() pkg
  for pkg in "${SPATTEN_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  # A Python with a working pip (e.g. pyenv's) also satisfies the model download.
  if python3 -m pip --version >/dev/null 2>&1; then
    local keep=()
    for pkg in "${missing[@]}"; do [[ "$pkg" == python3 || "$pkg" == python3-pip ]] || keep+=("$pkg"); done
    missing=("${keep[@]}")
  fi
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ "$(id -u)" -ne 0 ]]; then
    spatten_log "missing Debian packages: ${missing[*]}"
    spatten_log "install them as root, then run this command again:"
    spatten_log "  apt-get update && apt-get install -y ${missing[*]}"
    return 1
  fi
  spatten_log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Configures and builds into $SPATTEN_BUILD_DIR (binaries in bin/). Extra args go to cmake.
spatten_build() {
  local jobs
  jobs="$(nproc 2>/dev/null || echo 2)"
  cmake -S "$SPATTEN_ROOT" -B "$SPATTEN_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >&2
  cmake --build "$SPATTEN_BUILD_DIR" --parallel "$jobs" >&2
}

# Prints the default model's path, downloading it when absent.
spatten_model() {
  if [[ -n "${SPATTEN_MODEL:-}" ]]; then
    [[ -f "$SPATTEN_MODEL" ]] || { spatten_log "SPATTEN_MODEL=$SPATTEN_MODEL does not exist"; return 1; }
    echo "$SPATTEN_MODEL"
    return 0
  fi
  "$SPATTEN_ROOT/scripts/fetch-model.sh"
}

#!/usr/bin/env bash
# Installs the Debian packages AutoModel.cpp needs (idempotent: apt runs only when something is
# missing) and builds the project into build/. Usage: scripts/setup.sh [--deps-only]
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-pthread libopenblas0-openmp libgoogle-perftools-dev
  nlohmann-json3-dev libyaml-cpp-dev zlib1g-dev libgloo-dev libcli11-dev libfmt-dev libpcre2-dev libutf8proc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-torch python3-jinja2
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Test oracle: the official HF tokenizers library from npm (optional; tests skip without it).
BUILD_DIR=${BUILD_DIR:-build}
if command -v npm >/dev/null && [ ! -d "$BUILD_DIR/oracles/node_modules/tokenizers" ]; then
  mkdir -p "$BUILD_DIR/oracles"
  npm install --silent --no-audit --no-fund --prefix "$BUILD_DIR/oracles" tokenizers@0.23.2 >/dev/null 2>&1 ||
    echo "[setup] npm tokenizers oracle unavailable; live tokenizer comparisons will be skipped"
fi

[ "${1:-}" = "--deps-only" ] && exit 0

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
# Two parallel jobs: LibTorch-heavy translation units need ~1.5 GB each.
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}"
echo "[setup] built $BUILD_DIR/apps/automodel/automodel"

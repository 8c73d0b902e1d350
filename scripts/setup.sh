#!/usr/bin/env bash
# Installs what AutoModel.cpp needs and builds it into build/ (idempotent: apt and pip run only
# when something is missing or the pins changed):
#   - Debian packages (compiler, build tools, the C++ libraries of DESIGN.md §2);
#   - the project's virtual environment .venv/ (AUTOMODEL_VENV to put it elsewhere) with the pinned
#     torch wheel whose LibTorch we build against (CUDA 13 inside; ~4.5 GB installed, ~3 GB
#     downloaded once) and the test oracles (transformers, peft, tokenizers, ...: scripts/python-requirements.txt).
# Usage: scripts/setup.sh [--deps-only]
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libgoogle-perftools-dev
  libgloo-dev  # Gloo's headers: ProcessGroupGloo.hpp includes them, the torch wheel does not ship them
  nlohmann-json3-dev libyaml-cpp-dev zlib1g-dev libcli11-dev libfmt-dev libpcre2-dev libutf8proc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcurl4-openssl-dev  # HTTP: MLflow's REST API
  libssl-dev  # sha256 of downloaded hub blobs (OpenSSL's libcrypto)
  libplplot-dev plplot-driver-cairo  # training-curve pictures: PLplot (svg driver built in, PNG through cairo)
  libjpeg62-turbo-dev libpng-dev  # VLM images: the JPEG (libjpeg-turbo) and PNG decoders Pillow uses
  python3 python3-venv
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The virtual environment: rebuilt only when scripts/python-requirements.txt changes.
VENV=${AUTOMODEL_VENV:-.venv}
REQUIREMENTS=scripts/python-requirements.txt
# nemo-automodel (an oracle for its dataset classes) pins many GPU-only packages; its dataset code
# needs only what the requirements already bring, so it is installed without dependencies.
NODEPS_PACKAGES=(nemo-automodel==0.7.0)
stamp="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1) ${NODEPS_PACKAGES[*]}"
if [ "$(cat "$VENV/.automodel-requirements" 2>/dev/null)" != "$stamp" ]; then
  [ -x "$VENV/bin/python3" ] || python3 -m venv "$VENV"
  echo "[setup] installing the Python environment into $VENV (torch + oracles; first time: a few minutes)"
  "$VENV/bin/python3" -m pip install -q --disable-pip-version-check -r "$REQUIREMENTS"
  "$VENV/bin/python3" -m pip install -q --disable-pip-version-check --no-deps "${NODEPS_PACKAGES[@]}"
  echo "$stamp" > "$VENV/.automodel-requirements"
fi

[ "${1:-}" = "--deps-only" ] && exit 0

BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAUTOMODEL_PYTHON="$(readlink -f "$VENV")/bin/python3"
fi
# Two parallel jobs: LibTorch-heavy translation units need ~1.5 GB each.
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}"
echo "[setup] built $BUILD_DIR/apps/automodel/automodel"

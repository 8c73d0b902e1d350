#!/usr/bin/env bash
# Run where Debian's apt works: downloads the build dependencies the GPU machine lacks (it has
# CUDA, a pip PyTorch, CMake and Ninja, but no package registry) into .deps/debs (git-ignored).
# Then carry .deps to that machine (device tool: carry [".deps"]) and run scripts/gpu/build.sh.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."
PACKAGES=(
  libyaml-cpp-dev libyaml-cpp0.7 nlohmann-json3-dev libcli11-dev libfmt-dev libfmt9
  libpcre2-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3 libutf8proc-dev libutf8proc2
  zlib1g-dev libgloo-dev libgtest-dev libgmock-dev googletest
)
mkdir -p .deps/debs
cd .deps/debs
apt-get download "${PACKAGES[@]}" 2>&1 | grep -v "^W: Download is performed unsandboxed" || true
echo "[gpu] $(find . -name "*.deb" | wc -l) packages in .deps/debs ($(du -sh . | cut -f1))"

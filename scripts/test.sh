#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (CTest). CI runs exactly this.
# Extra arguments go to ctest, e.g. scripts/test.sh -R Parity
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
scripts/setup.sh
export OMP_WAIT_POLICY=PASSIVE
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "${JOBS:-$(nproc)}" "$@"

#!/usr/bin/env bash
# The README's test command: installs the Debian packages, builds the release preset, fetches
# and verifies MNIST (cached in $CATAPULT_MNIST_DIR, default ~/.cache/catapult/mnist), and runs
# the whole test suite with CTest. Set CATAPULT_SKIP_MNIST=1 to run without the data (the tests
# that need it are then reported as skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release
cmake --build --preset release -j "$(nproc)"
if [[ "${CATAPULT_SKIP_MNIST:-0}" != 1 ]]; then
  export CATAPULT_MNIST_DIR="${CATAPULT_MNIST_DIR:-${HOME:-$PWD}/.cache/catapult/mnist}"
  ./build/release/apps/catapult fetch-data --dir "$CATAPULT_MNIST_DIR" --no-summary
else
  unset CATAPULT_MNIST_DIR
fi
ctest --preset release -j "$(nproc)"

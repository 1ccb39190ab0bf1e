#!/usr/bin/env bash
# The README's test command: installs the Debian packages, builds the release preset, fetches
# and verifies MNIST (cached), and runs the whole test suite with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release
cmake --build --preset release -j "$(nproc)"
ctest --preset release -j "$(nproc)"

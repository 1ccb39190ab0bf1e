#!/usr/bin/env bash
# The README's main-job command: installs the Debian packages, builds the release preset,
# fetches and verifies MNIST (cached in $CATAPULT_MNIST_DIR, default ~/.cache/catapult/mnist)
# and runs the quick reproduction, which writes the table, figures and REPORT.md under results/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release
cmake --build --preset release -j "$(nproc)"
mnist_dir="${CATAPULT_MNIST_DIR:-${HOME:-$PWD}/.cache/catapult/mnist}"
./build/release/apps/catapult fetch-data --dir "$mnist_dir"
# The quick reproduction (< 10 minutes on 2 cores): results/ gets the table, figures and REPORT.md.
# Extra arguments go to `catapult reproduce` (e.g. --full, or one experiment name).
./build/release/apps/catapult reproduce all --quick --data-dir "$mnist_dir" --out results "$@"

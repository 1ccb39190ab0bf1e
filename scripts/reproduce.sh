#!/usr/bin/env bash
# The README's main-job command: installs the Debian packages, builds the release preset,
# fetches and verifies MNIST (cached in $CATAPULT_MNIST_DIR, default ~/.cache/catapult/mnist)
# and prints a summary of it. (The reproduction issue replaces the last step with
# `catapult reproduce`, which writes the table, figures and REPORT.md under results/.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release
cmake --build --preset release -j "$(nproc)"
mnist_dir="${CATAPULT_MNIST_DIR:-${HOME}/.cache/catapult/mnist}"
./build/release/apps/catapult fetch-data --dir "$mnist_dir"

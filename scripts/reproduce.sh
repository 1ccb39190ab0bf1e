#!/usr/bin/env bash
# The README's main-job command: installs the Debian packages, builds the release preset and
# runs the quick MNIST reproduction (results/ gets the table, figures and REPORT.md).
# Extra arguments are passed to `catapult reproduce` (e.g. --full).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release
cmake --build --preset release -j "$(nproc)"
./build/release/apps/catapult info

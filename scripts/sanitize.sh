#!/usr/bin/env bash
# Builds and runs the whole test suite under a sanitizer preset:
#   scripts/sanitize.sh [asan|tsan]      (default asan: AddressSanitizer + UndefinedBehaviorSanitizer)
# Tests labelled `slow` (long real-MNIST training runs) are excluded: under ASan they take several
# times their release time and the release suite already runs them. Set CATAPULT_SANITIZE_ALL=1
# to run them too.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-asan}
case "$preset" in asan | tsan) ;; *) echo "usage: $0 [asan|tsan]" >&2; exit 2 ;; esac
exclude=(-LE slow)
if [[ "${CATAPULT_SANITIZE_ALL:-0}" == 1 ]]; then exclude=(); fi
start=$(date +%s)
cmake --preset "$preset"
cmake --build --preset "$preset" -j "$(nproc)"
built=$(date +%s)
ctest --preset "$preset" -j "$(nproc)" "${exclude[@]}"
done_=$(date +%s)
echo "sanitize ($preset): build $((built - start)) s, tests $((done_ - built)) s"

#!/usr/bin/env bash
# Builds and runs the whole test suite under a sanitizer preset:
#   scripts/sanitize.sh [asan|tsan|o2|clang]   (default asan: AddressSanitizer + UndefinedBehaviorSanitizer)
# o2 is no sanitizer but the -O2 of a default RelWithDebInfo build: GCC 12 once miscompiled a
# kernel at -O1/-O2 only, which the -O3 release suite cannot see (docs/reliability.md). clang is
# the same build by clang++ (Debian 12's clang 14): code GCC accepts and clang 14 rejects (a lambda
# capturing a structured binding), or that behaves differently under it (the order in which
# function arguments are evaluated), shows there and nowhere else.
# Which suites each preset builds and runs (the test executables, whose names are also the tests'
# CTest labels):
#   asan  every suite (parsers, CLI, checkpoints, numerics: memory errors can be anywhere);
#   tsan  the suites that run threads: core (the thread pool and limits), kernels (parallel GEMM,
#         elementwise), optim (parallel updates), nn and ntk (GEMMs and the parallel NTK operator
#         on realistic shapes), determinism (thread counts must not change results), and the
#         canary that proves TSan reports a race;
#   o2    kernels and nn, where the miscompile lived;
#   clang every suite, every label (slow, isa, mpi too: no sanitizer slows them, and the per-ISA
#         kernels are code clang compiles on its own).
# CATAPULT_SANITIZE_SUITES="a_tests b_tests" overrides the list ("all": every suite).
# Tests labelled `mpi` (programs under mpirun, tests/mpi/) are left to the release suite: Open MPI
# under ASan/TSan reports its own allocations and threads. Tests labelled `slow` (long real-MNIST
# training runs) are excluded: under ASan they take several
# times their release time and the release suite already runs them. Set CATAPULT_SANITIZE_ALL=1
# to run them too. The real-MNIST tests run on the same cache as scripts/test.sh
# ($CATAPULT_MNIST_DIR, default ~/.cache/catapult/mnist; fetched and verified first if needed);
# CATAPULT_SKIP_MNIST=1 skips them. CATAPULT_UPDATE_DOCS=1 builds from scratch (the build
# directory is removed first, so the build time is that of a fresh clone, as in CI) and writes the
# timings into docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-asan}
case "$preset" in asan | tsan | o2 | clang) ;; *) echo "usage: $0 [asan|tsan|o2|clang]" >&2; exit 2 ;; esac
case "$preset" in
  asan) default_suites=all ;;
  tsan)
    default_suites="core_tests kernels_tests optim_tests nn_tests ntk_tests"
    default_suites+=" reliability_determinism_tests tsan_canary"
    ;;
  o2) default_suites="kernels_tests nn_tests" ;;
  clang) default_suites=all ;;
esac
read -r -a suites <<<"${CATAPULT_SANITIZE_SUITES:-$default_suites}"
# Always left to the release suite: the per-ISA reruns of the kernels and nn suites (label isa,
# cmake/CatapultIsaTests.cmake; the forced SSE kernels under ASan take several times the whole
# suite's time). Also the long real-MNIST runs (label slow) unless CATAPULT_SANITIZE_ALL=1.
exclude=(-LE '^(slow|isa|mpi)$')
if [[ "${CATAPULT_SANITIZE_ALL:-0}" == 1 ]]; then exclude=(-LE '^(isa|mpi)$'); fi
if [[ $preset == clang ]]; then exclude=(); fi
if [[ "${CATAPULT_UPDATE_DOCS:-0}" == 1 ]]; then rm -rf "build/$preset"; fi
start=$(date +%s)
cmake --preset "$preset"
select=()
if [[ "${suites[*]}" == all ]]; then
  cmake --build --preset "$preset" -j "$(nproc)"
else
  # Only the suites' targets, and the tests labelled with their names.
  cmake --build --preset "$preset" -j "$(nproc)" --target "${suites[@]}"
  select=(-L "^($(IFS='|'; echo "${suites[*]}"))\$")
fi
built=$(date +%s)
if [[ "${CATAPULT_SKIP_MNIST:-0}" != 1 ]]; then
  export CATAPULT_MNIST_DIR="${CATAPULT_MNIST_DIR:-${HOME:-$PWD}/.cache/catapult/mnist}"
  # Any build's program fetches the same verified files; build this preset's only if none exists.
  fetcher=""
  for b in "build/$preset" build/release; do
    if [[ -x "$b/apps/catapult" ]]; then fetcher="$b/apps/catapult" && break; fi
  done
  if [[ -z "$fetcher" ]]; then
    cmake --build --preset "$preset" -j "$(nproc)" --target catapult_cli
    fetcher="build/$preset/apps/catapult"
  fi
  "./$fetcher" fetch-data --dir "$CATAPULT_MNIST_DIR" --no-summary
else
  unset CATAPULT_MNIST_DIR
fi
ctest --preset "$preset" -j "$(nproc)" "${exclude[@]}" "${select[@]}"
done_=$(date +%s)
echo "sanitize ($preset): build $((built - start)) s, tests $((done_ - built)) s"
if [[ "${CATAPULT_UPDATE_DOCS:-0}" == 1 ]]; then
  ntests=$(ctest --preset "$preset" -N "${exclude[@]}" "${select[@]}" | sed -n 's/^Total Tests: //p')
  echo "Measured $(date -u +%Y-%m-%d) with \`CATAPULT_UPDATE_DOCS=1 scripts/sanitize.sh $preset\` on" \
    "$(nproc) cores: clean build $((built - start)) s, $ntests tests $((done_ - built)) s." >"build/$preset/timing.md"
  bash scripts/update_doc_block.sh docs/reliability.md "$preset-timing" "build/$preset/timing.md"
fi

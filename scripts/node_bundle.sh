#!/usr/bin/env bash
# Packs the release build for a node that has none of its Debian packages (another distribution,
# no compiler, no Open MPI): the programs scripts/bench_node.sh runs, the shared libraries they
# load (from ldd, without the C/C++ runtime that every x86-64 Linux has), Debian's Open MPI
# (mpirun, its plugins and PMIx) in a relocatable tree, and the cached MNIST.
#   scripts/node_bundle.sh DIR        (env: BUILD_DIR=build/release, CATAPULT_MNIST_DIR)
# Copy the checkout with DIR to the node, then there, from the checkout's root:
#   source DIR/env.sh          # unpacks DIR's runtime under /tmp/catapult-node, sets the paths
#   RANKS="4 16" BUILD_DIR=DIR/build scripts/bench_node.sh OUT
# DIR holds build/ (the programs, stripped), runtime.txz (libraries and Open MPI, xz) and
# mnist.tgz: about 30 MB. This is how docs/node.md was measured.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build/release}
mnist=${CATAPULT_MNIST_DIR:-$HOME/.cache/catapult/mnist}
dir=$(realpath -m "${1:?usage: scripts/node_bundle.sh DIR}")
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
rm -rf "$dir"
mkdir -p "$dir"/build/{apps,bench/mpi,tests/kernels,tests/nn}
for f in apps/catapult bench/kernels_bench bench/nn_bench bench/mpi/dist_bench \
  tests/kernels/kernels_tests tests/nn/nn_tests; do
  if [[ -x $build/$f ]]; then
    cp "$build/$f" "$dir/build/$f"
    strip "$dir/build/$f"
  fi
done
# Open MPI as Debian installs it, under a prefix that OPAL_PREFIX moves (libdir and the plugin
# directory are relative to the prefix; PMIx's plugins are found through PMIX_INSTALL_PREFIX).
mpi=$stage/mpi/usr
if command -v orterun >/dev/null; then
  mkdir -p "$mpi/bin" "$mpi/lib/x86_64-linux-gnu/openmpi/lib" "$mpi/lib/x86_64-linux-gnu/pmix2" "$mpi/share"
  cp -L "$(command -v orterun)" "$mpi/bin/mpirun"
  cp -L "$(command -v orted)" "$mpi/bin/"
  cp -rL /usr/lib/x86_64-linux-gnu/openmpi/lib/openmpi3 "$mpi/lib/x86_64-linux-gnu/openmpi/lib/"
  cp -rL /usr/lib/x86_64-linux-gnu/pmix2/lib "$mpi/lib/x86_64-linux-gnu/pmix2/"
  rm -rf "$mpi/lib/x86_64-linux-gnu/pmix2/lib/pkgconfig"
  cp -r /usr/share/openmpi "$mpi/share/"
fi
# Every library the programs and plugins load, except the C and C++ runtime.
mkdir -p "$stage/lib"
skip='linux-vdso|/libc\.so|ld-linux|/libm\.so|libstdc\+\+|libgcc_s|/libz\.so|libpthread|/libdl\.so|/librt\.so'
find "$dir/build" "$stage/mpi" -type f \( -perm -u+x -o -name '*.so*' \) -print0 |
  xargs -0 -n 1 sh -c 'ldd "$0" 2>/dev/null || true' | awk '/=> \//{print $3}' | sort -u |
  { grep -Ev "$skip" || true; } | while read -r lib; do cp -L "$lib" "$stage/lib/"; done
tar -C "$stage" -cJf "$dir/runtime.txz" lib $([[ -d $stage/mpi ]] && echo mpi)
[[ -d $mnist ]] && tar -C "$(dirname "$mnist")" -czf "$dir/mnist.tgz" "$(basename "$mnist")"
cat >"$dir/env.sh" <<'EOF'
# source this on the node: unpacks the runtime and MNIST beside it into /tmp/catapult-node.
_b=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) _r=/tmp/catapult-node
mkdir -p "$_r" && tar -C "$_r" -xJf "$_b/runtime.txz"
[[ -f $_b/mnist.tgz ]] && tar -C "$_r" -xzf "$_b/mnist.tgz" && export CATAPULT_MNIST_DIR=$_r/mnist
_m=$_r/mpi/usr
export LD_LIBRARY_PATH=$_r/lib:$_m/lib/x86_64-linux-gnu/openmpi/lib:$_m/lib/x86_64-linux-gnu/pmix2/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OPAL_PREFIX=$_m PMIX_INSTALL_PREFIX=$_m/lib/x86_64-linux-gnu/pmix2 PATH=$_m/bin:$PATH
# Shared memory only (one node); no CMA single copy, which containers often refuse; PMIx's zlib
# plugin is built for the system PMIx and is not needed.
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
export PMIX_MCA_pcompress=^zlib PMIX_MCA_pcompress_base_silence_warning=1
unset _b _r _m
EOF
du -sh "$dir"

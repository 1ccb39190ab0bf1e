// Links catapult::dist from the installed package (component `dist`) and uses it as one rank
// (no mpirun): the balanced shards of 10 samples over 4 ranks and a data-independent check.
#include <catapult/dist/data_parallel.hpp>
#include <catapult/dist/mpi.hpp>
#include <cstdio>

int main() {
  using namespace catapult::dist;
  // [10·r/4, 10·(r+1)/4): 0-2, 2-5, 5-7, 7-10.
  const std::size_t expect[5] = {0, 2, 5, 7, 10};
  bool ok = size() == 1 && rank() == 0;
  for (int r = 0; r < 4; ++r) {
    const auto [lo, hi] = shard_range(10, r, 4);
    ok = ok && lo == expect[r] && hi == expect[r + 1];
  }
  // FNV-1a 64 of "a" is af63dc4c8601ec8c.
  ok = ok && fingerprint("a") == 0xaf63dc4c8601ec8cULL;
  std::printf("consumer_dist: %s\n", ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}

// A program outside the catapult tree, built against the installed package. It checks a small
// product against values computed by hand, runs the schedule controller of
// schedule_controller.cpp, and exits non-zero if either is wrong.
#include <catapult/core/matrix.hpp>
#include <catapult/core/rng.hpp>
#include <catapult/core/version.hpp>
#include <catapult/kernels/gemm.hpp>
#include <cstdio>

namespace example {
bool schedule_controller_works();
}

int main() {
  using namespace catapult;
  Matrix<float> a(2, 3), b(3, 2), c(2, 2);
  const float av[] = {1, 2, 3, 4, 5, 6};
  const float bv[] = {7, 8, 9, 10, 11, 12};
  for (int i = 0; i < 6; ++i) {
    a.data()[i] = av[i];
    b.data()[i] = bv[i];
  }
  kernels::gemm<float>(kernels::Trans::N, kernels::Trans::N, 1.0F, a.view(), b.view(), 0.0F,
                       c.view());
  // [1 2 3; 4 5 6]·[7 8; 9 10; 11 12] = [58 64; 139 154]
  const bool ok = c(0, 0) == 58 && c(0, 1) == 64 && c(1, 0) == 139 && c(1, 1) == 154;
  Rng rng(1);
  std::printf("consumer: catapult %s, product %s, rng %llu\n", CATAPULT_VERSION_STRING,
              ok ? "ok" : "WRONG", static_cast<unsigned long long>(rng.next_u64()));
  const bool controller = example::schedule_controller_works();
  std::printf("consumer: schedule controller %s\n", controller ? "ok" : "WRONG");
  return ok && controller ? 0 : 1;
}

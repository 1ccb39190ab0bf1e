// A deliberate data race between two std::threads, built only under the tsan preset: its test
// passes only if ThreadSanitizer reports it, proving that the preset's suppressions
// (cmake/tsan.supp, which silence reports inside oneTBB) leave our own threads checked.
#include <cstdio>
#include <thread>

namespace {
long counter = 0;  // NOLINT: racy on purpose
}

int main() {
  std::thread a([] {
    for (int i = 0; i < 100000; ++i) ++counter;
  });
  std::thread b([] {
    for (int i = 0; i < 100000; ++i) ++counter;
  });
  a.join();
  b.join();
  std::printf("%ld\n", counter);
  return 0;
}

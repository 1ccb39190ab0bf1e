// main() of the MPI test programs (started by mpirun from CTest): one dist::Session around the
// GoogleTest run; rank 0 prints the usual report, the other ranks print only their failures
// (prefixed with their rank), and the program fails when any rank failed.
#include <gtest/gtest.h>

#include <cstdio>
#include <span>

#include "catapult/dist/mpi.hpp"

namespace {

class RankFailurePrinter final : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (!r.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: failure\n%s\n", rank_,
                 r.file_name() != nullptr ? r.file_name() : "?", r.line_number(), r.message());
  }

 private:
  int rank_;
};

}  // namespace

int main(int argc, char** argv) {
  catapult::dist::Session session(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  const int rank = catapult::dist::rank();
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(rank));
  }
  double failed = RUN_ALL_TESTS() != 0 ? 1.0 : 0.0;
  catapult::dist::allreduce_sum(std::span<double>(&failed, 1));
  if (rank == 0 && failed > 0) std::fprintf(stderr, "%g rank(s) failed\n", failed);
  return failed > 0 ? 1 : 0;
}

// The MPI layer's costs, run under mpirun (scripts/bench_mpi.sh runs it with 1 and 2 ranks):
//   BM_Dist_Allreduce/P      MPI_Allreduce (sum) of P floats: the data-parallel gradient
//                            exchange (P = 814090 is 784-1024-10), ranks synchronised by a
//                            barrier before each call, so the time is the exchange alone;
//   BM_Dist_DataParallelStep one data-parallel step of 784-1024-10 at batch 128 per rank (forward,
//                            loss, backward of the shard, allreduce, SGD update): counters
//                            compute_ms, allreduce_ms (which includes waiting for the slowest
//                            rank) and allreduce_fraction.
// Iteration counts are fixed (every rank must make the same collective calls); only rank 0
// reports (console only: --benchmark_out would have every rank write the same file). Times are
// wall-clock (UseRealTime).
#include <benchmark/benchmark.h>

#include <chrono>
#include <vector>

#include "catapult/core/aligned.hpp"
#include "catapult/core/matrix.hpp"
#include "catapult/core/rng.hpp"
#include "catapult/core/threading.hpp"
#include "catapult/dist/mpi.hpp"
#include "catapult/kernels/isa.hpp"
#include "catapult/nn/loss.hpp"
#include "catapult/nn/mlp.hpp"
#include "catapult/optim/optimizer.hpp"

namespace {

using namespace catapult;
using clock_type = std::chrono::steady_clock;

double since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

void BM_Dist_Allreduce(benchmark::State& state) {
  std::vector<float> g(static_cast<std::size_t>(state.range(0)), 1.0F);
  for (auto _ : state) {
    state.PauseTiming();
    dist::barrier();
    state.ResumeTiming();
    dist::allreduce_sum(g);
    benchmark::DoNotOptimize(g.data());
  }
  state.counters["ranks"] = dist::size();
  state.SetBytesProcessed(state.iterations() * state.range(0) *
                          static_cast<std::int64_t>(sizeof(float)));
}
BENCHMARK(BM_Dist_Allreduce)
    ->ArgName("P")
    ->Arg(203530)
    ->Arg(814090)
    ->Iterations(50)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_Dist_DataParallelStep(benchmark::State& state) {
  const std::size_t b = 128;
  nn::Mlp<float> model(nn::MlpConfig{{784, 1024, 10}});
  Rng rng(1);
  model.init(rng);
  Matrix<float> x(b, 784), out(b, 10), d_out(b, 10);
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng.uniform());
  std::vector<std::uint8_t> labels(b);
  for (auto& l : labels) l = static_cast<std::uint8_t>(rng.uniform_index(10));
  nn::ForwardCache<float> cache;
  const std::size_t p = model.num_params();
  AlignedVector<float> grads(p);
  auto sgd = optim::make_optimizer<float>(optim::OptimizerConfig{});
  double compute = 0, exchange = 0;
  dist::barrier();
  for (auto _ : state) {
    const auto t0 = clock_type::now();
    model.forward(x.cview(), out.view(), &cache);
    benchmark::DoNotOptimize(nn::evaluate_loss<float>({}, out.cview(), labels, d_out.view()));
    model.backward(cache, d_out.cview(), grads.data());
    const auto t1 = clock_type::now();
    compute += since(t0);
    dist::allreduce_sum(std::span<float>(grads.data(), p));
    exchange += since(t1);
    sgd->step(model.params(), grads.data(), p, 1e-3);
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["ranks"] = dist::size();
  state.counters["compute_ms"] = 1e3 * compute / n;
  state.counters["allreduce_ms"] = 1e3 * exchange / n;
  state.counters["allreduce_fraction"] = exchange / (compute + exchange);
  state.counters["samples_per_s"] =
      benchmark::Counter(n * static_cast<double>(b) * dist::size(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Dist_DataParallelStep)->Iterations(100)->UseRealTime()->Unit(benchmark::kMillisecond);

class NullReporter final : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace

int main(int argc, char** argv) {
  dist::Session session(&argc, &argv);
  const ThreadLimit threads(dist::layout().threads);  // the rank's share of the node
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("ranks", std::to_string(dist::size()));
  benchmark::AddCustomContext("threads_per_rank", std::to_string(dist::layout().threads));
  benchmark::AddCustomContext("isa", kernels::to_string(kernels::active_isa()));
  if (dist::rank() == 0) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    NullReporter quiet;
    benchmark::RunSpecifiedBenchmarks(&quiet);
  }
  benchmark::Shutdown();
  return 0;
}

// Determinism of training. What the design promises (docs/reliability.md):
// - the same seeds and the same thread count give bit-identical loss traces and parameters;
// - the thread count does not change the results either: GEMM never splits the reduction
//   dimension K across threads, and the parallel reductions (norms, sums) add fixed-size blocks
//   in block order, so every floating-point sum is taken in the same order for any thread count.
// The second promise is checked bitwise; the test also bounds the relative difference of every
// step's loss by a float tolerance, which is the guarantee that remains if a future kernel trades
// the fixed order for speed (and then only the bitwise check may be relaxed).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "catapult/core/rng.hpp"
#include "catapult/core/threading.hpp"
#include "catapult/data/dataset.hpp"
#include "catapult/nn/mlp.hpp"
#include "catapult/optim/optimizer.hpp"
#include "catapult/optim/schedule.hpp"
#include "catapult/train/trainer.hpp"

namespace catapult::train {
namespace {

struct Trace {
  std::vector<double> loss, grad_norm;
  std::vector<float> params;
};

class Recorder final : public Observer {
 public:
  explicit Recorder(Trace& t) : t_(t) {}
  void on_step(const StepInfo& s) override {
    t_.loss.push_back(s.loss);
    t_.grad_norm.push_back(s.grad_norm);
  }

 private:
  Trace& t_;
};

data::Dataset synthetic(std::size_t n, std::size_t dim, std::uint64_t seed) {
  Rng rng(seed);
  data::Dataset d;
  d.images = Matrix<float>(n, dim);
  d.labels.resize(n);
  d.image_rows = 1;
  d.image_cols = dim;
  for (std::size_t i = 0; i < n; ++i) {
    d.labels[i] = static_cast<std::uint8_t>(rng.uniform_index(10));
    for (std::size_t j = 0; j < dim; ++j)
      d.images(i, j) = static_cast<float>(rng.uniform() + 0.2 * ((j % 10) == d.labels[i]));
  }
  return d;
}

// 20 steps of SGD with momentum on [256, 256, 10] with batches of 64: the forward and backward
// products (2·64·256·256 flops) are above GEMM's threshold for running in parallel. Kept small:
// under the sanitizers the GEMMs run at -O1 and instrumented.
Trace run(std::size_t threads) {
  ThreadLimit limit(threads);
  static const data::Dataset train_set = synthetic(640, 256, 11);
  nn::Mlp<float> model(nn::MlpConfig{{256, 256, 10}});
  Rng init(3);
  model.init(init);
  optim::OptimizerConfig oc;
  oc.momentum = 0.9;
  auto optimizer = optim::make_optimizer<float>(oc);
  optim::ScheduleConfig sc;
  sc.lr = 0.05;
  const optim::Schedule schedule(sc);
  TrainConfig config;
  config.batch_size = 64;
  config.steps = 20;
  config.seed = 9;
  Trace t;
  Recorder rec(t);
  Observer* observers[] = {&rec};
  const auto result = train(model, *optimizer, schedule, train_set, nullptr, config, observers);
  EXPECT_EQ(result.status, TrainStatus::Completed) << result.message;
  t.params.assign(model.params(), model.params() + model.num_params());
  return t;
}

bool bitwise_equal(const Trace& a, const Trace& b) {
  return a.loss.size() == b.loss.size() &&
         std::memcmp(a.loss.data(), b.loss.data(), a.loss.size() * sizeof(double)) == 0 &&
         std::memcmp(a.grad_norm.data(), b.grad_norm.data(), a.grad_norm.size() * sizeof(double)) ==
             0 &&
         a.params.size() == b.params.size() &&
         std::memcmp(a.params.data(), b.params.data(), a.params.size() * sizeof(float)) == 0;
}

TEST(Determinism, SameSeedAndThreadsGiveBitIdenticalTraces) {
  const std::size_t many = std::max<std::size_t>(2, max_threads());
  for (const std::size_t threads : {std::size_t{1}, many}) {
    const Trace a = run(threads), b = run(threads);
    ASSERT_EQ(a.loss.size(), 20U);
    EXPECT_TRUE(bitwise_equal(a, b)) << threads << " threads";
    // The run learns something (the trace is not trivially constant).
    EXPECT_LT(a.loss.back(), a.loss.front());
  }
}

TEST(Determinism, ThreadCountChangesNothingBeyondFloatTolerance) {
  const Trace one = run(1);
  // 3 is not a divisor of the tile counts: a different partition of C among threads.
  for (const std::size_t threads :
       {std::size_t{2}, std::size_t{3}, std::max<std::size_t>(4, max_threads())}) {
    const Trace other = run(threads);
    ASSERT_EQ(other.loss.size(), one.loss.size());
    double worst = 0;
    for (std::size_t i = 0; i < one.loss.size(); ++i)
      worst = std::max(worst, std::abs(other.loss[i] - one.loss[i]) / std::abs(one.loss[i]));
    // Tolerance tier: 20 steps of float arithmetic, relative 1e-4 of the loss.
    EXPECT_LE(worst, 1e-4) << threads << " threads";
    // Design tier: the fixed reduction order makes it exact.
    EXPECT_TRUE(bitwise_equal(one, other))
        << threads << " threads: not bit-identical to 1 thread (largest relative loss difference "
        << worst << ")";
  }
}

}  // namespace
}  // namespace catapult::train

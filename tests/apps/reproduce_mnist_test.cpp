// The reproduction's catapult detector on real MNIST training runs (labelled `slow`: thousands
// of SGD steps, which the sanitizer suites leave to the release suite; see scripts/sanitize.sh).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "catapult/analysis/catapult_detector.hpp"
#include "catapult/data/dataset.hpp"
#include "engine.hpp"
#include "protocol.hpp"
#include "support/mnist.hpp"

namespace catapult::app::reproduce {
namespace {

// The detector's noise margin on real data (docs/reproduction.md): MNIST, 784-256-10, SGD for 2
// epochs. The control at batch 16 and the constant rate 0.5·η_crit (below critical) is pure
// mini-batch noise: the ratio rules alone count many "catapults", the quick protocol's
// noise-robust detector none. The cyclic schedule up to 3·η_crit catapults; at batch 64 its spikes
// clear the noise margin with room to spare (2 detections at margins 6, 7 and 8 when this test was
// written; at batch 16 they sit at the margin and their count moves with the GEMM's summation
// order), and every detected spike peaks where the rate exceeds η_crit. About 15 s.
TEST(ReproduceMnist, NoiseRobustDetectorCountsCatapultsNotNoise) {
  CATAPULT_REQUIRE_MNIST(dir);
  const data::Splits mnist = data::load_mnist(dir);
  const auto detector =
      detector_options(nlohmann::json::parse(builtin_protocol_json(/*full=*/false)));
  ASSERT_GT(detector.noise_window, 0U);
  auto run = [&](bool cyclic, std::size_t batch, double* eta) {
    RunSpec spec;
    spec.model = {{784, 256, 10}, nn::Activation::Relu};
    spec.optimizer.kind = optim::OptimizerKind::Sgd;
    spec.batch_size = batch;
    spec.epochs = 2;
    spec.seed = 0;
    InitHook init = [&](TrainState& s) {
      const auto x = first_rows(mnist.train, batch);
      *eta = require_rate(
          critical_rate_or_nan(spec.loss, batch, 10, ntk_lambda_max(s.model, x, nullptr).value),
          "test");
      s.schedule = optim::Schedule(
          cyclic ? cyclic_schedule("triangular", 0.5 * *eta, 3.0 * *eta, 60000 / batch / 4, 1.0)
                 : constant_schedule(0.5 * *eta));
    };
    return train(spec, mnist.train, mnist.test, init, {});
  };
  double eta = 0.0;
  const auto control = run(false, 16, &eta);
  ASSERT_FALSE(control.diverged);
  auto ratio_only = detector;
  ratio_only.noise_window = 0;
  EXPECT_GT(analysis::detect_catapults(control.loss, ratio_only).catapults.size(), 50U);
  const auto noise = analysis::detect_catapults(control.loss, detector);
  EXPECT_TRUE(noise.catapults.empty()) << noise.catapults.size();
  EXPECT_FALSE(noise.divergence.has_value());

  const auto cyclic = run(true, 64, &eta);
  ASSERT_FALSE(cyclic.diverged);
  const auto found = analysis::detect_catapults(cyclic.loss, detector);
  EXPECT_GE(found.catapults.size(), 1U);
  EXPECT_FALSE(found.divergence.has_value());
  for (const auto& c : found.catapults) EXPECT_GT(cyclic.lr[c.peak], eta) << "peak " << c.peak;
}

}  // namespace
}  // namespace catapult::app::reproduce

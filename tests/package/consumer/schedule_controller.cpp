// A schedule controller written against the installed package (docs/architecture.md): the
// cyclic peak is re-set to `factor`·η_crit at the start of every cycle, η_crit = 1/(c·λmax(K))
// measured on the first b training samples with the matrix-free NTK and Lanczos.
#include <algorithm>
#include <catapult/ntk/ntk.hpp>
#include <catapult/ntk/spectrum.hpp>
#include <catapult/train/trainer.hpp>
#include <cmath>
#include <vector>

namespace example {
using namespace catapult;

class CriticalPeak final : public train::Controller {
 public:
  explicit CriticalPeak(double factor) : factor_(factor) {}
  void on_start(const train::ControlContext& c, optim::Schedule& s) override { set_peak(c, s); }
  void after_step(const train::ControlContext& c, optim::Schedule& s) override {
    if (c.next_step % (2 * s.config().step_size_up) == 0) set_peak(c, s);  // a new cycle
  }
  std::vector<double> peaks;  ///< every peak set

 private:
  void set_peak(const train::ControlContext& c, optim::Schedule& s) {
    const std::size_t n = std::min(c.config.batch_size, c.train_set.size());
    const auto x = c.train_set.images.cview().rows_range(0, n);
    const ntk::NtkOperator<float> op(c.model, x, {.mode = ntk::NtkMode::Full});
    const auto r = ntk::largest_eigenpairs(op, {.tolerance = 1e-4, .compute_eigenvectors = false});
    if (!r.ok() || !(r.eigenvalues.front() > 0)) return;  // nothing measured: keep the peak
    auto sc = s.config();
    const double eta_crit = nn::mse_critical_learning_rate(
        r.eigenvalues.front(), c.config.loss.reduction, n, c.model.output_dim());
    sc.max_lr = std::max(sc.lr, factor_ * eta_crit);
    s = optim::Schedule(sc);
    peaks.push_back(sc.max_lr);
  }
  double factor_;
};

// Trains a small network on two Gaussian blobs with the controller; true if the run completed
// and the controller set the peak at the start and after each of the three cycles.
bool schedule_controller_works() {
  data::Dataset set;
  const std::size_t n = 64, d = 4;
  set.images = Matrix<float>(n, d);
  set.labels.resize(n);
  set.num_classes = 2;
  Rng rng(3);
  for (std::size_t i = 0; i < n; ++i) {
    set.labels[i] = static_cast<std::uint8_t>(i % 2);
    for (std::size_t j = 0; j < d; ++j)
      set.images(i, j) = static_cast<float>((i % 2 ? 1.0 : -1.0) + 0.3 * rng.normal());
  }
  nn::Mlp<float> model(nn::MlpConfig{{d, 8, 2}});
  Rng init(1);
  model.init(init);
  auto sgd = optim::make_optimizer<float>(optim::OptimizerConfig{});
  optim::ScheduleConfig sc;
  sc.kind = optim::ScheduleKind::Cyclic;
  sc.lr = 0.01;
  sc.max_lr = 0.01;
  sc.step_size_up = 4;
  optim::Schedule schedule(sc);
  train::TrainConfig tc;
  tc.batch_size = 16;
  tc.steps = 24;  // three cycles of 8 steps
  CriticalPeak peak(2.0);
  train::Controller* controllers[] = {&peak};
  const auto result = train::train(model, *sgd, schedule, set, nullptr, tc, {{}, controllers});
  return result.status == train::TrainStatus::Completed && peak.peaks.size() == 4 &&
         schedule.config().max_lr == peak.peaks.back();
}

}  // namespace example

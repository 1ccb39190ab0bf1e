// Schedules against their formulas (PyTorch's CyclicLR, StepLR, CosineAnnealingLR, LinearLR),
// evaluated by hand at chosen iterations, cycle boundaries included.
#include "catapult/optim/schedule.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "catapult/core/error.hpp"

namespace catapult::optim {
namespace {

ScheduleConfig cyclic(CyclicMode mode, std::uint64_t up, std::uint64_t down, double gamma = 1.0) {
  ScheduleConfig c;
  c.kind = ScheduleKind::Cyclic;
  c.lr = 0.1;
  c.max_lr = 1.0;
  c.step_size_up = up;
  c.step_size_down = down;
  c.mode = mode;
  c.cyclic_gamma = gamma;
  return c;
}

TEST(Schedule, Constant) {
  ScheduleConfig c;
  c.lr = 0.3;
  const Schedule s(c);
  EXPECT_EQ(s.lr(0), 0.3);
  EXPECT_EQ(s.lr(123456), 0.3);
  EXPECT_EQ(s.peak(), 0.3);
}

TEST(Schedule, Step) {
  ScheduleConfig c;
  c.kind = ScheduleKind::Step;
  c.lr = 1.0;
  c.step_size = 3;
  c.step_gamma = 0.5;
  const Schedule s(c);
  EXPECT_EQ(s.lr(0), 1.0);
  EXPECT_EQ(s.lr(2), 1.0);
  EXPECT_EQ(s.lr(3), 0.5);
  EXPECT_EQ(s.lr(5), 0.5);
  EXPECT_EQ(s.lr(6), 0.25);
}

TEST(Schedule, Cosine) {
  ScheduleConfig c;
  c.kind = ScheduleKind::Cosine;
  c.lr = 1.0;
  c.min_lr = 0.1;
  c.total_steps = 10;
  const Schedule s(c);
  EXPECT_DOUBLE_EQ(s.lr(0), 1.0);
  EXPECT_NEAR(s.lr(5), 0.55, 1e-15);
  EXPECT_NEAR(s.lr(2), 0.1 + 0.9 * (1 + std::cos(std::numbers::pi * 0.2)) / 2, 1e-15);
  EXPECT_NEAR(s.lr(10), 0.1, 1e-15);
  EXPECT_NEAR(s.lr(25), 0.1, 1e-15);
}

TEST(Schedule, Triangular) {
  const Schedule s(cyclic(CyclicMode::Triangular, 4, 4));
  // Period 8: base at 0, 8, 16; peak at 4, 12.
  EXPECT_DOUBLE_EQ(s.lr(0), 0.1);
  EXPECT_DOUBLE_EQ(s.lr(1), 0.1 + 0.9 * 0.25);
  EXPECT_DOUBLE_EQ(s.lr(2), 0.55);
  EXPECT_DOUBLE_EQ(s.lr(4), 1.0);
  EXPECT_DOUBLE_EQ(s.lr(6), 0.55);
  EXPECT_NEAR(s.lr(7), 0.1 + 0.9 * 0.25, 1e-15);
  EXPECT_NEAR(s.lr(8), 0.1, 1e-15);
  EXPECT_NEAR(s.lr(12), 1.0, 1e-15);
  EXPECT_NEAR(s.lr(16), 0.1, 1e-15);
  EXPECT_EQ(s.peak(), 1.0);
}

TEST(Schedule, TriangularDefaultDownEqualsUp) {
  const Schedule a(cyclic(CyclicMode::Triangular, 5, 0));
  const Schedule b(cyclic(CyclicMode::Triangular, 5, 5));
  for (std::uint64_t t = 0; t < 30; ++t) EXPECT_EQ(a.lr(t), b.lr(t));
}

TEST(Schedule, AsymmetricCycle) {
  const Schedule s(cyclic(CyclicMode::Triangular, 2, 6));
  // S = 8, r = 1/4: t = 2 peak; t = 5: x = 5/8, f = (5/8 − 1)/(1/4 − 1) = 1/2.
  EXPECT_DOUBLE_EQ(s.lr(1), 0.55);
  EXPECT_DOUBLE_EQ(s.lr(2), 1.0);
  EXPECT_NEAR(s.lr(5), 0.55, 1e-15);
  EXPECT_NEAR(s.lr(8), 0.1, 1e-15);
  EXPECT_NEAR(s.lr(10), 1.0, 1e-15);
}

TEST(Schedule, Triangular2HalvesTheAmplitudeEachCycle) {
  const Schedule s(cyclic(CyclicMode::Triangular2, 4, 4));
  EXPECT_DOUBLE_EQ(s.lr(4), 1.0);                   // cycle 1
  EXPECT_NEAR(s.lr(8), 0.1, 1e-15);                 // boundary: cycle 2 starts at base
  EXPECT_NEAR(s.lr(12), 0.1 + 0.9 / 2, 1e-15);      // cycle 2 peak
  EXPECT_NEAR(s.lr(14), 0.1 + 0.9 / 2 / 2, 1e-15);  // half-way down
  EXPECT_NEAR(s.lr(20), 0.1 + 0.9 / 4, 1e-15);      // cycle 3 peak
}

TEST(Schedule, ExpRangeScalesByGammaToTheIteration) {
  const double g = 0.9;
  const Schedule s(cyclic(CyclicMode::ExpRange, 4, 4, g));
  EXPECT_DOUBLE_EQ(s.lr(0), 0.1);
  EXPECT_NEAR(s.lr(2), 0.1 + 0.9 * 0.5 * std::pow(g, 2), 1e-15);
  EXPECT_NEAR(s.lr(4), 0.1 + 0.9 * std::pow(g, 4), 1e-15);
  EXPECT_NEAR(s.lr(12), 0.1 + 0.9 * std::pow(g, 12), 1e-15);
  EXPECT_NEAR(s.lr(13), 0.1 + 0.9 * 0.75 * std::pow(g, 13), 1e-15);
}

TEST(Schedule, LinearWarmupMultipliesAnyKind) {
  ScheduleConfig c;
  c.lr = 1.0;
  c.warmup_steps = 4;
  c.warmup_start_factor = 0.25;
  const Schedule s(c);
  EXPECT_DOUBLE_EQ(s.lr(0), 0.25);
  EXPECT_DOUBLE_EQ(s.lr(2), 0.625);
  EXPECT_DOUBLE_EQ(s.lr(4), 1.0);
  EXPECT_DOUBLE_EQ(s.lr(10), 1.0);
  ScheduleConfig sc = cyclic(CyclicMode::Triangular, 4, 4);
  sc.warmup_steps = 4;
  sc.warmup_start_factor = 0.0;
  const Schedule w(sc);
  EXPECT_DOUBLE_EQ(w.lr(0), 0.0);
  EXPECT_DOUBLE_EQ(w.lr(2), 0.55 * 0.5);
  EXPECT_DOUBLE_EQ(w.lr(4), 1.0);
}

TEST(Schedule, PeakAsMultipleOfCriticalRate) {
  ScheduleConfig c = cyclic(CyclicMode::Triangular, 4, 4);
  c.peak_multiple_of_critical = 3.0;
  EXPECT_THROW(Schedule{c}, InvalidArgument);  // unresolved
  const ScheduleConfig r = resolve_critical(c, 0.5);
  EXPECT_DOUBLE_EQ(r.max_lr, 1.5);
  EXPECT_FALSE(r.peak_multiple_of_critical.has_value());
  const Schedule s(r);
  EXPECT_DOUBLE_EQ(s.lr(4), 1.5);
  ScheduleConfig k;
  k.peak_multiple_of_critical = 0.5;
  EXPECT_DOUBLE_EQ(Schedule(resolve_critical(k, 0.2)).lr(7), 0.1);
  c.base_multiple_of_critical = 0.5;
  EXPECT_DOUBLE_EQ(resolve_critical(c, 0.5).lr, 0.25);
  EXPECT_THROW((void)resolve_critical(c, 0.0), InvalidArgument);
  EXPECT_THROW((void)resolve_critical(c, std::nan("")), InvalidArgument);
}

TEST(Schedule, RejectsBadConfigs) {
  ScheduleConfig c = cyclic(CyclicMode::Triangular, 4, 4);
  c.max_lr = 0.05;
  EXPECT_THROW(Schedule{c}, InvalidArgument);
  c = cyclic(CyclicMode::ExpRange, 4, 4, 1.5);
  EXPECT_THROW(Schedule{c}, InvalidArgument);
  c = cyclic(CyclicMode::Triangular, 0, 4);
  EXPECT_THROW(Schedule{c}, InvalidArgument);
  ScheduleConfig d;
  d.lr = -1;
  EXPECT_THROW(Schedule{d}, InvalidArgument);
  d.lr = 0.1;
  d.kind = ScheduleKind::Cosine;
  EXPECT_THROW(Schedule{d}, InvalidArgument);
  EXPECT_THROW((void)parse_schedule_kind("onecycle"), InvalidArgument);
  EXPECT_EQ(parse_cyclic_mode("exp_range"), CyclicMode::ExpRange);
}

}  // namespace
}  // namespace catapult::optim

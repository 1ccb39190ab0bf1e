#include "catapult/core/threading.hpp"

#include <tbb/global_control.h>

#include "catapult/core/error.hpp"

namespace catapult {

struct ThreadLimit::Impl {
  explicit Impl(std::size_t threads)
      : control(tbb::global_control::max_allowed_parallelism, threads) {}
  tbb::global_control control;
};

std::size_t max_threads() noexcept {
  return tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism);
}

ThreadLimit::ThreadLimit(std::size_t threads) {
  if (threads == 0) throw InvalidArgument("ThreadLimit: threads must be >= 1, got 0");
  impl_ = std::make_unique<Impl>(threads);
}

ThreadLimit::~ThreadLimit() = default;

}  // namespace catapult

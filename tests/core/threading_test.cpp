#include "catapult/core/threading.hpp"

#include <gtest/gtest.h>

#include "catapult/core/error.hpp"

namespace catapult {
namespace {

TEST(ThreadLimit, LimitsAndRestores) {
  const std::size_t before = max_threads();
  EXPECT_GE(before, 1U);
  {
    ThreadLimit one(1);
    EXPECT_EQ(max_threads(), 1U);
  }
  EXPECT_EQ(max_threads(), before);
  EXPECT_THROW(ThreadLimit(0), InvalidArgument);
}

}  // namespace
}  // namespace catapult

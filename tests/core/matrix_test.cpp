#include "catapult/core/matrix.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace catapult {
namespace {

TEST(Matrix, StorageIsAlignedAndRowMajor) {
  Matrix<float> m(3, 5);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(m.data()) % kAlignment, 0U);
  m(1, 2) = 7.0F;
  EXPECT_EQ(m.data()[1 * 5 + 2], 7.0F);
  EXPECT_EQ(m.view().ld(), 5U);
}

TEST(MatrixView, BlockUsesLeadingDimension) {
  Matrix<double> m(4, 6);
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 6; ++j) m(i, j) = static_cast<double>(10 * i + j);
  const auto b = m.view().block(1, 2, 2, 3);
  EXPECT_EQ(b.rows(), 2U);
  EXPECT_EQ(b.cols(), 3U);
  EXPECT_EQ(b.ld(), 6U);
  EXPECT_EQ(b(0, 0), 12.0);
  EXPECT_EQ(b(1, 2), 24.0);
  EXPECT_FALSE(b.contiguous());
  MatrixView<const double> cb = b;  // const conversion
  EXPECT_EQ(cb(1, 0), 22.0);
}

TEST(MatrixView, ShapeErrorsThrow) {
  Matrix<float> m(2, 3);
  EXPECT_THROW((void)m.view().block(1, 0, 2, 3), InvalidArgument);
  EXPECT_THROW((void)m.view().block(0, 2, 1, 2), InvalidArgument);
  EXPECT_THROW(MatrixView<float>(m.data(), 2, 3, 2), InvalidArgument);
  EXPECT_THROW(MatrixView<float>(nullptr, 2, 3, 3), InvalidArgument);
  EXPECT_THROW(require_shape(m.cview(), 3, 2, "test"), InvalidArgument);
  EXPECT_NO_THROW(require_shape(m.cview(), 2, 3, "test"));
}

TEST(Matrix, OverflowingShapeThrows) {
  EXPECT_THROW(Matrix<float>(std::size_t{1} << 62, 16), InvalidArgument);
}

}  // namespace
}  // namespace catapult

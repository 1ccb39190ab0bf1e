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

// Buffers of 2 MiB and more are placed on 2 MiB boundaries (so that a transparent huge page can
// back them) and still hold every element; the ones just below stay on 64-byte boundaries.
TEST(Matrix, LargeStorageIsHugePageAligned) {
  const std::size_t cols = kHugePageBytes / sizeof(float) / 512;
  for (const std::size_t rows : {std::size_t(511), std::size_t(512), std::size_t(700)}) {
    Matrix<float> m(rows, cols);
    const auto at = reinterpret_cast<std::uintptr_t>(m.data());
    if (rows * cols * sizeof(float) >= kHugePageBytes)
      EXPECT_EQ(at % kHugePageBytes, 0U) << rows;
    else
      EXPECT_EQ(at % kAlignment, 0U) << rows;
    // Every element is writable and keeps its value (ASan checks the bounds in its preset).
    for (std::size_t i = 0; i < rows; ++i) m(i, cols - 1) = static_cast<float>(i);
    for (std::size_t i = 0; i < rows; ++i) ASSERT_EQ(m(i, cols - 1), static_cast<float>(i));
  }
  AlignedVector<double> v(kHugePageBytes / sizeof(double) + 1, 1.5);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v.data()) % kHugePageBytes, 0U);
  v.resize(3);  // shrinking keeps the buffer; clear and free through the same allocator
  v.shrink_to_fit();
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v.data()) % kAlignment, 0U);
  EXPECT_EQ(v[2], 1.5);
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

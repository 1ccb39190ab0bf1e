// Datasets from small forged IDX pairs (validation errors, checksums, exact pixel values) and
// the target, subset, sampling and splitting helpers.
#include "catapult/data/dataset.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "catapult/core/error.hpp"
#include "catapult/data/idx.hpp"
#include "catapult/data/sha256.hpp"
#include "fixtures.hpp"

namespace catapult::data {
namespace {

using test::Bytes;
using test::expect_error;
using test::idx_file;
using test::ramp;
using test::TempDir;
using test::write_file;

constexpr std::uint8_t kUByte = 0x08;

/// Writes an MNIST-shaped pair: n images of rows×cols with bytes ramp(n·rows·cols, seed), and
/// the given labels.
struct Pair {
  std::filesystem::path images;
  std::filesystem::path labels;
};
Pair write_pair(const TempDir& dir, const std::string& prefix, std::uint32_t n, std::uint32_t rows,
                std::uint32_t cols, const Bytes& labels, bool gz = false) {
  Bytes img = idx_file(kUByte, {n, rows, cols}, ramp(std::size_t{n} * rows * cols, 1));
  Bytes lab = idx_file(kUByte, {static_cast<std::uint32_t>(labels.size())}, labels);
  if (gz) {
    img = test::gzip(img);
    lab = test::gzip(lab);
  }
  const std::string ext = gz ? ".gz" : "";
  return {write_file(dir / (prefix + "-images-idx3-ubyte" + ext), img),
          write_file(dir / (prefix + "-labels-idx1-ubyte" + ext), lab)};
}

/// A synthetic dataset whose sample i has every pixel equal to i and label i % classes.
Dataset numbered(std::size_t n, std::size_t classes = 10, std::size_t dim = 3) {
  Dataset d;
  d.name = "numbered";
  d.num_classes = classes;
  d.image_rows = 1;
  d.image_cols = dim;
  d.images = Matrix<float>(n, dim);
  d.labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < dim; ++j) d.images(i, j) = static_cast<float>(i);
    d.labels[i] = static_cast<std::uint8_t>(i % classes);
  }
  return d;
}

std::size_t origin(const Dataset& d, std::size_t row) {
  return static_cast<std::size_t>(d.images(row, 0));
}

TEST(LoadIdxDataset, ExactPixelsAndLabelsRawAndGzip) {
  const TempDir dir;
  for (const bool gz : {false, true}) {
    const Pair p = write_pair(dir, gz ? "gz" : "raw", 4, 2, 3, {3, 1, 4, 1}, gz);
    const Dataset d = load_idx_dataset(p.images, p.labels, "tiny");
    EXPECT_EQ(d.name, "tiny");
    ASSERT_EQ(d.size(), 4U);
    EXPECT_EQ(d.dim(), 6U);
    EXPECT_EQ(d.image_rows, 2U);
    EXPECT_EQ(d.image_cols, 3U);
    EXPECT_EQ(d.labels, (std::vector<std::uint8_t>{3, 1, 4, 1}));
    for (std::size_t i = 0; i < 4; ++i) {
      for (std::size_t j = 0; j < 6; ++j) {
        const auto byte = static_cast<float>((1 + 6 * i + j) % 256);
        EXPECT_EQ(d.images(i, j), byte / 255.0F) << i << "," << j;
      }
    }
  }
}

TEST(LoadIdxDataset, LabelsOutOfRange) {
  const TempDir dir;
  const Pair p = write_pair(dir, "t", 3, 2, 2, {0, 10, 9});
  expect_error<DataError>([&] { (void)load_idx_dataset(p.images, p.labels, "x"); },
                          {p.labels.string(), "label 10 at index 1", "out of range [0, 10)"});
  // With 11 classes the same file is valid.
  EXPECT_EQ(load_idx_dataset(p.images, p.labels, "x", 11).labels[1], 10);
}

TEST(LoadIdxDataset, ImageAndLabelCountsDiffer) {
  const TempDir dir;
  const Pair p = write_pair(dir, "t", 3, 2, 2, {0, 1});
  expect_error<DataError>(
      [&] { (void)load_idx_dataset(p.images, p.labels, "x"); },
      {p.images.string(), p.labels.string(), "3 images", "2 labels", "counts differ"});
}

TEST(LoadIdxDataset, LabelsFileWithImageHeader) {
  const TempDir dir;
  const Pair p = write_pair(dir, "t", 2, 2, 2, {0, 1});
  expect_error<DataError>([&] { (void)load_idx_dataset(p.images, p.images, "x"); },
                          {p.images.string(), "wrong number of dimensions"});
}

TEST(LoadIdxDataset, NoImages) {
  const TempDir dir;
  const Pair p = write_pair(dir, "t", 0, 28, 28, {});
  expect_error<DataError>([&] { (void)load_idx_dataset(p.images, p.labels, "x"); },
                          {p.images.string(), "no images"});
}

TEST(LoadIdxDataset, ChecksumMismatchAndOptOut) {
  const TempDir dir;
  const Pair p = write_pair(dir, "t", 2, 2, 2, {0, 1});
  const std::string right = to_hex(sha256(test::read_file(p.labels)));
  const std::string wrong(64, '0');
  expect_error<DataError>(
      [&] { (void)load_idx_dataset(p.images, p.labels, "x", 10, wrong, right); },
      {p.images.string(), "SHA-256 checksum mismatch", wrong});
  LoadOptions no_verify;
  no_verify.verify_checksums = false;
  EXPECT_EQ(load_idx_dataset(p.images, p.labels, "x", 10, wrong, right, no_verify).size(), 2U);
}

TEST(LoadMnist, ForgedDirectoryFailsOnChecksumNamingTheFile) {
  // Structurally valid small files with MNIST's names: only the checksum can tell.
  const TempDir dir;
  write_pair(dir, "train", 3, 28, 28, {1, 2, 3}, /*gz=*/true);
  write_pair(dir, "t10k", 2, 28, 28, {4, 5});
  expect_error<DataError>([&] { (void)load_mnist(dir.path()); },
                          {"train-labels-idx1-ubyte.gz", "SHA-256 checksum mismatch",
                           std::string(mnist_files()[1].sha256)});
  LoadOptions no_verify;
  no_verify.verify_checksums = false;
  const Splits s = load_mnist(dir.path(), no_verify);
  EXPECT_EQ(s.train.size(), 3U);
  EXPECT_EQ(s.test.size(), 2U);
  EXPECT_EQ(s.train.name, "mnist/train");
  EXPECT_EQ(s.test.name, "mnist/test");
}

TEST(LoadMnist, MissingFilesAreIoErrorsNamingThem) {
  const TempDir dir;
  // All four are missing: the first in mnist_files()' order is named, with any compiler.
  expect_error<IoError>([&] { (void)load_mnist(dir.path()); },
                        {(dir / "train-images-idx3-ubyte").string(), "no such file", ".gz"});
  // Only a later one missing: that one is named.
  write_pair(dir, "train", 3, 2, 2, {1, 2, 3});
  expect_error<IoError>([&] { (void)load_mnist(dir.path()); },
                        {(dir / "t10k-images-idx3-ubyte").string(), "no such file"});
  std::filesystem::remove(dir / "train-labels-idx1-ubyte");
  expect_error<IoError>([&] { (void)load_mnist(dir.path()); },
                        {(dir / "train-labels-idx1-ubyte").string(), "no such file"});
}

TEST(LoadMnist, StandardizeUsesTrainingStatisticsForBothParts) {
  const TempDir dir;
  write_pair(dir, "train", 3, 2, 2, {1, 2, 3});
  write_pair(dir, "t10k", 2, 2, 2, {4, 5});
  LoadOptions unit;
  unit.verify_checksums = false;
  const Splits u = load_mnist(dir.path(), unit);
  LoadOptions stdz = unit;
  stdz.normalization = Normalization::Standardize;
  const Splits s = load_mnist(dir.path(), stdz);
  // Reference statistics of the training pixels, in double.
  double sum = 0;
  double sq = 0;
  for (std::size_t i = 0; i < u.train.images.size(); ++i) sum += u.train.images.data()[i];
  const double mean = sum / static_cast<double>(u.train.images.size());
  for (std::size_t i = 0; i < u.train.images.size(); ++i)
    sq += (u.train.images.data()[i] - mean) * (u.train.images.data()[i] - mean);
  const double std = std::sqrt(sq / static_cast<double>(u.train.images.size()));
  for (std::size_t i = 0; i < u.test.images.size(); ++i) {
    const double expected = (u.test.images.data()[i] - mean) / std;
    EXPECT_NEAR(s.test.images.data()[i], expected, 1e-6 * (1 + std::abs(expected)));
  }
  const PixelStats st = pixel_stats(s.train);
  EXPECT_NEAR(st.mean, 0.0, 1e-6);
  EXPECT_NEAR(st.std, 1.0, 1e-6);
}

TEST(PixelStats, MatchesClosedForm) {
  Dataset d = numbered(4, 10, 2);  // pixels 0,0,1,1,2,2,3,3
  const PixelStats st = pixel_stats(d);
  EXPECT_DOUBLE_EQ(st.mean, 1.5);
  EXPECT_DOUBLE_EQ(st.std, std::sqrt(1.25));
  EXPECT_EQ(st.min, 0.0F);
  EXPECT_EQ(st.max, 3.0F);
  expect_error<InvalidArgument>([&] { standardize(d, 0.0, 0.0); }, {"standardize", "std 0"});
  expect_error<InvalidArgument>([&] { (void)pixel_stats(Dataset{}); }, {"pixel_stats"});
}

TEST(Targets, OneHotAndCentred) {
  const std::vector<std::uint8_t> labels = {2, 0, 1};
  const Matrix<float> t = one_hot(labels, 3);
  const float expected[3][3] = {{0, 0, 1}, {1, 0, 0}, {0, 1, 0}};
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 3; ++j) EXPECT_EQ(t(i, j), expected[i][j]);
  const Matrix<float> c = centred_one_hot(labels, 4);
  ASSERT_EQ(c.rows(), 3U);
  ASSERT_EQ(c.cols(), 4U);
  for (std::size_t i = 0; i < 3; ++i) {
    double row_sum = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      EXPECT_EQ(c(i, j), j == labels[i] ? 0.75F : -0.25F);
      row_sum += c(i, j);
    }
    EXPECT_EQ(row_sum, 0.0);
  }
  expect_error<InvalidArgument>([&] { (void)one_hot({0, 3}, 3); }, {"one_hot", "label 3"});
  expect_error<InvalidArgument>([&] { (void)one_hot({0}, 0); }, {"one_hot", "num_classes"});
}

TEST(Subset, CopiesTheChosenRowsInOrder) {
  const Dataset d = numbered(10);
  const Dataset s = subset(d, {7, 2, 2, 9});
  ASSERT_EQ(s.size(), 4U);
  EXPECT_EQ(s.dim(), d.dim());
  const std::size_t want[] = {7, 2, 2, 9};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(origin(s, i), want[i]);
    EXPECT_EQ(s.labels[i], want[i] % 10);
  }
  expect_error<InvalidArgument>([&] { (void)subset(d, {1, 10}); }, {"subset", "index 10"});
}

TEST(Sample, UniformWithoutReplacementAndDeterministic) {
  const Dataset d = numbered(100);
  Rng rng(42);
  const Dataset s = sample(d, 30, rng);
  ASSERT_EQ(s.size(), 30U);
  std::set<std::size_t> seen;
  for (std::size_t i = 0; i < s.size(); ++i) {
    EXPECT_EQ(s.labels[i], origin(s, i) % 10);
    seen.insert(origin(s, i));
  }
  EXPECT_EQ(seen.size(), 30U) << "drawn with replacement";
  Rng again(42);
  const Dataset s2 = sample(d, 30, again);
  for (std::size_t i = 0; i < 30; ++i) EXPECT_EQ(origin(s2, i), origin(s, i));
  Rng rng_all(1);
  EXPECT_EQ(sample(d, 100, rng_all).size(), 100U);
  expect_error<InvalidArgument>([&] { (void)sample(d, 101, rng); }, {"sample", "101"});
}

TEST(Sample, StratifiedQuotas) {
  const Dataset d = numbered(200);  // 20 per class
  Rng rng(7);
  const Dataset s = sample(d, 23, rng, /*stratified=*/true);
  const auto h = label_histogram(s);
  for (std::size_t c = 0; c < 10; ++c) EXPECT_EQ(h[c], c < 3 ? 3U : 2U) << "class " << c;
  std::set<std::size_t> seen;
  for (std::size_t i = 0; i < s.size(); ++i) seen.insert(origin(s, i));
  EXPECT_EQ(seen.size(), 23U);
  Dataset no_nines = numbered(200);
  for (auto& l : no_nines.labels) l = l == 9 ? 8 : l;
  Rng rng2(7);
  expect_error<InvalidArgument>([&] { (void)sample(no_nines, 10, rng2, true); },
                                {"sample", "class 9", "has 0"});
}

TEST(SplitValidation, DisjointCoveringSortedDeterministic) {
  const Dataset d = numbered(50);
  const Splits s = split_validation(d, 12, 2024);
  ASSERT_EQ(s.test.size(), 12U);
  ASSERT_EQ(s.train.size(), 38U);
  EXPECT_EQ(s.train.name, "numbered/train");
  EXPECT_EQ(s.test.name, "numbered/validation");
  std::vector<std::size_t> all;
  for (const Dataset* part : {&s.train, &s.test}) {
    for (std::size_t i = 0; i < part->size(); ++i) {
      all.push_back(origin(*part, i));
      if (i > 0) {
        EXPECT_LT(origin(*part, i - 1), origin(*part, i)) << "original order kept";
      }
    }
  }
  std::sort(all.begin(), all.end());
  std::vector<std::size_t> expected(50);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(all, expected);
  const Splits again = split_validation(d, 12, 2024);
  for (std::size_t i = 0; i < 12; ++i) EXPECT_EQ(origin(again.test, i), origin(s.test, i));
  const Splits other = split_validation(d, 12, 2025);
  bool differs = false;
  for (std::size_t i = 0; i < 12; ++i) differs |= origin(other.test, i) != origin(s.test, i);
  EXPECT_TRUE(differs) << "the seed has no effect";
  expect_error<InvalidArgument>([&] { (void)split_validation(d, 51, 1); },
                                {"split_validation", "51"});
}

TEST(LabelHistogram, CountsAndRejectsOutOfRange) {
  Dataset d = numbered(25);
  EXPECT_EQ(label_histogram(d), (std::vector<std::size_t>{3, 3, 3, 3, 3, 2, 2, 2, 2, 2}));
  d.labels[4] = 10;
  expect_error<InvalidArgument>([&] { (void)label_histogram(d); }, {"label_histogram", "10"});
}

}  // namespace
}  // namespace catapult::data

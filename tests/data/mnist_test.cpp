// The real MNIST files (skipped unless $CATAPULT_MNIST_DIR holds them; scripts/test.sh fetches
// them) and Fashion-MNIST from Debian's dataset-fashion-mnist (skipped when not installed).
#include "support/mnist.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "catapult/data/dataset.hpp"
#include "catapult/data/fetch.hpp"
#include "catapult/data/sha256.hpp"
#include "fixtures.hpp"

namespace catapult::data {
namespace {

const std::vector<std::size_t> kTrainCounts = {5923, 6742, 5958, 6131, 5842,
                                               5421, 5918, 6265, 5851, 5949};
const std::vector<std::size_t> kTestCounts = {980, 1135, 1032, 1010, 982,
                                              892, 958,  1028, 974,  1009};

void expect_unit_pixels(const Dataset& d) {
  const auto [lo, hi] = std::minmax_element(d.images.data(), d.images.data() + d.images.size());
  EXPECT_EQ(*lo, 0.0F) << d.name;
  EXPECT_EQ(*hi, 1.0F) << d.name;
}

TEST(RealMnist, CountsShapesHistogramsAndPixelRange) {
  CATAPULT_REQUIRE_MNIST(dir);
  const Splits s = load_mnist(dir);  // verifies the four SHA-256 sums
  EXPECT_EQ(s.train.size(), 60000U);
  EXPECT_EQ(s.test.size(), 10000U);
  for (const Dataset* d : {&s.train, &s.test}) {
    EXPECT_EQ(d->image_rows, 28U);
    EXPECT_EQ(d->image_cols, 28U);
    EXPECT_EQ(d->dim(), 784U);
    EXPECT_EQ(d->images.rows(), d->size());
    EXPECT_EQ(d->num_classes, 10U);
    expect_unit_pixels(*d);
  }
  EXPECT_EQ(label_histogram(s.train), kTrainCounts);
  EXPECT_EQ(label_histogram(s.test), kTestCounts);
}

TEST(RealMnist, FileSumsMatchDesign) {
  CATAPULT_REQUIRE_MNIST(dir);
  for (const auto& f : mnist_files()) {
    const auto path = dir / f.name;
    if (!std::filesystem::exists(path)) continue;  // a .gz copy is checked by load_mnist
    EXPECT_EQ(to_hex(sha256_file(path)), f.sha256) << path;
  }
}

TEST(RealMnist, StratifiedSampleAndValidationSplit) {
  CATAPULT_REQUIRE_MNIST(dir);
  const Splits s = load_mnist(dir);
  Rng rng(1);
  const Dataset small = sample(s.train, 1000, rng, /*stratified=*/true);
  EXPECT_EQ(label_histogram(small), std::vector<std::size_t>(10, 100));
  const Splits tv = split_validation(s.train, 10000, 123);
  EXPECT_EQ(tv.train.size(), 50000U);
  EXPECT_EQ(tv.test.size(), 10000U);
  const auto h_train = label_histogram(tv.train);
  const auto h_val = label_histogram(tv.test);
  for (std::size_t c = 0; c < 10; ++c) EXPECT_EQ(h_train[c] + h_val[c], kTrainCounts[c]);
}

TEST(RealMnist, FetchFromDirectoryVerifiesWithoutNetwork) {
  CATAPULT_REQUIRE_MNIST(dir);
  const test::TempDir dest;
  FetchOptions o;
  o.dest = dest.path();
  o.from_dir = dir;
  o.use_mirrors = false;
  o.npm_package.clear();
  const FetchReport r = fetch_mnist(o);
  EXPECT_EQ(r.files.size(), 4U);
  EXPECT_TRUE(r.failures.empty());
  EXPECT_EQ(load_mnist(dest.path()).test.size(), 10000U);
}

TEST(FashionMnist, DebianPackage) {
  if (!std::filesystem::exists(std::filesystem::path(kFashionMnistDir) /
                               "t10k-labels-idx1-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist not installed (scripts/setup.sh installs it)";
  const Splits s = load_fashion_mnist();
  EXPECT_EQ(s.train.size(), 60000U);
  EXPECT_EQ(s.test.size(), 10000U);
  EXPECT_EQ(s.train.dim(), 784U);
  EXPECT_EQ(label_histogram(s.train), std::vector<std::size_t>(10, 6000));
  EXPECT_EQ(label_histogram(s.test), std::vector<std::size_t>(10, 1000));
  expect_unit_pixels(s.train);
  expect_unit_pixels(s.test);
}

}  // namespace
}  // namespace catapult::data

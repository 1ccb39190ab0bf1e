#pragma once
/// @file Labelled image datasets (MNIST, Fashion-MNIST) in memory, their targets for MSE and
/// cross-entropy, deterministic splits and subsets.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "catapult/core/matrix.hpp"
#include "catapult/core/rng.hpp"

namespace catapult::data {

/// n labelled images, flattened row-major: images is [n, rows·cols] of floats.
struct Dataset {
  Matrix<float> images;              ///< [n, image_rows·image_cols]
  std::vector<std::uint8_t> labels;  ///< n labels in [0, num_classes)
  std::size_t image_rows = 0;        ///< 28 for MNIST
  std::size_t image_cols = 0;        ///< 28 for MNIST
  std::size_t num_classes = 10;
  std::string name;  ///< e.g. "mnist/train"

  [[nodiscard]] std::size_t size() const noexcept { return labels.size(); }
  [[nodiscard]] std::size_t dim() const noexcept { return images.cols(); }
};

/// How pixels become floats.
enum class Normalization : unsigned char {
  UnitInterval,  ///< x = byte / 255, in [0, 1] (the default)
  Standardize,  ///< x = (byte/255 − μ)/σ with μ, σ the mean and std over the *training* pixels
};

struct LoadOptions {
  Normalization normalization = Normalization::UnitInterval;
  /// Verify the SHA-256 of each file against the known MNIST sums (DESIGN.md); off for
  /// Fashion-MNIST or custom IDX files.
  bool verify_checksums = true;
};

/// Train and test parts of a dataset.
struct Splits {
  Dataset train;
  Dataset test;
};

/// One of the four files of an MNIST-format dataset and, when known, the SHA-256 of its
/// decompressed contents.
struct DataFileSpec {
  std::string_view name;    ///< e.g. "train-images-idx3-ubyte" (without .gz)
  std::string_view sha256;  ///< lower-case hex, empty when unknown
};

/// The four MNIST files with the SHA-256 sums of DESIGN.md, in the order train images,
/// train labels, test images, test labels.
[[nodiscard]] std::span<const DataFileSpec> mnist_files() noexcept;

/// Where a dataset file `name` lives in dir: dir/name if it exists, else dir/name.gz if that
/// exists. Throws IoError naming both paths when neither exists.
[[nodiscard]] std::filesystem::path find_data_file(const std::filesystem::path& dir,
                                                   std::string_view name);

/// Loads one images/labels pair of IDX files (raw or .gz; images ubyte [n, rows, cols], labels
/// ubyte [n]) as a Dataset with pixels byte/255. Throws IoError or DataError naming the file and
/// the problem: bad header, truncated, no images, labels ≥ num_classes, image and label counts
/// that differ, and (when the expected sums are non-empty and verification is on) a SHA-256
/// mismatch. options.normalization is ignored here (standardization needs training statistics;
/// see standardize()).
[[nodiscard]] Dataset load_idx_dataset(const std::filesystem::path& images_file,
                                       const std::filesystem::path& labels_file, std::string name,
                                       std::size_t num_classes = 10,
                                       std::string_view images_sha256 = {},
                                       std::string_view labels_sha256 = {},
                                       const LoadOptions& options = {});

/// Summary statistics of the pixel values (over all images and pixels, accumulated in double).
struct PixelStats {
  double mean = 0;  ///< arithmetic mean
  double std = 0;   ///< population standard deviation
  float min = 0;
  float max = 0;
};

/// Pixel statistics of d. Throws InvalidArgument if d is empty.
[[nodiscard]] PixelStats pixel_stats(const Dataset& d);

/// x ← (x − mean)/std for every pixel. Throws InvalidArgument unless std > 0 and finite.
void standardize(Dataset& d, double mean, double std);

/// Loads the four MNIST IDX files (raw or .gz: train-images-idx3-ubyte[.gz], …) from dir, names
/// "mnist/train" and "mnist/test". With Normalization::Standardize both parts use the mean and
/// std of the training pixels. Throws IoError (missing, unreadable) or DataError (corrupt,
/// forged, checksum mismatch), each naming the file and what is wrong.
[[nodiscard]] Splits load_mnist(const std::filesystem::path& dir, const LoadOptions& options = {});

/// Where Debian's dataset-fashion-mnist package installs the four .gz files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// Loads Fashion-MNIST from dir (default: where Debian's dataset-fashion-mnist installs it,
/// /usr/share/datasets/fashion-mnist, four .gz files), names "fashion-mnist/train" and
/// "fashion-mnist/test". No reference sums are known, so options.verify_checksums has no effect.
/// Same errors as load_mnist.
[[nodiscard]] Splits load_fashion_mnist(const std::filesystem::path& dir = kFashionMnistDir,
                                        const LoadOptions& options = {});

/// Targets for a loss: [n, num_classes]; row i has `on` at labels[i] and `off` elsewhere.
/// one_hot(labels, 10) gives {0,1} targets; one_hot(labels, 10, 1 − 1/k, −1/k) gives centred ones
/// (see centred_one_hot). Throws InvalidArgument if num_classes is 0 or a label ≥ num_classes.
[[nodiscard]] Matrix<float> one_hot(const std::vector<std::uint8_t>& labels,
                                    std::size_t num_classes, float on = 1.0F, float off = 0.0F);

/// Centred targets for MSE: one_hot(labels, k, 1 − 1/k, −1/k), so every row sums to zero.
[[nodiscard]] Matrix<float> centred_one_hot(const std::vector<std::uint8_t>& labels,
                                            std::size_t num_classes);

/// The samples at the given indices, in that order (repeats allowed). Throws InvalidArgument if
/// an index is ≥ d.size().
[[nodiscard]] Dataset subset(const Dataset& d, const std::vector<std::size_t>& indices);

/// A random subset of n samples (without replacement), drawn with rng; if stratified, each class
/// contributes n/num_classes samples (the first n % num_classes classes one more), and the
/// result is shuffled so classes interleave. Throws InvalidArgument if n > d.size() or, when
/// stratified, a class has fewer samples than its quota.
[[nodiscard]] Dataset sample(const Dataset& d, std::size_t n, Rng& rng, bool stratified = false);

/// Deterministic split of d into (train, validation) with validation_size samples chosen by a
/// shuffle seeded with seed (Rng(seed)); both parts keep the original order of their samples and
/// are named d.name + "/train" and d.name + "/validation" (Splits::test holds the validation
/// part). Throws InvalidArgument if validation_size > d.size().
[[nodiscard]] Splits split_validation(const Dataset& d, std::size_t validation_size,
                                      std::uint64_t seed);

/// Count of each label, num_classes entries. Throws InvalidArgument if a label is ≥ num_classes.
[[nodiscard]] std::vector<std::size_t> label_histogram(const Dataset& d);

}  // namespace catapult::data

#pragma once
/// @file Labelled image datasets (MNIST, Fashion-MNIST) in memory, their targets for MSE and
/// cross-entropy, deterministic splits and subsets.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "catapult/core/matrix.hpp"
#include "catapult/core/rng.hpp"

namespace catapult::data {

/// n labelled images, flattened row-major: images is [n, rows·cols] of floats.
struct Dataset {
  Matrix<float> images;               ///< [n, image_rows·image_cols]
  std::vector<std::uint8_t> labels;   ///< n labels in [0, num_classes)
  std::size_t image_rows = 0;         ///< 28 for MNIST
  std::size_t image_cols = 0;         ///< 28 for MNIST
  std::size_t num_classes = 10;
  std::string name;                   ///< e.g. "mnist/train"

  [[nodiscard]] std::size_t size() const noexcept { return labels.size(); }
  [[nodiscard]] std::size_t dim() const noexcept { return images.cols(); }
};

/// How pixels become floats.
enum class Normalization : unsigned char {
  UnitInterval,  ///< x = byte / 255, in [0, 1] (the default)
  Standardize,   ///< x = (byte/255 − μ)/σ with μ, σ the mean and std over the *training* pixels
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

/// Loads the four MNIST IDX files (raw or .gz: train-images-idx3-ubyte[.gz], …) from dir.
/// Throws IoError (missing, unreadable) or DataError (corrupt, forged, checksum mismatch), each
/// naming the file and what is wrong.
[[nodiscard]] Splits load_mnist(const std::filesystem::path& dir, const LoadOptions& options = {});

/// Loads Fashion-MNIST from dir (default: where Debian's dataset-fashion-mnist installs it,
/// /usr/share/datasets/fashion-mnist). Same errors as load_mnist.
[[nodiscard]] Splits load_fashion_mnist(
    const std::filesystem::path& dir = "/usr/share/datasets/fashion-mnist",
    const LoadOptions& options = {});

/// Targets for a loss: [n, num_classes]; row i has `on` at labels[i] and `off` elsewhere.
/// one_hot(labels, 10) gives {0,1} targets; one_hot(labels, 10, 1 − 1/k, −1/k) gives centred ones.
[[nodiscard]] Matrix<float> one_hot(const std::vector<std::uint8_t>& labels,
                                    std::size_t num_classes, float on = 1.0F, float off = 0.0F);

/// The samples at the given indices, in that order (indices must be < d.size()).
[[nodiscard]] Dataset subset(const Dataset& d, const std::vector<std::size_t>& indices);

/// A random subset of n samples (without replacement), drawn with rng; if stratified, each class
/// contributes n/num_classes samples (the first n % num_classes classes one more).
[[nodiscard]] Dataset sample(const Dataset& d, std::size_t n, Rng& rng, bool stratified = false);

/// Deterministic split of d into (train, validation) with validation_size samples chosen by a
/// shuffle seeded with seed. Throws InvalidArgument if validation_size > d.size().
[[nodiscard]] Splits split_validation(const Dataset& d, std::size_t validation_size,
                                      std::uint64_t seed);

/// Count of each label, num_classes entries.
[[nodiscard]] std::vector<std::size_t> label_histogram(const Dataset& d);

}  // namespace catapult::data

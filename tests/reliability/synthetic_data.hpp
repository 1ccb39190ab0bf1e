#pragma once
// A tiny labelled image set in the MNIST file layout (the four IDX files, uncompressed), for
// running `catapult train --dataset fashion-mnist --data-dir <dir>` (Fashion-MNIST has no fixed
// checksums, so any content loads). Images are 8x8; each class has its own mean pattern plus
// noise, so training makes visible progress.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "catapult/core/rng.hpp"
#include "catapult/data/idx.hpp"

namespace catapult::test {

inline void write_idx_file(const std::filesystem::path& path, std::vector<std::uint32_t> dims,
                           std::vector<std::uint8_t> bytes) {
  data::IdxArray a;
  a.type = data::IdxType::UInt8;
  a.dims = std::move(dims);
  a.data = std::move(bytes);
  const auto encoded = data::encode_idx(a);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(encoded.data()),
            static_cast<std::streamsize>(encoded.size()));
}

/// Writes train (n_train samples) and t10k (n_test samples) files into dir.
inline void write_synthetic_dataset(const std::filesystem::path& dir, std::size_t n_train,
                                    std::size_t n_test, std::uint64_t seed = 1) {
  constexpr std::uint32_t side = 8;
  constexpr std::size_t dim = side * side;
  Rng rng(seed);
  std::vector<std::uint8_t> pattern(10 * dim);
  for (auto& p : pattern) p = static_cast<std::uint8_t>(rng.uniform_index(256));
  auto make = [&](const std::string& prefix, std::size_t n) {
    std::vector<std::uint8_t> images(n * dim), labels(n);
    for (std::size_t i = 0; i < n; ++i) {
      labels[i] = static_cast<std::uint8_t>(rng.uniform_index(10));
      for (std::size_t j = 0; j < dim; ++j) {
        const double v = 0.7 * pattern[labels[i] * dim + j] + 0.3 * rng.uniform(0, 255);
        images[i * dim + j] = static_cast<std::uint8_t>(v);
      }
    }
    write_idx_file(dir / (prefix + "-images-idx3-ubyte"),
                   {static_cast<std::uint32_t>(n), side, side}, std::move(images));
    write_idx_file(dir / (prefix + "-labels-idx1-ubyte"), {static_cast<std::uint32_t>(n)},
                   std::move(labels));
  };
  make("train", n_train);
  make("t10k", n_test);
}

}  // namespace catapult::test

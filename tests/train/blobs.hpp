#pragma once
// A small synthetic classification problem for trainer tests: k Gaussian blobs in d dimensions.
#include <cstddef>
#include <cstdint>

#include "catapult/core/rng.hpp"
#include "catapult/data/dataset.hpp"

namespace catapult::test {

/// n samples of k classes; class c is centred at a random point of [-1, 1]^d, noise σ.
inline data::Dataset make_blobs(std::size_t n, std::size_t d, std::size_t k, double sigma,
                                std::uint64_t seed) {
  Rng rng(seed);
  Rng centres_rng(1234);  // the same centres for every seed (train and test agree)
  Matrix<double> centres(k, d);
  for (std::size_t i = 0; i < centres.size(); ++i) centres.data()[i] = centres_rng.uniform(-1, 1);
  data::Dataset ds;
  ds.images = Matrix<float>(n, d);
  ds.labels.resize(n);
  ds.num_classes = k;
  ds.name = "blobs";
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<std::size_t>(rng.uniform_index(k));
    ds.labels[i] = static_cast<std::uint8_t>(c);
    for (std::size_t j = 0; j < d; ++j)
      ds.images(i, j) = static_cast<float>(centres(c, j) + sigma * rng.normal());
  }
  return ds;
}

}  // namespace catapult::test

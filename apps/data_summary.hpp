#pragma once
// Prints what a loaded dataset holds: counts, image size, label histogram, pixel statistics.

#include <cstdio>

#include "catapult/data/dataset.hpp"

namespace catapult::app {

inline void print_dataset_summary(const data::Dataset& d) {
  const auto stats = data::pixel_stats(d);
  std::printf("%s: %zu images of %zux%zu pixels, %zu classes\n", d.name.c_str(), d.size(),
              d.image_rows, d.image_cols, d.num_classes);
  std::printf("  labels:");
  const auto hist = data::label_histogram(d);
  for (std::size_t c = 0; c < hist.size(); ++c) std::printf(" %zu:%zu", c, hist[c]);
  std::printf("\n  pixels: mean %.4f, std %.4f, min %.4f, max %.4f\n", stats.mean, stats.std,
              static_cast<double>(stats.min), static_cast<double>(stats.max));
}

inline void print_splits_summary(const data::Splits& s) {
  print_dataset_summary(s.train);
  print_dataset_summary(s.test);
}

}  // namespace catapult::app

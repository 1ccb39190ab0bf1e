// MNIST-format datasets: loading pairs of IDX files with validation, targets, subsets, splits.
#include "catapult/data/dataset.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "catapult/core/error.hpp"
#include "catapult/data/idx.hpp"

namespace catapult::data {
namespace {

// SHA-256 of the decompressed files (DESIGN.md, "Data").
constexpr std::array<DataFileSpec, 4> kMnistFiles = {{
    {"train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"},
    {"train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"},
    {"t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"},
    {"t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
}};

void check_sha256(const std::filesystem::path& file, const IdxArray& array,
                  std::string_view expected) {
  if (expected.empty() || !array.sha256) return;
  const std::string actual = to_hex(*array.sha256);
  if (actual != expected)
    throw DataError(str_cat(file.string(), ": SHA-256 checksum mismatch: expected ", expected,
                            ", got ", actual, " (corrupt or not the expected file)"));
}

Splits load_four(const std::filesystem::path& dir, std::string_view prefix,
                 std::span<const DataFileSpec> files, bool have_sums, const LoadOptions& options) {
  const auto sum = [&](std::size_t i) { return have_sums ? files[i].sha256 : std::string_view{}; };
  // Looked up one by one, in the table's order, so that the first missing file is the one named
  // whatever order a compiler evaluates function arguments in (GCC and clang differ).
  std::filesystem::path paths[4];
  for (std::size_t i = 0; i < 4; ++i) paths[i] = find_data_file(dir, files[i].name);
  Splits s;
  s.train =
      load_idx_dataset(paths[0], paths[1], str_cat(prefix, "/train"), 10, sum(0), sum(1), options);
  s.test =
      load_idx_dataset(paths[2], paths[3], str_cat(prefix, "/test"), 10, sum(2), sum(3), options);
  if (s.train.image_rows != s.test.image_rows || s.train.image_cols != s.test.image_cols)
    throw DataError(str_cat(dir.string(), ": train images are ", s.train.image_rows, "x",
                            s.train.image_cols, " but test images are ", s.test.image_rows, "x",
                            s.test.image_cols));
  if (options.normalization == Normalization::Standardize) {
    const PixelStats stats = pixel_stats(s.train);
    standardize(s.train, stats.mean, stats.std);
    standardize(s.test, stats.mean, stats.std);
  }
  return s;
}

Dataset pick(const Dataset& d, const std::vector<std::size_t>& indices, std::string name) {
  Dataset out;
  out.image_rows = d.image_rows;
  out.image_cols = d.image_cols;
  out.num_classes = d.num_classes;
  out.name = std::move(name);
  out.images = Matrix<float>(indices.size(), d.dim());
  out.labels.resize(indices.size());
  for (std::size_t i = 0; i < indices.size(); ++i) {
    std::copy_n(d.images.row(indices[i]), d.dim(), out.images.row(i));
    out.labels[i] = d.labels[indices[i]];
  }
  return out;
}

}  // namespace

std::span<const DataFileSpec> mnist_files() noexcept { return kMnistFiles; }

std::filesystem::path find_data_file(const std::filesystem::path& dir, std::string_view name) {
  std::error_code ec;
  auto raw = dir / name;
  if (std::filesystem::exists(raw, ec)) return raw;
  auto gz = dir / name;
  gz += ".gz";
  if (std::filesystem::exists(gz, ec)) return gz;
  throw IoError(str_cat(raw.string(), ": no such file (nor ", gz.filename().string(),
                        "); run `catapult fetch-data --dir ", dir.string(), "`"));
}

Dataset load_idx_dataset(const std::filesystem::path& images_file,
                         const std::filesystem::path& labels_file, std::string name,
                         std::size_t num_classes, std::string_view images_sha256,
                         std::string_view labels_sha256, const LoadOptions& options) {
  if (num_classes == 0 || num_classes > 256)
    throw InvalidArgument(
        str_cat("load_idx_dataset: num_classes ", num_classes, " not in [1, 256]"));
  IdxReadOptions image_opts;
  image_opts.type = IdxType::UInt8;
  image_opts.rank = 3;
  image_opts.compute_sha256 = options.verify_checksums && !images_sha256.empty();
  IdxReadOptions label_opts;
  label_opts.type = IdxType::UInt8;
  label_opts.rank = 1;
  label_opts.compute_sha256 = options.verify_checksums && !labels_sha256.empty();

  const IdxArray labels = read_idx(labels_file, label_opts);
  check_sha256(labels_file, labels, labels_sha256);
  const IdxArray images = read_idx(images_file, image_opts);
  check_sha256(images_file, images, images_sha256);

  const std::size_t n = images.dims[0];
  const std::size_t rows = images.dims[1];
  const std::size_t cols = images.dims[2];
  if (n == 0 || rows == 0 || cols == 0)
    throw DataError(str_cat(images_file.string(), ": no images (header dimensions ", n, "x", rows,
                            "x", cols, ")"));
  if (labels.dims[0] != n)
    throw DataError(str_cat(images_file.string(), " holds ", n, " images but ",
                            labels_file.string(), " holds ", labels.dims[0],
                            " labels: image and label counts differ"));
  for (std::size_t i = 0; i < n; ++i) {
    if (labels.data[i] >= num_classes)
      throw DataError(str_cat(labels_file.string(), ": label ", int{labels.data[i]}, " at index ",
                              i, " is out of range [0, ", num_classes, ")"));
  }

  Dataset d;
  d.name = std::move(name);
  d.image_rows = rows;
  d.image_cols = cols;
  d.num_classes = num_classes;
  d.labels = labels.data;
  d.images = Matrix<float>(n, rows * cols);
  float* out = d.images.data();
  const std::uint8_t* in = images.data.data();
  for (std::size_t i = 0; i < images.data.size(); ++i) out[i] = static_cast<float>(in[i]) / 255.0F;
  return d;
}

PixelStats pixel_stats(const Dataset& d) {
  if (d.images.empty())
    throw InvalidArgument(str_cat("pixel_stats: dataset '", d.name, "' is empty"));
  const float* x = d.images.data();
  const std::size_t n = d.images.size();
  double sum = 0;
  float lo = x[0];
  float hi = x[0];
  for (std::size_t i = 0; i < n; ++i) {
    sum += x[i];
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  const double mean = sum / static_cast<double>(n);
  double ss = 0;  // two-pass variance: no cancellation
  for (std::size_t i = 0; i < n; ++i) ss += (x[i] - mean) * (x[i] - mean);
  return {mean, std::sqrt(ss / static_cast<double>(n)), lo, hi};
}

void standardize(Dataset& d, double mean, double std) {
  if (!(std > 0) || !std::isfinite(std) || !std::isfinite(mean))
    throw InvalidArgument(str_cat("standardize: mean ", mean, " and std ", std,
                                  " (std must be positive and finite)"));
  float* x = d.images.data();
  for (std::size_t i = 0; i < d.images.size(); ++i) x[i] = static_cast<float>((x[i] - mean) / std);
}

Splits load_mnist(const std::filesystem::path& dir, const LoadOptions& options) {
  return load_four(dir, "mnist", kMnistFiles, true, options);
}

Splits load_fashion_mnist(const std::filesystem::path& dir, const LoadOptions& options) {
  // Same file names as MNIST; sums unknown (Debian recompresses the upstream .gz files).
  return load_four(dir, "fashion-mnist", kMnistFiles, false, options);
}

Matrix<float> one_hot(const std::vector<std::uint8_t>& labels, std::size_t num_classes, float on,
                      float off) {
  if (num_classes == 0) throw InvalidArgument("one_hot: num_classes is 0");
  Matrix<float> t(labels.size(), num_classes, off);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= num_classes)
      throw InvalidArgument(str_cat("one_hot: label ", int{labels[i]}, " at index ", i,
                                    " is not below num_classes ", num_classes));
    t(i, labels[i]) = on;
  }
  return t;
}

Matrix<float> centred_one_hot(const std::vector<std::uint8_t>& labels, std::size_t num_classes) {
  if (num_classes == 0) throw InvalidArgument("centred_one_hot: num_classes is 0");
  const auto k = static_cast<double>(num_classes);
  return one_hot(labels, num_classes, static_cast<float>(1.0 - 1.0 / k),
                 static_cast<float>(-1.0 / k));
}

Dataset subset(const Dataset& d, const std::vector<std::size_t>& indices) {
  for (std::size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] >= d.size())
      throw InvalidArgument(str_cat("subset: index ", indices[i], " at position ", i,
                                    " is not below the dataset size ", d.size()));
  }
  return pick(d, indices, d.name);
}

Dataset sample(const Dataset& d, std::size_t n, Rng& rng, bool stratified) {
  if (n > d.size()) throw InvalidArgument(str_cat("sample: n = ", n, " > dataset size ", d.size()));
  std::vector<std::size_t> chosen;
  chosen.reserve(n);
  if (!stratified) {
    std::vector<std::size_t> idx(d.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    // Partial Fisher–Yates: the first n positions are a uniform sample without replacement.
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t j = i + static_cast<std::size_t>(rng.uniform_index(idx.size() - i));
      std::swap(idx[i], idx[j]);
    }
    chosen.assign(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(n));
  } else {
    const std::size_t k = d.num_classes;
    if (k == 0) throw InvalidArgument("sample: dataset has 0 classes");
    std::vector<std::vector<std::size_t>> by_class(k);
    for (std::size_t i = 0; i < d.size(); ++i) {
      if (d.labels[i] >= k)
        throw InvalidArgument(str_cat("sample: label ", int{d.labels[i]}, " at index ", i,
                                      " is not below num_classes ", k));
      by_class[d.labels[i]].push_back(i);
    }
    for (std::size_t c = 0; c < k; ++c) {
      const std::size_t quota = n / k + (c < n % k ? 1 : 0);
      auto& idx = by_class[c];
      if (quota > idx.size())
        throw InvalidArgument(str_cat("sample: stratified sample of ", n, " needs ", quota,
                                      " samples of class ", c, ", dataset has ", idx.size()));
      for (std::size_t i = 0; i < quota; ++i) {
        const std::size_t j = i + static_cast<std::size_t>(rng.uniform_index(idx.size() - i));
        std::swap(idx[i], idx[j]);
      }
      chosen.insert(chosen.end(), idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(quota));
    }
    rng.shuffle(chosen.begin(), chosen.end());
  }
  return pick(d, chosen, d.name);
}

Splits split_validation(const Dataset& d, std::size_t validation_size, std::uint64_t seed) {
  if (validation_size > d.size())
    throw InvalidArgument(str_cat("split_validation: validation_size ", validation_size,
                                  " > dataset size ", d.size()));
  std::vector<std::size_t> idx(d.size());
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  Rng rng(seed);
  rng.shuffle(idx.begin(), idx.end());
  std::vector<std::size_t> val(idx.begin(),
                               idx.begin() + static_cast<std::ptrdiff_t>(validation_size));
  std::vector<std::size_t> train(idx.begin() + static_cast<std::ptrdiff_t>(validation_size),
                                 idx.end());
  std::sort(val.begin(), val.end());
  std::sort(train.begin(), train.end());
  Splits s;
  s.train = pick(d, train, d.name + "/train");
  s.test = pick(d, val, d.name + "/validation");
  return s;
}

std::vector<std::size_t> label_histogram(const Dataset& d) {
  std::vector<std::size_t> h(d.num_classes, 0);
  for (std::size_t i = 0; i < d.labels.size(); ++i) {
    if (d.labels[i] >= d.num_classes)
      throw InvalidArgument(str_cat("label_histogram: label ", int{d.labels[i]}, " at index ", i,
                                    " is not below num_classes ", d.num_classes));
    ++h[d.labels[i]];
  }
  return h;
}

}  // namespace catapult::data

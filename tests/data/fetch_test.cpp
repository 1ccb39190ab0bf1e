// fetch_dataset with small files and their sums: sources in order, verification before anything
// lands in the destination, no re-fetch of verified files, clear failures. No network is used
// (the mirror test points curl at a closed local port; npm is disabled).
#include "catapult/data/fetch.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "catapult/core/error.hpp"
#include "catapult/data/sha256.hpp"
#include "fixtures.hpp"

namespace catapult::data {
namespace {

using test::Bytes;
using test::expect_error;
using test::ramp;
using test::TempDir;
using test::write_file;

/// Two small "dataset files" with known contents and sums.
struct Fixture {
  Bytes a = ramp(1000, 5);
  Bytes b = ramp(333, 77);
  std::string sum_a = to_hex(sha256(a));
  std::string sum_b = to_hex(sha256(b));
  std::vector<DataFileSpec> specs{{"file-a", sum_a}, {"file-b", sum_b}};
};

FetchOptions offline(const std::filesystem::path& dest, std::vector<std::string>* log = nullptr) {
  FetchOptions o;
  o.dest = dest;
  o.use_mirrors = false;
  o.npm_package.clear();
  if (log != nullptr) o.log = [log](const std::string& line) { log->push_back(line); };
  return o;
}

bool has_stray_files(const std::filesystem::path& dir) {
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (name != "file-a" && name != "file-b") return true;
  }
  return false;
}

TEST(Fetch, FromDirectoryRawAndGzipThenAlreadyPresent) {
  const Fixture f;
  const TempDir src;
  const TempDir dest;
  write_file(src / "file-a", f.a);
  write_file(src / "file-b.gz", test::gzip(f.b));
  std::vector<std::string> log;
  FetchOptions o = offline(dest / "sub" / "dir", &log);
  o.from_dir = src.path();
  const FetchReport r = fetch_dataset(f.specs, o);
  ASSERT_EQ(r.files.size(), 2U);
  EXPECT_EQ(r.files[0].source, "directory " + src.path().string());
  EXPECT_EQ(test::read_file(dest / "sub/dir/file-a"), f.a);
  EXPECT_EQ(test::read_file(dest / "sub/dir/file-b"), f.b);  // stored decompressed
  EXPECT_FALSE(has_stray_files(dest / "sub/dir"));
  EXPECT_FALSE(log.empty());

  const FetchReport again = fetch_dataset(f.specs, offline(dest / "sub" / "dir"));
  for (const auto& file : again.files) EXPECT_EQ(file.source, "already present");
}

TEST(Fetch, ChecksumMismatchLeavesNothingInDestination) {
  const Fixture f;
  const TempDir src;
  const TempDir dest;
  Bytes forged = f.a;
  forged[10] ^= 1;
  write_file(src / "file-a", forged);
  write_file(src / "file-b", f.b);
  FetchOptions o = offline(dest.path());
  o.from_dir = src.path();
  expect_error<IoError>([&] { (void)fetch_dataset(f.specs, o); },
                        {"could not fetch file-a", "file-a", "SHA-256 checksum mismatch", f.sum_a,
                         "directory " + src.path().string()});
  EXPECT_FALSE(std::filesystem::exists(dest / "file-a"));
  EXPECT_EQ(test::read_file(dest / "file-b"), f.b);  // the good file is kept
  EXPECT_FALSE(has_stray_files(dest.path()));
}

TEST(Fetch, CorruptFileInDestinationIsFetchedAgain) {
  const Fixture f;
  const TempDir src;
  const TempDir dest;
  write_file(src / "file-a", f.a);
  write_file(src / "file-b", f.b);
  write_file(dest / "file-a", ramp(1000, 6));  // right size, wrong bytes
  write_file(dest / "file-b", f.b);
  FetchOptions o = offline(dest.path());
  o.from_dir = src.path();
  const FetchReport r = fetch_dataset(f.specs, o);
  EXPECT_EQ(test::read_file(dest / "file-a"), f.a);
  ASSERT_EQ(r.files.size(), 2U);
  EXPECT_EQ(r.files[0].name, "file-b");
  EXPECT_EQ(r.files[0].source, "already present");
  EXPECT_EQ(r.files[1].name, "file-a");
}

TEST(Fetch, EverySourceFailing) {
  const Fixture f;
  const TempDir dest;
  expect_error<IoError>([&] { (void)fetch_dataset(f.specs, offline(dest.path())); },
                        {"could not fetch file-a, file-b", "no source"});
  FetchOptions o = offline(dest.path());
  o.from_dir = dest / "does-not-exist";
  expect_error<IoError>([&] { (void)fetch_dataset(f.specs, o); },
                        {"does-not-exist", "not a directory"});
}

TEST(Fetch, UnreachableMirrorFailsAndIsReported) {
  if (std::system("command -v curl >/dev/null 2>&1") != 0) GTEST_SKIP() << "curl not installed";
  const Fixture f;
  const TempDir dest;
  FetchOptions o = offline(dest.path());
  o.use_mirrors = true;
  o.mirrors = {"https://127.0.0.1:1/mnist/"};  // port 1: connection refused at once
  o.connect_timeout_s = 2;
  o.download_timeout_s = 5;
  expect_error<IoError>(
      [&] { (void)fetch_dataset(f.specs, o); },
      {"https://127.0.0.1:1/mnist/file-a.gz", "curl exit code", "skipping this mirror"});
  EXPECT_FALSE(has_stray_files(dest.path()));
}

TEST(Fetch, SpecsWithoutSumsAreRejected) {
  const TempDir dest;
  const std::vector<DataFileSpec> specs{{"x", ""}};
  expect_error<InvalidArgument>([&] { (void)fetch_dataset(specs, offline(dest.path())); },
                                {"fetch_dataset", "x"});
}

TEST(Fetch, DefaultDirectoryFollowsTheEnvironment) {
  // Restores the variables it changes.
  struct Saved {
    std::string name;
    std::optional<std::string> value;
  };
  std::vector<Saved> saved;
  for (const char* name : {"CATAPULT_DATA_DIR", "XDG_CACHE_HOME", "HOME"}) {
    const char* v = std::getenv(name);
    saved.push_back({name, v != nullptr ? std::optional<std::string>(v) : std::nullopt});
  }
  ::setenv("CATAPULT_DATA_DIR", "/data/mnist", 1);
  ::setenv("XDG_CACHE_HOME", "/xdg", 1);
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(default_mnist_dir(), std::filesystem::path("/data/mnist"));
  ::unsetenv("CATAPULT_DATA_DIR");
  EXPECT_EQ(default_mnist_dir(), std::filesystem::path("/xdg/catapult/mnist"));
  ::unsetenv("XDG_CACHE_HOME");
  EXPECT_EQ(default_mnist_dir(), std::filesystem::path("/home/u/.cache/catapult/mnist"));
  for (const auto& s : saved) {
    if (s.value)
      ::setenv(s.name.c_str(), s.value->c_str(), 1);
    else
      ::unsetenv(s.name.c_str());
  }
}

}  // namespace
}  // namespace catapult::data

#include "catapult/train/checkpoint.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <bit>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "catapult/core/error.hpp"
#include "catapult/core/rng.hpp"
#include "temp_dir.hpp"

namespace catapult::train {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using test::TempDir;

std::vector<unsigned char> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, const std::vector<unsigned char>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Recomputes the trailing CRC-32 of an image with zlib (independently of the code under test), so
// structurally forged files reach the structural checks.
void reseal(std::vector<unsigned char>& image) {
  const auto crc = static_cast<std::uint32_t>(
      crc32(crc32(0L, Z_NULL, 0), image.data(), static_cast<uInt>(image.size() - 4)));
  for (int i = 0; i < 4; ++i)
    image[image.size() - 4 + i] = static_cast<unsigned char>(crc >> (8 * i));
}

Checkpoint sample_checkpoint(std::size_t params = 37) {
  Checkpoint c;
  c.put_u64("step", 1234);
  Rng rng(7);
  c.put_u64s("rng", {rng.state().begin(), rng.state().end()});
  std::vector<float> p(params);
  for (auto& x : p) x = static_cast<float>(rng.normal());
  c.put_f32s("params", p.data(), p.size());
  const std::vector<double> acc = {0.5, -0.0, 1e-310, std::numeric_limits<double>::infinity()};
  c.put_f64s("accumulator", acc.data(), acc.size());
  c.put_text("config", std::string("{\"lr\": 0.1}\0tail", 16));
  return c;
}

TEST(Checkpoint, RoundTripIsBitExact) {
  Checkpoint c = sample_checkpoint();
  const float odd[] = {-0.0F, std::bit_cast<float>(0x7FC01234U),
                       std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max()};
  c.put_f32s("odd", odd, 4);
  c.put_u64s("empty", {});
  c.put_u64("max", std::numeric_limits<std::uint64_t>::max());
  const auto image = c.serialize();
  const Checkpoint r = Checkpoint::deserialize(image.data(), image.size(), "mem");
  EXPECT_EQ(r.names(), c.names());
  EXPECT_EQ(r.u64("step"), 1234U);
  EXPECT_EQ(r.u64s("rng"), c.u64s("rng"));
  EXPECT_EQ(r.u64("max"), std::numeric_limits<std::uint64_t>::max());
  EXPECT_TRUE(r.u64s("empty").empty());
  const auto back = r.f32s("odd");
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(std::bit_cast<std::uint32_t>(back[i]), std::bit_cast<std::uint32_t>(odd[i])) << i;
  const auto acc = r.f64s("accumulator");
  ASSERT_EQ(acc.size(), 4U);
  EXPECT_TRUE(std::signbit(acc[1]));
  EXPECT_EQ(acc[2], 1e-310);
  EXPECT_EQ(r.text("config"), std::string("{\"lr\": 0.1}\0tail", 16));
  EXPECT_EQ(r.source(), "mem");
  // Serializing the reloaded checkpoint gives the same bytes.
  EXPECT_EQ(r.serialize(), image);
}

TEST(Checkpoint, LayoutMatchesTheDocumentedFormat) {
  Checkpoint c;
  c.put_u64("ab", 0x0102030405060708ULL);
  const auto image = c.serialize();
  std::vector<unsigned char> expected = {'C', 'A', 'T', 'A', 'P', 'C', 'K', 'P',  // magic
                                         1,   0,   0,   0,                        // version
                                         1,   0,   0,   0,                        // entries
                                         22,  0,   0,   0,   0,   0,   0,   0,    // payload bytes
                                         2,   0,   'a', 'b',                      // name
                                         1,   0,                                  // kind u64, 0
                                         1,   0,   0,   0,   0,   0,   0,   0,    // count
                                         8,   7,   6,   5,   4,   3,   2,   1,    // value
                                         0,   0,   0,   0};                       // CRC-32
  reseal(expected);
  EXPECT_EQ(image, expected);
}

TEST(Checkpoint, EveryFlippedBitIsRefused) {
  const auto image = sample_checkpoint(5).serialize();
  for (std::size_t i = 0; i < image.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto bad = image;
      bad[i] ^= static_cast<unsigned char>(1U << bit);
      EXPECT_THROW((void)Checkpoint::deserialize(bad.data(), bad.size()), DataError)
          << "byte " << i << " bit " << bit;
    }
  }
}

TEST(Checkpoint, EveryTruncationAndExtensionIsRefused) {
  const auto image = sample_checkpoint(5).serialize();
  for (std::size_t n = 0; n < image.size(); ++n) {
    EXPECT_THROW((void)Checkpoint::deserialize(image.data(), n), DataError) << n << " bytes";
  }
  auto longer = image;
  longer.push_back(0);
  try {
    (void)Checkpoint::deserialize(longer.data(), longer.size(), "x.ckpt");
    FAIL() << "an extended file was accepted";
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), HasSubstr("x.ckpt"));
    EXPECT_THAT(e.what(), HasSubstr("trailing bytes"));
  }
}

// Files with a valid checksum but a forged structure: each must be refused with a reason.
TEST(Checkpoint, ForgedStructuresAreRefused) {
  Checkpoint c;
  c.put_u64("ab", 5);
  const auto good = c.serialize();  // header 24, name len @24, name @26, kind @28, count @30
  struct Case {
    const char* what;
    std::size_t offset;
    unsigned char value;
    const char* message;
  };
  const Case cases[] = {
      {"magic", 0, 'X', "bad magic"},
      {"version", 8, 2, "unsupported format version 2"},
      {"more entries than present", 12, 2, "overruns"},
      {"zero entries", 12, 0, "unused payload bytes"},
      {"empty name", 24, 0, "name of 0 bytes"},
      {"unknown kind", 28, 9, "unknown kind 9"},
      {"reserved byte", 29, 1, "reserved"},
      {"huge count", 37, 0x40, "more than the payload holds"},
      {"short count", 30, 0, "unused payload bytes"},
  };
  for (const auto& k : cases) {
    auto bad = good;
    bad[k.offset] = k.value;
    reseal(bad);
    try {
      (void)Checkpoint::deserialize(bad.data(), bad.size(), "forged.ckpt");
      ADD_FAILURE() << k.what << ": accepted";
    } catch (const DataError& e) {
      EXPECT_THAT(e.what(), HasSubstr("forged.ckpt")) << k.what;
      EXPECT_THAT(e.what(), HasSubstr(k.message)) << k.what;
    }
  }
  // Two entries with the same name.
  Checkpoint d;
  d.put_u64("ab", 1);
  d.put_u64("cd", 2);
  auto dup = d.serialize();
  dup[24 + 2 + 2 + 2 + 8 + 8 + 2] = 'a';  // second name "cd" -> "ad"
  dup[24 + 2 + 2 + 2 + 8 + 8 + 3] = 'b';  // -> "ab"
  reseal(dup);
  EXPECT_THROW((void)Checkpoint::deserialize(dup.data(), dup.size()), DataError);
}

TEST(Checkpoint, GettersRefuseMissingOrMismatchedEntries) {
  const auto image = sample_checkpoint().serialize();
  const auto c = Checkpoint::deserialize(image.data(), image.size(), "run/ckpt");
  EXPECT_THROW((void)c.u64("nope"), DataError);
  EXPECT_THROW((void)c.f32s("step"), DataError);
  EXPECT_THROW((void)c.u64("rng"), DataError);  // 4 values, not 1
  std::vector<float> wrong(36);
  try {
    c.read_f32s("params", wrong.data(), wrong.size());
    FAIL() << "a parameter vector of another length was accepted";
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), HasSubstr("run/ckpt"));
    EXPECT_THAT(e.what(), HasSubstr("37 values, expected 36"));
  }
  Checkpoint bad;
  EXPECT_THROW(bad.put_u64("", 1), InvalidArgument);
  EXPECT_THROW(bad.put_u64(std::string(256, 'x'), 1), InvalidArgument);
}

TEST(CheckpointFile, WritesAtomicallyAndKeepsThePreviousOne) {
  TempDir dir;
  const auto path = dir.path() / "run.ckpt";
  Checkpoint first;
  first.put_u64("step", 1);
  write_checkpoint(first, path);
  EXPECT_EQ(read_checkpoint(path).u64("step"), 1U);
  EXPECT_FALSE(fs::exists(previous_checkpoint_path(path)));

  Checkpoint second;
  second.put_u64("step", 2);
  write_checkpoint(second, path);
  EXPECT_EQ(read_checkpoint(path).u64("step"), 2U);
  EXPECT_EQ(read_checkpoint(previous_checkpoint_path(path)).u64("step"), 1U);

  Checkpoint third;
  third.put_u64("step", 3);
  write_checkpoint(third, path);
  EXPECT_EQ(read_checkpoint(path).u64("step"), 3U);
  EXPECT_EQ(read_checkpoint(previous_checkpoint_path(path)).u64("step"), 2U);

  // No temporary file is left behind.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"run.ckpt", "run.ckpt.prev"}));

  CheckpointWriteOptions no_prev;
  no_prev.keep_previous = false;
  const auto other = dir.path() / "other.ckpt";
  write_checkpoint(first, other, no_prev);
  write_checkpoint(second, other, no_prev);
  EXPECT_FALSE(fs::exists(previous_checkpoint_path(other)));
}

TEST(CheckpointFile, CorruptOrTruncatedFileIsRefusedAndThePreviousOneKept) {
  TempDir dir;
  const auto path = dir.path() / "run.ckpt";
  write_checkpoint(sample_checkpoint(), path);
  Checkpoint newer = sample_checkpoint();
  newer.put_u64("step", 1235);
  write_checkpoint(newer, path);

  auto image = read_bytes(path);
  image[image.size() / 2] ^= 0x10;
  write_bytes(path, image);
  try {
    (void)read_checkpoint(path);
    FAIL() << "a corrupt checkpoint was accepted";
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), HasSubstr(path.string()));
    EXPECT_THAT(e.what(), HasSubstr("checksum mismatch"));
  }
  image[image.size() / 2] ^= 0x10;
  image.resize(image.size() - 100);
  write_bytes(path, image);
  try {
    (void)read_checkpoint(path);
    FAIL() << "a truncated checkpoint was accepted";
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), HasSubstr(path.string()));
    EXPECT_THAT(e.what(), HasSubstr("truncated"));
  }
  EXPECT_EQ(read_checkpoint(previous_checkpoint_path(path)).u64("step"), 1234U);
  EXPECT_THROW((void)read_checkpoint(dir.path() / "missing.ckpt"), IoError);
  EXPECT_THROW((void)read_checkpoint(dir.path()), RuntimeError);
}

TEST(CheckpointFile, UnwritableDirectoryIsReported) {
  TempDir dir;
  const auto file = dir.path() / "plain-file";
  write_bytes(file, {1, 2, 3});
  for (const auto& target : {dir.path() / "no-such-dir" / "run.ckpt", file / "run.ckpt"}) {
    try {
      write_checkpoint(sample_checkpoint(), target);
      ADD_FAILURE() << target << ": write reported success";
    } catch (const IoError& e) {
      EXPECT_THAT(e.what(), HasSubstr(target.string()));
    }
  }
  if (::geteuid() != 0) {  // root ignores permission bits
    const auto ro = dir.path() / "read-only";
    fs::create_directory(ro);
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
    EXPECT_THROW(write_checkpoint(sample_checkpoint(), ro / "run.ckpt"), IoError);
    fs::permissions(ro, fs::perms::owner_all);
  }
}

// A full disk, simulated with a file-size limit: write() stops short and then fails (EFBIG).
// The error is reported, the temporary file removed and the existing checkpoint left intact.
TEST(CheckpointFile, ShortWriteOnAFullDiskIsReportedAndNothingIsReplaced) {
  TempDir dir;
  const auto path = dir.path() / "run.ckpt";
  write_checkpoint(sample_checkpoint(4), path);
  const auto before = read_bytes(path);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto fill_the_disk = [&] {
    std::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{4096, 4096};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    try {
      write_checkpoint(sample_checkpoint(10000), path);
    } catch (const IoError& e) {
      const bool names_path = std::string(e.what()).find(path.string()) != std::string::npos;
      std::_Exit(names_path ? 3 : 4);
    }
    std::_Exit(5);
  };
  EXPECT_EXIT(fill_the_disk(), ::testing::ExitedWithCode(3), "");
  EXPECT_EQ(read_bytes(path), before);
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1U) << "a temporary file was left behind";
}

}  // namespace
}  // namespace catapult::train

// The IDX reader: exact round trips (raw and gzip) and forged files, each refused with a
// DataError/IoError naming the file and the problem.
#include "catapult/data/idx.hpp"

#include <gtest/gtest.h>

#include "alloc_tracker.hpp"
#include "catapult/core/error.hpp"
#include "catapult/core/rng.hpp"
#include "fixtures.hpp"

namespace catapult::data {
namespace {

using test::Bytes;
using test::expect_error;
using test::idx_file;
using test::ramp;
using test::TempDir;
using test::write_file;

constexpr std::uint8_t kUByte = 0x08;

/// A forged header may not cause an allocation anywhere near what it declares.
constexpr std::size_t kSmallAllocation = std::size_t{1} << 20;

TEST(IdxRead, RawRoundTripExactValues) {
  const TempDir dir;
  const Bytes data = ramp(3 * 2 * 4, 250);  // wraps 250..255, 0..17
  const auto file = write_file(dir / "images-idx3-ubyte", idx_file(kUByte, {3, 2, 4}, data));
  const IdxArray a = read_idx(file);
  EXPECT_EQ(a.type, IdxType::UInt8);
  EXPECT_EQ(a.dims, (std::vector<std::uint32_t>{3, 2, 4}));
  EXPECT_EQ(a.count(), 24U);
  EXPECT_EQ(a.data, data);
  EXPECT_FALSE(a.sha256.has_value());
}

TEST(IdxRead, GzipRoundTripExactValuesDetectedByMagicNotName) {
  const TempDir dir;
  const Bytes raw = idx_file(kUByte, {5, 3, 3}, ramp(45, 7));
  // No .gz suffix: gzip must be recognized by its magic bytes.
  const auto file = write_file(dir / "plain-name", test::gzip(raw));
  IdxReadOptions opts;
  opts.rank = 3;
  opts.type = IdxType::UInt8;
  opts.compute_sha256 = true;
  const IdxArray a = read_idx(file, opts);
  EXPECT_EQ(a.dims, (std::vector<std::uint32_t>{5, 3, 3}));
  EXPECT_EQ(a.data, ramp(45, 7));
  ASSERT_TRUE(a.sha256.has_value());
  EXPECT_EQ(*a.sha256, sha256(raw));  // the sum is of the decompressed file
  // A raw file named .gz is read as raw.
  const auto misnamed = write_file(dir / "raw.gz", raw);
  EXPECT_EQ(read_idx(misnamed).data, ramp(45, 7));
}

TEST(IdxRead, MultiByteTypesKeepBigEndianBytes) {
  const TempDir dir;
  const Bytes data = {0x00, 0x00, 0x01, 0x02, 0xff, 0xff, 0xff, 0xfe};  // int32 {258, -2}
  const auto file = write_file(dir / "ints", idx_file(0x0C, {2}, data));
  const IdxArray a = read_idx(file);
  EXPECT_EQ(a.type, IdxType::Int32);
  EXPECT_EQ(idx_element_size(a.type), 4U);
  EXPECT_EQ(a.data, data);
}

TEST(IdxRead, ConcatenatedGzipMembersAreOneStream) {
  const Bytes raw = idx_file(kUByte, {10}, ramp(10));
  const Bytes first(raw.begin(), raw.begin() + 7);
  const Bytes second(raw.begin() + 7, raw.end());
  Bytes gz = test::gzip(first);
  const Bytes gz2 = test::gzip(second);
  gz.insert(gz.end(), gz2.begin(), gz2.end());
  EXPECT_EQ(parse_idx(gz, "two-members").data, ramp(10));
}

TEST(IdxRead, EncodeMatchesHandBuiltBytes) {
  IdxArray a;
  a.type = IdxType::UInt8;
  a.dims = {2, 3};
  a.data = ramp(6, 40);
  EXPECT_EQ(encode_idx(a), idx_file(kUByte, {2, 3}, ramp(6, 40)));
  a.data.pop_back();
  expect_error<InvalidArgument>([&] { (void)encode_idx(a); }, {"encode_idx", "2x3"});
}

TEST(IdxForged, MissingFileIsIoErrorNamingIt) {
  const TempDir dir;
  expect_error<IoError>([&] { (void)read_idx(dir / "nowhere-idx3-ubyte"); },
                        {"nowhere-idx3-ubyte", "no such file"});
}

TEST(IdxForged, WrongMagicNumber) {
  const TempDir dir;
  Bytes bytes = idx_file(kUByte, {2}, ramp(2));
  bytes[0] = 0x12;  // magic bytes 12 00 08 01
  const auto file = write_file(dir / "bad-magic", bytes);
  expect_error<DataError>([&] { (void)read_idx(file); },
                          {file.string(), "wrong magic number", "0x12000801"});
}

TEST(IdxForged, UnsupportedTypeCode) {
  const TempDir dir;
  const auto file = write_file(dir / "bad-type", idx_file(0x07, {2}, ramp(2)));
  expect_error<DataError>([&] { (void)read_idx(file); },
                          {file.string(), "unsupported IDX type code", "0x07"});
}

TEST(IdxForged, ZeroDimensions) {
  const TempDir dir;
  const auto file = write_file(dir / "rank0", Bytes{0, 0, kUByte, 0});
  expect_error<DataError>([&] { (void)read_idx(file); }, {file.string(), "zero dimensions"});
}

TEST(IdxForged, WrongNumberOfDimensionsAndWrongType) {
  const TempDir dir;
  const auto file = write_file(dir / "labels-as-images", idx_file(kUByte, {4}, ramp(4)));
  IdxReadOptions opts;
  opts.rank = 3;
  expect_error<DataError>(
      [&] { (void)read_idx(file, opts); },
      {file.string(), "wrong number of dimensions", "expected 3", "declares 1"});
  const auto ints = write_file(dir / "ints", idx_file(0x0C, {1}, ramp(4)));
  opts.rank = 1;
  opts.type = IdxType::UInt8;
  expect_error<DataError>([&] { (void)read_idx(ints, opts); },
                          {ints.string(), "wrong element type", "ubyte", "int32"});
}

TEST(IdxForged, EmptyAndTruncatedHeader) {
  const TempDir dir;
  const auto empty = write_file(dir / "empty", {});
  expect_error<DataError>([&] { (void)read_idx(empty); }, {empty.string(), "truncated"});
  Bytes header = idx_file(kUByte, {3, 28, 28}, {});
  header.resize(9);  // magic + 1 of 3 dimensions + 1 byte
  const auto cut = write_file(dir / "cut-header", header);
  expect_error<DataError>([&] { (void)read_idx(cut); }, {cut.string(), "truncated header"});
}

TEST(IdxForged, TruncatedData) {
  const TempDir dir;
  const auto file = write_file(dir / "short", idx_file(kUByte, {3, 4, 4}, ramp(20)));
  expect_error<DataError>([&] { (void)read_idx(file); },
                          {file.string(), "truncated", "declares 48 bytes", "has 20"});
}

TEST(IdxForged, HeaderDimensionsSmallerThanFile) {
  const TempDir dir;
  const auto file = write_file(dir / "long", idx_file(kUByte, {2, 2, 2}, ramp(11)));
  expect_error<DataError>([&] { (void)read_idx(file); },
                          {file.string(), "2x2x2", "do not match the file size"});
  // The same inside a gzip stream, where the size is only known after decompressing.
  const auto gz = write_file(dir / "long.gz", test::gzip(idx_file(kUByte, {2, 2, 2}, ramp(11))));
  expect_error<DataError>([&] { (void)read_idx(gz); },
                          {gz.string(), "2x2x2", "do not match the file size"});
}

TEST(IdxForged, AbsurdDimensionsRefusedBeforeAllocating) {
  const TempDir dir;
  const std::uint32_t huge = 1U << 31;
  const Bytes forged = idx_file(kUByte, {huge, huge, 1}, ramp(16));
  const auto raw = write_file(dir / "absurd", forged);
  const auto gz = write_file(dir / "absurd.gz", test::gzip(forged));
  for (const auto& file : {raw, gz}) {
    test::start_allocation_tracking();
    expect_error<DataError>([&] { (void)read_idx(file); },
                            {file.string(), "absurd dimensions", "2147483648x2147483648x1"});
    EXPECT_LT(test::stop_allocation_tracking(), kSmallAllocation) << file;
  }
  // Three large dimensions whose product overflows 64 bits.
  const auto overflow =
      write_file(dir / "overflow", idx_file(kUByte, {0xFFFFFFFFU, 0xFFFFFFFFU, 0xFFFFFFFFU}, {}));
  expect_error<DataError>([&] { (void)read_idx(overflow); }, {"absurd dimensions"});
  // A caller's tighter bound.
  IdxReadOptions opts;
  opts.max_bytes = 100;
  const auto small = write_file(dir / "small", idx_file(kUByte, {3, 6, 6}, ramp(108)));
  expect_error<DataError>([&] { (void)read_idx(small, opts); }, {"absurd dimensions", "100-byte"});
}

TEST(IdxForged, SmallGzipDeclaringHundredsOfMegabytesAllocatesLittle) {
  // 256 MiB declared (under the 1 GiB limit), 100 bytes present: truncated, and the buffer only
  // grows with what was actually decompressed.
  const TempDir dir;
  const auto file =
      write_file(dir / "bomb.gz", test::gzip(idx_file(kUByte, {1, 16384, 16384}, ramp(100))));
  test::start_allocation_tracking();
  expect_error<DataError>([&] { (void)read_idx(file); },
                          {file.string(), "truncated", "declares 268435456 bytes", "has 100"});
  EXPECT_LT(test::stop_allocation_tracking(), kSmallAllocation);
  // The raw equivalent is refused by comparing the header with the file size.
  const auto raw = write_file(dir / "bomb", idx_file(kUByte, {1, 16384, 16384}, ramp(100)));
  test::start_allocation_tracking();
  expect_error<DataError>([&] { (void)read_idx(raw); }, {raw.string(), "truncated"});
  EXPECT_LT(test::stop_allocation_tracking(), kSmallAllocation);
}

TEST(IdxForged, CorruptGzip) {
  const TempDir dir;
  Bytes bad = {0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x03, 0x42, 0x42, 0x42};
  const auto file = write_file(dir / "garbage.gz", bad);
  expect_error<DataError>([&] { (void)read_idx(file); }, {file.string(), "gzip"});
  // A flipped byte in the CRC-32 trailer of a valid stream.
  Bytes gz = test::gzip(idx_file(kUByte, {4}, ramp(4)));
  gz[gz.size() - 6] ^= 0xFF;
  const auto crc = write_file(dir / "crc.gz", gz);
  expect_error<DataError>([&] { (void)read_idx(crc); }, {crc.string(), "corrupt gzip stream"});
}

TEST(IdxForged, TruncatedGzip) {
  const TempDir dir;
  const Bytes gz = test::gzip(idx_file(kUByte, {50, 10, 10}, ramp(5000)));
  const auto file = write_file(dir / "cut.gz", Bytes(gz.begin(), gz.begin() + gz.size() / 2));
  expect_error<DataError>([&] { (void)read_idx(file); }, {file.string(), "truncated gzip stream"});
  // Cut inside the 8-byte trailer: all data decompressed, the stream still incomplete.
  const auto trailer = write_file(dir / "trailer.gz", Bytes(gz.begin(), gz.end() - 3));
  expect_error<DataError>([&] { (void)read_idx(trailer); },
                          {trailer.string(), "truncated gzip stream"});
}

TEST(IdxForged, GarbageAfterGzipStream) {
  Bytes gz = test::gzip(idx_file(kUByte, {4}, ramp(4)));
  gz.push_back('x');
  gz.push_back('y');
  expect_error<DataError>([&] { (void)parse_idx(gz, "tail.gz"); },
                          {"tail.gz", "2 bytes of non-gzip data"});
}

TEST(IdxParse, InMemoryEntryPointChecksLikeTheFileReader) {
  const Bytes good = idx_file(kUByte, {2, 2}, ramp(4));
  EXPECT_EQ(parse_idx(good, "mem").data, ramp(4));
  EXPECT_EQ(parse_idx(test::gzip(good), "mem.gz").data, ramp(4));
  Bytes truncated = good;
  truncated.pop_back();
  expect_error<DataError>([&] { (void)parse_idx(truncated, "buffer-1"); },
                          {"buffer-1", "truncated"});
  expect_error<DataError>(
      [&] {
        (void)parse_idx(Bytes{0, 0}, "buffer-2");
      },
      {"buffer-2", "truncated"});
}

TEST(IdxParse, MutatedInputsEitherDecodeConsistentlyOrThrowDataError) {
  // Deterministic mutations (byte flips, truncations, insertions) of a raw and a gzip file:
  // each must decode to data matching its header or throw DataError, nothing else.
  const Bytes raw = idx_file(kUByte, {4, 3, 5}, ramp(60, 9));
  const Bytes gz = test::gzip(raw);
  Rng rng(20240601);
  int decoded = 0;
  int refused = 0;
  for (int trial = 0; trial < 4000; ++trial) {
    Bytes b = trial % 2 == 0 ? raw : gz;
    const int edits = 1 + static_cast<int>(rng.uniform_index(3));
    for (int e = 0; e < edits && !b.empty(); ++e) {
      const auto pos = static_cast<std::size_t>(rng.uniform_index(b.size()));
      switch (rng.uniform_index(3)) {
        case 0:
          b[pos] = static_cast<std::uint8_t>(rng.next_u64());
          break;
        case 1:
          b.resize(pos);
          break;
        default:
          b.insert(b.begin() + static_cast<std::ptrdiff_t>(pos),
                   static_cast<std::uint8_t>(rng.next_u64()));
      }
    }
    IdxReadOptions opts;
    opts.max_bytes = 1 << 16;
    try {
      const IdxArray a = parse_idx(b, "mutant", opts);
      EXPECT_EQ(a.data.size(), a.count() * idx_element_size(a.type)) << "trial " << trial;
      ++decoded;
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find("mutant"), std::string::npos) << e.what();
      ++refused;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "trial " << trial << ": unexpected exception " << e.what();
    }
  }
  EXPECT_GT(refused, 1000);  // the mutations do break most files
  EXPECT_GT(decoded, 0);     // and some survive (flipped data bytes)
}

TEST(Gunzip, BoundedAndStrict) {
  const Bytes data = ramp(10000);
  EXPECT_EQ(gunzip(test::gzip(data), "x", 10000), data);
  expect_error<DataError>([&] { (void)gunzip(test::gzip(data), "big.gz", 9999); },
                          {"big.gz", "9999-byte limit"});
  expect_error<DataError>([&] { (void)gunzip(data, "notgz", 1 << 20); }, {"notgz", "not a gzip"});
}

TEST(ReadFileDecompressed, RawAndGzip) {
  const TempDir dir;
  const Bytes data = ramp(3000, 3);
  EXPECT_EQ(read_file_decompressed(write_file(dir / "r", data), 1 << 20), data);
  EXPECT_EQ(read_file_decompressed(write_file(dir / "g", test::gzip(data)), 1 << 20), data);
  expect_error<DataError>([&] { (void)read_file_decompressed(dir / "r", 100); },
                          {(dir / "r").string(), "limit"});
  expect_error<IoError>([&] { (void)read_file_decompressed(dir / "missing", 100); }, {"missing"});
}

}  // namespace
}  // namespace catapult::data

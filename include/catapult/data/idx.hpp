#pragma once
/// @file The IDX file format (LeCun's MNIST format), raw or gzip-compressed, read with strict
/// validation so that a forged or damaged file gives a clear DataError, never a crash, a silent
/// misread or a huge allocation.
///
/// Layout: a 4-byte magic {0, 0, type code, rank}, rank big-endian uint32 dimensions, then the
/// elements in row-major order, each big-endian. Gzip is detected by its magic bytes (1f 8b),
/// never by the file name.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "catapult/data/sha256.hpp"

namespace catapult::data {

/// Element type codes of the IDX format (third magic byte).
enum class IdxType : std::uint8_t {
  UInt8 = 0x08,    ///< unsigned byte (MNIST images and labels)
  Int8 = 0x09,     ///< signed byte
  Int16 = 0x0B,    ///< big-endian 16-bit integer
  Int32 = 0x0C,    ///< big-endian 32-bit integer
  Float32 = 0x0D,  ///< big-endian IEEE binary32
  Float64 = 0x0E,  ///< big-endian IEEE binary64
};

/// Size in bytes of one element of type t.
[[nodiscard]] std::size_t idx_element_size(IdxType t) noexcept;
/// A short name for t ("ubyte", "int32", …) for messages.
[[nodiscard]] std::string_view idx_type_name(IdxType t) noexcept;

/// Default bound on the decompressed size of an IDX file's data (1 GiB). MNIST's largest file
/// holds 47 MB of data.
inline constexpr std::uint64_t kIdxDefaultMaxBytes = std::uint64_t{1} << 30;

/// What the caller expects of an IDX file; every mismatch is a DataError.
struct IdxReadOptions {
  std::optional<IdxType> type;      ///< required element type, if set
  std::optional<std::size_t> rank;  ///< required number of dimensions, if set
  /// Largest accepted data size in bytes (product of the dimensions times the element size),
  /// checked on the header before anything is allocated or decompressed further.
  std::uint64_t max_bytes = kIdxDefaultMaxBytes;
  /// Also compute the SHA-256 of the whole (decompressed) file into IdxArray::sha256.
  bool compute_sha256 = false;
};

/// A decoded IDX file: its header and its element bytes exactly as stored (big-endian).
struct IdxArray {
  IdxType type = IdxType::UInt8;
  std::vector<std::uint32_t> dims;     ///< the header's dimensions, outermost first
  std::vector<std::uint8_t> data;      ///< count() · idx_element_size(type) bytes, big-endian
  std::optional<Sha256Digest> sha256;  ///< of the decompressed file, when requested

  /// Number of elements (product of dims).
  [[nodiscard]] std::size_t count() const noexcept;
};

/// Decodes an IDX file held in memory, raw or gzip-compressed (detected by magic bytes).
/// `name` is used in messages (a file name, or anything that identifies the bytes).
/// Throws DataError ("<name>: <what is wrong>") on a wrong magic, an unsupported type code, a
/// wrong number of dimensions, a size above options.max_bytes, a truncated file, trailing bytes
/// after the data, or a corrupt or truncated gzip stream. Never allocates more than
/// options.max_bytes plus a small constant. This is the entry point for fuzzers.
[[nodiscard]] IdxArray parse_idx(std::span<const std::uint8_t> bytes, std::string_view name,
                                 const IdxReadOptions& options = {});

/// Reads an IDX file, raw or gzip-compressed. For raw files the header is checked against the
/// file size before the data is read. Throws IoError (missing, unreadable) or DataError (as
/// parse_idx), each naming the file.
[[nodiscard]] IdxArray read_idx(const std::filesystem::path& file,
                                const IdxReadOptions& options = {});

/// Encodes an IDX file (uncompressed). Throws InvalidArgument if data.size() does not match the
/// dimensions. Used to write test fixtures and fuzzing seeds.
[[nodiscard]] std::vector<std::uint8_t> encode_idx(const IdxArray& array);

/// Decompresses a gzip stream (one or more members) held in memory. Throws DataError naming
/// `name` if the stream is corrupt, truncated, followed by non-gzip bytes, or decompresses to
/// more than max_bytes.
[[nodiscard]] std::vector<std::uint8_t> gunzip(std::span<const std::uint8_t> bytes,
                                               std::string_view name, std::uint64_t max_bytes);

/// Reads a whole file, decompressing it if it starts with the gzip magic. Throws IoError if the
/// file cannot be read, DataError if it (or its decompressed content) is larger than max_bytes or
/// its gzip stream is bad.
[[nodiscard]] std::vector<std::uint8_t> read_file_decompressed(const std::filesystem::path& file,
                                                               std::uint64_t max_bytes);

/// True when bytes start with the gzip magic 1f 8b.
[[nodiscard]] bool is_gzip(std::span<const std::uint8_t> bytes) noexcept;

}  // namespace catapult::data

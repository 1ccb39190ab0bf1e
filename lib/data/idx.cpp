// IDX decoding over three byte sources (memory, file, gzip stream), with every header field
// validated before anything proportional to it is allocated.
#include "catapult/data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <new>

#include "catapult/core/error.hpp"

namespace catapult::data {
namespace {

/// Bytes read at a time from files and gzip streams.
constexpr std::size_t kChunk = std::size_t{1} << 16;

/// A stream of bytes. read() returns how many bytes it wrote (0 only at the end).
class Source {
 public:
  Source() = default;
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;
  virtual ~Source() = default;
  virtual std::size_t read(std::uint8_t* out, std::size_t n) = 0;
  /// Bytes left before the end, when the source knows it (raw files and memory).
  [[nodiscard]] virtual std::optional<std::uint64_t> remaining() const = 0;
};

class MemorySource final : public Source {
 public:
  explicit MemorySource(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  std::size_t read(std::uint8_t* out, std::size_t n) override {
    const std::size_t take = std::min(n, bytes_.size() - pos_);
    std::copy_n(bytes_.data() + pos_, take, out);
    pos_ += take;
    return take;
  }
  [[nodiscard]] std::optional<std::uint64_t> remaining() const override {
    return bytes_.size() - pos_;
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
};

class FileSource final : public Source {
 public:
  FileSource(const std::filesystem::path& file, std::string_view name)
      : in_(file, std::ios::binary), name_(name) {
    if (!in_) throw IoError(str_cat(name_, ": cannot open for reading"));
    std::error_code ec;
    size_ = std::filesystem::file_size(file, ec);
    if (ec) throw IoError(str_cat(name_, ": cannot get the file size: ", ec.message()));
  }
  std::size_t read(std::uint8_t* out, std::size_t n) override {
    in_.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(n));
    if (in_.bad()) throw IoError(str_cat(name_, ": read error"));
    const auto got = static_cast<std::size_t>(in_.gcount());
    pos_ += got;
    return got;
  }
  [[nodiscard]] std::optional<std::uint64_t> remaining() const override {
    return size_ >= pos_ ? size_ - pos_ : 0;
  }

 private:
  std::ifstream in_;
  std::string name_;
  std::uint64_t size_ = 0;
  std::uint64_t pos_ = 0;
};

/// Inflates a gzip stream (possibly several concatenated members) held in memory.
class GzipSource final : public Source {
 public:
  GzipSource(std::span<const std::uint8_t> bytes, std::string_view name)
      : bytes_(bytes), name_(name) {
    // 16 + MAX_WBITS: expect a gzip wrapper (header and CRC-32 trailer), not raw zlib.
    const int rc = inflateInit2(&zs_, 16 + MAX_WBITS);
    if (rc == Z_MEM_ERROR) throw std::bad_alloc();
    if (rc != Z_OK) throw RuntimeError(str_cat(name_, ": zlib inflateInit2 failed (", rc, ")"));
  }
  ~GzipSource() override { inflateEnd(&zs_); }
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;

  std::size_t read(std::uint8_t* out, std::size_t n) override {
    std::size_t produced = 0;
    while (produced < n) {
      if (member_done_) {
        if (pos_ == bytes_.size()) break;
        if (!is_gzip(bytes_.subspan(pos_)))
          throw DataError(str_cat(name_, ": ", bytes_.size() - pos_,
                                  " bytes of non-gzip data after the end of the gzip stream"));
        if (inflateReset(&zs_) != Z_OK)
          throw RuntimeError(str_cat(name_, ": zlib inflateReset failed"));
        member_done_ = false;
      }
      const std::size_t in_avail =
          std::min<std::size_t>(bytes_.size() - pos_, std::numeric_limits<uInt>::max());
      const std::size_t out_avail = std::min<std::size_t>(n - produced, kChunk);
      zs_.next_in = const_cast<Bytef*>(bytes_.data() + pos_);  // zlib's API is not const-correct
      zs_.avail_in = static_cast<uInt>(in_avail);
      zs_.next_out = out + produced;
      zs_.avail_out = static_cast<uInt>(out_avail);
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      pos_ += in_avail - zs_.avail_in;
      produced += out_avail - zs_.avail_out;
      total_out_ += out_avail - zs_.avail_out;
      if (rc == Z_STREAM_END) {
        member_done_ = true;
      } else if ((rc == Z_OK || rc == Z_BUF_ERROR) && pos_ == bytes_.size() && zs_.avail_out > 0) {
        // All input consumed, room left for output, and the member has not ended.
        throw DataError(str_cat(name_, ": truncated gzip stream (input ends after ", total_out_,
                                " decompressed bytes)"));
      } else if (rc == Z_MEM_ERROR) {
        throw std::bad_alloc();
      } else if (rc != Z_OK) {  // Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR, Z_BUF_ERROR
        throw DataError(
            str_cat(name_, ": corrupt gzip stream (zlib: ", zs_.msg != nullptr ? zs_.msg : "error",
                    ", after ", total_out_, " decompressed bytes)"));
      }
    }
    return produced;
  }
  [[nodiscard]] std::optional<std::uint64_t> remaining() const override { return std::nullopt; }

 private:
  std::span<const std::uint8_t> bytes_;
  std::string name_;
  z_stream zs_{};
  std::size_t pos_ = 0;
  std::uint64_t total_out_ = 0;
  bool member_done_ = false;
};

/// Reads until n bytes or the end; returns the count.
std::size_t read_fully(Source& src, std::uint8_t* out, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    const std::size_t k = src.read(out + got, std::min(n - got, kChunk));
    if (k == 0) break;
    got += k;
  }
  return got;
}

bool valid_type(std::uint8_t code) noexcept {
  switch (code) {
    case 0x08:
    case 0x09:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x0E:
      return true;
    default:
      return false;
  }
}

std::string hex(std::uint32_t v, int digits) {
  std::array<char, 16> buf{};
  std::snprintf(buf.data(), buf.size(), "0x%0*x", digits, v);
  return buf.data();
}

std::string dims_string(const std::vector<std::uint32_t>& dims) {
  std::string s;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) s += 'x';
    s += std::to_string(dims[i]);
  }
  return s;
}

IdxArray decode(Source& src, std::string_view name, const IdxReadOptions& options) {
  Sha256 hasher;
  auto take = [&](std::uint8_t* out, std::size_t n) {
    const std::size_t got = read_fully(src, out, n);
    if (options.compute_sha256) hasher.update(std::span<const std::uint8_t>(out, got));
    return got;
  };

  std::array<std::uint8_t, 4> magic{};
  const std::size_t got_magic = take(magic.data(), magic.size());
  if (got_magic < magic.size())
    throw DataError(str_cat(name, ": truncated: ", got_magic,
                            " bytes, shorter than the 4-byte IDX magic number"));
  const std::uint32_t magic_value = (std::uint32_t{magic[0]} << 24) |
                                    (std::uint32_t{magic[1]} << 16) |
                                    (std::uint32_t{magic[2]} << 8) | magic[3];
  if (magic[0] != 0 || magic[1] != 0)
    throw DataError(str_cat(name, ": wrong magic number ", hex(magic_value, 8),
                            " (an IDX file starts with two zero bytes): not an IDX file"));
  if (!valid_type(magic[2]))
    throw DataError(str_cat(name, ": wrong magic number ", hex(magic_value, 8),
                            ": unsupported IDX type code ", hex(magic[2], 2)));
  const auto type = static_cast<IdxType>(magic[2]);
  const std::size_t rank = magic[3];
  if (rank == 0)
    throw DataError(
        str_cat(name, ": wrong magic number ", hex(magic_value, 8), ": zero dimensions"));
  if (options.rank && rank != *options.rank)
    throw DataError(str_cat(name, ": wrong number of dimensions: expected ", *options.rank,
                            ", header (magic ", hex(magic_value, 8), ") declares ", rank));
  if (options.type && type != *options.type)
    throw DataError(str_cat(name, ": wrong element type: expected ", idx_type_name(*options.type),
                            ", header declares ", idx_type_name(type)));

  std::vector<std::uint8_t> dim_bytes(4 * rank);
  const std::size_t got_dims = take(dim_bytes.data(), dim_bytes.size());
  if (got_dims < dim_bytes.size())
    throw DataError(str_cat(name, ": truncated header: ", rank, " dimensions need ",
                            dim_bytes.size(), " bytes after the magic number, file has ",
                            got_dims));
  IdxArray result;
  result.type = type;
  result.dims.resize(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::uint8_t* p = dim_bytes.data() + 4 * i;
    result.dims[i] = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                     (std::uint32_t{p[2]} << 8) | p[3];
  }

  // Data size = product of dims × element size, checked against the bound at every step so
  // that the product cannot overflow (max_bytes < 2^64 / 2^32).
  const std::uint64_t limit =
      std::min<std::uint64_t>(options.max_bytes, std::numeric_limits<std::size_t>::max() / 2);
  std::uint64_t data_bytes = idx_element_size(type);
  bool too_big = false;
  for (const std::uint32_t d : result.dims) {
    if (d != 0 && data_bytes > limit / d) too_big = true;
    if (!too_big) data_bytes *= d;
  }
  const bool empty = std::find(result.dims.begin(), result.dims.end(), 0U) != result.dims.end();
  if (too_big && !empty)
    throw DataError(str_cat(name, ": absurd dimensions ", dims_string(result.dims), " of ",
                            idx_type_name(type), ": more than the ", limit,
                            "-byte limit on IDX data"));
  if (empty) data_bytes = 0;

  const std::uint64_t header_bytes = 4 + 4 * rank;
  if (const auto left = src.remaining(); left && *left != data_bytes) {
    if (*left < data_bytes)
      throw DataError(str_cat(name, ": truncated: header (", dims_string(result.dims), " ",
                              idx_type_name(type), ") declares ", data_bytes,
                              " bytes of data, file has ", *left, " (file size ",
                              header_bytes + *left, ", expected ", header_bytes + data_bytes, ")"));
    throw DataError(str_cat(name, ": header dimensions ", dims_string(result.dims),
                            " do not match the file size: ", *left - data_bytes,
                            " bytes after the ", data_bytes, " bytes of data the header declares"));
  }

  // A raw source was checked against its size above, so its data is allocated at once. A gzip
  // stream's size is only known by decompressing it, so the buffer grows with the data actually
  // decompressed (geometrically, never beyond data_bytes): a small forged .gz that declares
  // gigabytes fails as truncated after a small allocation.
  const auto want = static_cast<std::size_t>(data_bytes);
  std::size_t got_data = 0;
  if (src.remaining()) {
    result.data.resize(want);
    got_data = take(result.data.data(), want);
  } else {
    while (got_data < want) {
      const std::size_t grow = std::max<std::size_t>(kChunk, result.data.size());
      result.data.resize(std::min(want, result.data.size() + grow));
      const std::size_t n = take(result.data.data() + got_data, result.data.size() - got_data);
      got_data += n;
      if (got_data < result.data.size()) break;  // the stream ended early
    }
  }
  if (got_data < data_bytes)
    throw DataError(str_cat(name, ": truncated: header (", dims_string(result.dims), " ",
                            idx_type_name(type), ") declares ", data_bytes, " bytes of data, ",
                            src.remaining() ? "file" : "decompressed file", " has ", got_data));
  std::uint8_t extra = 0;
  if (read_fully(src, &extra, 1) != 0)
    throw DataError(str_cat(name, ": header dimensions ", dims_string(result.dims),
                            " do not match the file size: data continues after the ", data_bytes,
                            " bytes the header declares"));
  if (options.compute_sha256) result.sha256 = hasher.finish();
  return result;
}

/// Largest compressed file accepted for a decompressed bound of max_bytes (gzip can expand
/// incompressible data by a few bytes per 16 KiB block, plus headers).
std::uint64_t compressed_limit(std::uint64_t max_bytes) {
  return max_bytes + max_bytes / 64 + (std::uint64_t{1} << 20);
}

std::vector<std::uint8_t> read_whole_file(const std::filesystem::path& file, std::uint64_t limit) {
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(file, ec);
  if (ec) throw IoError(str_cat(file.string(), ": cannot read: ", ec.message()));
  if (size > limit)
    throw DataError(str_cat(file.string(), ": file of ", size, " bytes is larger than the ", limit,
                            "-byte limit"));
  std::ifstream in(file, std::ios::binary);
  if (!in) throw IoError(str_cat(file.string(), ": cannot open for reading"));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (static_cast<std::uint64_t>(in.gcount()) != size)
    throw IoError(str_cat(file.string(), ": short read (", in.gcount(), " of ", size, " bytes)"));
  return bytes;
}

}  // namespace

std::size_t idx_element_size(IdxType t) noexcept {
  switch (t) {
    case IdxType::UInt8:
    case IdxType::Int8:
      return 1;
    case IdxType::Int16:
      return 2;
    case IdxType::Int32:
    case IdxType::Float32:
      return 4;
    case IdxType::Float64:
      return 8;
  }
  return 1;
}

std::string_view idx_type_name(IdxType t) noexcept {
  switch (t) {
    case IdxType::UInt8:
      return "ubyte";
    case IdxType::Int8:
      return "byte";
    case IdxType::Int16:
      return "int16";
    case IdxType::Int32:
      return "int32";
    case IdxType::Float32:
      return "float32";
    case IdxType::Float64:
      return "float64";
  }
  return "unknown";
}

std::size_t IdxArray::count() const noexcept {
  std::size_t n = 1;
  for (const std::uint32_t d : dims) n *= d;
  return n;
}

bool is_gzip(std::span<const std::uint8_t> bytes) noexcept {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

IdxArray parse_idx(std::span<const std::uint8_t> bytes, std::string_view name,
                   const IdxReadOptions& options) {
  if (is_gzip(bytes)) {
    GzipSource src(bytes, name);
    return decode(src, name, options);
  }
  MemorySource src(bytes);
  return decode(src, name, options);
}

IdxArray read_idx(const std::filesystem::path& file, const IdxReadOptions& options) {
  const std::string name = file.string();
  std::array<std::uint8_t, 2> head{};
  {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::error_code ec;
      if (!std::filesystem::exists(file, ec)) throw IoError(str_cat(name, ": no such file"));
      throw IoError(str_cat(name, ": cannot open for reading"));
    }
    in.read(reinterpret_cast<char*>(head.data()), head.size());
  }
  if (is_gzip(head)) {
    const auto compressed = read_whole_file(file, compressed_limit(options.max_bytes));
    GzipSource src(compressed, name);
    return decode(src, name, options);
  }
  FileSource src(file, name);
  return decode(src, name, options);
}

std::vector<std::uint8_t> encode_idx(const IdxArray& array) {
  if (array.dims.empty() || array.dims.size() > 255)
    throw InvalidArgument(str_cat("encode_idx: ", array.dims.size(), " dimensions (1..255)"));
  std::uint64_t expected = idx_element_size(array.type);
  for (const std::uint32_t d : array.dims) expected *= d;
  if (expected != array.data.size())
    throw InvalidArgument(str_cat("encode_idx: dimensions ", dims_string(array.dims), " of ",
                                  idx_type_name(array.type), " need ", expected,
                                  " bytes, data has ", array.data.size()));
  std::vector<std::uint8_t> out;
  out.reserve(4 + 4 * array.dims.size() + array.data.size());
  out.push_back(0);
  out.push_back(0);
  out.push_back(static_cast<std::uint8_t>(array.type));
  out.push_back(static_cast<std::uint8_t>(array.dims.size()));
  for (const std::uint32_t d : array.dims) {
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<std::uint8_t>(d >> shift));
  }
  out.insert(out.end(), array.data.begin(), array.data.end());
  return out;
}

std::vector<std::uint8_t> gunzip(std::span<const std::uint8_t> bytes, std::string_view name,
                                 std::uint64_t max_bytes) {
  if (!is_gzip(bytes)) throw DataError(str_cat(name, ": not a gzip stream (wrong magic bytes)"));
  GzipSource src(bytes, name);
  std::vector<std::uint8_t> out;
  for (;;) {
    const std::size_t old = out.size();
    out.resize(old + kChunk);
    const std::size_t got = read_fully(src, out.data() + old, kChunk);
    out.resize(old + got);
    if (out.size() > max_bytes)
      throw DataError(str_cat(name, ": decompresses to more than the ", max_bytes, "-byte limit"));
    if (got < kChunk) break;
  }
  return out;
}

std::vector<std::uint8_t> read_file_decompressed(const std::filesystem::path& file,
                                                 std::uint64_t max_bytes) {
  auto bytes = read_whole_file(file, compressed_limit(max_bytes));
  if (is_gzip(bytes)) return gunzip(bytes, file.string(), max_bytes);
  if (bytes.size() > max_bytes)
    throw DataError(str_cat(file.string(), ": file of ", bytes.size(), " bytes is larger than the ",
                            max_bytes, "-byte limit"));
  return bytes;
}

}  // namespace catapult::data

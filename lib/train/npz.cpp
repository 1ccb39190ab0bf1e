#include "catapult/train/npz.hpp"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "catapult/core/error.hpp"

namespace catapult::train {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the .npy writer assumes a little-endian host");

std::size_t type_size(NpyType t) { return t == NpyType::Float32 ? 4 : 8; }
const char* descr(NpyType t) {
  switch (t) {
    case NpyType::Float32:
      return "<f4";
    case NpyType::Float64:
      return "<f8";
    case NpyType::Int64:
      return "<i8";
  }
  return "?";
}

std::size_t count(const std::vector<std::size_t>& shape) {
  std::size_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

void put16(std::string& s, std::uint32_t v) {
  s.push_back(static_cast<char>(v & 0xFF));
  s.push_back(static_cast<char>((v >> 8) & 0xFF));
}
void put32(std::string& s, std::uint32_t v) {
  put16(s, v & 0xFFFF);
  put16(s, v >> 16);
}
std::uint32_t get16(const std::string& s, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 8;
}
std::uint32_t get32(const std::string& s, std::size_t at) {
  return get16(s, at) | get16(s, at + 2) << 16;
}

std::uint32_t crc(const std::string& bytes) {
  uLong c = crc32(0L, Z_NULL, 0);
  const auto* p = reinterpret_cast<const Bytef*>(bytes.data());
  std::size_t left = bytes.size();
  while (left > 0) {
    const auto chunk = static_cast<uInt>(std::min<std::size_t>(left, 1U << 30));
    c = crc32(c, p, chunk);
    p += chunk;
    left -= chunk;
  }
  return static_cast<std::uint32_t>(c);
}

constexpr std::uint32_t kDosDate = (0U << 9) | (1U << 5) | 1U;  // 1980-01-01, time 00:00

}  // namespace

std::string npy_bytes(const NpyArray& a) {
  std::string header =
      str_cat("{'descr': '", descr(a.type), "', 'fortran_order': False, 'shape': (");
  for (std::size_t i = 0; i < a.shape.size(); ++i) {
    header += std::to_string(a.shape[i]);
    if (a.shape.size() == 1 || i + 1 < a.shape.size()) header += ",";
    if (i + 1 < a.shape.size()) header += " ";
  }
  header += "), }";
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out.push_back('\x01');
  out.push_back('\x00');
  put16(out, static_cast<std::uint32_t>(header.size()));
  out += header;
  const std::size_t bytes = count(a.shape) * type_size(a.type);
  if (bytes > 0) out.append(static_cast<const char*>(a.data), bytes);
  return out;
}

void write_npz(const std::filesystem::path& path, const std::vector<NpyArray>& arrays) {
  std::set<std::string> names;
  for (const auto& a : arrays) {
    if (a.name.empty() || !names.insert(a.name).second)
      throw InvalidArgument(str_cat("write_npz: empty or duplicate array name '", a.name, "'"));
  }
  std::string zip, central;
  for (const auto& a : arrays) {
    const std::string data = npy_bytes(a);
    const std::string name = a.name + ".npy";
    if (data.size() >= 0xFFFFFFFFULL || zip.size() + data.size() >= 0xFFFFFFFFULL)
      throw InvalidArgument(str_cat("write_npz: array '", a.name, "' makes the archive >= 4 GiB"));
    const std::uint32_t c = crc(data);
    const auto size = static_cast<std::uint32_t>(data.size());
    const auto offset = static_cast<std::uint32_t>(zip.size());
    // Local file header.
    put32(zip, 0x04034b50);
    put16(zip, 20);  // version needed
    put16(zip, 0);   // flags
    put16(zip, 0);   // stored
    put16(zip, 0);   // time
    put16(zip, kDosDate);
    put32(zip, c);
    put32(zip, size);
    put32(zip, size);
    put16(zip, static_cast<std::uint32_t>(name.size()));
    put16(zip, 0);  // extra
    zip += name;
    zip += data;
    // Central directory entry.
    put32(central, 0x02014b50);
    put16(central, 20);  // made by
    put16(central, 20);  // needed
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put16(central, kDosDate);
    put32(central, c);
    put32(central, size);
    put32(central, size);
    put16(central, static_cast<std::uint32_t>(name.size()));
    put16(central, 0);  // extra
    put16(central, 0);  // comment
    put16(central, 0);  // disk
    put16(central, 0);  // internal attributes
    put32(central, 0);  // external attributes
    put32(central, offset);
    central += name;
  }
  const auto cd_offset = static_cast<std::uint32_t>(zip.size());
  zip += central;
  put32(zip, 0x06054b50);
  put16(zip, 0);
  put16(zip, 0);
  put16(zip, static_cast<std::uint32_t>(arrays.size()));
  put16(zip, static_cast<std::uint32_t>(arrays.size()));
  put32(zip, static_cast<std::uint32_t>(central.size()));
  put32(zip, cd_offset);
  put16(zip, 0);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw IoError(str_cat("write_npz: cannot open '", path.string(), "' for writing"));
  f.write(zip.data(), static_cast<std::streamsize>(zip.size()));
  f.flush();
  if (!f) throw IoError(str_cat("write_npz: cannot write '", path.string(), "'"));
}

namespace {

LoadedArray parse_npy(const std::string& bytes, const std::string& name, const std::string& file) {
  auto fail = [&](const std::string& what) {
    return DataError(str_cat("read_npz: '", file, "' member '", name, "': ", what));
  };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0 || bytes[6] != 1)
    throw fail("not a version-1 .npy");
  const std::size_t hlen = get16(bytes, 8);
  if (10 + hlen > bytes.size()) throw fail("truncated header");
  const std::string header = bytes.substr(10, hlen);
  LoadedArray out;
  out.name = name.substr(0, name.size() - 4);
  if (header.find("'<f4'") != std::string::npos) {
    out.type = NpyType::Float32;
  } else if (header.find("'<f8'") != std::string::npos) {
    out.type = NpyType::Float64;
  } else if (header.find("'<i8'") != std::string::npos) {
    out.type = NpyType::Int64;
  } else {
    throw fail("unsupported dtype in " + header);
  }
  if (header.find("'fortran_order': False") == std::string::npos) throw fail("not C order");
  const auto lp = header.find('('), rp = header.find(')');
  if (lp == std::string::npos || rp == std::string::npos || rp < lp) throw fail("no shape");
  std::stringstream shape(header.substr(lp + 1, rp - lp - 1));
  std::string dim;
  while (std::getline(shape, dim, ',')) {
    dim.erase(std::remove(dim.begin(), dim.end(), ' '), dim.end());
    if (!dim.empty()) out.shape.push_back(std::stoull(dim));
  }
  const std::size_t n = count(out.shape);
  if (10 + hlen + n * type_size(out.type) != bytes.size()) throw fail("data size mismatch");
  out.values.resize(n);
  const char* p = bytes.data() + 10 + hlen;
  for (std::size_t i = 0; i < n; ++i) {
    if (out.type == NpyType::Float32) {
      float v;
      std::memcpy(&v, p + 4 * i, 4);
      out.values[i] = v;
    } else if (out.type == NpyType::Float64) {
      std::memcpy(&out.values[i], p + 8 * i, 8);
    } else {
      std::int64_t v;
      std::memcpy(&v, p + 8 * i, 8);
      out.values[i] = static_cast<double>(v);
    }
  }
  return out;
}

}  // namespace

std::vector<LoadedArray> read_npz(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError(str_cat("read_npz: cannot open '", path.string(), "'"));
  const std::string zip((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const std::string file = path.string();
  std::vector<LoadedArray> out;
  std::size_t at = 0;
  while (at + 4 <= zip.size() && get32(zip, at) == 0x04034b50) {
    if (at + 30 > zip.size()) throw DataError(str_cat("read_npz: '", file, "' is truncated"));
    const std::uint32_t method = get16(zip, at + 8);
    const std::uint32_t c = get32(zip, at + 14);
    const std::uint32_t size = get32(zip, at + 18);
    const std::uint32_t name_len = get16(zip, at + 26), extra = get16(zip, at + 28);
    if (method != 0) throw DataError(str_cat("read_npz: '", file, "' has a compressed member"));
    const std::size_t data_at = at + 30 + name_len + extra;
    if (data_at + size > zip.size())
      throw DataError(str_cat("read_npz: '", file, "' is truncated"));
    const std::string name = zip.substr(at + 30, name_len);
    const std::string data = zip.substr(data_at, size);
    if (crc(data) != c)
      throw DataError(str_cat("read_npz: '", file, "' member '", name, "': CRC mismatch"));
    if (name.size() < 4 || name.compare(name.size() - 4, 4, ".npy") != 0)
      throw DataError(str_cat("read_npz: '", file, "' member '", name, "' is not .npy"));
    out.push_back(parse_npy(data, name, file));
    at = data_at + size;
  }
  if (out.empty()) throw DataError(str_cat("read_npz: '", file, "' holds no .npy member"));
  return out;
}

template <class T>
void export_weights_npz(const nn::Mlp<T>& model, const std::filesystem::path& path) {
  constexpr NpyType type = sizeof(T) == 4 ? NpyType::Float32 : NpyType::Float64;
  std::vector<NpyArray> arrays;
  std::vector<std::int64_t> widths(model.config().widths.begin(), model.config().widths.end());
  std::vector<double> scales;
  for (std::size_t l = 0; l < model.num_layers(); ++l) {
    const auto lv = model.layer(l);
    arrays.push_back({str_cat("W", l), {lv.d_out, lv.d_in}, type, lv.weight.data()});
    if (lv.bias != nullptr) arrays.push_back({str_cat("b", l), {lv.d_out}, type, lv.bias});
    scales.push_back(static_cast<double>(lv.scale));
  }
  arrays.push_back({"widths", {widths.size()}, NpyType::Int64, widths.data()});
  arrays.push_back({"scales", {scales.size()}, NpyType::Float64, scales.data()});
  write_npz(path, arrays);
}

template <class T>
void import_weights_npz(nn::Mlp<T>& model, const std::filesystem::path& path) {
  const auto arrays = read_npz(path);
  auto find = [&](const std::string& name) -> const LoadedArray& {
    for (const auto& a : arrays)
      if (a.name == name) return a;
    throw DataError(str_cat("import_weights_npz: '", path.string(), "' has no array ", name));
  };
  for (std::size_t l = 0; l < model.num_layers(); ++l) {
    auto lv = model.layer(l);
    const auto& w = find(str_cat("W", l));
    if (w.shape != std::vector<std::size_t>{lv.d_out, lv.d_in})
      throw DataError(str_cat("import_weights_npz: '", path.string(), "' W", l,
                              " has the wrong shape for a ", lv.d_out, "x", lv.d_in, " layer"));
    for (std::size_t i = 0; i < w.values.size(); ++i)
      lv.weight.data()[i] = static_cast<T>(w.values[i]);
    if (lv.bias != nullptr) {
      const auto& b = find(str_cat("b", l));
      if (b.shape != std::vector<std::size_t>{lv.d_out})
        throw DataError(
            str_cat("import_weights_npz: '", path.string(), "' b", l, " has the wrong shape"));
      for (std::size_t i = 0; i < lv.d_out; ++i) lv.bias[i] = static_cast<T>(b.values[i]);
    }
  }
}

template <class T>
void export_state_npz(const nn::Mlp<T>& model, const optim::Optimizer<T>& optimizer,
                      const std::filesystem::path& path) {
  constexpr NpyType type = sizeof(T) == 4 ? NpyType::Float32 : NpyType::Float64;
  std::vector<NpyArray> arrays;
  const std::size_t p = model.num_params();
  arrays.push_back({"params", {p}, type, model.params()});
  const auto steps = static_cast<std::int64_t>(optimizer.steps());
  arrays.push_back({"optimizer_steps", {}, NpyType::Int64, &steps});
  const auto state = optimizer.state();
  for (const auto& b : state) arrays.push_back({"optimizer." + b.name, {b.size}, type, b.data});
  std::vector<std::int64_t> widths(model.config().widths.begin(), model.config().widths.end());
  arrays.push_back({"widths", {widths.size()}, NpyType::Int64, widths.data()});
  write_npz(path, arrays);
}

template <class T>
void import_state_npz(nn::Mlp<T>& model, optim::Optimizer<T>& optimizer,
                      const std::filesystem::path& path) {
  const auto arrays = read_npz(path);
  auto find = [&](const std::string& name) -> const LoadedArray& {
    for (const auto& a : arrays)
      if (a.name == name) return a;
    throw DataError(str_cat("import_state_npz: '", path.string(), "' has no array ", name));
  };
  const std::size_t p = model.num_params();
  const auto& params = find("params");
  if (params.values.size() != p)
    throw DataError(str_cat("import_state_npz: '", path.string(), "' holds ", params.values.size(),
                            " parameters, the model has ", p));
  for (std::size_t i = 0; i < p; ++i) model.params()[i] = static_cast<T>(params.values[i]);
  optimizer.reset(p);
  for (auto& b : optimizer.state()) {
    const auto& a = find("optimizer." + b.name);
    if (a.values.size() != b.size)
      throw DataError(str_cat("import_state_npz: '", path.string(), "' optimizer.", b.name, " has ",
                              a.values.size(), " entries, expected ", b.size));
    for (std::size_t i = 0; i < b.size; ++i) b.data[i] = static_cast<T>(a.values[i]);
  }
  optimizer.set_steps(static_cast<std::uint64_t>(find("optimizer_steps").values.at(0)));
}

template void export_state_npz<float>(const nn::Mlp<float>&, const optim::Optimizer<float>&,
                                      const std::filesystem::path&);
template void export_state_npz<double>(const nn::Mlp<double>&, const optim::Optimizer<double>&,
                                       const std::filesystem::path&);
template void import_state_npz<float>(nn::Mlp<float>&, optim::Optimizer<float>&,
                                      const std::filesystem::path&);
template void import_state_npz<double>(nn::Mlp<double>&, optim::Optimizer<double>&,
                                       const std::filesystem::path&);
template void export_weights_npz<float>(const nn::Mlp<float>&, const std::filesystem::path&);
template void export_weights_npz<double>(const nn::Mlp<double>&, const std::filesystem::path&);
template void import_weights_npz<float>(nn::Mlp<float>&, const std::filesystem::path&);
template void import_weights_npz<double>(nn::Mlp<double>&, const std::filesystem::path&);

}  // namespace catapult::train

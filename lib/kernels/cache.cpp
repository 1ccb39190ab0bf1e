// The data cache sizes the kernels block for (cache.hpp): detection, the environment overrides,
// and the blocking rules. Compiled with the baseline flags; the ISA units only call in.
#include "catapult/kernels/cache.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include "catapult/core/error.hpp"
#include "catapult/kernels/isa.hpp"
#include "kernels/dispatch.hpp"

namespace catapult::kernels {
namespace {

constexpr std::size_t kKiB = 1024;
constexpr std::size_t kMiB = 1024 * kKiB;
constexpr std::size_t kFallbackL1d = 32 * kKiB;
constexpr std::size_t kFallbackL2 = 1 * kMiB;
constexpr std::size_t kFallbackL3 = 8 * kMiB;

// "32K", "1024K", "32M" or plain bytes, as sysfs and the environment variables write sizes;
// 0 for anything else.
std::size_t parse_size(std::string_view s) noexcept {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
  if (s.empty()) return 0;
  std::size_t unit = 1;
  switch (std::toupper(static_cast<unsigned char>(s.back()))) {
    case 'K':
      unit = kKiB;
      s.remove_suffix(1);
      break;
    case 'M':
      unit = kMiB;
      s.remove_suffix(1);
      break;
    default:
      break;
  }
  if (s.empty() || s.size() > 12) return 0;
  std::size_t v = 0;
  for (const char ch : s) {
    if (ch < '0' || ch > '9') return 0;
    v = v * 10 + static_cast<std::size_t>(ch - '0');
  }
  return v * unit;
}

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (in) std::getline(in, line);
  return line;
}

// Logical CPUs in a sysfs CPU list ("0-7,16-23").
std::size_t count_cpus(const std::string& list) noexcept {
  std::size_t count = 0;
  std::size_t pos = 0;
  while (pos < list.size()) {
    const std::size_t end = std::min(list.find(',', pos), list.size());
    const std::string item = list.substr(pos, end - pos);
    const std::size_t dash = item.find('-');
    if (dash == std::string::npos) {
      count += item.empty() ? 0 : 1;
    } else {
      const long lo = std::atol(item.substr(0, dash).c_str());
      const long hi = std::atol(item.substr(dash + 1).c_str());
      if (hi >= lo) count += static_cast<std::size_t>(hi - lo + 1);
    }
    pos = end + 1;
  }
  return count;
}

// cpu0's caches from /sys/devices/system/cpu/cpu0/cache/index*/ (level, type, size,
// shared_cpu_list); false when there is no data cache there at all.
bool read_sysfs(CacheSizes& c) {
  bool any = false;
  for (int index = 0; index < 16; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
    const std::string level = read_line(dir + "/level");
    if (level.empty()) break;
    const std::string type = read_line(dir + "/type");
    if (type != "Data" && type != "Unified") continue;
    const std::size_t size = parse_size(read_line(dir + "/size"));
    if (size == 0) continue;
    any = true;
    if (level == "1") {
      c.l1d = size;
    } else if (level == "2") {
      c.l2 = size;
    } else if (level == "3") {
      c.l3 = size;
      c.l3_sharing = std::max<std::size_t>(1, count_cpus(read_line(dir + "/shared_cpu_list")));
    }
  }
  return any;
}

std::size_t sysconf_size(int name) noexcept {
  const long v = ::sysconf(name);
  return v > 0 ? static_cast<std::size_t>(v) : 0;
}

// glibc's sysconf: per level, only where sysfs left a 0. It says nothing of L3's sharing.
bool read_sysconf(CacheSizes& c) noexcept {
  bool any = false;
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE) && \
    defined(_SC_LEVEL3_CACHE_SIZE)
  const auto fill = [&](std::size_t& field, int name) {
    if (field != 0) return;
    field = sysconf_size(name);
    any = any || field != 0;
  };
  fill(c.l1d, _SC_LEVEL1_DCACHE_SIZE);
  fill(c.l2, _SC_LEVEL2_CACHE_SIZE);
  fill(c.l3, _SC_LEVEL3_CACHE_SIZE);
#endif
  return any;
}

CacheSizes sizes_from_environment() {
  CacheSizes c = detected_cache_sizes();
  bool env = false;
  const auto apply = [&](const char* name, std::size_t& field) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return;
    const std::size_t size = parse_size(v);
    if (size == 0)
      throw InvalidArgument(str_cat(name, ": '", v,
                                    "' is not a positive size in bytes (an optional K or M suffix "
                                    "for KiB or MiB)"));
    field = size;
    env = true;
  };
  apply("CATAPULT_CACHE_L1D", c.l1d);
  apply("CATAPULT_CACHE_L2", c.l2);
  std::size_t l3 = 0;
  apply("CATAPULT_CACHE_L3", l3);
  if (l3 != 0) {
    // The variable gives this core's share.
    c.l3 = l3;
    c.l3_sharing = 1;
  }
  if (env) c.source += "+env";
  return c;
}

std::string bytes(std::size_t n) {
  if (n == 0) return "none";
  if (n % kMiB == 0) return std::to_string(n / kMiB) + " MiB";
  if (n % kKiB == 0) return std::to_string(n / kKiB) + " KiB";
  return std::to_string(n) + " B";
}

}  // namespace

CacheSizes detected_cache_sizes() {
  CacheSizes c;
  const bool sysfs = read_sysfs(c);
  const bool sysconf = read_sysconf(c);
  c.source = sysfs ? "sysfs" : sysconf ? "sysconf" : "fallback";
  if (c.l1d == 0 || c.l2 == 0 || c.l3 == 0) {
    if (c.l1d == 0) c.l1d = kFallbackL1d;
    if (c.l2 == 0) c.l2 = kFallbackL2;
    if (c.l3 == 0) {
      c.l3 = kFallbackL3;
      c.l3_sharing = 1;
    }
    if (sysfs || sysconf) c.source += "+fallback";
  }
  return c;
}

const CacheSizes& cache_sizes() {
  static const CacheSizes sizes = sizes_from_environment();
  return sizes;
}

GemmBlocking derive_gemm_blocking(const CacheSizes& c, const GemmKernelShape& k) noexcept {
  GemmBlocking b;
  b.kc = k.kc;
  const std::size_t mr = std::max<std::size_t>(k.mr, 1);
  const std::size_t nr = std::max<std::size_t>(k.nr, 1);
  const std::size_t row = std::max<std::size_t>(k.kc * k.element_size, 1);  // bytes per KC row
  const std::size_t l1d = c.l1d != 0 ? c.l1d : kFallbackL1d;
  const std::size_t l2 = c.l2 != 0 ? c.l2 : kFallbackL2;
  b.a_panel_fits_l1 = mr * row <= l1d;
  const std::size_t b_block = k.small_m ? (l2 > 2 * mr * row ? l2 - 2 * mr * row : l2 / 2) : l2 / 2;
  b.nc = std::max(nr, b_block / row / nr * nr);
  const std::size_t a_block = std::min(std::max(c.l3_share() / 2, l2), 4 * kMiB);
  b.mc = std::max(mr, a_block / row / mr * mr);
  return b;
}

std::string describe(const CacheSizes& c) {
  std::string s = "L1d " + bytes(c.l1d) + ", L2 " + bytes(c.l2) + ", L3 " + bytes(c.l3);
  if (c.l3 != 0 && c.l3_sharing > 1) s += " shared by " + std::to_string(c.l3_sharing);
  return s + " (" + c.source + ")";
}

std::string describe_gemm_blocking() {
  const CacheSizes& c = cache_sizes();
  const detail::KernelSet& set = detail::active_kernels();
  std::string s;
  for (const detail::NamedGemmShape& k : set.gemm_shapes) {
    const GemmBlocking b = derive_gemm_blocking(c, k.shape);
    if (!s.empty()) s += "; ";
    s += str_cat(k.name, " ", k.shape.mr, "x", k.shape.nr, ": MC ", b.mc, ", KC ", b.kc, ", NC ",
                 b.nc, b.a_panel_fits_l1 ? "" : " (A micro-panel exceeds L1d)");
  }
  return s;
}

}  // namespace catapult::kernels

// Which kernel set runs: detection of the CPU's ISA, CATAPULT_ISA, set_isa. Compiled with the
// baseline flags like the rest of the library; only kernels_<isa>.cpp carry ISA flags.
#include "catapult/kernels/isa.hpp"

#include <atomic>
#include <cstdlib>
#include <string>

#include "catapult/core/error.hpp"
#include "kernels/dispatch.hpp"

namespace catapult::kernels {
namespace {

// Whether the CPU and the OS (saved register state, XCR0) support an ISA's instructions.
// GCC's and clang's __builtin_cpu_supports check both for the AVX families.
bool cpu_supports(Isa isa) noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  switch (isa) {
    case Isa::Sse:
      return true;
    case Isa::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::Avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
  }
  return false;
#else
#error "catapult's kernels are written for x86-64"
#endif
}

// The kernel set of an ISA (every build carries all three: x86-64 only).
const detail::KernelSet* compiled_set(Isa isa) noexcept {
  switch (isa) {
    case Isa::Sse:
      return &detail::kernel_set_sse();
    case Isa::Avx2:
      return &detail::kernel_set_avx2();
    case Isa::Avx512:
      return &detail::kernel_set_avx512();
  }
  return nullptr;
}

bool supported(Isa isa) noexcept { return compiled_set(isa) != nullptr && cpu_supports(isa); }

std::string supported_names() {
  std::string names;
  for (const Isa isa : supported_isas())
    names += (names.empty() ? "" : ", ") + std::string(to_string(isa));
  return names;
}

const detail::KernelSet& checked_set(const char* who, Isa isa) {
  if (!supported(isa))
    throw InvalidArgument(
        str_cat(who, ": ISA ", to_string(isa),
                " is not supported here (this build and CPU support: ", supported_names(), ")"));
  return *compiled_set(isa);
}

// The set chosen from CATAPULT_ISA or the CPU, once (thread-safe static initialisation; a bad
// variable throws from every first use until it is fixed).
const detail::KernelSet& initial_set() {
  static const detail::KernelSet& set = []() -> const detail::KernelSet& {
    const char* env = std::getenv("CATAPULT_ISA");
    if (env == nullptr || *env == '\0') return *compiled_set(detected_isa());
    Isa isa{};
    try {
      isa = parse_isa(env);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument(str_cat("CATAPULT_ISA: ", e.what()));
    }
    return checked_set("CATAPULT_ISA", isa);
  }();
  return set;
}

// Set by set_isa; null until then. Acquire/release so a set_isa before spawning threads is seen.
std::atomic<const detail::KernelSet*> forced{nullptr};

}  // namespace

const char* to_string(Isa isa) noexcept {
  switch (isa) {
    case Isa::Sse:
      return "sse";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512:
      return "avx512";
  }
  return "unknown";
}

Isa parse_isa(std::string_view name) {
  for (const Isa isa : {Isa::Sse, Isa::Avx2, Isa::Avx512})
    if (name == to_string(isa)) return isa;
  throw InvalidArgument(
      str_cat("parse_isa: unknown ISA '", name, "' (expected sse, avx2 or avx512)"));
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> isas;
  for (const Isa isa : {Isa::Sse, Isa::Avx2, Isa::Avx512})
    if (supported(isa)) isas.push_back(isa);
  return isas;
}

Isa detected_isa() noexcept {
  for (const Isa isa : {Isa::Avx512, Isa::Avx2})
    if (supported(isa)) return isa;
  return Isa::Sse;
}

Isa active_isa() { return detail::active_kernels().isa; }

void set_isa(Isa isa) { forced.store(&checked_set("set_isa", isa), std::memory_order_release); }

namespace detail {

const KernelSet& active_kernels() {
  const KernelSet* set = forced.load(std::memory_order_acquire);
  return set != nullptr ? *set : initial_set();
}

}  // namespace detail
}  // namespace catapult::kernels

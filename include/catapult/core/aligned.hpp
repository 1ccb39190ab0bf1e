#pragma once
/// @file 64-byte aligned allocation: the alignment of every buffer the kernels touch.

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

namespace catapult {

/// Alignment in bytes of all owning buffers (one AVX-512 register, one cache line).
inline constexpr std::size_t kAlignment = 64;

/// Buffers of at least this many bytes are aligned to, and advised as, transparent huge pages.
inline constexpr std::size_t kHugePageBytes = std::size_t(2) << 20;

/// Whether buffers of kHugePageBytes and more are advised as transparent huge pages
/// (madvise(MADV_HUGEPAGE)): yes unless the environment sets CATAPULT_HUGE_PAGES=0. Read once.
/// With 4 KiB pages a 784 × 4096 float weight matrix spans 3136 pages, more than the second-level
/// TLB of a Zen 4 core holds, and the GEMM's packing walks them all once per call; under a
/// hypervisor every miss is a two-level page walk. The kernel honours the advice only where
/// /sys/kernel/mm/transparent_hugepage/enabled is "madvise" or "always".
inline bool huge_pages_advised() noexcept {
  static const bool advised = [] {
    const char* v = std::getenv("CATAPULT_HUGE_PAGES");
    return v == nullptr || std::strcmp(v, "0") != 0;
  }();
  return advised;
}

/// Standard allocator returning kAlignment-aligned storage; buffers of kHugePageBytes and more
/// are aligned to kHugePageBytes and advised as huge pages (see huge_pages_advised).
template <class T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() noexcept = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>& /*other*/) noexcept {
  }  // NOLINT(google-explicit-constructor)

  [[nodiscard]] T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    const std::size_t bytes = n * sizeof(T);
    if (bytes >= kHugePageBytes) {
      const std::size_t rounded = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
      void* p = ::operator new (rounded, std::align_val_t{kHugePageBytes});
      if (huge_pages_advised()) ::madvise(p, rounded, MADV_HUGEPAGE);
      return static_cast<T*>(p);
    }
    return static_cast<T*>(::operator new (bytes, std::align_val_t{kAlignment}));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n * sizeof(T) >= kHugePageBytes)
      ::operator delete (p, std::align_val_t{kHugePageBytes});
    else
      ::operator delete (p, std::align_val_t{kAlignment});
  }
  template <class U>
  bool operator==(const AlignedAllocator<U>& /*other*/) const noexcept {
    return true;
  }
};

/// A std::vector whose data() is kAlignment-aligned.
template <class T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

}  // namespace catapult

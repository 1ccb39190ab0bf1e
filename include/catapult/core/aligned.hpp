#pragma once
/// @file 64-byte aligned allocation: the alignment of every buffer the kernels touch.

#include <cstddef>
#include <new>
#include <vector>

namespace catapult {

/// Alignment in bytes of all owning buffers (one AVX-512 register, one cache line).
inline constexpr std::size_t kAlignment = 64;

/// Standard allocator returning kAlignment-aligned storage.
template <class T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() noexcept = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>& /*other*/) noexcept {
  }  // NOLINT(google-explicit-constructor)

  [[nodiscard]] T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{kAlignment}));
  }
  void deallocate(T* p, std::size_t /*n*/) noexcept {
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

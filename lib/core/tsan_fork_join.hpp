#pragma once
// ThreadSanitizer annotations for the fork and the join of one tbb::parallel_for.
//
// Debian's oneTBB (libtbb.so) is not built with -fsanitize=thread: the scheduler hands tasks to
// its workers and joins them through atomics TSan cannot see, so TSan knows neither that the
// caller's writes before a parallel region happen before the bodies nor that the bodies happen
// before the caller continues, and it reports the caller's first read of a result as a race.
// ForkJoin states those two edges, and only those: the caller releases `fork_` before the region
// and every body acquires it first; every body releases `join_` last and the caller acquires it
// after the region. Bodies never acquire what another body released, so the annotations order no
// two bodies of one region (cmake/tsan.supp says why races between bodies are still not
// reported). Outside a TSan build every member is a no-op.
//
// Use: declare `const ForkJoin fork_join;` right before tbb::parallel_for, pass the body as
// `fork_join.body(f)` (which releases the fork: call it once, as the region's argument), and let
// fork_join go out of scope right after the region returns (before the caller reads what the
// bodies wrote).

#include <utility>

#if defined(__SANITIZE_THREAD__)
#define CATAPULT_TSAN_FORK_JOIN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CATAPULT_TSAN_FORK_JOIN 1
#endif
#endif

#ifdef CATAPULT_TSAN_FORK_JOIN
#include <sanitizer/tsan_interface.h>
#endif

namespace catapult::detail {

class ForkJoin {
 public:
#ifdef CATAPULT_TSAN_FORK_JOIN
  ForkJoin() noexcept = default;
  ~ForkJoin() { __tsan_acquire(&join_); }
  ForkJoin(const ForkJoin&) = delete;
  ForkJoin& operator=(const ForkJoin&) = delete;

  /// Releases the fork (everything the caller wrote so far, f's captures included) and returns
  /// f wrapped so that it acquires the fork before it runs and releases the join after.
  template <class F>
  [[nodiscard]] auto body(const F& f) const noexcept {
    __tsan_release(&fork_);
    return [this, &f](auto&&... args) noexcept {
      __tsan_acquire(&fork_);
      f(std::forward<decltype(args)>(args)...);
      __tsan_release(&join_);
    };
  }

 private:
  // TSan keeps one synchronization object per 8-byte cell: the two must not share one.
  alignas(8) mutable char fork_ = 0;
  alignas(8) mutable char join_ = 0;
#else
  ForkJoin() noexcept {}  // NOLINT(modernize-use-equals-default): const objects need it
  /// f itself.
  template <class F>
  [[nodiscard]] const F& body(const F& f) const noexcept {
    return f;
  }
#endif
};

}  // namespace catapult::detail

#pragma once
// Which sanitizer the test binary is built with, so that a test can shrink its sizes where a
// sanitizer makes it too slow to run in CI (ThreadSanitizer instruments every memory access:
// the naive double-precision references run 5–15 times slower). A shrunken test still runs every
// code path of its full version (every variant, transpose, edge tile and threaded region); only
// the largest sizes are dropped. GCC defines __SANITIZE_THREAD__, clang has __has_feature.

namespace catapult::test {

#if defined(__SANITIZE_THREAD__)
inline constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif
#else
inline constexpr bool kThreadSanitizer = false;
#endif

}  // namespace catapult::test

# Warning and sanitizer flags are attached to targets (PRIVATE), never to CMAKE_CXX_FLAGS.
add_library(catapult_warnings INTERFACE)
target_compile_options(catapult_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                                   -Wno-sign-conversion)
# GCC 12 bug 105593: at -O1 with -fsanitize=thread or =address it reports the deliberate
# self-initialisation inside _mm256_undefined_pd (avxintrin.h) as "used uninitialized" wherever
# AVX-512 intrinsics are inlined (xsimd's hadd in the GEMM dot path, Eigen's predux): 122 warnings
# in the asan build. The release build keeps the warning.
if((CATAPULT_TSAN OR CATAPULT_SANITIZE) AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU"
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(catapult_warnings INTERFACE -Wno-uninitialized)
endif()
if(CATAPULT_WARNINGS_AS_ERRORS)
  target_compile_options(catapult_warnings INTERFACE -Werror)
endif()

add_library(catapult_codegen INTERFACE)
if(CATAPULT_NATIVE)
  target_compile_options(catapult_codegen INTERFACE -march=native -mtune=${CATAPULT_NATIVE_TUNE})
endif()
if(CATAPULT_SANITIZE)
  target_compile_options(catapult_codegen INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                                    -fno-sanitize-recover=undefined)
  target_link_options(catapult_codegen INTERFACE -fsanitize=address,undefined)
endif()
if(CATAPULT_TSAN)
  target_compile_options(catapult_codegen INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(catapult_codegen INTERFACE -fsanitize=thread)
endif()
if(CATAPULT_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CATAPULT_FUZZ needs clang (libFuzzer); use the `fuzz` preset")
  endif()
  # Coverage instrumentation for libFuzzer everywhere; the fuzz executables add -fsanitize=fuzzer.
  target_compile_options(catapult_codegen INTERFACE -fsanitize=fuzzer-no-link,address,undefined
                                                    -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(catapult_codegen INTERFACE -fsanitize=address,undefined)
endif()

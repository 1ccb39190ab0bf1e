list(APPEND CATAPULT_SOURCES kernels/gemm.cpp kernels/elementwise.cpp)
# GCC 12's AVX-512 intrinsics initialise their "undefined" registers with themselves
# (_mm512_undefined_ps: `__m512 __Y = __Y;`), which -Wmaybe-uninitialized reports wherever
# xsimd's exp/tanh get inlined (GCC bug 105593, fixed in GCC 13). Silenced for these files only.
set_source_files_properties(
  kernels/gemm.cpp kernels/elementwise.cpp
  PROPERTIES COMPILE_OPTIONS "$<$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>:-Wno-maybe-uninitialized>")

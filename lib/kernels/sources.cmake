# The kernels: public entry points (gemm.cpp, elementwise.cpp) and the ISA choice (isa.cpp),
# compiled like the rest of the library, and one kernel set per x86 ISA (kernels_<isa>.cpp), each
# compiled with its own flags and living in its own namespace, picked at start-up (isa.hpp).
# With CATAPULT_NATIVE the whole library has -march=native; the ISA flags below still apply
# after it (the -mno-* ones keep the lower sets to their ISA on an AVX-512 build machine).
set(CATAPULT_KERNEL_ISA_FLAGS_avx512 -mavx512f -mavx512cd -mavx512bw -mavx512dq -mavx512vl -mfma)
set(CATAPULT_KERNEL_ISA_FLAGS_avx2 -mavx2 -mfma -mno-avx512f)
set(CATAPULT_KERNEL_ISA_FLAGS_sse -mno-avx)
list(APPEND CATAPULT_SOURCES kernels/isa.cpp kernels/cache.cpp kernels/parallel.cpp kernels/gemm.cpp kernels/elementwise.cpp
     kernels/update.cpp)
foreach(isa IN ITEMS sse avx2 avx512)
  list(APPEND CATAPULT_SOURCES kernels/kernels_${isa}.cpp)
  set_source_files_properties(kernels/kernels_${isa}.cpp PROPERTIES COMPILE_OPTIONS
                                                                "${CATAPULT_KERNEL_ISA_FLAGS_${isa}}")
endforeach()
# GCC 12's AVX-512 intrinsics initialise their "undefined" registers with themselves
# (_mm512_undefined_ps: `__m512 __Y = __Y;`), which -Wmaybe-uninitialized reports wherever xsimd's
# exp/tanh get inlined, and -Wuninitialized where xsimd's exp is not (GCC bug 105593, fixed in
# GCC 13). Silenced for the AVX-512 set only: the other sets compile the same code with both on.
set(gcc12 "$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>")
set_property(SOURCE kernels/kernels_avx512.cpp APPEND
             PROPERTY COMPILE_OPTIONS "$<${gcc12}:-Wno-maybe-uninitialized;-Wno-uninitialized>")

list(APPEND CATAPULT_SOURCES kernels/gemm.cpp kernels/elementwise.cpp)

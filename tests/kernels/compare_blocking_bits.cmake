# Runs GemmBlockingBits (disabled in the suite, run here only) on one ISA with the detected
# caches and with tiny ones (MC = MR, NC = NR) and fails unless the two files of product bits are
# identical. Arguments: TEST_BINARY, ISA, WORK_DIR. A CPU without the ISA prints "CPU lacks <ISA>"
# (the test's SKIP_REGULAR_EXPRESSION).
set(args "--gtest_filter=GemmBlockingBits.*" "--gtest_also_run_disabled_tests")
set(default_bits "${WORK_DIR}/gemm_bits_${ISA}_default.bin")
set(tiny_bits "${WORK_DIR}/gemm_bits_${ISA}_tiny.bin")
file(REMOVE "${default_bits}" "${tiny_bits}")
execute_process(COMMAND ${CMAKE_COMMAND} -E env "CATAPULT_GEMM_BITS=${default_bits}"
                        "CATAPULT_ISA=${ISA}" "${TEST_BINARY}" ${args}
                RESULT_VARIABLE rc_default OUTPUT_VARIABLE out_default ERROR_VARIABLE out_default)
if(out_default MATCHES "SKIPPED \\] CATAPULT_ISA")
  message(STATUS "CPU lacks ${ISA}")
  return()
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env "CATAPULT_GEMM_BITS=${tiny_bits}"
                        "CATAPULT_ISA=${ISA}" CATAPULT_CACHE_L1D=4096 CATAPULT_CACHE_L2=16384
                        CATAPULT_CACHE_L3=65536 "${TEST_BINARY}" ${args}
                RESULT_VARIABLE rc_tiny OUTPUT_VARIABLE out_tiny ERROR_VARIABLE out_tiny)
if(NOT rc_default EQUAL 0 OR NOT rc_tiny EQUAL 0 OR NOT EXISTS "${default_bits}"
   OR NOT EXISTS "${tiny_bits}")
  message(FATAL_ERROR "GemmBlockingBits failed (detected caches: ${rc_default}, tiny: ${rc_tiny})\n"
                      "${out_default}\n${out_tiny}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files "${default_bits}" "${tiny_bits}"
                RESULT_VARIABLE same)
file(SIZE "${default_bits}" bytes)
if(NOT same EQUAL 0 OR bytes EQUAL 0)
  message(FATAL_ERROR "${ISA}: the GEMM's bits differ between the detected and the tiny caches "
                      "(${default_bits}, ${tiny_bits}; ${bytes} bytes)")
endif()
message(STATUS "${ISA}: same bits under both cache settings (${bytes} bytes)")

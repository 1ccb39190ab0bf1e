# catapult_add_isa_runs(<test executable>): registers the executable's tests once more for every
# kernel ISA (lib/kernels/sources.cmake), each run with CATAPULT_ISA forcing that ISA, named
# "<test>@<isa>" and labelled "isa" (one label: gtest_discover_tests passes a list-valued LABELS
# on as separate words, so only its first item would stick). Select them with `ctest -L isa`, one
# ISA with `ctest -R '@sse$'`; scripts/sanitize.sh, which selects suites by the executable's
# label, leaves them to the release suite. The default run
# (catapult_add_test) takes the best ISA of the CPU; these are the only runs of the lower ISAs'
# kernels on an AVX-512 machine. On a CPU without an ISA its run reports every test as skipped
# (tests/kernels/isa_environment.cpp, which the executable must link).
function(catapult_add_isa_runs name)
  foreach(isa IN ITEMS avx512 avx2 sse)
    gtest_discover_tests(
      ${name}
      TEST_SUFFIX "@${isa}"
      DISCOVERY_TIMEOUT 60
      PROPERTIES TIMEOUT 600 ENVIRONMENT "CATAPULT_ISA=${isa}" LABELS isa)
  endforeach()
endfunction()

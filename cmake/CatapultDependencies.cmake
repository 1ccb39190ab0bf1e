# Every dependency is a Debian 12 package (scripts/setup.sh installs them); nothing is downloaded.
find_package(Threads REQUIRED)
find_package(TBB 2021 CONFIG REQUIRED)
find_package(Eigen3 3.4 CONFIG REQUIRED)
find_package(spectra CONFIG REQUIRED)
find_package(ZLIB REQUIRED)
find_package(xsimd 8 CONFIG REQUIRED)
# Debian's xsimd 8.1 export lists "xtl" in its link interface although xtl is not packaged with it
# and xsimd is header-only: drop that entry so consumers do not get a bogus -lxtl.
set_target_properties(xsimd PROPERTIES INTERFACE_LINK_LIBRARIES "")

if(CATAPULT_BUILD_APPS OR CATAPULT_BUILD_TESTS)
  find_package(CLI11 CONFIG REQUIRED)
endif()
find_package(nlohmann_json 3 CONFIG REQUIRED)
if(CATAPULT_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(CATAPULT_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()

# OpenBLAS: optional benchmark peer and test reference. Debian ships a CMake config for it.
find_package(OpenBLAS CONFIG QUIET)
if(OpenBLAS_FOUND)
  add_library(catapult_openblas INTERFACE)
  target_include_directories(catapult_openblas SYSTEM INTERFACE ${OpenBLAS_INCLUDE_DIRS})
  target_link_libraries(catapult_openblas INTERFACE ${OpenBLAS_LIBRARIES})
  target_compile_definitions(catapult_openblas INTERFACE CATAPULT_HAVE_OPENBLAS=1)
  message(STATUS "catapult: OpenBLAS ${OpenBLAS_VERSION} found (benchmark peer)")
endif()

find_package(MPI QUIET COMPONENTS CXX)

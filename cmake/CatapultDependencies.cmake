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

# Open MPI: the optional distributed layer (catapult::dist, lib/CMakeLists.txt). Only the C API is
# used, so the deprecated C++ bindings (libmpi_cxx) are not linked.
if(CATAPULT_WITH_MPI)
  set(MPI_CXX_SKIP_MPICXX ON)
  find_package(MPI QUIET COMPONENTS CXX)
endif()
if(MPI_CXX_FOUND)
  message(STATUS "catapult: MPI ${MPI_CXX_VERSION} found (${MPIEXEC_EXECUTABLE}): building catapult::dist and the distributed sweep, train and ntk")
else()
  message(STATUS "catapult: MPI not found (or CATAPULT_WITH_MPI=OFF): everything runs in one process")
endif()

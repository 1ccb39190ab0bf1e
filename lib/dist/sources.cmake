# The optional MPI layer: its own library (catapult::dist, lib/CMakeLists.txt), not part of
# catapult::catapult.
set(CATAPULT_DIST_SOURCES dist/mpi.cpp dist/task_pool.cpp dist/data_parallel.cpp
                          dist/sharded_ntk.cpp)

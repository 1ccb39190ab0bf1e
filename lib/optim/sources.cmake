list(APPEND CATAPULT_SOURCES optim/optimizer.cpp optim/sgd.cpp optim/adagrad.cpp optim/adam.cpp
     optim/schedule.cpp)
# The AdaGrad and Adam updates take a square root per parameter; with errno-setting sqrt GCC will
# not vectorize those loops. -fno-math-errno changes no result (nothing reads errno), unlike
# -ffast-math, which is never used.
set_source_files_properties(optim/adagrad.cpp optim/adam.cpp PROPERTIES COMPILE_OPTIONS
                                                                        -fno-math-errno)

list(APPEND CATAPULT_SOURCES ntk/spectrum.cpp ntk/ntk.cpp ntk/curvature.cpp)

list(APPEND CATAPULT_SOURCES train/checkpoint.cpp)

list(APPEND CATAPULT_SOURCES core/rng.cpp core/threading.cpp)

list(APPEND CATAPULT_SOURCES data/sha256.cpp data/idx.cpp data/dataset.cpp data/fetch.cpp
     data/process.cpp)

list(APPEND CATAPULT_SOURCES nn/mlp.cpp nn/loss.cpp)

list(APPEND CATAPULT_SOURCES optim/optimizer.cpp optim/sgd.cpp optim/adagrad.cpp optim/adam.cpp
     optim/schedule.cpp)

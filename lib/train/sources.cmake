list(APPEND CATAPULT_SOURCES train/trainer.cpp train/observers.cpp train/npz.cpp train/config.cpp
            train/checkpoint.cpp train/sweep.cpp train/controllers.cpp)

list(APPEND CATAPULT_SOURCES analysis/catapult_detector.cpp analysis/adagrad_stats.cpp analysis/agop.cpp
            analysis/phase_map.cpp)

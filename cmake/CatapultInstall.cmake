include(CMakePackageConfigHelpers)

install(TARGETS catapult EXPORT catapultTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/catapult DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/include/catapult/core/version.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/catapult/core)
# The MPI layer as the package's `dist` component (target catapult::dist).
if(TARGET catapult_dist)
  install(TARGETS catapult_dist EXPORT catapultDistTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endif()
if(TARGET catapult_cli)
  install(TARGETS catapult_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

set(CATAPULT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/catapult)
install(EXPORT catapultTargets NAMESPACE catapult:: DESTINATION ${CATAPULT_CMAKE_DIR})
if(TARGET catapult_dist)
  install(EXPORT catapultDistTargets NAMESPACE catapult:: DESTINATION ${CATAPULT_CMAKE_DIR})
endif()
if(NOT TARGET catapult_dist)
  # Without MPI the dist headers would name a library that is not installed.
  install(CODE "file(REMOVE_RECURSE \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_INCLUDEDIR}/catapult/dist\")")
endif()
configure_package_config_file(cmake/catapultConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/catapultConfig.cmake
                              INSTALL_DESTINATION ${CATAPULT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/catapultConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/catapultConfig.cmake
              ${PROJECT_BINARY_DIR}/catapultConfigVersion.cmake
        DESTINATION ${CATAPULT_CMAKE_DIR})

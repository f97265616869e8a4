# Install rules: the library (shared and static), the public headers (fgbi.h
# and fgbi_session.h), a pkg-config file and a CMake package
# (find_package(fgbi) -> fgbi::fgbi).
include(CMakePackageConfigHelpers)

install(TARGETS fgbi fgbi_static EXPORT fgbiTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        PUBLIC_HEADER DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT fgbiTargets NAMESPACE fgbi:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fgbi)
configure_package_config_file(cmake/fgbiConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/fgbiConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fgbi)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/fgbiConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/fgbiConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/fgbiConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fgbi)
file(RELATIVE_PATH FGBI_PC_PREFIX_REL "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
file(RELATIVE_PATH FGBI_PC_INCLUDE_REL "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig"
     "/root/${CMAKE_INSTALL_INCLUDEDIR}")
configure_file(cmake/fgbi.pc.in ${CMAKE_CURRENT_BINARY_DIR}/fgbi.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/fgbi.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(TARGET fgbi-engine)
  install(TARGETS fgbi-engine RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

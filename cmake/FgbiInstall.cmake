# Install rules: the two libraries (shared and static each) with their
# headers, and for each a pkg-config file and a CMake package:
#   libfgbi          fgbi.h          fgbi.pc          find_package(fgbi)
#                                                     -> fgbi::fgbi, fgbi::fgbi_static
#   libfgbi-session  fgbi_session.h  fgbi-session.pc  find_package(fgbi-session)
#                                                     -> fgbi::fgbi_session, fgbi::fgbi_session_static
include(CMakePackageConfigHelpers)

install(TARGETS fgbi fgbi_static EXPORT fgbiTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        PUBLIC_HEADER DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS fgbi_session fgbi_session_static EXPORT fgbi-sessionTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        PUBLIC_HEADER DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
get_target_property(FGBI_SESSION_VERSION fgbi_session VERSION)

# Relocatable pkg-config files: paths relative to their directory.
file(RELATIVE_PATH FGBI_PC_PREFIX_REL "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
file(RELATIVE_PATH FGBI_PC_INCLUDE_REL "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig"
     "/root/${CMAKE_INSTALL_INCLUDEDIR}")
foreach(package IN ITEMS fgbi fgbi-session)
  install(EXPORT ${package}Targets NAMESPACE fgbi::
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/${package})
  configure_package_config_file(cmake/${package}Config.cmake.in
                                ${CMAKE_CURRENT_BINARY_DIR}/${package}Config.cmake
                                INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/${package})
  if(package STREQUAL fgbi)
    set(version ${PROJECT_VERSION})
  else()
    set(version ${FGBI_SESSION_VERSION})
  endif()
  write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/${package}ConfigVersion.cmake
                                   VERSION ${version} COMPATIBILITY SameMajorVersion)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/${package}Config.cmake
                ${CMAKE_CURRENT_BINARY_DIR}/${package}ConfigVersion.cmake
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/${package})
  configure_file(cmake/${package}.pc.in ${CMAKE_CURRENT_BINARY_DIR}/${package}.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/${package}.pc
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
if(TARGET fgbi-engine)
  install(TARGETS fgbi-engine RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

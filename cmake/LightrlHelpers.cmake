# lightrl_test(NAME SOURCES a_test.cc ... LIBS lib ... [LABELS l ...] [TIMEOUT s])
#
# Builds one GoogleTest binary and registers each of its tests with CTest.
function(lightrl_test NAME)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${NAME} ${ARG_SOURCES})
  target_link_libraries(${NAME} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set(properties TIMEOUT ${ARG_TIMEOUT}
      ENVIRONMENT "LIGHTRL_BINARY_DIR=${CMAKE_BINARY_DIR};LIGHTRL_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
  if(ARG_LABELS)
    list(APPEND properties LABELS "${ARG_LABELS}")
  endif()
  gtest_discover_tests(${NAME} DISCOVERY_TIMEOUT 60 PROPERTIES ${properties})
endfunction()

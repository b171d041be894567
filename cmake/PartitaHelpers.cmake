# partita_library(NAME SRCS ... [HDRS ...] [DEPS ...] [PRIVATE_DEPS ...])
#   One library target per component: partita_NAME, aliased partita::NAME. Headers are public,
#   included as "component/header.h" from the repository root.
function(partita_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;HDRS;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(partita_${name} STATIC ${ARG_SRCS} ${ARG_HDRS})
  add_library(partita::${name} ALIAS partita_${name})
  target_include_directories(partita_${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(partita_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS} partita_warnings)
endfunction()

# partita_test(NAME SRCS ... DEPS ...)
#   A doctest executable NAME_test; every TEST_CASE becomes one ctest test.
function(partita_test name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${name}_test ${ARG_SRCS})
  target_link_libraries(${name}_test PRIVATE partita_test_main ${ARG_DEPS} partita_warnings)
  target_compile_definitions(${name}_test PRIVATE
    PARTITA_SOURCE_DIR="${PROJECT_SOURCE_DIR}" PARTITA_BINARY_DIR="${PROJECT_BINARY_DIR}")
  # A ctest test whose filter matches no test case (a name doctest cannot filter on) fails
  # instead of passing with nothing run.
  doctest_discover_tests(${name}_test ADD_LABELS 0 PROPERTIES LABELS "${name};${ARG_LABELS}"
    TIMEOUT 120 FAIL_REGULAR_EXPRESSION "test cases: +0 [|]")
endfunction()

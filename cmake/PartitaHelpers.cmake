# partita_library(NAME SRCS ... [HDRS ...] [DEPS ...] [PRIVATE_DEPS ...])
#   One library target per component: partita_NAME, aliased partita::NAME. Its headers are
#   included as "folder/header.h" through an include directory of its own,
#   <build>/include/NAME, which holds only a link to the component's folder: a target sees the
#   headers of the components it links and no others, so an undeclared dependency fails to
#   compile. (Helpers under tests/ see the whole tree, as tests do.)
function(partita_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;HDRS;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(partita_${name} STATIC ${ARG_SRCS} ${ARG_HDRS})
  add_library(partita::${name} ALIAS partita_${name})
  file(RELATIVE_PATH folder ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  if(folder MATCHES "^tests/")
    target_include_directories(partita_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  else()
    set(include_root ${PROJECT_BINARY_DIR}/include/${name})
    get_filename_component(link_parent ${include_root}/${folder} DIRECTORY)
    file(MAKE_DIRECTORY ${link_parent})
    if(NOT IS_SYMLINK ${include_root}/${folder})
      file(CREATE_LINK ${CMAKE_CURRENT_SOURCE_DIR} ${include_root}/${folder} SYMBOLIC)
    endif()
    target_include_directories(partita_${name} PUBLIC ${include_root})
  endif()
  target_link_libraries(partita_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS} partita_warnings)
endfunction()

# partita_test(NAME SRCS ... DEPS ...)
#   A doctest executable NAME_test; every TEST_CASE becomes one ctest test.
function(partita_test name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${name}_test ${ARG_SRCS})
  target_include_directories(${name}_test PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name}_test PRIVATE partita_test_main ${ARG_DEPS} partita_warnings)
  target_compile_definitions(${name}_test PRIVATE
    PARTITA_SOURCE_DIR="${PROJECT_SOURCE_DIR}" PARTITA_BINARY_DIR="${PROJECT_BINARY_DIR}")
  # A ctest test whose filter matches no test case (a name doctest cannot filter on) fails
  # instead of passing with nothing run.
  doctest_discover_tests(${name}_test ADD_LABELS 0 PROPERTIES LABELS "${name};${ARG_LABELS}"
    TIMEOUT 120 FAIL_REGULAR_EXPRESSION "test cases: +0 [|]")
endfunction()

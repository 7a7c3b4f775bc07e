# Fails, naming the files, when a C++ source differs from what clang-format
# makes of it:  cmake -DCLANG_FORMAT=... -DSOURCE_DIR=... -P check_format.cmake
file(GLOB_RECURSE sources RELATIVE ${SOURCE_DIR}
  ${SOURCE_DIR}/actors/*.cpp ${SOURCE_DIR}/actors/*.hpp
  ${SOURCE_DIR}/node/*.cpp ${SOURCE_DIR}/node/*.hpp
  ${SOURCE_DIR}/tests/*.cpp ${SOURCE_DIR}/tests/*.hpp)
list(FILTER sources EXCLUDE REGEX "node_modules/")
set(unformatted "")
foreach(source ${sources})
  execute_process(COMMAND ${CLANG_FORMAT} --dry-run --Werror ${source}
    WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE result OUTPUT_QUIET ERROR_QUIET)
  if(NOT result EQUAL 0)
    list(APPEND unformatted ${source})
  endif()
endforeach()
list(LENGTH sources count)
if(unformatted)
  list(JOIN unformatted "\n  " names)
  message(FATAL_ERROR "not formatted (run clang-format -i on them):\n  ${names}")
endif()
message(STATUS "${count} C++ files formatted as .clang-format says")

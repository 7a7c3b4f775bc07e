# Fails, naming the lines, when the chat (actors/) reaches into the network
# edge: an include of node/, of Boost.Asio or Beast, or of hiredis.
#   cmake -DSOURCE_DIR=... -P check_layering.cmake
file(GLOB sources ${SOURCE_DIR}/actors/*.cpp ${SOURCE_DIR}/actors/*.hpp ${SOURCE_DIR}/actors/*.in)
set(found "")
foreach(source ${sources})
  file(STRINGS ${source} lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"](node/|boost/asio|boost/beast|hiredis)")
  foreach(line ${lines})
    file(RELATIVE_PATH name ${SOURCE_DIR} ${source})
    list(APPEND found "${name}: ${line}")
  endforeach()
endforeach()
if(found)
  list(JOIN found "\n  " text)
  message(FATAL_ERROR "actors/ includes what belongs to the edge:\n  ${text}")
endif()
list(LENGTH sources count)
message(STATUS "${count} files of actors/ include nothing of node/, Asio, Beast or hiredis")

# Shows that each rule of check_layering.cmake can fail: for each, a scratch
# tree with one file that breaks it (and one that a rule allows), and the
# check must fail naming that rule.
#   cmake -DSOURCE_DIR=... -DSCRATCH_DIR=... -P check_layering_rules.cmake

# file planted | its include | the rule it must break
set(cases
  "actors/chat/x.hpp|boost/asio.hpp|actors without network code"
  "actors/contracts/x.hpp|actors/chat/hub.hpp|contracts and wire depend on nothing else"
  "actors/wire/x.cpp|actors/people/token.hpp|contracts and wire depend on nothing else"
  "actors/chat/x.cpp|actors/redis_bus/redis_bridge.hpp|the chat core includes no bus implementation"
  "actors/chat/y.cpp|actors/embedded_bus/embedded_bus.hpp|the chat core includes no bus implementation"
  "actors/embedded_bus/x.cpp|actors/chat/hub.hpp|buses know nothing of the chat core"
  "actors/redis_bus/x.cpp|actors/chat/session.hpp|buses know nothing of the chat core"
  "actors/archive/x.cpp|actors/chat/hub.hpp|buses know nothing of the chat core"
  "node/links/x.cpp|actors/redis_bus/redis_bridge.hpp|links include no actor, only ports"
  "node/links/y.cpp|node/edge/io_pool.hpp|links include no actor, only ports"
  "node/edge/x.cpp|node/links/redis_connection.hpp|the edge reaches actors through their contracts only"
  "node/edge/y.cpp|actors/chat/session.hpp|the edge reaches actors through their contracts only"
  "node/fetch/x.cpp|node/edge/listener.hpp|outbound fetching stands alone"
  "node/fetch/y.cpp|actors/chat/hub.hpp|outbound fetching stands alone"
  "node/files/x.cpp|node/edge/http_session.hpp|the file store stands alone"
  "node/files/y.cpp|actors/contracts/upload_ticket.hpp|the file store stands alone"
  "actors/webhooks/x.cpp|actors/archive/archive.hpp|the webhook sender knows only the contracts"
  "actors/commands/x.cpp|actors/chat/session.hpp|the command runner knows the contracts, the wire and webhook signing"
)
set(allowed_file "node/links/ok.cpp")
set(allowed_include "actors/redis_bus/redis_port.hpp")

foreach(case ${cases})
  string(REPLACE "|" ";" parts "${case}")
  list(GET parts 0 planted)
  list(GET parts 1 include)
  list(GET parts 2 rule)
  file(REMOVE_RECURSE ${SCRATCH_DIR})
  file(WRITE ${SCRATCH_DIR}/${allowed_file} "#include \"${allowed_include}\"\n")
  file(WRITE ${SCRATCH_DIR}/${planted} "#include <cstddef>\n#include \"${include}\"\n")
  execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${SCRATCH_DIR} -P ${CMAKE_CURRENT_LIST_DIR}/check_layering.cmake
    RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(result EQUAL 0)
    message(FATAL_ERROR "${planted} including ${include} passed the layering check; it breaks \"${rule}\"")
  endif()
  if(NOT err MATCHES "${planted}: ${include} \\(${rule}\\)")
    message(FATAL_ERROR "${planted} including ${include} failed, but not on \"${rule}\" alone:\n${err}")
  endif()
  if(err MATCHES "${allowed_file}")
    message(FATAL_ERROR "${allowed_file} including ${allowed_include} (a port) was refused:\n${err}")
  endif()
endforeach()
file(REMOVE_RECURSE ${SCRATCH_DIR})
list(LENGTH cases n)
message(STATUS "each layering rule fails on a wrong include (${n} cases)")

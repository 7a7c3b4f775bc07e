# Fails, naming the file, the line and the rule, when an include crosses a
# boundary of the architecture. Each rule: the folder it governs, what its
# files must not include, and the few headers that are allowed all the same.
#   cmake -DSOURCE_DIR=... -P check_layering.cmake
# cmake/check_layering_rules.cmake plants a wrong include under each rule and
# checks that this script fails on it.

# rule name @ folder @ forbidden include (regex) @ allowed anyway (regex, or "-")
set(rules
  "actors without network code@actors@^(node/|boost/asio|boost/beast|hiredis|libpq)@-"
  "contracts and wire depend on nothing else@actors/contracts@^actors/@^actors/(contracts|wire)/"
  "contracts and wire depend on nothing else@actors/wire@^actors/@^actors/(contracts|wire)/"
  "the chat core includes no bus implementation@actors/chat@^actors/(embedded_bus|redis_bus|archive)/@-"
  "buses know nothing of the chat core@actors/embedded_bus@^actors/chat/@-"
  "buses know nothing of the chat core@actors/redis_bus@^actors/chat/@-"
  "buses know nothing of the chat core@actors/archive@^actors/chat/@-"
  "the webhook sender knows only the contracts@actors/webhooks@^actors/@^actors/(contracts|webhooks)/"
  "the command runner knows the contracts, the wire and webhook signing@actors/commands@^actors/@^actors/(contracts|wire|commands)/|^actors/webhooks/webhook_signature\\.hpp$"
  "links include no actor, only ports@node/links@^(actors/|node/edge/)@^actors/(redis_bus/redis_port|redis_bus/cluster_slots|archive/pg_port|contracts/result)\\.hpp$"
  "the edge reaches actors through their contracts only@node/edge@^(actors/|node/links/)@^actors/(contracts|wire)/"
  "outbound fetching stands alone@node/fetch@^(actors/|node/edge/|node/links/)@^actors/contracts/result\\.hpp$"
  "the file store stands alone@node/files@^(actors/|node/edge/|node/links/|node/fetch/)@-"
  "web push's cryptography stands alone@node/push@^(actors/|node/edge/|node/links/|node/fetch/|node/files/)@-"
)

set(found "")
set(count 0)
foreach(rule ${rules})
  string(REPLACE "@" ";" parts "${rule}")
  list(GET parts 0 name)
  list(GET parts 1 folder)
  list(GET parts 2 forbidden)
  list(GET parts 3 allowed)
  file(GLOB_RECURSE sources ${SOURCE_DIR}/${folder}/*.cpp ${SOURCE_DIR}/${folder}/*.hpp ${SOURCE_DIR}/${folder}/*.in)
  list(LENGTH sources n)
  math(EXPR count "${count} + ${n}")
  foreach(source ${sources})
    file(STRINGS ${source} lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
    foreach(line ${lines})
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]*)[>\"].*" "\\1" target "${line}")
      if(target MATCHES "${forbidden}" AND (allowed STREQUAL "-" OR NOT target MATCHES "${allowed}"))
        file(RELATIVE_PATH path ${SOURCE_DIR} ${source})
        list(APPEND found "${path}: ${target} (${name})")
      endif()
    endforeach()
  endforeach()
endforeach()
if(found)
  list(JOIN found "\n  " text)
  message(FATAL_ERROR "includes across the architecture's boundaries:\n  ${text}")
endif()
list(LENGTH rules nrules)
message(STATUS "${nrules} layering rules hold over ${count} file checks")

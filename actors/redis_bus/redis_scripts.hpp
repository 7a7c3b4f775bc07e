#pragma once
// The Lua scripts the Redis bridge runs, each one atomic step in Redis. Their
// sources are actors/redis_bus/lua/*.lua, embedded at build time (CMake writes
// redis_scripts.cpp from them); each file says its KEYS, ARGV and reply.
// Keys of one room share the hash tag {room}, so a room lives on one shard;
// its channel carries the tag too, and scripts publish with the command the
// bridge names (PUBLISH on one Redis, SPUBLISH on a cluster's shard).

#include <string>
#include <vector>

namespace chatnode::redis_scripts {

extern const char* const store;      ///< store.lua: a message or a change, once per (user, cid)
extern const char* const replicated; ///< replicated.lua: a stored message reached its replicas
extern const char* const snapshot;   ///< snapshot.lua: history, members and version for a join
extern const char* const catch_up;   ///< catch_up.lua: the stream after a gap
extern const char* const archived;   ///< archived.lua: the archive's mark moves forward
extern const char* const history;    ///< history.lua: a page of history
extern const char* const thread;     ///< thread.lua: a page of a thread
extern const char* const read;       ///< read.lua: a user's read position moves up
extern const char* const
  thread_read;                    ///< thread_read.lua: (1.2) a follower's read position in a thread moves up
extern const char* const threads; ///< threads.lua: (1.2) the threads of a room a user follows
extern const char* const
  push_keep; ///< push_keep.lua: (1.2) a user's push subscription or level kept, up to a bound
extern const char* const push_decide; ///< push_decide.lua: (1.2) who a stored message owes a push
extern const char* const push_away;   ///< push_away.lua: (1.2) whether a due push is still wanted
extern const char* const push_level;  ///< push_level.lua: (1.2) a user's level kept on the room's slot
extern const char* const push_owe;    ///< push_owe.lua: (1.2) a message folded into a user's pending push
extern const char* const push_claim;  ///< push_claim.lua: (1.2) due pushes claimed for a while
extern const char* const push_settle; ///< push_settle.lua: (1.2) a claimed push ended or due again
extern const char* const admit;       ///< admit.lua: may a user enter a room
extern const char* const moderate;    ///< moderate.lua: a moderation action, stored in the room's order
extern const char* const hook_claim;  ///< hook_claim.lua: (1.2) a room's webhook delivery claimed for a while
extern const char* const hook_move; ///< hook_move.lua: (1.2) a room's webhook cursor moved, its lease renewed
extern const char* const directory; ///< directory.lua: a room's members or last message in the directory
extern const char* const presence;  ///< presence.lua: a name present or absent on a node
extern const char* const refresh;   ///< refresh.lua: a node's presence heartbeat in a room

/// Every script's source, as run (helpers included): what a connection loads when it connects.
std::vector<std::string> all();

} // namespace chatnode::redis_scripts

#include "node/links/redis_link_log.hpp"

#include "node/process/log.hpp"

namespace chatnode {

void log_redis_up(const std::string& link, const std::string& host, int port) {
  log::info("redis_connected", {{"link", link}, {"address", host + ":" + std::to_string(port)}});
}

void log_redis_down(const std::string& link, const std::string& reason, bool was_up) {
  if (was_up)
    log::warn("redis_lost", {{"link", link}, {"reason", reason}});
  else
    log::debug("redis_connect_failed", {{"link", link}, {"reason", reason}});
}

} // namespace chatnode

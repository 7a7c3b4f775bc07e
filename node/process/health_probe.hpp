#pragma once
// `chatnode health [URL]`: one GET of a node's /healthz, for container health
// checks, so an image needs no HTTP client of its own.

#include "actors/contracts/result.hpp"

#include <chrono>
#include <string>

namespace chatnode {

/// GETs `url` (http://host:port/path): success when it answers 200 within
/// `timeout`, else why not.
outcome<> probe_health(const std::string& url, std::chrono::milliseconds timeout);

} // namespace chatnode

#pragma once
// `chatnode health [URL]`: one GET of a node's /healthz, for container health
// checks, so an image needs no HTTP client of its own.

#include <chrono>
#include <string>

namespace chatnode {

/// GETs `url` (http://host:port/path); true when it answers 200 within
/// `timeout`. `problem` says why not otherwise.
bool probe_health(const std::string& url, std::chrono::milliseconds timeout, std::string& problem);

} // namespace chatnode

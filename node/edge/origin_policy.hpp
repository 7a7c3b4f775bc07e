#pragma once
// Which browser origins may open a WebSocket to this node.

#include <string>
#include <string_view>
#include <vector>

namespace chatnode {

/// True when `origin` names the same host (and port) as the Host header, or
/// is listed in `allowed` ("*" allows any).
bool origin_allowed(std::string_view origin, std::string_view host, const std::vector<std::string>& allowed);

} // namespace chatnode

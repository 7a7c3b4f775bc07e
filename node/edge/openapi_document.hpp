#pragma once
// (1.2) The server API's OpenAPI 3.1 description (node/edge/openapi.json,
// embedded at build time), served at /api/openapi.json.

#include <string_view>

namespace chatnode {

std::string_view openapi_document();

} // namespace chatnode

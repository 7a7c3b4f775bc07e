#include "actors/contracts/error_code.hpp"

namespace chatnode {

std::string_view to_string(error_code code) {
  switch (code) {
    case error_code::bad_json: return "bad_json";
    case error_code::bad_request: return "bad_request";
    case error_code::not_joined: return "not_joined";
    case error_code::too_large: return "too_large";
    case error_code::rate_limited: return "rate_limited";
    case error_code::unavailable: return "unavailable";
    case error_code::unauthorized: return "unauthorized";
    case error_code::forbidden: return "forbidden";
    case error_code::not_found: return "not_found";
  }
  return "unknown";
}

} // namespace chatnode

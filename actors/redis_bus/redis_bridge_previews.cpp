#include "actors/redis_bus/redis_bridge_previews.hpp"

#include "actors/contracts/signing.hpp"
#include "actors/redis_bus/redis_entries.hpp"

namespace chatnode::bridge {

namespace {

constexpr const char* pending = "pending";
constexpr const char* nothing = "none";
constexpr const char* fetch_seconds = "30";  ///< a claim to fetch lasts
constexpr const char* keep_seconds = "3600"; ///< what was found lasts

} // namespace

std::string preview_cache::key_of(const std::string& url) const {
  // A link is long and anyone's text: its key holds a digest of it.
  return core_.keys.preview(base64url(hmac_sha256("chatnode link preview", url)));
}

caf::result<cached_preview> preview_cache::look_up(const std::string& url) {
  // SET NX GET: nil when this node claimed the fetch; else what was there.
  return calls_.answer<cached_preview>(
    redis_call::command({"SET", key_of(url), pending, "NX", "GET", "EX", fetch_seconds}),
    [](const redis_reply& r) -> std::optional<cached_preview> {
      if (r.type == redis_reply::kind::nil)
        return cached_preview{cached_preview::state::fetch, std::nullopt};
      if (r.type != redis_reply::kind::string)
        return std::nullopt;
      if (r.str == pending)
        return cached_preview{cached_preview::state::wait, std::nullopt};
      return cached_preview{cached_preview::state::found, preview_of_field(r.str)};
    });
}

void preview_cache::keep(const std::string& url, const std::optional<link_preview>& found) {
  calls_.send_and_forget(
    {"SET", key_of(url), found ? preview_field(*found) : std::string{nothing}, "EX", keep_seconds});
}

} // namespace chatnode::bridge

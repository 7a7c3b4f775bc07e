#include "actors/webhooks/webhook_signature.hpp"

#include "actors/contracts/signing.hpp"

#include <algorithm>

namespace chatnode {

std::string webhook_signature(std::string_view secret, std::string_view timestamp, std::string_view body) {
  std::string signed_text;
  signed_text.reserve(timestamp.size() + 1 + body.size());
  signed_text.append(timestamp).append(".").append(body);
  return "sha256=" + hex(hmac_sha256(secret, signed_text));
}

std::string webhook_delivery_id(const std::string& room, message_id id) {
  return room + "/" + id.to_string();
}

webhook_post make_webhook_post(std::string_view secret, const std::string& room, const archived_entry& entry,
                               std::int64_t now_s) {
  webhook_post post;
  post.body = entry.frame ? *entry.frame : std::string{};
  post.delivery = webhook_delivery_id(room, entry.id);
  post.timestamp = std::to_string(now_s);
  post.signature = webhook_signature(secret, post.timestamp, post.body);
  return post;
}

std::chrono::milliseconds webhook_retry_delay(unsigned failures, std::chrono::milliseconds longest) {
  std::chrono::milliseconds delay{1000};
  for (unsigned i = 1; i < failures && delay < longest; ++i)
    delay *= 2;
  return std::min(delay, longest);
}

} // namespace chatnode

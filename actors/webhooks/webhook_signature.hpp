#pragma once
// (1.2) What a webhook delivery says of itself: its id, its timestamp and
// its signature (PROTOCOL.md "Webhooks"), and how long a failed one waits
// before it is tried again. Pure logic.

#include "actors/contracts/messages.hpp"
#include "actors/contracts/webhook_poster.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace chatnode {

/// "sha256=" + the hex HMAC-SHA256 of `timestamp + "." + body` under `secret`.
std::string webhook_signature(std::string_view secret, std::string_view timestamp, std::string_view body);

/// An entry's delivery id: "<room>/<id>", the same on every retry and every node.
std::string webhook_delivery_id(const std::string& room, message_id id);

/// The delivery of an entry at `now_s` (seconds since the epoch).
webhook_post make_webhook_post(std::string_view secret, const std::string& room, const archived_entry& entry,
                               std::int64_t now_s);

/// The wait after `failures` failed attempts in a row: 1 s, doubling, at most `longest`.
std::chrono::milliseconds webhook_retry_delay(unsigned failures, std::chrono::milliseconds longest);

} // namespace chatnode

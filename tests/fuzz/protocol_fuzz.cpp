// Fuzzes the client frame decoder. Properties: no crash or sanitizer report;
// every accepted request obeys the protocol's rules; a stored message encodes
// to JSON that gives back its text unaltered.

#include "actors/previews/first_link.hpp"
#include "actors/wire/protocol.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>

using namespace chatnode;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view frame{reinterpret_cast<const char*>(data), size};
  // A message's link to preview is an http(s) URL found in what was sent.
  auto link = first_link(frame);
  std::string scheme = link.substr(0, link.find("://"));
  for (auto& c : scheme)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!link.empty() && (frame.find(link) == std::string_view::npos || link.size() > max_preview_url ||
                        (scheme != "http" && scheme != "https")))
    std::abort();
  protocol_limits limits;
  auto result = decode_request(frame, limits);
  auto* req = std::get_if<request>(&result);
  if (req == nullptr)
    return 0;
  // dm, dms and rooms name no room (the node names a conversation), nor do
  // (1.2) the push key and subscriptions, and a token's renewal; every other request names a valid one.
  bool roomless = req->type == request_type::dm || req->type == request_type::dms ||
                  req->type == request_type::rooms || req->type == request_type::push_key ||
                  req->type == request_type::push_subscribe || req->type == request_type::push_unsubscribe ||
                  req->type == request_type::notify_levels || req->type == request_type::auth;
  if (roomless ? !req->room.empty() : !valid_room(req->room))
    std::abort();
  // (1.2) A subscription's endpoint is an http(s) URL of at most 2,048 bytes;
  // its keys are base64url of 65 and 16 bytes, unpadded.
  if (req->type == request_type::push_subscribe || req->type == request_type::push_unsubscribe) {
    const auto& e = req->endpoint;
    if (e.size() > 2048 || !(e.starts_with("https://") || e.starts_with("http://")))
      std::abort();
  }
  if (req->type == request_type::push_subscribe &&
      (req->p256dh.size() != 87 || req->push_secret.size() != 22))
    std::abort();
  if (req->type == request_type::notify && req->level != "all" && req->level != "mentions" &&
      req->level != "none")
    std::abort();
  if (utf8_length(req->cid) > max_cid_chars)
    std::abort();
  if (req->type == request_type::dm && (req->user.empty() || utf8_length(req->user) > max_name_chars))
    std::abort();
  if (req->type == request_type::join && (req->name.empty() || utf8_length(req->name) > max_name_chars))
    std::abort();
  if (req->type == request_type::history && (req->limit < 1 || req->limit > max_page_size))
    std::abort();
  if (req->type == request_type::send) {
    // Text may be empty only beside files (1.2), at most 10 of them.
    if ((req->text.empty() && req->files.empty()) || utf8_length(req->text) > limits.max_text_chars ||
        req->files.size() > max_files_per_message)
      std::abort();
    chat_message msg{req->room, {1, 2}, "user", req->text, 1, req->cid};
    auto encoded = nlohmann::json::parse(encode_message(msg), nullptr, false);
    if (encoded.is_discarded() || encoded["text"] != req->text || encoded["room"] != req->room)
      std::abort();
  }
  return 0;
}

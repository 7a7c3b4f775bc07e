#pragma once
// Reading a room's Redis stream entries and message states (written by
// actors/redis_bus/lua/store.lua) back as events: a message or change as it was
// published, or a message as it now is.

#include "actors/contracts/chat_types.hpp"
#include "actors/redis_bus/redis_port.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatnode::bridge {

/// Whether a stream entry {id, {field, value...}} is a change (edit, delete, reaction).
bool is_change(const redis_reply& entry);

/// An entry's message number (messages stored up to and including it; 0
/// for entries written before numbering).
std::uint64_t entry_number(const redis_reply& entry);

/// An entry as it was published: its `message`, `edit`, `delete` or `reaction` event.
stored_message entry_event(const std::string& room, const redis_reply& entry);

/// A message entry as it now is, given its value in the room's states hash
/// (empty for a message never changed).
stored_message entry_now(const std::string& room, const redis_reply& entry, std::string_view state_json);

/// A states hash value: the message's state, and its edited text in `text`
/// when it was edited. A malformed value counts as no change.
message_state parse_state(std::string_view state_json, std::string& text);

/// (1.2) A message's files as its entry's `f` field keeps them (a JSON
/// array; empty for none), and back (a field of another shape: none).
std::string files_field(const std::vector<shared_file>& files);
std::vector<shared_file> files_of_field(std::string_view field);
/// (1.2) A preview as store.lua keeps it, in its entry's `p` field and in
/// the message's state: a JSON object (u url, t title, d description, s
/// site, i image).
std::string preview_field(const link_preview& preview);
/// The preview of such a field; none when it is not one.
std::optional<link_preview> preview_of_field(std::string_view field);

} // namespace chatnode::bridge

#pragma once
// (1.2) Slash commands: each registered by name with the URL that answers
// it (`[[command]]` in [api] keys_file), and the port through which the
// node posts a call there. `/name args` typed in a room is not posted but
// sent to its URL, signed like a webhook; the answer is posted by the
// command's bot or shown to the caller alone.

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace chatnode {

struct command_spec {
  std::string name;               ///< typed as /name
  std::string url;                ///< http(s): where calls go
  std::string secret;             ///< signs each call
  std::string bot;                ///< who posts its answers to the room
  std::string description;        ///< for the page's list
  std::string usage;              ///< its arguments, as the page shows them
  std::vector<std::string> rooms; ///< where it works (its bot's rooms); empty: everywhere
  bool allow_private = false;     ///< its URL may be on a private network

  bool in_room(const std::string& room) const {
    if (rooms.empty())
      return true;
    for (const auto& r : rooms)
      if (r == room)
        return true;
    return false;
  }
};

/// Every command of the node, shared by the sessions and the runner.
using command_book = std::vector<command_spec>;
using command_book_ptr = std::shared_ptr<const command_book>;

/// Whether `name` is a command's name: 1 to 32 of a-z 0-9 _ -.
inline bool command_name(std::string_view name) {
  if (name.empty() || name.size() > 32)
    return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  return true;
}

/// One call of a command: its JSON and the headers that name and sign it.
struct command_post {
  std::string url;
  bool allow_private = false;
  std::string body;
  std::string delivery;  ///< X-Chatnode-Delivery: this call's own id
  std::string timestamp; ///< X-Chatnode-Timestamp
  std::string signature; ///< X-Chatnode-Signature
};

/// What the command's service answered: status (0: none, see error) and body.
struct command_answer {
  int status = 0;
  std::string body;
  std::string error;
};

class command_poster {
public:
  virtual ~command_poster() = default;
  /// Posts `post`; `done` runs once, on any thread.
  virtual void post(command_post post, std::function<void(command_answer)> done) = 0;
};

} // namespace chatnode

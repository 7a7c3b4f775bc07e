#pragma once
// (1.2) The port through which the previewer has a link fetched. The node
// implements it with its fetcher, which connects only to addresses its
// policy allows and reads at most so much for so long (node/fetch/).

#include "actors/contracts/chat_types.hpp"

#include <functional>
#include <optional>
#include <string>

namespace chatnode {

class link_fetcher {
public:
  virtual ~link_fetcher() = default;
  /// Fetches `url` and reads what its preview shows; `done` runs once, on
  /// any thread, with none when the link has no usable preview.
  virtual void fetch(const std::string& url, std::function<void(std::optional<link_preview>)> done) = 0;
};

} // namespace chatnode

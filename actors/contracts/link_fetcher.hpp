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
  /// A preview's image for one message: the fetched (or cached) preview's
  /// image is shared by every message that links the page, so each gets a
  /// copy of its own, which goes when its message goes. `done` runs once,
  /// on any thread, with the preview naming the copy, or with no image
  /// when none could be made.
  virtual void own_image(const link_preview& preview, std::function<void(link_preview)> done) {
    done(preview);
  }
  /// After the store: the message's copy is `kept` (the preview was stored),
  /// or goes (it was not, or a retry had stored it before).
  virtual void settle_image(const link_preview& /*preview*/, bool /*kept*/) {}
};

} // namespace chatnode

#pragma once
// (1.2) The port through which an actor has a small document fetched that
// the operator named (the identity provider's JWKS). The node implements it
// with its outbound client (node/fetch/): https only, TLS verified, bounded
// in size and time.

#include <functional>
#include <string>

namespace chatnode {

class document_fetcher {
public:
  virtual ~document_fetcher() = default;
  /// Fetches `url`; `done` runs once, on any thread, with the body, or an
  /// empty body and why there is none.
  virtual void fetch(const std::string& url,
                     std::function<void(std::string body, std::string error)> done) = 0;
};

} // namespace chatnode

#pragma once
// (1.2) The port through which the webhook sender has an entry posted to
// the deployment's receiver. The node implements it (node/process/
// webhook_delivery): a POST to the one configured URL over a connection
// to an address the policy allows, no redirect followed, 10 seconds at most.

#include <functional>
#include <string>

namespace chatnode {

/// One delivery of one entry: its JSON and the headers that name and sign it.
struct webhook_post {
  std::string body;
  std::string delivery;  ///< X-Chatnode-Delivery: the same on every retry
  std::string timestamp; ///< X-Chatnode-Timestamp: seconds since the epoch
  std::string signature; ///< X-Chatnode-Signature: "sha256=" + hex
};

/// What the receiver answered: its status (0: no answer, see error).
struct webhook_answer {
  int status = 0;
  std::string error;
};

class webhook_poster {
public:
  virtual ~webhook_poster() = default;
  /// Posts `post`; `done` runs once, on any thread.
  virtual void post(webhook_post post, std::function<void(webhook_answer)> done) = 0;
};

} // namespace chatnode

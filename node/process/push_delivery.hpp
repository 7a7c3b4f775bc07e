#pragma once
// (1.2) The node's push_sender: a push's payload encrypted for its
// subscription (RFC 8291), signed for with the deployment's VAPID key
// (RFC 8292: a token for the push service's origin, valid 12 hours), and
// posted on an I/O thread under the push client's rules
// (node/fetch/push_post.hpp).

#include "actors/contracts/push_identity.hpp"
#include "actors/contracts/push_sender.hpp"
#include "node/fetch/push_post.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace chatnode {

namespace push {
class vapid_key;
}

class push_delivery : public push_sender, public std::enable_shared_from_this<push_delivery> {
public:
  push_delivery(boost::asio::io_context& io, std::shared_ptr<const push_identity> identity,
                std::string subject, push_post_limits limits);
  ~push_delivery() override;

  void send(push_request request, std::function<void(push_outcome)> done) override;

private:
  /// The deployment's key, parsed once per key.
  std::shared_ptr<const push::vapid_key> key();
  /// The Authorization header for a push service's origin: a token made
  /// for 12 hours and used for one (a signature per push service an hour,
  /// not per push), made again when the key changes.
  std::string authorization(const std::shared_ptr<const push::vapid_key>& key, const std::string& audience);

  boost::asio::io_context& io_;
  boost::asio::ssl::context tls_;
  std::shared_ptr<const push_identity> identity_;
  std::string subject_;
  push_post_limits limits_;
  std::mutex mutex_;
  std::string parsed_pem_;
  std::shared_ptr<const push::vapid_key> parsed_;
  struct token {
    std::string header;
    std::int64_t made = 0;                     ///< seconds since the epoch
    std::shared_ptr<const push::vapid_key> by; ///< the key that signed it
  };
  std::unordered_map<std::string, token> tokens_; ///< by audience
};

} // namespace chatnode

#include "node/process/push_delivery.hpp"

#include "node/fetch/page_fetch.hpp"
#include "node/push/web_push_crypto.hpp"

#include <boost/asio/post.hpp>

#include <chrono>

namespace chatnode {

push_delivery::push_delivery(boost::asio::io_context& io, std::shared_ptr<const push_identity> identity,
                             std::string subject, push_post_limits limits)
  : io_(io),
    tls_(make_client_tls()),
    identity_(std::move(identity)),
    subject_(std::move(subject)),
    limits_(std::move(limits)) {}

push_delivery::~push_delivery() = default;

std::shared_ptr<const push::vapid_key> push_delivery::key() {
  auto kept = identity_->get();
  if (!kept)
    return nullptr;
  std::lock_guard guard{mutex_};
  if (!parsed_ || parsed_pem_ != kept->private_pem) {
    auto key = push::vapid_key::from_pem(kept->private_pem);
    if (!key)
      return nullptr;
    parsed_ = std::make_shared<const push::vapid_key>(std::move(*key));
    parsed_pem_ = kept->private_pem;
  }
  return parsed_;
}

std::string push_delivery::authorization(const std::shared_ptr<const push::vapid_key>& key,
                                         const std::string& audience) {
  using namespace std::chrono;
  auto now = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
  std::lock_guard guard{mutex_};
  if (tokens_.size() > 1000 && !tokens_.contains(audience))
    tokens_.clear(); // push services are few: a flood of others starts the cache over
  auto& kept = tokens_[audience];
  if (kept.by != key || now - kept.made >= 3600)
    kept = {key->authorization(audience, subject_, now + 12 * 3600), now, key};
  return kept.header;
}

void push_delivery::send(push_request request, std::function<void(push_outcome)> done) {
  // The cryptography runs on the I/O thread that posts it, not the pusher's.
  boost::asio::post(
    io_, [this, keep = shared_from_this(), request = std::move(request), done = std::move(done)]() mutable {
      auto vapid = key();
      if (!vapid) {
        done({0, -1, "the deployment's VAPID key is not known yet"});
        return;
      }
      auto audience = push_audience(request.to.endpoint);
      if (audience.empty()) {
        done({0, -1, "the endpoint is not an http(s) URL with a host", true});
        return;
      }
      auto body = push::encrypt(request.payload, {request.to.p256dh, request.to.auth});
      if (!body.error.empty()) {
        done({0, -1, "the subscription's keys: " + body.error, true});
        return;
      }
      push_post_request post{request.to.endpoint, std::move(body.body), authorization(vapid, audience),
                             request.ttl,         request.urgency,      request.topic};
      post_push(io_, tls_, std::move(post), limits_, [done = std::move(done)](push_post_result r) {
        done({r.status, r.retry_after, std::move(r.error), r.refused});
      });
    });
}

} // namespace chatnode

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
      using namespace std::chrono;
      auto expires = duration_cast<seconds>(system_clock::now().time_since_epoch()).count() + 12 * 3600;
      push_post_request post{
        request.to.endpoint, std::move(body.body), vapid->authorization(audience, subject_, expires),
        request.ttl,         request.urgency,      request.topic};
      post_push(io_, tls_, std::move(post), limits_, [done = std::move(done)](push_post_result r) {
        done({r.status, r.retry_after, std::move(r.error), r.refused});
      });
    });
}

} // namespace chatnode

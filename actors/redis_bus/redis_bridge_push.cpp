#include "actors/redis_bus/redis_bridge_push.hpp"

#include "actors/contracts/push_identity.hpp"

namespace chatnode::bridge {

void push_keeper::fetch_key() {
  auto identity = core_.settings.push_key;
  if (!identity || identity->candidate().empty())
    return; // push is off, or the operator's key is used as is
  // SET NX GET: the key Redis held, or nil when it held none and took ours.
  calls_.send(redis_call::command({"SET", core_.keys.push_key(), identity->candidate(), "NX", "GET"}),
              [this, identity](redis_reply r) {
                if (r.type == redis_reply::kind::nil) {
                  identity->keep(identity->candidate());
                } else if (r.type == redis_reply::kind::string && !identity->keep(r.str)) {
                  identity->set_problem("the VAPID key kept in Redis (" + core_.keys.push_key() +
                                        ") is not a P-256 private key in PEM: replace or delete it");
                }
              });
}

} // namespace chatnode::bridge

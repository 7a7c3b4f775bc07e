#include "actors/people/api.hpp"

#include "actors/people/directory.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string_view>
#include <vector>

namespace chatnode {

namespace {

using json = nlohmann::json;
constexpr auto bus_timeout = std::chrono::seconds{5};

struct api_state {
  api_state() = default; // not an aggregate (see hub_state)

  api_bus bus;
  archive_actor archive;
  protocol_limits limits;
  stats_ptr stats;
  std::function<void(const moderation_request&)> on_moderation;

  static inline const char* name = "api";
};

using api_self = api_actor::stateful_pointer<api_state>;

api_response answer(int status, json body) {
  return {status, body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"};
}

api_response problem(int status, std::string_view reason) {
  return answer(status, json{{"error", reason}});
}

/// The path's segments after "/api/".
std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  path.remove_prefix(std::min(path.size(), std::string_view{"/api/"}.size()));
  while (!path.empty()) {
    auto slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

/// A request's fields as a client request would carry them, decoded by the
/// protocol's own rules: the API takes no input the WebSocket would refuse.
std::optional<request> decode_as(const std::string& type, const std::string& room, const std::string& body,
                                 const protocol_limits& limits, api_response& refusal) {
  auto doc = json::parse(body.empty() ? "{}" : body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    refusal = problem(400, "the body is not a JSON object");
    return std::nullopt;
  }
  doc["type"] = type;
  doc["room"] = room;
  auto decoded = decode_request(doc.dump(), limits);
  if (!ok(decoded)) {
    const auto& err = error_of(decoded);
    refusal = problem(err.code == error_code::too_large ? 413 : 400, err.reason);
    return std::nullopt;
  }
  return std::get<request>(decoded);
}

using promise_t = caf::typed_response_promise<api_response>;

/// Answers the HTTP request (a promise's deliver returns a value; handlers must not).
void give(promise_t& promise, api_response response) {
  promise.deliver(std::move(response));
}

/// (1.2) Why the caller's key may not do this (here), or none.
std::optional<api_response> refused(const api_caller& caller, api_scope scope, std::string_view what,
                                    const std::string* room) {
  if (!caller.may(scope))
    return problem(403, "the key " + caller.name + " may not " + std::string{what});
  if (room && !caller.in_room(*room))
    return problem(403, "the key " + caller.name + " may not " + std::string{what} + " in room " + *room);
  if (!room && scope != api_scope::read_members && scope != api_scope::erase && !caller.every_room())
    return problem(403,
                   "the key " + caller.name + " may not " + std::string{what} + ": it is limited to rooms");
  return std::nullopt;
}

void list_rooms(api_self self, const api_caller& caller, promise_t promise) {
  self->request(self->state.bus, bus_timeout, rooms_atom::value)
    .then(
      [promise, caller](const directory_listing& listing) mutable {
        auto page = page_of(listing, 0, listing.size());
        json rooms = json::array();
        for (const auto& r : page.rooms)
          if (caller.in_room(r.room))
            rooms.push_back(
              {{"room", r.room}, {"members", r.members}, {"last_ts", r.last_ts ? json(*r.last_ts) : json()}});
        give(promise, answer(200, json{{"rooms", rooms}}));
      },
      [promise](const caf::error&) mutable { give(promise, problem(503, "the bus did not answer")); });
}

void list_members(api_self self, const std::string& room, promise_t promise) {
  self->request(self->state.bus, bus_timeout, who_atom::value, room)
    .then(
      [promise, room](const presence_snapshot& who) mutable {
        give(promise, answer(200, json{{"room", room}, {"members", who.members}}));
      },
      [promise](const caf::error&) mutable { give(promise, problem(503, "the bus did not answer")); });
}

void post_message(api_self self, const api_caller& caller, const std::string& room, const std::string& body,
                  promise_t promise) {
  auto doc = json::parse(body.empty() ? "{}" : body, nullptr, false);
  std::string user;
  if (doc.is_object() && doc.contains("user") && doc["user"].is_string())
    user = doc["user"].get<std::string>();
  // (1.2) A named key is a bot: it posts under its own name.
  if (caller.bot) {
    if (!user.empty() && user != caller.name)
      return give(promise, problem(400, "the key " + caller.name + " posts under its own name, not " + user));
    user = caller.name;
  }
  api_response refusal;
  // The sender's name follows the rules of a join's name.
  auto named = decode_as("join", room, json{{"name", user}}.dump(), self->state.limits, refusal);
  if (!named)
    return give(promise, problem(400, "user must be 1 to 32 characters, not blank, no control characters"));
  auto sent = decode_as("send", room, body, self->state.limits, refusal);
  if (!sent)
    return give(promise, refusal);
  auto stored = message_request(room, named->name, sent->text, sent->cid);
  stored.bot = caller.bot;
  self->request(self->state.bus, bus_timeout, store_atom::value, std::move(stored))
    .then(
      [promise](const store_result& r) mutable {
        if (r.refused)
          return give(promise, problem(403, r.refused->reason));
        auto stored = json::parse(*r.message.frame, nullptr, false);
        give(promise, answer(r.duplicate ? 200 : 201, json{{"id", stored.value("id", "")},
                                                           {"ts", stored.value("ts", std::int64_t{0})}}));
      },
      [promise](const caf::error&) mutable {
        give(promise, problem(503, "the message could not be stored"));
      });
}

void moderate(api_self self, const api_caller& caller, const std::string& room, const std::string& body,
              promise_t promise) {
  api_response refusal;
  auto req = decode_as("moderate", room, body, self->state.limits, refusal);
  if (!req)
    return give(promise, refusal);
  moderation_request action{room, caller.bot ? caller.name : std::string{api_moderator}, req->action,
                            req->user, req->seconds};
  self->state.stats->count_moderation(req->action);
  if (self->state.on_moderation)
    self->state.on_moderation(action);
  self->request(self->state.bus, bus_timeout, moderate_atom::value, std::move(action))
    .then(
      [promise](const store_result& r) mutable {
        auto event = json::parse(*r.message.frame, nullptr, false);
        give(promise, answer(200, event));
      },
      [promise](const caf::error&) mutable {
        give(promise, problem(503, "the moderation could not be stored"));
      });
}

void set_retention(api_self self, const std::string& room, const std::string& body, promise_t promise) {
  if (!self->state.archive)
    return give(promise, problem(409, "retention in days needs an archive ([archive] url)"));
  auto doc = json::parse(body.empty() ? "{}" : body, nullptr, false);
  if (!doc.is_object() || !doc.contains("days") || !doc["days"].is_number_integer() ||
      doc["days"].get<std::int64_t>() < 0 || doc["days"].get<std::int64_t>() > 1000000)
    return give(promise, problem(400, "days must be an integer from 0 (the node's default) to 1000000"));
  auto days = doc["days"].get<std::int64_t>();
  self->request(self->state.archive, bus_timeout, retention_atom::value, room, days)
    .then(
      [promise, room, days](bool) mutable {
        give(promise, answer(200, json{{"room", room}, {"days", days}}));
      },
      [promise](const caf::error&) mutable { give(promise, problem(503, "the archive did not answer")); });
}

void erase(api_self self, const std::string& user, promise_t promise) {
  if (!self->state.archive)
    return give(promise,
                problem(409, "erasing needs an archive ([archive] url): it finds the rooms a user wrote in"));
  self->request(self->state.archive, std::chrono::seconds{60}, erase_atom::value, user)
    .then(
      [promise, user](const erase_result& r) mutable {
        give(promise, answer(200, json{{"user", user},
                                       {"rooms", r.rooms},
                                       {"retained_deleted", r.retained},
                                       {"archived_removed", r.archived}}));
      },
      [promise](const caf::error&) mutable { give(promise, problem(503, "the archive did not answer")); });
}

caf::result<api_response> route(api_self self, const api_request& req) {
  auto parts = segments(req.path);
  auto promise = self->make_response_promise<api_response>();
  const auto& caller = req.caller;
  // Answers `refusal` when the key may not; true when it may.
  auto allowed = [&](api_scope scope, std::string_view what, const std::string* room = nullptr) {
    if (auto refusal = refused(caller, scope, what, room)) {
      give(promise, std::move(*refusal));
      return false;
    }
    return true;
  };
  auto valid_room = [&](const std::string& room) { return chatnode::valid_room(room); };
  if (req.method == "GET" && parts == std::vector<std::string>{"rooms"}) {
    if (allowed(api_scope::read_members, "read rooms"))
      list_rooms(self, caller, promise);
  } else if (parts.size() == 3 && parts[0] == "rooms") {
    const auto& room = parts[1];
    if (!valid_room(room))
      give(promise, problem(400, "room must be 1 to 64 characters of A-Z a-z 0-9 _ . -"));
    else if (req.method == "GET" && parts[2] == "members") {
      if (allowed(api_scope::read_members, "read members", &room))
        list_members(self, room, promise);
    } else if (req.method == "POST" && parts[2] == "messages") {
      if (allowed(api_scope::post, "post", &room))
        post_message(self, caller, room, req.body, promise);
    } else if (req.method == "POST" && parts[2] == "moderation") {
      if (allowed(api_scope::moderate, "moderate", &room))
        moderate(self, caller, room, req.body, promise);
    } else if (req.method == "POST" && parts[2] == "retention") {
      if (allowed(api_scope::moderate, "set retention", &room))
        set_retention(self, room, req.body, promise);
    } else
      give(promise, problem(404, "no such API endpoint"));
  } else if (req.method == "POST" && parts.size() == 3 && parts[0] == "users" && parts[2] == "erase") {
    if (!allowed(api_scope::erase, "erase users"))
      return promise;
    if (parts[1].empty() || utf8_length(parts[1]) > max_name_chars)
      give(promise, problem(400, "user must be 1 to 32 characters"));
    else
      erase(self, parts[1], promise);
  } else if (req.method == "POST" && parts.size() == 3 && parts[0] == "users" && parts[2] == "disconnect") {
    if (!allowed(api_scope::moderate, "disconnect users"))
      return promise;
    if (parts[1].empty() || utf8_length(parts[1]) > max_name_chars)
      give(promise, problem(400, "user must be 1 to 32 characters"));
    else {
      self->send(self->state.bus, disconnect_atom::value, parts[1]);
      give(promise, answer(202, json{{"user", parts[1]}, {"disconnect", "sent to every node"}}));
    }
  } else {
    give(promise, problem(404, "no such API endpoint"));
  }
  return promise;
}

api_actor::behavior_type api(api_self self, api_bus bus, protocol_limits limits, stats_ptr stats,
                             std::function<void(const moderation_request&)> on_moderation,
                             archive_actor archive) {
  self->state.bus = std::move(bus);
  self->state.archive = std::move(archive);
  self->state.limits = limits;
  self->state.stats = std::move(stats);
  self->state.on_moderation = std::move(on_moderation);
  self->set_error_handler([](caf::error&) {});
  return {
    [self](api_atom, const api_request& req) { return route(self, req); },
  };
}

} // namespace

api_actor spawn_api(caf::actor_system& sys, api_bus bus, protocol_limits limits, stats_ptr stats,
                    std::function<void(const moderation_request&)> on_moderation, archive_actor archive) {
  return sys.spawn(api, std::move(bus), limits, std::move(stats), std::move(on_moderation),
                   std::move(archive));
}

} // namespace chatnode

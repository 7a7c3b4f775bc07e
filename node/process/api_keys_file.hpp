#pragma once
// (1.2) The server API's named keys, read from `[api] keys_file`: a TOML
// file of [[key]] tables, kept apart from node.toml so that its secrets can
// come from where secrets live (a Kubernetes Secret, a mounted file):
//
//   [[key]]
//   name = "deploybot"                  # who it acts as: a bot posts under this name
//   secret = "16 or more characters"    # the bearer token
//   scopes = ["post", "read_members"]   # post, moderate, read_members, erase
//   rooms = ["ops", "alerts"]           # where it may act; ["*"]: every room
//
// `[api] key`, when set, is one more key: "api", every scope, every room.

#include "actors/contracts/api_keys.hpp"
#include "actors/contracts/result.hpp"
#include "node/process/config.hpp"

#include <memory>
#include <string>

namespace chatnode {

/// The node's keys, or what is wrong with the file (its path, the line, the key).
result<std::shared_ptr<const api_keyring>, std::string> load_api_keys(const node_config& config);

/// The keys of a file's text; `source` names it in errors.
result<std::shared_ptr<const api_keyring>, std::string> parse_api_keys(std::string_view text,
                                                                       std::string_view source);

} // namespace chatnode

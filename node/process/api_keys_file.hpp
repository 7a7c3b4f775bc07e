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
//
// The file also registers slash commands, each answered by a service:
//
//   [[command]]
//   name = "deploy"                         # typed as /deploy args
//   url = "https://deploy.internal/chat"    # where calls are POSTed (signed)
//   secret = "16 or more characters"        # signs each call
//   bot = "deploybot"                       # a [[key]]: posts its answers; its rooms bound where it works
//   description = "Deploys a service"       # shown as one types /
//   usage = "<service> [version]"
//   allow_private = false                   # true: the URL may be on a private network

#include "actors/contracts/api_keys.hpp"
#include "actors/contracts/commands.hpp"
#include "actors/contracts/result.hpp"
#include "node/process/config.hpp"

#include <memory>
#include <string>

namespace chatnode {

/// What the file sets up: the API's keys and the slash commands.
struct api_setup {
  std::shared_ptr<const api_keyring> keys;
  command_book_ptr commands;
};

/// The node's keys and commands, or what is wrong with the file (its path,
/// the line, the key or command).
result<api_setup, std::string> load_api_keys(const node_config& config);

/// The keys and commands of a file's text; `source` names it in errors.
result<api_setup, std::string> parse_api_keys(std::string_view text, std::string_view source);

} // namespace chatnode

// The S3 client (node/files/s3_client.hpp) from the command line, for the
// files_s3 suite: one operation a run, its result as one JSON line on
// stdout, exit status 0 when it succeeded.
//   s3_tool put KEY FILE [CONTENT_TYPE]
//   s3_tool stream-put KEY FILE [PIECE_BYTES] [CONTENT_TYPE]   (the file read as it is sent)
//   s3_tool get KEY OUT_FILE [FIRST-[LAST]] [MAX_BYTES]
//   s3_tool head KEY [PAUSE_MS]                                (twice, PAUSE_MS apart, when given)
//   s3_tool delete KEY
//   s3_tool list PREFIX [MAX_KEYS]                             (every page)
// The store from the environment: S3_ENDPOINT, S3_BUCKET, S3_REGION,
// S3_ACCESS_KEY, S3_SECRET_KEY, S3_PATH_STYLE (0 for virtual-hosted), S3_TIMEOUT_MS.

#include "node/files/s3_client.hpp"
#include "node/files/s3_upload.hpp"

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace {

using chatnode::s3_client;
using nlohmann::json;

std::string env(const char* name, std::string fallback = {}) {
  const char* value = std::getenv(name);
  return value ? value : fallback;
}

chatnode::s3_config config_from_env() {
  chatnode::s3_config config;
  config.endpoint = env("S3_ENDPOINT", "http://127.0.0.1:4568");
  config.bucket = env("S3_BUCKET");
  config.region = env("S3_REGION", "us-east-1");
  config.credentials.access_key = env("S3_ACCESS_KEY");
  config.credentials.secret_key = env("S3_SECRET_KEY");
  config.path_style = env("S3_PATH_STYLE", "1") != "0";
  std::chrono::milliseconds timeout{std::stoll(env("S3_TIMEOUT_MS", "20000"))};
  config.request_timeout = timeout;
  config.stall_timeout = timeout;
  return config;
}

json described(const chatnode::s3_result& result) {
  return {{"ok", result.ok()},
          {"status", result.status},
          {"error", result.error},
          {"code", result.error_code},
          {"etag", result.etag}};
}

json described(const chatnode::s3_object_result& result) {
  auto out = described(static_cast<const chatnode::s3_result&>(result));
  out["content_length"] = result.content_length ? json(*result.content_length) : json(nullptr);
  out["content_type"] = result.content_type;
  out["content_range"] = result.content_range;
  out["last_modified"] = result.last_modified;
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    throw std::runtime_error{"cannot read " + path};
  return {std::istreambuf_iterator<char>{in}, {}};
}

/// "FIRST-LAST" or "FIRST-".
std::optional<chatnode::s3_byte_range> range_of(const std::string& text) {
  if (text.empty())
    return std::nullopt;
  auto dash = text.find('-');
  chatnode::s3_byte_range range;
  range.first = std::stoull(text.substr(0, dash));
  if (dash != std::string::npos && dash + 1 < text.size())
    range.last = std::stoull(text.substr(dash + 1));
  return range;
}

/// Sends the file in pieces, each read only once the last one is written.
void stream_put(s3_client& client, const std::string& key, const std::string& path, std::size_t piece_bytes,
                const std::string& content_type, json& out) {
  auto in = std::make_shared<std::ifstream>(path, std::ios::binary | std::ios::ate);
  if (!*in)
    throw std::runtime_error{"cannot read " + path};
  auto length = static_cast<std::uint64_t>(in->tellg());
  in->seekg(0);
  auto pieces = std::make_shared<int>(0);
  auto upload = client.start_put(key, length, content_type, [&out, pieces](chatnode::s3_result result) {
    out = described(result);
    out["pieces"] = *pieces;
  });
  auto next = std::make_shared<std::function<void()>>();
  auto piece = std::make_shared<std::string>();
  *next = [upload, in, piece_bytes, pieces, next, piece] {
    piece->assign(std::min<std::uint64_t>(piece_bytes, upload->remaining()), '\0');
    in->read(piece->data(), static_cast<std::streamsize>(piece->size()));
    ++*pieces;
    // The piece stays as it is until written: the next is read after.
    upload->write(boost::asio::buffer(*piece), [upload, next](std::string error) {
      if (error.empty() && upload->remaining() > 0)
        (*next)();
      else
        *next = nullptr; // ends the cycle of owners
    });
  };
  (*next)();
}

/// Every page of the listing, one after the other.
void list_all(s3_client& client, const std::string& prefix, int max_keys, json& out) {
  out = {{"ok", true}, {"pages", 0}, {"objects", json::array()}};
  auto page = std::make_shared<std::function<void(std::string)>>();
  *page = [&client, &out, prefix, max_keys, page](std::string token) {
    client.list_objects(
      prefix, token,
      [&client, &out, page](chatnode::s3_list_result result) {
        out["pages"] = out["pages"].get<int>() + 1;
        if (!result.ok()) {
          auto failed = described(result);
          failed["pages"] = out["pages"];
          out = failed;
          *page = nullptr;
          return;
        }
        for (const auto& object : result.listing.objects)
          out["objects"].push_back(
            {{"key", object.key}, {"size", object.size}, {"last_modified", object.last_modified}});
        if (result.listing.truncated && !result.listing.next_continuation_token.empty()) {
          (*page)(result.listing.next_continuation_token);
          return;
        }
        out["idle_connections"] = client.idle_connections();
        *page = nullptr;
      },
      max_keys);
  };
  (*page)("");
}

/// Two heads, `pause` apart: the second on the first's connection when
/// the server kept it, on a new one when it closed it meanwhile.
void head_twice(boost::asio::io_context& io, s3_client& client, const std::string& key,
                std::chrono::milliseconds pause, json& out) {
  client.head_object(key, [&io, &client, &out, key, pause](chatnode::s3_object_result first) {
    out = {{"ok", false}, {"first", described(first)}, {"idle_after_first", client.idle_connections()}};
    auto timer = std::make_shared<boost::asio::steady_timer>(io, pause);
    timer->async_wait([&client, &out, key, timer](boost::system::error_code) {
      client.head_object(key, [&client, &out](chatnode::s3_object_result second) {
        out["second"] = described(second);
        out["idle_after_second"] = client.idle_connections();
        out["ok"] = out["first"]["ok"].get<bool>() && second.ok();
      });
    });
  });
}

int run(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: s3_tool put|stream-put|get|head|delete|list KEY|PREFIX ...\n";
    return 2;
  }
  std::string command = argv[1], key = argv[2];
  auto arg = [&](int i, std::string fallback = {}) { return i < argc ? std::string{argv[i]} : fallback; };
  boost::asio::io_context io;
  s3_client client{io, config_from_env()};
  json out;
  if (command == "put") {
    client.put_object(key, read_file(arg(3)), arg(4), [&](chatnode::s3_result r) { out = described(r); });
  } else if (command == "stream-put") {
    stream_put(client, key, arg(3), std::stoul(arg(4, "262144")), arg(5), out);
  } else if (command == "get") {
    auto max_bytes = std::stoull(arg(5, "104857600"));
    client.get_object(key, range_of(arg(4)), max_bytes, [&, path = arg(3)](chatnode::s3_object_result r) {
      out = described(r);
      out["body_bytes"] = r.body.size();
      if (r.ok())
        std::ofstream{path, std::ios::binary}.write(r.body.data(),
                                                    static_cast<std::streamsize>(r.body.size()));
    });
  } else if (command == "head" && argc > 3) {
    head_twice(io, client, key, std::chrono::milliseconds{std::stoll(arg(3))}, out);
  } else if (command == "head") {
    client.head_object(key, [&](chatnode::s3_object_result r) { out = described(r); });
  } else if (command == "delete") {
    client.delete_object(key, [&](chatnode::s3_result r) { out = described(r); });
  } else if (command == "list") {
    list_all(client, key, std::stoi(arg(3, "1000")), out);
  } else {
    std::cerr << "unknown command " << command << '\n';
    return 2;
  }
  io.run();
  std::cout << out.dump() << '\n';
  return out.value("ok", false) ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "s3_tool: " << e.what() << '\n';
    return 2;
  }
}

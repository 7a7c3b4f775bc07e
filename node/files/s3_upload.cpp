#include "node/files/s3_upload.hpp"

#include "node/files/s3_transport.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>

namespace chatnode {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

s3_call streamed_put(std::string key, const std::string& content_type) {
  s3_call call{http::verb::put, std::move(key), {}, {}, "UNSIGNED-PAYLOAD"};
  if (!content_type.empty())
    call.headers.emplace_back("content-type", content_type);
  return call;
}

} // namespace

s3_upload::s3_upload(std::shared_ptr<s3_transport> transport, std::string key, std::uint64_t content_length,
                     std::string content_type, std::function<void(s3_result)> complete)
  : transport_{std::move(transport)},
    remaining_{content_length},
    complete_{std::move(complete)} {
  request_.base() = transport_->signed_header(streamed_put(std::move(key), content_type), host_);
  request_.content_length(content_length);
  request_.body().data = nullptr;
  request_.body().more = true;
}

void s3_upload::write(net::const_buffer piece, std::function<void(std::string)> written) {
  std::string misuse;
  if (over_)
    misuse = "the upload is over";
  else if (writing_)
    misuse = "a write before the last one was written";
  else if (piece.size() > remaining_)
    misuse = "more bytes than the upload's length";
  else if (piece.size() == 0 && remaining_ > 0)
    misuse = "a write of no bytes";
  if (!misuse.empty()) {
    net::post(transport_->io, [written = std::move(written), misuse] { written(misuse); });
    return;
  }
  writing_ = true;
  net::co_spawn(transport_->io, send(piece),
                [self = shared_from_this(), written = std::move(written)](std::exception_ptr failure,
                                                                          std::optional<s3_result> result) {
                  self->writing_ = false;
                  if (failure) {
                    result.emplace();
                    result->error = describe_s3_failure(failure);
                  }
                  if (result)
                    self->end(std::move(*result), written);
                  else
                    written({});
                });
}

net::awaitable<std::optional<s3_result>> s3_upload::send(net::const_buffer piece) {
  auto until = s3_connection::clock::now() + transport_->config.stall_timeout;
  if (!connection_) {
    bool reused = false;
    connection_ = co_await transport_->connect(host_, until, reused);
    serializer_.emplace(request_);
    co_await connection_->send_header(*serializer_);
  }
  connection_->expires_at(until);
  remaining_ -= piece.size();
  request_.body().data = piece.size() == 0 ? nullptr : const_cast<void*>(piece.data());
  request_.body().size = piece.size();
  request_.body().more = remaining_ > 0;
  std::string write_failure;
  try {
    co_await connection_->send_body(*serializer_);
  } catch (const boost::system::system_error& e) {
    if (e.code() == beast::error::timeout)
      throw;
    write_failure = e.code().message();
  }
  if (write_failure.empty() && remaining_ > 0)
    co_return std::nullopt;
  co_return co_await answer(write_failure);
}

net::awaitable<std::optional<s3_result>> s3_upload::answer(std::string write_failure) {
  s3_result result;
  std::optional<s3_response> response;
  try {
    response = co_await connection_->receive(false, s3_connection::max_small_body);
  } catch (const boost::system::system_error&) {
    // A server that refuses an upload may answer and close before taking
    // it all; without an answer, the write's failure is the reason.
    if (write_failure.empty())
      throw;
  }
  if (!response) {
    result.error = write_failure;
    co_return result;
  }
  read_s3_answer(*response, result);
  if (response->keep_alive && write_failure.empty())
    transport_->keep(host_, std::move(connection_));
  co_return result;
}

void s3_upload::end(s3_result result, const std::function<void(std::string)>& written) {
  over_ = true;
  connection_.reset();
  written(result.error);
  if (complete_)
    std::exchange(complete_, nullptr)(std::move(result));
}

} // namespace chatnode

#pragma once
// HTTP/1.1 request framing on the nodejs http-parser (Debian's libhttp-parser): one parser per
// connection, reset between requests, buffers kept, so reading a request allocates only for the
// headers the exchange keeps. Limits: the header block and the body, each answered with its own
// status (431, 413) rather than a generic 400.
#include <http_parser.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/http.h"
#include "core/headers.h"

namespace seraph {

class RequestParser {
 public:
  RequestParser(size_t header_limit, size_t body_limit);
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  enum class Result { kNeedMore, kComplete, kError };
  // Parses what `data` holds of the current request; stops after one complete request (the rest
  // is the next pipelined one). `consumed` says how much of `data` was used.
  Result feed(const char* data, size_t size, size_t& consumed);
  // Ready for the next request; the buffers keep their capacity.
  void reset();

  // Once kComplete:
  Method method() const { return method_; }
  std::string_view target() const { return target_; }
  std::string_view body() const { return body_; }
  // The headers, for the exchange to take (the parser starts a new map for the next request).
  HeaderMap take_headers() { return std::move(headers_); }
  bool keep_alive() const { return keep_alive_; }
  bool head() const { return method_ == Method::kHead; }
  bool http10() const { return parser_.http_major == 1 && parser_.http_minor == 0; }

  // Once the headers are in: the client waits for "100 Continue" before it sends the body.
  bool expects_continue() const { return expects_continue_; }
  bool headers_complete() const { return headers_complete_; }
  bool got_some() const { return got_some_; }

  // Once kError: the status to answer with (400, 413, 431, 501) and why.
  unsigned error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }

 private:
  static int on_url(http_parser* p, const char* at, size_t length);
  static int on_header_field(http_parser* p, const char* at, size_t length);
  static int on_header_value(http_parser* p, const char* at, size_t length);
  static int on_headers_complete(http_parser* p);
  static int on_body(http_parser* p, const char* at, size_t length);
  static int on_message_complete(http_parser* p);
  int fail(unsigned status, std::string message);
  void commit_header();
  bool over_header_limit(size_t more);

  const size_t header_limit_;
  const size_t body_limit_;
  http_parser parser_;
  http_parser_settings settings_;
  Method method_ = Method::kOther;
  std::string target_;
  std::string body_;
  std::string field_, value_;
  bool in_value_ = false;
  HeaderMap headers_;
  size_t header_bytes_ = 0;
  bool keep_alive_ = true;
  bool expects_continue_ = false;
  bool headers_complete_ = false;
  bool got_some_ = false;
  bool complete_ = false;
  unsigned error_status_ = 0;
  std::string error_message_;
};

}  // namespace seraph

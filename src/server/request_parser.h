#pragma once
// HTTP/1.1 request framing (RFC 9112), strict: our own parser, since http-parser and its callbacks
// cost an eighth of a /predict request's instructions. One parser per connection, reset between
// requests, buffers kept, so reading a request allocates only for the headers the exchange keeps.
//
// Strict where a lenient reading could let a proxy in front and this server frame a request
// differently (request smuggling): lines end with CRLF only (a bare LF or CR is a 400), no
// whitespace before a field's colon, no obs-fold, no control characters, Content-Length digits
// only and agreeing when repeated, never both Content-Length and Transfer-Encoding, and chunked as
// the only transfer coding. Limits: the header section as sent (request line, fields and their line
// ends; with chunked, the chunk extensions and the trailers too) and the body, each answered with
// its own status (431, 413) rather than a generic 400.
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
  // is the next pipelined one). `consumed` says how much of `data` was used: all of it unless the
  // request completed or an error ended it.
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
  bool http10() const { return http10_; }

  // Once the headers are in: the client waits for "100 Continue" before it sends the body.
  bool expects_continue() const { return expects_continue_; }
  bool headers_complete() const { return headers_complete_; }
  bool got_some() const { return got_some_; }

  // Once kError: the status to answer with (400, 413, 431, 501, 505) and why.
  unsigned error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }

 private:
  enum class State { kRequestLine, kHeaders, kBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailers, kDone, kError };

  // Each takes one line without its CRLF; false once an error is set.
  bool on_line(std::string_view line);
  bool on_request_line(std::string_view line);
  bool on_header_line(std::string_view line);
  bool on_trailer_line(std::string_view line);
  bool on_chunk_size_line(std::string_view line);
  bool split_field_line(std::string_view line, std::string_view& name, std::string_view& value);
  bool on_framing_field(std::string_view name, std::string_view value);
  bool on_content_length(std::string_view value);
  bool on_transfer_encoding(std::string_view value);
  void on_connection(std::string_view value);
  bool on_headers_end();
  // Takes up to `size` bytes of body; the number taken.
  size_t take_body(const char* data, size_t size);
  void check_partial_line();
  bool count_header_bytes(size_t size);
  bool header_limit_exceeded();
  bool fail(unsigned status, std::string message);

  // What the fields said about the request's framing and its connection, as they arrive.
  struct Framing {
    bool has_content_length = false;
    uint64_t content_length = 0;
    bool has_transfer_encoding = false;
    bool chunked_last = false;  // the latest transfer coding listed is chunked
    unsigned chunked_codings = 0;
    bool other_coding = false;  // a transfer coding besides chunked (not implemented)
    bool close = false;
    bool keep_alive = false;
    bool expect_continue = false;
  };

  const size_t header_limit_;
  const size_t body_limit_;
  State state_ = State::kRequestLine;
  std::string line_;  // a line that began in an earlier feed, until its end arrives
  Method method_ = Method::kOther;
  std::string target_;
  std::string body_;
  HeaderMap headers_;
  Framing framing_;
  size_t header_bytes_ = 0;    // the header section, chunk extensions and trailers, against header_limit_
  uint64_t body_left_ = 0;     // of the Content-Length, or of the current chunk
  size_t chunk_end_seen_ = 0;  // bytes of the CRLF after a chunk's data
  bool http10_ = false;
  bool keep_alive_ = true;
  bool expects_continue_ = false;
  bool headers_complete_ = false;
  bool got_some_ = false;
  unsigned error_status_ = 0;
  std::string error_message_;
};

}  // namespace seraph

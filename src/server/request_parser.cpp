#include "server/request_parser.h"

#include <fmt/format.h>

namespace seraph {
namespace {

RequestParser& self(http_parser* p) { return *static_cast<RequestParser*>(p->data); }

Method to_method(unsigned method) {
  switch (method) {
    case HTTP_GET: return Method::kGet;
    case HTTP_HEAD: return Method::kHead;
    case HTTP_POST: return Method::kPost;
    case HTTP_PUT: return Method::kPut;
    case HTTP_DELETE: return Method::kDelete;
    default: return Method::kOther;
  }
}

}  // namespace

RequestParser::RequestParser(size_t header_limit, size_t body_limit)
    : header_limit_(header_limit), body_limit_(body_limit) {
  http_parser_settings_init(&settings_);
  settings_.on_url = on_url;
  settings_.on_header_field = on_header_field;
  settings_.on_header_value = on_header_value;
  settings_.on_headers_complete = on_headers_complete;
  settings_.on_body = on_body;
  settings_.on_message_complete = on_message_complete;
  reset();
}

void RequestParser::reset() {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  method_ = Method::kOther;
  target_.clear();
  body_.clear();
  field_.clear();
  value_.clear();
  in_value_ = false;
  headers_ = HeaderMap();
  headers_.reserve(16, 512);  // a typical request's fields fit: two allocations, not one per growth
  header_bytes_ = 0;
  keep_alive_ = true;
  expects_continue_ = false;
  headers_complete_ = false;
  got_some_ = false;
  complete_ = false;
  error_status_ = 0;
  error_message_.clear();
}

RequestParser::Result RequestParser::feed(const char* data, size_t size, size_t& consumed) {
  consumed = 0;
  if (size == 0) return Result::kNeedMore;
  got_some_ = true;
  consumed = http_parser_execute(&parser_, &settings_, data, size);
  if (complete_) {
    // Paused after this request: the rest belongs to the next one.
    http_parser_pause(&parser_, 0);
    return Result::kComplete;
  }
  const auto error = HTTP_PARSER_ERRNO(&parser_);
  if (error_status_ != 0) return Result::kError;
  if (error != HPE_OK) {
    error_status_ = 400;
    error_message_ = fmt::format("malformed HTTP request: {}", http_errno_description(error));
    return Result::kError;
  }
  if (parser_.upgrade) {
    fail(400, "protocol upgrades are not supported");
    return Result::kError;
  }
  return Result::kNeedMore;
}

int RequestParser::fail(unsigned status, std::string message) {
  error_status_ = status;
  error_message_ = std::move(message);
  return -1;  // stops the parser (from on_headers_complete, 1 would mean "no body")
}

bool RequestParser::over_header_limit(size_t more) {
  header_bytes_ += more;
  return header_bytes_ > header_limit_;
}

void RequestParser::commit_header() {
  if (!field_.empty()) {
    if (equals_ignoring_case(field_, "expect") && equals_ignoring_case(value_, "100-continue")) expects_continue_ = true;
    headers_.add(field_, value_);
  }
  field_.clear();
  value_.clear();
  in_value_ = false;
}

int RequestParser::on_url(http_parser* p, const char* at, size_t length) {
  RequestParser& r = self(p);
  if (r.over_header_limit(length)) return r.fail(431, "request headers are too large");
  r.target_.append(at, length);
  return 0;
}

int RequestParser::on_header_field(http_parser* p, const char* at, size_t length) {
  RequestParser& r = self(p);
  if (r.over_header_limit(length)) return r.fail(431, "request headers are too large");
  if (r.in_value_) r.commit_header();
  r.field_.append(at, length);
  return 0;
}

int RequestParser::on_header_value(http_parser* p, const char* at, size_t length) {
  RequestParser& r = self(p);
  if (r.over_header_limit(length)) return r.fail(431, "request headers are too large");
  r.in_value_ = true;
  r.value_.append(at, length);
  return 0;
}

int RequestParser::on_headers_complete(http_parser* p) {
  RequestParser& r = self(p);
  r.commit_header();
  r.method_ = to_method(p->method);
  r.keep_alive_ = http_should_keep_alive(p) != 0;
  r.headers_complete_ = true;
  if ((p->flags & F_CONTENTLENGTH) && p->content_length > r.body_limit_) {
    return r.fail(413, fmt::format("request body exceeds the limit of {} bytes", r.body_limit_));
  }
  if (!(p->flags & (F_CONTENTLENGTH | F_CHUNKED))) return 0;
  r.body_.reserve(p->flags & F_CONTENTLENGTH ? static_cast<size_t>(p->content_length) : 0);
  return 0;
}

int RequestParser::on_body(http_parser* p, const char* at, size_t length) {
  RequestParser& r = self(p);
  if (r.body_.size() + length > r.body_limit_) {
    return r.fail(413, fmt::format("request body exceeds the limit of {} bytes", r.body_limit_));
  }
  r.body_.append(at, length);
  return 0;
}

int RequestParser::on_message_complete(http_parser* p) {
  RequestParser& r = self(p);
  r.complete_ = true;
  http_parser_pause(p, 1);  // one request at a time: a pipelined next one waits in the buffer
  return 0;
}

}  // namespace seraph

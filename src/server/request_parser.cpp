#include "server/request_parser.h"

#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/format.h>

#include "core/byte_scan.h"

namespace seraph {
namespace {

// Bytes of a chunk size: 16 hex digits hold any 64-bit size; more, even leading zeros, are refused.
constexpr size_t kMaxChunkSizeDigits = 16;

enum CharClass : uint8_t {
  kTokenChar = 1,       // tchar (RFC 9110 5.6.2): methods, field names, transfer codings
  kTargetChar = 2,      // visible ASCII: a request target has no spaces, controls or raw non-ASCII
  kFieldValueChar = 4,  // field-vchar, SP, HT and obs-text: no controls, so no CR or NUL inside a value
};

constexpr std::array<uint8_t, 256> make_char_classes() {
  std::array<uint8_t, 256> classes{};
  constexpr std::string_view kTokenSymbols = "!#$%&'*+-.^_`|~";
  for (size_t c = 0; c < classes.size(); ++c) {
    const bool alphanumeric = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    uint8_t bits = 0;
    if (alphanumeric || kTokenSymbols.find(static_cast<char>(c)) != std::string_view::npos) bits |= kTokenChar;
    if (c > 0x20 && c < 0x7f) bits |= kTargetChar;
    if (c == '\t' || (c >= 0x20 && c != 0x7f)) bits |= kFieldValueChar;
    classes[c] = bits;
  }
  return classes;
}

constexpr std::array<uint8_t, 256> kCharClasses = make_char_classes();

bool all_of_class(std::string_view text, uint8_t char_class) {
  for (char c : text) {
    if ((kCharClasses[static_cast<unsigned char>(c)] & char_class) == 0) return false;
  }
  return true;
}

// How many bytes at the start of `text` are token characters.
size_t token_length(std::string_view text) {
  size_t length = 0;
  while (length < text.size() && (kCharClasses[static_cast<unsigned char>(text[length])] & kTokenChar) != 0) ++length;
  return length;
}

constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighs = 0x8080808080808080ULL;

// Whether any byte of `word` is below `limit` (at most 0x80) or is DEL; exact for the word as a whole.
bool has_byte_below_or_del(uint64_t word, uint64_t limit) {
  const uint64_t del = word ^ (kOnes * 0x7f);
  return ((((word - kOnes * limit) & ~word) | ((del - kOnes) & ~del)) & kHighs) != 0;
}

// Values and targets are checked eight bytes at a time: a word of plain bytes passes whole.
bool is_field_value(std::string_view text) {
  size_t at = 0;
  for (; at + 8 <= text.size(); at += 8) {
    // A control byte or DEL fails the value, unless it is an HT: those words go byte by byte.
    if (has_byte_below_or_del(load_word(text.data() + at), 0x20) &&
        !all_of_class(text.substr(at, 8), kFieldValueChar)) {
      return false;
    }
  }
  return all_of_class(text.substr(at), kFieldValueChar);
}

bool is_request_target(std::string_view text) {
  size_t at = 0;
  for (; at + 8 <= text.size(); at += 8) {
    const uint64_t word = load_word(text.data() + at);
    if (has_byte_below_or_del(word, 0x21) || (word & kHighs) != 0) return false;
  }
  return all_of_class(text.substr(at), kTargetChar);
}

// Whether `name`, a token, is `lowercase`, a name of lower-case letters and '-'. Setting bit 5 lowers a
// letter's case and turns no other token character into a letter or '-', so one OR a byte will do.
bool is_field_named(std::string_view name, std::string_view lowercase) {
  if (name.size() != lowercase.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if ((name[i] | 0x20) != lowercase[i]) return false;
  }
  return true;
}

bool is_whitespace(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_whitespace(std::string_view text) {
  while (!text.empty() && is_whitespace(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_whitespace(text.back())) text.remove_suffix(1);
  return text;
}

// Calls `element` with each element of a comma-separated field value, whitespace trimmed, until it
// returns false; whether none did.
template <class Element>
bool for_each_element(std::string_view list, Element element) {
  while (true) {
    const size_t comma = list.find(',');
    if (!element(trim_whitespace(list.substr(0, comma)))) return false;
    if (comma == std::string_view::npos) return true;
    list.remove_prefix(comma + 1);
  }
}

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Method to_method(std::string_view name) {
  if (name == "GET") return Method::kGet;
  if (name == "POST") return Method::kPost;
  if (name == "HEAD") return Method::kHead;
  if (name == "PUT") return Method::kPut;
  if (name == "DELETE") return Method::kDelete;
  return Method::kOther;  // any other token: the router answers 405
}

}  // namespace

RequestParser::RequestParser(size_t header_limit, size_t body_limit)
    : header_limit_(header_limit), body_limit_(body_limit) {
  reset();
}

void RequestParser::reset() {
  state_ = State::kRequestLine;
  line_.clear();
  method_ = Method::kOther;
  target_.clear();
  body_.clear();
  headers_ = HeaderMap();
  headers_.reserve(16, 512);  // a typical request's fields fit: two allocations, not one per growth
  framing_ = Framing{};
  header_bytes_ = 0;
  body_left_ = 0;
  chunk_end_seen_ = 0;
  http10_ = false;
  keep_alive_ = true;
  expects_continue_ = false;
  headers_complete_ = false;
  got_some_ = false;
  error_status_ = 0;
  error_message_.clear();
}

// Lines are found with memchr and handled in place; only a line split between two feeds is copied
// (into line_), so any split of the bytes gives the same result as one feed.
RequestParser::Result RequestParser::feed(const char* data, size_t size, size_t& consumed) {
  consumed = 0;
  if (state_ == State::kError) return Result::kError;
  if (state_ == State::kDone) return Result::kComplete;
  if (size == 0) return Result::kNeedMore;
  got_some_ = true;
  size_t at = 0;
  while (at < size && state_ != State::kDone && state_ != State::kError) {
    if (state_ == State::kBody || state_ == State::kChunkData) {
      at += take_body(data + at, size - at);
      continue;
    }
    if (state_ == State::kChunkDataEnd) {
      if (data[at] != "\r\n"[chunk_end_seen_]) {
        fail(400, "malformed HTTP request: chunk data is not followed by CRLF");
        break;
      }
      ++at;
      if (++chunk_end_seen_ == 2) {
        chunk_end_seen_ = 0;
        state_ = State::kChunkSize;
      }
      continue;
    }
    const char* start = data + at;
    const auto* newline = static_cast<const char*>(std::memchr(start, '\n', size - at));
    if (newline == nullptr) {
      line_.append(start, size - at);
      at = size;
      check_partial_line();
      break;
    }
    const size_t length = static_cast<size_t>(newline - start) + 1;
    at += length;
    std::string_view line(start, length);
    if (!line_.empty()) {
      line_.append(start, length);
      line = line_;
    }
    // RFC 9112 2.2 lets a recipient take a bare LF as a line end; we do not: a proxy in front that
    // does not would see one field where we would see two.
    if (line.size() < 2 || line[line.size() - 2] != '\r') {
      fail(400, "malformed HTTP request: a line ends with a bare LF instead of CRLF");
      break;
    }
    line.remove_suffix(2);
    on_line(line);
    line_.clear();
  }
  consumed = at;
  if (state_ == State::kError) return Result::kError;
  return state_ == State::kDone ? Result::kComplete : Result::kNeedMore;
}

bool RequestParser::on_line(std::string_view line) {
  switch (state_) {
    case State::kRequestLine: return on_request_line(line);
    case State::kHeaders: return on_header_line(line);
    case State::kChunkSize: return on_chunk_size_line(line);
    default: return on_trailer_line(line);  // the only other state that reads lines
  }
}

bool RequestParser::on_request_line(std::string_view line) {
  if (!count_header_bytes(line.size() + 2)) return false;
  // RFC 9112 2.2: a server should ignore empty lines before a request line (a client may send a
  // CRLF after a body).
  if (line.empty()) return true;
  const size_t method_end = token_length(line);
  const std::string_view method = line.substr(0, method_end);
  if (method.empty() || method_end == line.size() || line[method_end] != ' ') {
    return fail(400, "malformed HTTP request: invalid method");
  }
  line.remove_prefix(method_end + 1);
  const size_t target_end = line.find(' ');
  const std::string_view target = line.substr(0, target_end);
  if (target_end == std::string_view::npos || target.empty() || !is_request_target(target)) {
    return fail(400, "malformed HTTP request: invalid request target");
  }
  const std::string_view version = line.substr(target_end + 1);
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (version.size() != 8 || !version.starts_with("HTTP/") || !is_digit(version[5]) || version[6] != '.' ||
      !is_digit(version[7])) {
    return fail(400, "malformed HTTP request: invalid HTTP version");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return fail(505, fmt::format("{} is not supported; use HTTP/1.1", version));
  }
  method_ = to_method(method);
  target_.assign(target);
  http10_ = version[7] == '0';
  state_ = State::kHeaders;
  return true;
}

bool RequestParser::on_header_line(std::string_view line) {
  if (!count_header_bytes(line.size() + 2)) return false;
  if (line.empty()) return on_headers_end();
  std::string_view name, value;
  if (!split_field_line(line, name, value)) return false;
  headers_.add(name, value);
  return on_framing_field(name, value);
}

// Trailer fields are checked and dropped: none of ours belongs after a body, and a field added past
// the guards' reading of the headers must not reach the handlers.
bool RequestParser::on_trailer_line(std::string_view line) {
  if (!count_header_bytes(line.size() + 2)) return false;
  if (line.empty()) {
    state_ = State::kDone;
    return true;
  }
  std::string_view name, value;
  return split_field_line(line, name, value);
}

bool RequestParser::split_field_line(std::string_view line, std::string_view& name, std::string_view& value) {
  if (is_whitespace(line.front())) {
    return fail(400, "malformed HTTP request: obsolete line folding (a field line starts with whitespace)");
  }
  const size_t name_end = token_length(line);
  if (name_end == line.size() || line[name_end] != ':') {
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail(400, "malformed HTTP request: a header field has no colon");
    if (name_end > 0 && trim_whitespace(line.substr(name_end, colon - name_end)).empty()) {
      return fail(400, "malformed HTTP request: whitespace between a header field name and its colon");
    }
    return fail(400, "malformed HTTP request: invalid header field name");
  }
  if (name_end == 0) return fail(400, "malformed HTTP request: invalid header field name");
  name = line.substr(0, name_end);
  value = trim_whitespace(line.substr(name_end + 1));
  if (!is_field_value(value)) {
    return fail(400, "malformed HTTP request: invalid character in a header field value");
  }
  return true;
}

bool RequestParser::on_framing_field(std::string_view name, std::string_view value) {
  switch (name.size()) {  // the length first: most fields are none of these
    case 6:
      if (is_field_named(name, "expect") && equals_ignoring_case(value, "100-continue")) {
        framing_.expect_continue = true;
      }
      return true;
    case 10:
      if (is_field_named(name, "connection")) on_connection(value);
      return true;
    case 14: return !is_field_named(name, "content-length") || on_content_length(value);
    case 17: return !is_field_named(name, "transfer-encoding") || on_transfer_encoding(value);
    default: return true;
  }
}

// Digits only; repeated (in one field's list or in several fields) only with the same value, since
// a proxy in front may have taken either.
bool RequestParser::on_content_length(std::string_view value) {
  return for_each_element(value, [this](std::string_view element) {
    if (element.empty() || !std::all_of(element.begin(), element.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return fail(400, "malformed HTTP request: invalid Content-Length");
    }
    uint64_t length = 0;
    for (char c : element) {
      const auto digit = static_cast<uint64_t>(c - '0');
      if (length > (UINT64_MAX - digit) / 10) return fail(400, "malformed HTTP request: Content-Length is too large");
      length = length * 10 + digit;
    }
    if (framing_.has_content_length && length != framing_.content_length) {
      return fail(400, "malformed HTTP request: differing Content-Length values");
    }
    framing_.has_content_length = true;
    framing_.content_length = length;
    return true;
  });
}

// The codings are checked once the fields are in, since a list may span several fields.
bool RequestParser::on_transfer_encoding(std::string_view value) {
  framing_.has_transfer_encoding = true;
  return for_each_element(value, [this](std::string_view element) {
    if (element.empty()) return true;  // RFC 9110 5.6.1: empty list elements are ignored
    const std::string_view coding = trim_whitespace(element.substr(0, element.find(';')));
    if (coding.empty() || !all_of_class(coding, kTokenChar)) {
      return fail(400, "malformed HTTP request: invalid Transfer-Encoding");
    }
    framing_.chunked_last = equals_ignoring_case(element, "chunked");  // chunked takes no parameters
    if (framing_.chunked_last) {
      ++framing_.chunked_codings;
    } else {
      framing_.other_coding = true;
    }
    return true;
  });
}

void RequestParser::on_connection(std::string_view value) {
  for_each_element(value, [this](std::string_view option) {
    if (equals_ignoring_case(option, "close")) framing_.close = true;
    if (equals_ignoring_case(option, "keep-alive")) framing_.keep_alive = true;
    return true;
  });
}

bool RequestParser::on_headers_end() {
  headers_complete_ = true;
  keep_alive_ = !framing_.close && (!http10_ || framing_.keep_alive);
  expects_continue_ = framing_.expect_continue && !http10_;  // RFC 9110 10.1.1: an HTTP/1.0 client cannot
  if (framing_.has_transfer_encoding) {
    // RFC 9112 6.1 and 6.3: the body's length cannot be trusted otherwise.
    if (http10_) return fail(400, "malformed HTTP request: Transfer-Encoding in an HTTP/1.0 request");
    if (framing_.has_content_length) {
      return fail(400, "malformed HTTP request: both Content-Length and Transfer-Encoding");
    }
    if (!framing_.chunked_last) return fail(400, "malformed HTTP request: the final transfer coding is not chunked");
    if (framing_.chunked_codings > 1) return fail(400, "malformed HTTP request: chunked is applied more than once");
    if (framing_.other_coding) return fail(501, "transfer codings other than chunked are not implemented");
    state_ = State::kChunkSize;
    return true;
  }
  if (framing_.content_length > body_limit_) {
    return fail(413, fmt::format("request body exceeds the limit of {} bytes", body_limit_));
  }
  if (framing_.content_length == 0) {  // also without Content-Length: a request has no body then
    state_ = State::kDone;
    return true;
  }
  body_.reserve(framing_.content_length);
  body_left_ = framing_.content_length;
  state_ = State::kBody;
  return true;
}

bool RequestParser::on_chunk_size_line(std::string_view line) {
  uint64_t size = 0;
  size_t digits = 0;
  for (; digits < line.size(); ++digits) {
    const int value = hex_digit_value(line[digits]);
    if (value < 0) break;
    if (digits == kMaxChunkSizeDigits) return fail(400, "malformed HTTP request: chunk size is too large");
    size = size * 16 + static_cast<uint64_t>(value);
  }
  if (digits == 0) return fail(400, "malformed HTTP request: invalid chunk size");
  // Extensions (";name=value", after optional whitespace) are skipped, their bytes counted.
  const std::string_view extensions = line.substr(digits);
  if (!count_header_bytes(extensions.size())) return false;
  const std::string_view after_whitespace = trim_whitespace(extensions);
  if (!extensions.empty() && (!after_whitespace.starts_with(';') || !all_of_class(extensions, kFieldValueChar))) {
    return fail(400, "malformed HTTP request: invalid chunk size");
  }
  if (size == 0) {
    state_ = State::kTrailers;
    return true;
  }
  if (size > body_limit_ - body_.size()) {
    return fail(413, fmt::format("request body exceeds the limit of {} bytes", body_limit_));
  }
  body_left_ = size;
  state_ = State::kChunkData;
  return true;
}

size_t RequestParser::take_body(const char* data, size_t size) {
  const auto taken = static_cast<size_t>(std::min<uint64_t>(body_left_, size));
  body_.append(data, taken);
  body_left_ -= taken;
  if (body_left_ == 0) state_ = state_ == State::kBody ? State::kDone : State::kChunkDataEnd;
  return taken;
}

// A line's bytes are counted once its end arrives; until then its start must leave it a chance to
// fit, or a client could grow line_ without bound. A chunk size's own digits and CR are not counted.
void RequestParser::check_partial_line() {
  const size_t uncounted = state_ == State::kChunkSize ? kMaxChunkSizeDigits + 1 : 0;
  if (line_.size() > uncounted + (header_limit_ - header_bytes_)) header_limit_exceeded();
}

bool RequestParser::count_header_bytes(size_t size) {
  header_bytes_ += size;
  return header_bytes_ <= header_limit_ || header_limit_exceeded();
}

bool RequestParser::header_limit_exceeded() {
  switch (state_) {
    case State::kChunkSize: return fail(400, "malformed HTTP request: chunk extensions are too long");
    case State::kTrailers: return fail(431, "request trailers are too large");
    default: return fail(431, "request headers are too large");
  }
}

bool RequestParser::fail(unsigned status, std::string message) {
  state_ = State::kError;
  error_status_ = status;
  error_message_ = std::move(message);
  return false;
}

}  // namespace seraph

// Fuzz target for the HTTP request path as a whole, up to the handlers: the bytes a connection
// reads go to RequestParser the way src/server/connection.cpp drives it (several pipelined
// requests, reads that split them anywhere), and each complete request goes through what
// src/api/router.cpp does before a handler runs: target split, route lookup, query parameters,
// Content-Encoding, and the decoder of the body its route names.
//
// The stream is parsed twice, as one read and as reads of pseudo-random sizes; both must give the
// same requests and end the same way, since where a read ends is the network's choice. Any crash,
// sanitizer report, hang or disagreement is a bug; a 4xx is the expected answer to garbage.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "api/predict_adapter.h"
#include "api/route_table.h"
#include "api/url.h"
#include "server/request_parser.h"
#include "wire/content_encoding.h"
#include "wire/v2_infer.h"

namespace {

// Smaller than the server's (16 KiB of headers, 8 MiB of body) so inputs of a few KiB reach the 431
// and 413 answers.
constexpr size_t kHeaderLimit = 1024;
constexpr size_t kBodyLimit = 2048;

// What the parser made of one request (or of the error that ended the connection).
struct Parsed {
  seraph::Method method = seraph::Method::kOther;
  std::string target;
  std::string body;
  std::string content_encoding;
  std::string json_header_length;    // Inference-Header-Content-Length
  std::vector<std::string> framing;  // the headers that frame the request, compared between parses
  bool keep_alive = false;
  bool expects_continue = false;
  unsigned error_status = 0;
  std::string error_message;

  bool operator==(const Parsed&) const = default;
};

constexpr std::string_view kFramingHeaders[] = {"content-length", "transfer-encoding", "expect", "host", "connection"};

Parsed take_request(seraph::RequestParser& parser) {
  Parsed out;
  out.method = parser.method();
  out.target = parser.target();
  out.body = parser.body();
  out.keep_alive = parser.keep_alive();
  out.expects_continue = parser.expects_continue();
  const seraph::HeaderMap headers = parser.take_headers();
  out.content_encoding = headers.header("content-encoding");
  out.json_header_length = headers.header(seraph::kInferenceHeaderContentLength);
  for (std::string_view name : kFramingHeaders) out.framing.emplace_back(headers.header(name));
  return out;
}

// Feeds `reads` in order as a connection would: the unparsed rest stays buffered, a complete request
// is taken and the parser reset for the next one, an error ends the connection.
std::vector<Parsed> parse_stream(const std::vector<std::string_view>& reads) {
  seraph::RequestParser parser(kHeaderLimit, kBodyLimit);
  std::vector<Parsed> requests;
  std::string buffered;
  for (std::string_view read : reads) {
    buffered.append(read);
    while (!buffered.empty()) {
      size_t consumed = 0;
      const auto result = parser.feed(buffered.data(), buffered.size(), consumed);
      if (consumed > buffered.size()) __builtin_trap();
      buffered.erase(0, consumed);
      if (result == seraph::RequestParser::Result::kError) {
        Parsed error;
        error.error_status = parser.error_status();
        error.error_message = parser.error_message();
        // Each error is answered with its own status: a 4xx, or a 5xx only for what the server does
        // not implement (a transfer coding, an HTTP version).
        const bool not_implemented = error.error_status == 501 || error.error_status == 505;
        if (error.error_status < 400 || (error.error_status >= 500 && !not_implemented)) __builtin_trap();
        requests.push_back(std::move(error));
        return requests;
      }
      if (result == seraph::RequestParser::Result::kNeedMore) {
        if (!buffered.empty()) __builtin_trap();  // the connection relies on the parser taking all it is given
        break;
      }
      requests.push_back(take_request(parser));
      parser.reset();
    }
  }
  return requests;
}

// The same requests, ended the same way. An error may differ in its status: with two problems in
// a request (an invalid character past the header limit), which the parser meets first depends on
// where a read ends, and either answer is right. Found by this target.
bool same_outcome(const std::vector<Parsed>& a, const std::vector<Parsed>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const bool both_errors = a[i].error_status != 0 && b[i].error_status != 0;
    if (!both_errors && !(a[i] == b[i])) return false;
  }
  return true;
}

// Read sizes from 1 to 64 bytes, from a generator seeded by the input, so a crash replays.
std::vector<std::string_view> split_into_reads(std::string_view bytes) {
  std::vector<std::string_view> reads;
  uint64_t state = 0x9e3779b97f4a7c15ULL ^ bytes.size();
  for (unsigned char c : bytes.substr(0, 8)) state = state * 31 + c;
  size_t at = 0;
  while (at < bytes.size()) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    const size_t length = 1 + static_cast<size_t>(state % 64);
    reads.push_back(bytes.substr(at, length));
    at += length;
  }
  return reads;
}

// The routes of src/api/router.cpp, by pattern (the targets are the handlers' stand-ins).
seraph::RouteTable<int> routes() {
  using seraph::Handler;
  using seraph::Method;
  using seraph::Role;
  seraph::RouteTable<int> r;
  r.add(Method::kPost, "/predict", Handler::kPredict, Role::kPredictor, 0);
  r.add(Method::kPost, "/predict/batch", Handler::kPredictBatch, Role::kPredictor, 0);
  r.add(Method::kGet, "/healthz", Handler::kHealth, Role::kNone, 0);
  r.add(Method::kGet, "/readyz", Handler::kHealth, Role::kNone, 0);
  r.add(Method::kGet, "/metrics", Handler::kMetrics, Role::kReader, 0);
  r.add(Method::kGet, "/models", Handler::kModels, Role::kReader, 0);
  for (Method m : {Method::kGet, Method::kPost, Method::kPut, Method::kDelete}) {
    r.add(m, "/admin/*", Handler::kAdmin, Role::kAdmin, 0);
  }
  r.add(Method::kPost, "/feedback", Handler::kFeedback, Role::kPredictor, 0);
  r.add(Method::kGet, "/v2", Handler::kV2Server, Role::kReader, 0);
  r.add(Method::kGet, "/v2/health/live", Handler::kV2Health, Role::kNone, 0);
  r.add(Method::kGet, "/v2/health/ready", Handler::kV2Health, Role::kNone, 0);
  r.add(Method::kPost, "/v2/repository/index", Handler::kV2Repository, Role::kReader, 0);
  r.add(Method::kPost, "/v2/repository/models/{model}/load", Handler::kV2Repository, Role::kAdmin, 0);
  r.add(Method::kPost, "/v2/repository/models/{model}/unload", Handler::kV2Repository, Role::kAdmin, 0);
  r.add(Method::kGet, "/v2/models/stats", Handler::kV2ModelStats, Role::kReader, 0);
  for (std::string model : {"/v2/models/{model}", "/v2/models/{model}/versions/{version}"}) {
    r.add(Method::kGet, model, Handler::kV2ModelMetadata, Role::kReader, 0);
    r.add(Method::kGet, model + "/ready", Handler::kV2ModelReady, Role::kReader, 0);
    r.add(Method::kPost, model + "/infer", Handler::kV2Infer, Role::kPredictor, 0);
    r.add(Method::kGet, model + "/config", Handler::kV2ModelConfig, Role::kReader, 0);
    r.add(Method::kGet, model + "/stats", Handler::kV2ModelStats, Role::kReader, 0);
  }
  return r;
}

// Bad bytes from a client are the client's error: a 4xx, never a 500.
void expect_client_error(const seraph::Status& status) {
  if (!status.is_ok() && status.code() >= seraph::StatusCode::kInternal) __builtin_trap();
}

// What the router does with one request before its handler runs, and the handler's body decoder.
void route(const seraph::RouteTable<int>& table, const Parsed& request) {
  const auto [path, query] = seraph::split_target(request.target);
  seraph::RouteMatch match;
  const auto found = table.find(request.method, path, match);
  if (match.count > seraph::RouteMatch::kMaxCaptures) __builtin_trap();
  const std::vector<std::string> segments = seraph::split_path(path);
  for (const std::string& segment : segments) {
    if (segment.empty()) __builtin_trap();
  }
  if (const std::optional<std::string> version = seraph::query_param(query, "version")) {
    const std::optional<int64_t> number = seraph::parse_positive(*version);
    if (number && *number < 1) __builtin_trap();
  }
  if (!found.target) return;

  std::string_view body = request.body;
  std::string decoded;
  if (!request.content_encoding.empty()) {
    const seraph::Status status = seraph::decode_content(request.content_encoding, body, kBodyLimit, decoded);
    expect_client_error(status);
    if (!status.is_ok()) return;
    if (decoded.size() > kBodyLimit) __builtin_trap();
    body = decoded;
  }
  if (found.handler == seraph::Handler::kV2Infer) {
    std::optional<size_t> json_header_length;
    const seraph::Status length_status = seraph::parse_json_header_length(request.json_header_length, json_header_length);
    expect_client_error(length_status);
    if (!length_status.is_ok()) return;
    seraph::InferRequest infer;
    seraph::V2ResponseOptions options;
    expect_client_error(seraph::parse_v2_infer_request(body, json_header_length, infer, options));
  } else if (found.handler == seraph::Handler::kPredict || found.handler == seraph::Handler::kPredictBatch) {
    seraph::PredictRequest predict;
    expect_client_error(found.handler == seraph::Handler::kPredict ? seraph::parse_predict_body(body, predict)
                                                                   : seraph::parse_predict_batch_body(body, predict));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const seraph::RouteTable<int> table = routes();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  const std::vector<Parsed> whole = parse_stream({bytes});
  if (!same_outcome(whole, parse_stream(split_into_reads(bytes)))) __builtin_trap();
  for (const Parsed& request : whole) {
    if (request.error_status == 0) route(table, request);
  }
  return 0;
}

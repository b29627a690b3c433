#pragma once
// A small blocking HTTP/1.1 client with keep-alive, for end-to-end tests.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

namespace seraph::test {

struct Response {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  // The body parsed as JSON; an unparsable body gives a null document and fails has_json().
  rapidjson::Document json() const;
};

class HttpClient {
 public:
  explicit HttpClient(uint16_t port);
  ~HttpClient();

  Response get(const std::string& target, std::vector<std::pair<std::string, std::string>> headers = {});
  Response post(const std::string& target, const std::string& body,
                std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", "application/json"}});
  Response request(const std::string& method, const std::string& target, const std::string& body,
                   const std::vector<std::pair<std::string, std::string>>& headers);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Sends raw bytes on a fresh connection and returns what the server answered before closing (or
// until `timeout_ms`).
std::string raw_exchange(uint16_t port, const std::string& bytes, int timeout_ms = 3000);

// The same, telling whether the server closed the connection (end of stream) within `timeout_ms`.
struct RawExchange {
  std::string answer;
  bool closed_by_server = false;
};
RawExchange raw_exchange_until_close(uint16_t port, const std::string& bytes, int timeout_ms = 3000);

}  // namespace seraph::test

#pragma once
// What the HTTP server is told by the config: where to listen and the limits it enforces.
#include <cstdint>
#include <string>

namespace seraph {

struct ServerSettings {
  std::string host = "127.0.0.1";
  int port = 8080;
  int io_threads = 0;                      // 0: one per core
  int64_t max_body_bytes = 8 * 1024 * 1024;
  int header_timeout_ms = 10000;           // to receive a request's headers
  int request_timeout_ms = 30000;          // inference answered 504 by then (clients may ask for less)
  int drain_timeout_ms = 10000;            // on SIGTERM, how long requests in progress may take
  int idle_timeout_ms = 60000;             // between requests on a keep-alive connection, and to
                                           // take a whole answer
};

}  // namespace seraph

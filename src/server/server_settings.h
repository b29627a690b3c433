#pragma once
// What the HTTP server is told by the config: where to listen, the limits it enforces, and TLS.
#include <cstdint>
#include <filesystem>
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
  struct Tls {
    std::filesystem::path cert_file;       // PEM chain; with key_file, the listener speaks only TLS
    std::filesystem::path key_file;        // PEM private key
    std::filesystem::path client_ca_file;  // set: client certificates are asked for and verified against it
    bool require_client_certificate = false;  // with a CA: refuse a handshake without a certificate
    std::string min_version = "1.2";       // "1.2" or "1.3"
    bool enabled() const { return !cert_file.empty(); }
  } tls;
};

}  // namespace seraph

#pragma once
// The listener's TLS: the OpenSSL context built from server.tls's files, rebuilt when they change
// on disk so that a renewed certificate reaches new connections without a restart (connections in
// progress keep the context they started with); the verified client certificate's subject, which
// mutual TLS authenticates by; and the metrics of handshakes that failed and reloads.
#include <utility>  // before Asio: GCC 12 + C++20 needs std::exchange declared first

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <openssl/ssl.h>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include "core/status.h"
#include "observe/metrics.h"
#include "server/server_settings.h"

namespace seraph {

// Builds a server context from `settings`' files: the certificate chain and its key, the minimum
// version, and with a client CA, verification of client certificates (required or optional).
// The status names the file that did not load and OpenSSL's reason.
Status make_tls_context(const ServerSettings::Tls& settings, std::shared_ptr<boost::asio::ssl::context>& out);

// The subject of the certificate the peer presented, when OpenSSL verified it against the client
// CA: its common name, or its whole subject in RFC 2253 form when it has none. Empty otherwise.
std::string verified_client_subject(SSL* ssl);

// Why a handshake failed, as the metric's `reason` label: timeout, not_tls, no_client_certificate,
// client_certificate_rejected, protocol_version, client_alert, disconnected, other.
std::string_view handshake_failure_reason(const boost::system::error_code& ec, bool timed_out);

class TlsContextSource {
 public:
  // Loads the first context; a file that does not load is an error (the server must not start).
  static Status create(const ServerSettings::Tls& settings, MetricsRegistry& metrics,
                       std::unique_ptr<TlsContextSource>& out);

  // The context for a new connection. Locked briefly, once per connection, never per request.
  std::shared_ptr<boost::asio::ssl::context> current() const;

  // Rebuilds the context when a file's modification time, size or inode changed since the last
  // look. A new file that does not load keeps the old context, logs an error and counts it; the
  // next change is tried again. Called about once a second by the server.
  void reload_if_changed();

  // Counts a failed handshake under its reason and logs it at debug level.
  void handshake_failed(const boost::system::error_code& ec, bool timed_out, std::string_view peer);

 private:
  // What identifies one version of a file on disk.
  struct FileStamp {
    int64_t mtime_ns = -1;
    int64_t size = -1;
    uint64_t inode = 0;
    bool operator==(const FileStamp&) const = default;
  };
  using Stamps = std::array<FileStamp, 3>;  // certificate, key, client CA

  TlsContextSource(const ServerSettings::Tls& settings, MetricsRegistry& metrics);
  Stamps stamps() const;

  const ServerSettings::Tls settings_;
  Family<Counter>& handshake_failures_;
  Family<Counter>& reloads_;
  Counter& reloaded_;
  Counter& reload_failed_;
  mutable std::mutex mutex_;  // guards context_
  std::shared_ptr<boost::asio::ssl::context> context_;
  Stamps seen_;  // the files as last looked at; only reload_if_changed's thread touches it
};

}  // namespace seraph

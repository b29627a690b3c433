#include "server/tls_context.h"

#include <sys/stat.h>

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

namespace seraph {

namespace ssl = boost::asio::ssl;
using boost::system::error_code;

namespace {

constexpr std::string_view kFailureReasons[] = {
    "timeout",          "not_tls",      "no_client_certificate", "client_certificate_rejected",
    "protocol_version", "client_alert", "disconnected",          "other"};

// OpenSSL's reason for what went wrong last on this thread, for a message.
std::string openssl_reason(const error_code& ec) {
  if (ec) return ec.message();
  const unsigned long code = ERR_get_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

}  // namespace

Status make_tls_context(const ServerSettings::Tls& settings, std::shared_ptr<ssl::context>& out) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  SSL_CTX* native = context->native_handle();
  if (SSL_CTX_set_min_proto_version(native, settings.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION) != 1) {
    return {StatusCode::kInternal, "cannot set the minimum TLS version: " + openssl_reason({})};
  }
  error_code ec;
  context->use_certificate_chain_file(settings.cert_file.string(), ec);
  if (ec) {
    return {StatusCode::kInvalidArgument, fmt::format("server.tls.cert_file {}: cannot load the certificate: {}",
                                                      settings.cert_file.string(), ec.message())};
  }
  context->use_private_key_file(settings.key_file.string(), ssl::context::pem, ec);
  if (ec) {
    return {StatusCode::kInvalidArgument, fmt::format("server.tls.key_file {}: cannot load the private key: {}",
                                                      settings.key_file.string(), ec.message())};
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return {StatusCode::kInvalidArgument, fmt::format("server.tls.key_file {}: does not match the certificate: {}",
                                                      settings.key_file.string(), openssl_reason({}))};
  }
  if (!settings.client_ca_file.empty()) {
    context->load_verify_file(settings.client_ca_file.string(), ec);
    if (ec) {
      return {StatusCode::kInvalidArgument, fmt::format("server.tls.client_ca_file {}: cannot load: {}",
                                                        settings.client_ca_file.string(), ec.message())};
    }
    // Tells clients which CA's certificates to send.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings.client_ca_file.c_str());
    if (!names) {
      return {StatusCode::kInvalidArgument, fmt::format("server.tls.client_ca_file {}: holds no certificate: {}",
                                                        settings.client_ca_file.string(), openssl_reason({}))};
    }
    SSL_CTX_set_client_CA_list(native, names);
    context->set_verify_mode(settings.require_client_certificate ? ssl::verify_peer | ssl::verify_fail_if_no_peer_cert
                                                                 : ssl::verify_peer);
    // A resumed session keeps the client's verified identity; OpenSSL refuses to resume one
    // without a session id context when peers are verified.
    static constexpr unsigned char kSessionContext[] = "seraph";
    SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
  }
  out = std::move(context);
  return Status::ok();
}

std::string verified_client_subject(SSL* ssl) {
  X509* certificate = SSL_get0_peer_certificate(ssl);
  if (!certificate || SSL_get_verify_result(ssl) != X509_V_OK) return {};
  X509_NAME* subject = X509_get_subject_name(certificate);
  if (!subject) return {};
  if (int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); at >= 0) {
    unsigned char* utf8 = nullptr;
    const int length = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at)));
    if (length < 0) return {};
    std::string name(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
    OPENSSL_free(utf8);
    return name;
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), BIO_free);
  if (!out || X509_NAME_print_ex(out.get(), subject, 0, XN_FLAG_RFC2253) < 0) return {};
  char* data = nullptr;
  const long length = BIO_get_mem_data(out.get(), &data);
  return length > 0 ? std::string(data, static_cast<size_t>(length)) : std::string();
}

std::string_view handshake_failure_reason(const error_code& ec, bool timed_out) {
  if (timed_out) return "timeout";
  if (ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset ||
      ec == ssl::error::stream_truncated) {
    return "disconnected";
  }
  if (ec.category() != boost::asio::error::get_ssl_category()) return "other";
  const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
  switch (reason) {
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_PACKET_LENGTH_TOO_LONG: return "not_tls";
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE: return "no_client_certificate";
    case SSL_R_CERTIFICATE_VERIFY_FAILED: return "client_certificate_rejected";
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_VERSION_TOO_LOW: return "protocol_version";
    default: return reason >= SSL_AD_REASON_OFFSET ? "client_alert" : "other";
  }
}

TlsContextSource::TlsContextSource(const ServerSettings::Tls& settings, MetricsRegistry& metrics)
    : settings_(settings),
      handshake_failures_(metrics.counter("seraph_tls_handshake_failures_total",
                                          "TLS handshakes that failed, by reason (timeout, not_tls, "
                                          "no_client_certificate, client_certificate_rejected, ...).")),
      reloads_(metrics.counter("seraph_tls_reloads_total",
                               "Reloads of the TLS certificate and key after they changed on disk, by outcome.")),
      reloaded_(reloads_.get({{"outcome", "loaded"}})),
      reload_failed_(reloads_.get({{"outcome", "failed"}})) {
  for (std::string_view reason : kFailureReasons) handshake_failures_.get({{"reason", std::string(reason)}});
}

Status TlsContextSource::create(const ServerSettings::Tls& settings, MetricsRegistry& metrics,
                                std::unique_ptr<TlsContextSource>& out) {
  std::unique_ptr<TlsContextSource> source(new TlsContextSource(settings, metrics));
  source->seen_ = source->stamps();
  if (Status s = make_tls_context(settings, source->context_); !s.is_ok()) return s;
  out = std::move(source);
  return Status::ok();
}

std::shared_ptr<ssl::context> TlsContextSource::current() const {
  std::lock_guard lock(mutex_);
  return context_;
}

TlsContextSource::Stamps TlsContextSource::stamps() const {
  Stamps result;
  const std::filesystem::path* files[] = {&settings_.cert_file, &settings_.key_file, &settings_.client_ca_file};
  for (size_t i = 0; i < result.size(); ++i) {
    struct stat info {};
    // A file that is not there now (being replaced) has the empty stamp: it changes again once written.
    if (files[i]->empty() || ::stat(files[i]->c_str(), &info) != 0) continue;
    result[i] = {static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec,
                 static_cast<int64_t>(info.st_size), static_cast<uint64_t>(info.st_ino)};
  }
  return result;
}

void TlsContextSource::reload_if_changed() {
  const Stamps now = stamps();
  if (now == seen_) return;
  seen_ = now;
  std::shared_ptr<ssl::context> fresh;
  if (Status s = make_tls_context(settings_, fresh); !s.is_ok()) {
    reload_failed_.add();
    spdlog::error(
        R"({{"msg":"TLS files changed but do not load: new connections keep the previous certificate","error":"{}"}})",
        s.message());
    return;
  }
  {
    std::lock_guard lock(mutex_);
    context_.swap(fresh);
  }
  reloaded_.add();
  spdlog::info(R"({{"msg":"TLS certificate reloaded","cert_file":"{}"}})", settings_.cert_file.string());
}

void TlsContextSource::handshake_failed(const error_code& ec, bool timed_out, std::string_view peer) {
  const std::string_view reason = handshake_failure_reason(ec, timed_out);
  handshake_failures_.get({{"reason", std::string(reason)}}).add();
  spdlog::debug(R"({{"msg":"TLS handshake failed","client":"{}","reason":"{}","error":"{}"}})", peer, reason,
                ec.message());
}

}  // namespace seraph

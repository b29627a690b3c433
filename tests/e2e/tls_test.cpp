// TLS on the listener and mutual TLS, with the real binary: a throwaway CA, server and client
// certificates made by the openssl command line; curl and openssl s_client as the clients. HTTPS is
// answered, plain HTTP and silent clients are closed (never left hanging), client certificates are
// required and verified, a certificate's subject is granted roles, and a certificate replaced on
// disk reaches new connections. A small Asio client checks that the close after the last answer
// does not wait long for a peer that never answers its close_notify.
#include <utility>  // before Asio: GCC 12 + C++20 needs std::exchange declared first

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <regex>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include "e2e_env.h"
#include "server_process.h"

namespace seraph::test {
namespace {

using namespace std::chrono_literals;
using Env = std::vector<std::pair<std::string, std::string>>;

// Runs a shell command; its exit status and what it printed (stdout and stderr together).
CommandResult shell(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// A CA, certificates it signed and a self-signed one, all P-256 keys, in a temp dir.
class Certificates {
 public:
  Certificates() : dir_(make_temp_dir("seraph-tls")) {
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj '/CN=Seraph Test CA' "
        "-keyout " +
        path("ca.key") + " -out " + path("ca.pem"));
    write_file(dir_ / "server.ext", "subjectAltName=IP:127.0.0.1\n");
  }

  // `name`.pem and `name`.key, signed by the CA with `serial`; `extfile`: extensions, if any.
  void issue(const std::string& name, const std::string& subject, int serial, const std::string& extfile = "") {
    run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '" + subject + "' -keyout " +
        path(name + ".key") + " -out " + path(name + ".csr"));
    run("openssl x509 -req -days 2 -in " + path(name + ".csr") + " -CA " + path("ca.pem") + " -CAkey " +
        path("ca.key") + " -set_serial " + std::to_string(serial) + " -out " + path(name + ".pem") +
        (extfile.empty() ? "" : " -extfile " + path(extfile)));
  }
  void issue_server(const std::string& name, const std::string& subject, int serial) {
    issue(name, subject, serial, "server.ext");
  }
  void self_sign(const std::string& name, const std::string& subject) {
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj '" + subject +
        "' -keyout " + path(name + ".key") + " -out " + path(name + ".pem"));
  }

  std::string path(const std::string& file) const { return (dir_ / file).string(); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  static void run(const std::string& command) {
    const CommandResult r = shell(command);
    if (r.status != 0) throw std::runtime_error(command + ": " + r.output);
  }
  std::filesystem::path dir_;
};

struct CurlResult {
  int exit = -1;        // curl's exit status: 0 when the exchange completed
  unsigned status = 0;  // the HTTP status; 0 when none came
  std::string body;
};

// One HTTPS request with curl, trusting the test CA; `client`: a certificate to present.
CurlResult curl(const Certificates& certs, uint16_t port, const std::string& target, const std::string& client = "",
                const std::string& body = "") {
  std::string command = "curl -sS --max-time 10 --cacert " + certs.path("ca.pem") + " -w '\\n%{http_code}'";
  if (!client.empty()) command += " --cert " + certs.path(client + ".pem") + " --key " + certs.path(client + ".key");
  if (!body.empty()) command += " -H 'Content-Type: application/json' --data '" + body + "'";
  command += " 'https://127.0.0.1:" + std::to_string(port) + target + "'";
  const CommandResult r = shell(command);
  CurlResult result;
  result.exit = r.status;
  const size_t last = r.output.rfind('\n');
  if (last != std::string::npos) {
    result.status = static_cast<unsigned>(std::atoi(r.output.c_str() + last + 1));
    result.body = r.output.substr(0, last);
  }
  return result;
}

// The serial number of the certificate the server presents to a new connection, as openssl prints
// it ("serial=03E9"); empty when no handshake completed.
std::string served_serial(const Certificates& certs, uint16_t port) {
  const CommandResult r = shell("openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " -CAfile " +
                                certs.path("ca.pem") + " </dev/null 2>/dev/null | openssl x509 -noout -serial");
  std::smatch m;
  return std::regex_search(r.output, m, std::regex("serial=([0-9A-F]+)")) ? m[1].str() : "";
}

// A TCP connection to the server that sends `bytes` (maybe none) and reads until the server
// closes it; returns how long that took, or nullopt if it was still open after `limit`.
std::optional<std::chrono::milliseconds> time_until_closed(uint16_t port, const std::string& bytes,
                                                           std::chrono::milliseconds limit) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto start = std::chrono::steady_clock::now();
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return std::nullopt;
  }
  if (!bytes.empty() && send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(bytes.size())) {
    close(fd);
    return std::nullopt;
  }
  const auto until = start + limit;
  std::array<char, 4096> buffer{};
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 1))) <= 0) continue;
    if (recv(fd, buffer.data(), buffer.size(), 0) <= 0) {  // closed (or reset)
      close(fd);
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    }
  }
  close(fd);
  return std::nullopt;
}

double tls_metric(const Certificates& certs, uint16_t port, const std::string& series, const std::string& client = "") {
  return sample(curl(certs, port, "/metrics", client).body, series);
}

// A server with TLS on, from `tls_env` (SERAPH_SERVER_TLS_* with absolute paths) and `extra_yaml`;
// ready once /readyz answers 200 over HTTPS.
std::unique_ptr<ServerProcess> start_tls_server(const Certificates& certs, Env env, const std::string& extra_yaml = "",
                                                const std::string& client = "") {
  env.emplace_back("SERAPH_SERVER_TLS_CERT_FILE", certs.path("server.pem"));
  env.emplace_back("SERAPH_SERVER_TLS_KEY_FILE", certs.path("server.key"));
  auto server = std::make_unique<ServerProcess>(write_config(shared_repository(), extra_yaml), env, false);
  const uint16_t port = server->port();
  if (!eventually([&] { return curl(certs, port, "/readyz", client).status == 200; }, 60)) {
    throw std::runtime_error("not ready over HTTPS: " + server->log());
  }
  return server;
}

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    certs_.issue_server("server", "/CN=seraph-1", 1001);
    certs_.issue("checkout", "/O=Acme/CN=checkout", 2001);
    certs_.issue("stranger", "/CN=stranger", 2002);
    certs_.issue("batch", "/O=Acme/OU=batch", 2003);  // no CN: known by its whole subject
    certs_.self_sign("impostor", "/O=Acme/CN=checkout");
  }
  Certificates certs_;
};

TEST_F(Tls, AnHttpsRequestIsAnswered) {
  auto server = start_tls_server(certs_, {});
  const CurlResult r = curl(certs_, server->port(), "/predict", "", R"({"text":"good"})");
  EXPECT_EQ(r.exit, 0) << r.body;
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_NE(r.body.find("label"), std::string::npos) << r.body;
  EXPECT_EQ(server->stop(SIGTERM), 0) << "and it stops cleanly: " << server->log();
}

TEST_F(Tls, PlainHttpToTheTlsPortIsClosedAtOnce) {
  auto server = start_tls_server(certs_, {{"SERAPH_SERVER_HEADER_TIMEOUT_MS", "10000"}});
  const auto closed = time_until_closed(server->port(), "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 5s);
  ASSERT_TRUE(closed.has_value()) << "the server left a plain HTTP client hanging";
  EXPECT_LT(closed->count(), 5000) << "closed for not speaking TLS, well before the header timeout";
  EXPECT_TRUE(eventually([&] {
    return tls_metric(certs_, server->port(), R"(seraph_tls_handshake_failures_total\{reason="not_tls"\})") == 1;
  }));
}

TEST_F(Tls, AClientThatNeverFinishesTheHandshakeIsClosedByTheHeaderTimeout) {
  auto server = start_tls_server(certs_, {{"SERAPH_SERVER_HEADER_TIMEOUT_MS", "1500"}});
  const auto closed = time_until_closed(server->port(), "", 10s);
  ASSERT_TRUE(closed.has_value()) << "a silent client was never closed";
  EXPECT_GE(closed->count(), 1400);
  EXPECT_TRUE(eventually([&] {
    return tls_metric(certs_, server->port(), R"(seraph_tls_handshake_failures_total\{reason="timeout"\})") == 1;
  }));
  EXPECT_EQ(curl(certs_, server->port(), "/readyz").status, 200u) << "and the server serves on";
}

TEST_F(Tls, AClientThatShakesHandsButSendsNoRequestIsClosedByTheHeaderTimeout) {
  auto server = start_tls_server(certs_, {{"SERAPH_SERVER_HEADER_TIMEOUT_MS", "1500"}});
  const auto start = std::chrono::steady_clock::now();
  // -ign_eof: s_client keeps the connection open after the handshake until the server closes it.
  const CommandResult r =
      shell("timeout 9 openssl s_client -ign_eof -connect 127.0.0.1:" + std::to_string(server->port()) + " -CAfile " +
            certs_.path("ca.pem") + " </dev/null");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_NE(r.status, 124) << "still open after 9 s: " << r.output;
  EXPECT_NE(r.output.find("Verify return code: 0 (ok)"), std::string::npos) << r.output;
  EXPECT_GE(elapsed, 1400ms);
  EXPECT_LT(elapsed, 8s);
}

TEST_F(Tls, AfterItsLastAnswerTheServerWaitsForThePeersCloseNotifyOnlyBriefly) {
  auto server = start_tls_server(certs_, {{"SERAPH_SERVER_IDLE_TIMEOUT_MS", "30000"}});
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ssl::context context(asio::ssl::context::tls_client);
  context.load_verify_file(certs_.path("ca.pem"));
  context.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<asio::ip::tcp::socket> stream(io, context);
  stream.next_layer().connect({asio::ip::make_address("127.0.0.1"), server->port()});
  stream.handshake(asio::ssl::stream_base::client);
  const std::string request = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  asio::write(stream, asio::buffer(request));
  std::string response;
  boost::system::error_code read_error;
  bool read_done = false;
  asio::async_read(stream, asio::dynamic_buffer(response), [&](boost::system::error_code ec, size_t) {
    read_error = ec;
    read_done = true;
  });
  io.run_for(5s);
  ASSERT_TRUE(read_done) << "no answer and close_notify within 5 s";
  EXPECT_EQ(read_error, asio::error::eof) << "the answer ends with the server's close_notify: " << read_error.message();
  EXPECT_NE(response.find("200 OK"), std::string::npos) << response;
  // This client never answers the close_notify: the server closes the TCP connection anyway, long
  // before the idle timeout.
  const int fd = stream.next_layer().native_handle();
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  while (!closed && std::chrono::steady_clock::now() - start < 10s) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    std::array<char, 256> buffer{};
    closed = recv(fd, buffer.data(), buffer.size(), 0) <= 0;
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(Tls, ARequiredClientCertificateMustBeSignedByTheClientCa) {
  auto server = start_tls_server(certs_,
                                 {{"SERAPH_SERVER_TLS_CLIENT_CA_FILE", certs_.path("ca.pem")},
                                  {"SERAPH_SERVER_TLS_REQUIRE_CLIENT_CERTIFICATE", "true"}},
                                 "", "checkout");
  const CurlResult without = curl(certs_, server->port(), "/readyz");
  EXPECT_NE(without.exit, 0);
  EXPECT_EQ(without.status, 0u) << "no HTTP answer without a client certificate: " << without.body;
  const CurlResult impostor = curl(certs_, server->port(), "/readyz", "impostor");
  EXPECT_NE(impostor.exit, 0);
  EXPECT_EQ(impostor.status, 0u) << "a self-signed certificate with a granted name is refused: " << impostor.body;
  const CurlResult signed_by_ca = curl(certs_, server->port(), "/readyz", "checkout");
  EXPECT_EQ(signed_by_ca.exit, 0) << signed_by_ca.body;
  EXPECT_EQ(signed_by_ca.status, 200u);
  const std::string metrics = curl(certs_, server->port(), "/metrics", "checkout").body;
  EXPECT_EQ(sample(metrics, R"(seraph_tls_handshake_failures_total\{reason="no_client_certificate"\})"), 1) << metrics;
  EXPECT_EQ(sample(metrics, R"(seraph_tls_handshake_failures_total\{reason="client_certificate_rejected"\})"), 1);
}

TEST_F(Tls, AVerifiedClientCertificateIsGrantedTheRolesListedForItsSubject) {
  auto server = start_tls_server(certs_, {{"SERAPH_SERVER_TLS_CLIENT_CA_FILE", certs_.path("ca.pem")}},
                                 "guards:\n"
                                 "  auth:\n"
                                 "    enabled: true\n"
                                 "    client_certificates:\n"
                                 "      - {subject: checkout, roles: [predictor]}\n"
                                 "      - {subject: \"OU=batch,O=Acme\", roles: [predictor]}\n");
  const uint16_t port = server->port();
  const std::string body = R"({"text":"good"})";
  const CurlResult listed = curl(certs_, port, "/predict", "checkout", body);
  EXPECT_EQ(listed.status, 200u) << listed.body;
  const CurlResult by_subject = curl(certs_, port, "/predict", "batch", body);
  EXPECT_EQ(by_subject.status, 200u) << "a certificate without a CN is known by its RFC 2253 subject: "
                                     << by_subject.body;
  const CurlResult wrong_role = curl(certs_, port, "/models", "checkout");
  EXPECT_EQ(wrong_role.status, 403u);
  EXPECT_NE(wrong_role.body.find("needs the reader role"), std::string::npos) << wrong_role.body;
  const CurlResult unlisted = curl(certs_, port, "/predict", "stranger", body);
  EXPECT_EQ(unlisted.status, 403u);
  EXPECT_NE(unlisted.body.find("this client certificate is not granted any role"), std::string::npos) << unlisted.body;
  EXPECT_EQ(curl(certs_, port, "/predict", "", body).status, 401u) << "no certificate, no credential: 401";
  EXPECT_EQ(curl(certs_, port, "/predict", "impostor", body).status, 0u)
      << "an optional certificate that does not verify still fails the handshake";
}

TEST_F(Tls, ACertificateReplacedOnDiskServesNewConnections) {
  auto server = start_tls_server(certs_, {});
  const uint16_t port = server->port();
  ASSERT_EQ(served_serial(certs_, port), "03E9");  // 1001

  certs_.issue_server("renewed", "/CN=seraph-2", 1002);
  // As a certificate manager renews: the new files written beside, then renamed over the old ones.
  std::filesystem::rename(certs_.path("renewed.key"), certs_.path("server.key"));
  std::filesystem::rename(certs_.path("renewed.pem"), certs_.path("server.pem"));
  EXPECT_TRUE(eventually([&] { return served_serial(certs_, port) == "03EA"; }, 10)) << server->log();
  EXPECT_EQ(curl(certs_, port, "/readyz").status, 200u);

  // (The key and certificate renamed one after the other may have been seen apart once: counted as failed.)
  const std::string failed = R"(seraph_tls_reloads_total\{outcome="failed"\})";
  const double failed_before = tls_metric(certs_, port, failed);
  write_file(certs_.dir() / "broken.pem", "not a certificate\n");
  std::filesystem::rename(certs_.path("broken.pem"), certs_.path("server.pem"));
  EXPECT_TRUE(eventually([&] { return tls_metric(certs_, port, failed) == failed_before + 1; })) << server->log();
  EXPECT_EQ(served_serial(certs_, port), "03EA") << "a broken file keeps the certificate that worked";
  EXPECT_NE(server->log().find("TLS files changed but do not load"), std::string::npos);
  EXPECT_EQ(promtool_findings(curl(certs_, port, "/metrics").body), "");
}

}  // namespace
}  // namespace seraph::test

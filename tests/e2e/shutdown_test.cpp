// Graceful shutdown: SIGTERM under load. Readiness turns false at once, the listener stops
// accepting, and every request the server accepted gets a complete answer before it exits 0.
#include <gtest/gtest.h>
#include <signal.h>

#include <utility>  // before Asio: GCC 12 + C++20 needs std::exchange declared first

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <thread>

#include "e2e_env.h"

namespace seraph::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Tally {
  std::atomic<int64_t> complete{0};      // a whole 200 answer with a JSON body
  std::atomic<int64_t> not_accepted{0};  // refused, or closed before the server read the request
  std::atomic<int64_t> broken{0};        // anything else: a partial or wrong answer
  std::atomic<int64_t> slow_across_sigterm{0};  // slow requests sent before SIGTERM, answered after
  std::mutex mutex;
  std::string first_broken;
  void fail(const std::string& what) {
    broken.fetch_add(1);
    std::lock_guard lock(mutex);
    if (first_broken.empty()) first_broken = what;
  }
};

// One client: keep-alive connections, fast or slow requests, until told to stop.
void client_loop(uint16_t port, int id, int slow_rounds, const std::atomic<bool>& stop,
                 const std::atomic<int64_t>& sigterm_at, Tally& tally) {
  asio::io_context io;
  while (!stop.load()) {
    tcp::socket socket(io);
    boost::system::error_code ec;
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    if (ec) {
      tally.not_accepted.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    beast::flat_buffer buffer;
    for (int i = 0; i < 1000 && !stop.load(); ++i) {
      const bool slow = id < 4;  // four clients keep the slow model busy, the rest send fast requests
      http::request<http::string_body> req{http::verb::post, slow ? "/v2/models/slow/infer" : "/predict", 11};
      req.set(http::field::host, "127.0.0.1");
      req.set(http::field::content_type, "application/json");
      req.body() = slow ? slow_request(slow_rounds) : R"({"text":"great value for the money"})";
      req.prepare_payload();
      const int64_t sent_at = Clock::now().time_since_epoch().count();
      http::write(socket, req, ec);
      http::response_parser<http::string_body> parser;
      if (!ec) http::read(socket, buffer, parser, ec);
      if (ec) {
        // Nothing of an answer arrived: the server closed the connection before reading this request.
        if (!parser.got_some() && buffer.size() == 0) {
          tally.not_accepted.fetch_add(1);
        } else {
          tally.fail("partial answer: " + ec.message());
        }
        break;
      }
      const auto& res = parser.get();
      rapidjson::Document doc;
      doc.Parse(res.body().c_str());
      if (res.result_int() != 200 || !doc.IsObject()) {
        tally.fail("status " + std::to_string(res.result_int()) + ": " + res.body());
        break;
      }
      tally.complete.fetch_add(1);
      const int64_t term = sigterm_at.load();
      if (slow && term != 0 && sent_at < term) tally.slow_across_sigterm.fetch_add(1);
      if (!res.keep_alive()) break;
    }
  }
}

TEST(Shutdown, SigtermUnderLoadAnswersEveryAcceptedRequestCompletely) {
  ServerProcess server(write_config(shared_repository()), {{"SERAPH_SERVER_DRAIN_TIMEOUT_MS", "15000"}});
  const uint16_t port = server.port();
  // Slow requests of ~200 ms, so some are always in progress when SIGTERM arrives.
  const int slow_rounds = slow_rounds_for(port, std::chrono::milliseconds(200));

  Tally tally;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> sigterm_at{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 16; ++i) {
    clients.emplace_back([&, i] { client_loop(port, i, slow_rounds, stop, sigterm_at, tally); });
  }
  // A readiness probe on its own connection: once SIGTERM has had a moment, never 200 again.
  std::atomic<int64_t> ready_after_sigterm{0};
  std::thread prober([&] {
    HttpClient probe(port);
    while (!stop.load()) {
      const int64_t term = sigterm_at.load();
      const bool after = term != 0 && Clock::now().time_since_epoch().count() - term > 50'000'000;  // 50 ms
      try {
        if (probe.get("/readyz").status == 200 && after) ready_after_sigterm.fetch_add(1);
      } catch (const std::exception&) {
        // refused or closed: not ready, as it should be
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });

  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const int64_t before = tally.complete.load();
  sigterm_at.store(Clock::now().time_since_epoch().count());
  const int status = server.stop(SIGTERM, std::chrono::seconds(30));
  stop.store(true);
  for (auto& c : clients) c.join();
  prober.join();

  EXPECT_EQ(status, 0) << server.log();
  EXPECT_EQ(tally.broken.load(), 0) << "first: " << tally.first_broken;
  EXPECT_GT(before, 20) << "too little load before SIGTERM";
  EXPECT_GT(tally.slow_across_sigterm.load(), 0) << "no request was in progress at SIGTERM; the test proved nothing";
  EXPECT_EQ(ready_after_sigterm.load(), 0) << "/readyz answered 200 after SIGTERM";
  EXPECT_NE(server.log().find(R"("msg":"draining")"), std::string::npos);
  std::cout << "complete " << tally.complete.load() << ", not accepted " << tally.not_accepted.load()
            << ", slow requests answered across SIGTERM " << tally.slow_across_sigterm.load() << "\n";
}

}  // namespace
}  // namespace seraph::test
